"""The offline basemap: commune boundaries, main roads from the shipped OSM extract, place labels.

No tile server is needed: boundaries come from ``admin_unit`` (simplified in PostGIS), roads from
``<province dir>/*roads_osm*.geojson`` (OpenStreetMap, ODbL — attribution on the map), labels are
the commune names. An online OpenStreetMap tile layer is offered (unticked) only when
``settings.online_basemaps`` is on.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import folium
import numpy as np
import shapely
from folium.map import Layer
from jinja2 import Template
from sqlalchemy import Connection

from cropmrv.maps import compact, sqlgeo
from cropmrv.maps.i18n import t
from cropmrv.maps.page import OSM_TILES, MapOptions

ROAD_STYLE = {"national": ("#c0392b", 2.5), "provincial": ("#e67e22", 1.8), "district": ("#7f8c8d", 1.2)}
OSM_ATTRIBUTION = ('Roads &copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors, '
                   '<a href="https://opendatacommons.org/licenses/odbl/">ODbL</a>')


def roads_file(province_dir: Path) -> Path | None:
    found = sorted(Path(province_dir).glob("*roads_osm*.geojson"))
    return found[-1] if found else None


@lru_cache(maxsize=16)
def _roads(path: str, tolerance: float, bbox: tuple[float, float, float, float] | None) -> str:
    """Roads simplified to ``tolerance`` degrees and clipped to ``bbox``, one merged feature per road
    class, as a GeoJSON string (cached). District roads are left out at province zoom (a pixel
    coarser than 50 m): they would double the page and cannot be told apart there."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    feats = doc["features"]
    geoms = shapely.from_geojson([json.dumps(f["geometry"]) for f in feats])
    classes = np.array([f["properties"].get("roadClass") or "district" for f in feats], dtype=object)
    keep = np.ones(len(geoms), dtype=bool)
    if bbox is not None:
        keep &= shapely.intersects(geoms, shapely.box(*bbox))
    if tolerance >= 0.0005:
        keep &= classes != "district"
    if tolerance > 0:
        geoms = shapely.simplify(geoms, tolerance, preserve_topology=False)
    geoms = shapely.set_precision(geoms, 10.0 ** -sqlgeo.precision_for(tolerance))
    out = []
    for cls, (color, weight) in ROAD_STYLE.items():
        parts = [g for g, k, c in zip(geoms, keep, classes, strict=True) if k and c == cls and not g.is_empty]
        if not parts:
            continue
        merged = shapely.line_merge(shapely.multilinestrings(
            [ls for g in parts for ls in (g.geoms if hasattr(g, "geoms") else [g])]))
        out.append({"type": "Feature", "geometry": json.loads(shapely.to_geojson(merged)),
                    "properties": {"road_class": cls, "style": {"color": color, "weight": weight, "opacity": 0.85}}})
    return json.dumps({"type": "FeatureCollection", "features": out}, ensure_ascii=False, separators=(",", ":"))


def roads_geojson(province_dir: Path, tolerance: float, bbox: tuple[float, float, float, float] | None = None
                  ) -> dict[str, Any] | None:
    path = roads_file(province_dir)
    if path is None:
        return None
    return json.loads(_roads(str(path), round(tolerance, 7), bbox))


class LabelLayer(Layer):
    """Commune names as text on the map (not interactive, so they never hide a click)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.layerGroup({{ this.labels|tojson }}.map(function (p) {
            return L.marker([p[0], p[1]], {interactive: false, keyboard: false,
                icon: L.divIcon({className: 'cmrv-label', html: p[2], iconSize: null})});
        }));
        {% endmacro %}""")

    def __init__(self, labels: list[tuple[float, float, str]], name: str, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "LabelLayer"
        from html import escape

        self.labels = [[round(a, 5), round(b, 5), escape(c)] for a, b, c in labels]


COMMUNES_SQL = """
    SELECT code AS id, code, name, geom FROM admin_unit
    WHERE level = 'commune' AND province_code = :province
      AND (CAST(:bbox AS text) IS NULL OR geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326))"""


def _params(settings: Any, bbox: tuple[float, float, float, float] | None) -> dict[str, Any]:
    return {"province": settings.province_code, "bbox": None if bbox is None else "x",
            "w": bbox[0] if bbox else 0, "s": bbox[1] if bbox else 0, "e": bbox[2] if bbox else 0,
            "n": bbox[3] if bbox else 0}


def add_basemap(m: folium.Map, conn: Connection, settings: Any, opts: MapOptions, *, zoom: float = 9,
                bbox: tuple[float, float, float, float] | None = None, boundaries: bool = True,
                labels_show: bool = True) -> None:
    """The whole basemap under the map's own layers (see :func:`add_base` and :func:`add_top`)."""
    add_base(m, conn, settings, opts, zoom=zoom, bbox=bbox, boundaries=boundaries)
    add_top(m, conn, settings, opts, zoom=zoom, bbox=bbox, labels_show=labels_show)


def add_base(m: folium.Map, conn: Connection, settings: Any, opts: MapOptions, *, zoom: float = 9,
             bbox: tuple[float, float, float, float] | None = None, boundaries: bool = True) -> None:
    """What lies under the thematic layers: the online tiles (if configured), the province outline and
    the commune boundaries (with the name as tooltip)."""
    lang = opts.lang
    # context layers: never finer than zoom 14 (communes) or 12 (the province outline) — finer
    # detail of a boundary adds bytes, not information
    tol = sqlgeo.tolerance_for_zoom(min(zoom, 14))
    params = _params(settings, bbox)
    if opts.online_basemaps:
        folium.TileLayer(OSM_TILES, name="OpenStreetMap (online)", attr=OSM_ATTRIBUTION, overlay=True,
                         show=False, max_zoom=19).add_to(m)
    # compact layers (TWKB, see maps.compact): the 102 communes were 125 KB of GeoJSON at province zoom
    outline = sqlgeo.encoded_geometries(
        conn, "SELECT code AS id, geom FROM admin_unit WHERE level = 'province' AND code = :province",
        params, tolerance=sqlgeo.tolerance_for_zoom(min(zoom, 12)), props=False)
    compact.CompactGeoJson(compact.pack(outline, []), settings.province_name, control=False, interactive=False,
                           style={"color": "#222", "weight": 2.5, "fill": False}).add_to(m)
    if boundaries:
        communes = sqlgeo.encoded_geometries(conn, COMMUNES_SQL, params, tolerance=tol)
        compact.CompactGeoJson(
            compact.pack(communes, ["name", "code"]), t("communes", lang),
            style={"color": "#666", "weight": 0.8, "fillColor": "#ffffff", "fillOpacity": 0.0, "dashArray": "3 3"},
            tooltip=[("name", t("commune", lang)), ("code", "Mã / code")]).add_to(m)


def add_top(m: folium.Map, conn: Connection, settings: Any, opts: MapOptions, *, zoom: float = 9,
            bbox: tuple[float, float, float, float] | None = None, labels_show: bool = True) -> None:
    """What lies over the thematic layers: main roads (OSM, with attribution) and commune names."""
    roads = roads_geojson(settings.province_data_dir, sqlgeo.tolerance_for_zoom(min(zoom, 14)), bbox)
    if roads is not None:
        folium.GeoJson(roads, name=t("roads", opts.lang), interactive=False, smooth_factor=1.5).add_to(m)
        _attribution(m, OSM_ATTRIBUTION)
    add_labels(m, conn, settings, opts, _params(settings, bbox), show=labels_show)


def add_labels(m: folium.Map, conn: Connection, settings: Any, opts: MapOptions, params: dict[str, Any],
               show: bool = True) -> None:
    from sqlalchemy import text

    rows = conn.execute(text(
        "SELECT ST_Y(p), ST_X(p), name FROM (SELECT ST_PointOnSurface(geom) AS p, name FROM (" + COMMUNES_SQL
        + ") c) s ORDER BY name"), params).all()
    LabelLayer([(r[0], r[1], r[2]) for r in rows], name=t("labels", opts.lang), show=show).add_to(m)


def tooltip(fc: dict[str, Any], fields: list[str], aliases: list[str]) -> folium.GeoJsonTooltip | None:
    """A GeoJsonTooltip, or None for an empty layer (folium refuses fields it cannot see)."""
    return folium.GeoJsonTooltip(fields, aliases=aliases) if fc["features"] else None


def _attribution(m: folium.Map, html: str) -> None:
    from cropmrv.maps import assets

    assets.Script("{map}.attributionControl.addAttribution(" + json.dumps(html) + ");").add_to(m)
