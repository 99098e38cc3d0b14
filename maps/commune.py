"""Commune map: crop zones by crop and by practice, planning zones, irrigation works, and the
cadastral parcels at high zoom through the API's vector tiles."""

from __future__ import annotations

from typing import Any

import folium
from sqlalchemy import Connection, text

from cropmrv.maps import basemap, compact, page, sqlgeo, styles, vectortiles
from cropmrv.maps.i18n import ASSET_KINDS, IRRIGATION, crop, fmt, t
from cropmrv.maps.page import MapOptions

PARCEL_COLOR = "#d81b60"  # parcel outlines from the vector tiles (magenta: unlike any crop colour)

ZONES_SQL = """
    SELECT z.id, z.zone_code, z.crop, z.season, z.year, z.area_ha, z.practice_code, z.irrigation_method, z.geom
    FROM crop_zone z WHERE z.commune_code = :code AND (CAST(:year AS integer) IS NULL OR z.year = :year)"""
PLANNING_SQL = """
    SELECT p.id, p.zone_code, p.land_use_code, p.plan_name, p.plan_period, p.geom
    FROM planning_zone p WHERE p.commune_code = :code"""
ASSETS_SQL = """
    SELECT a.id, a.asset_code, a.kind, a.name, a.design_area_ha, a.status, a.geom
    FROM irrigation_asset a
    WHERE a.commune_code = :code OR ST_Intersects(a.geom, (SELECT geom FROM admin_unit WHERE code = :code))"""


def commune_row(conn: Connection, code: str) -> Any:
    """The commune, or LookupError (the API turns it into a 404 problem)."""
    row = conn.execute(text("SELECT code, name, full_name FROM admin_unit WHERE code = :c AND level = 'commune'"),
                       {"c": code}).first()
    if row is None:
        raise LookupError(f"Không có xã mã '{code}' / no commune with code '{code}'")
    return row


def commune_map(conn: Connection, settings: Any, code: str, year: int | None = None,
                opts: MapOptions | None = None) -> folium.Map:
    opts = opts or MapOptions()
    lang = opts.lang
    row = commune_row(conn, code)
    params = {"code": code, "year": year}
    b = sqlgeo.bounds(conn, "SELECT geom FROM admin_unit WHERE code = :code", params)
    pad = 0.01
    bbox = (b[0][1] - pad, b[0][0] - pad, b[1][1] + pad, b[1][0] + pad)
    zoom = sqlgeo.fit_zoom(b)
    m = page.start_map(opts, b, zoom=zoom, vectorgrid=opts.api_base is not None)
    basemap.add_base(m, conn, settings, opts, zoom=zoom, bbox=bbox)
    tol = sqlgeo.tolerance_for_zoom(zoom + 2)  # the zones are read closer up than the commune
    outline = sqlgeo.feature_collection(conn, "SELECT code AS id, geom FROM admin_unit WHERE code = :code", params,
                                        tolerance=tol)
    for f in outline["features"]:
        f["properties"]["style"] = {"color": "#263238", "weight": 3, "fill": False}
    folium.GeoJson(outline, name=row.name, control=False, interactive=False).add_to(m)

    planning = sqlgeo.feature_collection(conn, PLANNING_SQL, params, tolerance=tol)
    for f in planning["features"]:
        p = f["properties"]
        col = styles.planning_color(p["land_use_code"])
        p["style"] = {"color": col, "weight": 2, "dashArray": "6 4", "fillColor": col, "fillOpacity": 0.12}
    folium.GeoJson(planning, name=t("planning_zones", lang), show=False, tooltip=basemap.tooltip(
        planning, ["land_use_code", "plan_name", "plan_period"],
        [t("land_use", lang), t("plan", lang), "Kỳ / period"])).add_to(m)

    zones = sqlgeo.feature_collection(conn, ZONES_SQL, params, tolerance=tol)
    by_practice = {"type": "FeatureCollection", "features": []}
    crops_seen, methods_seen = set(), set()
    for f in zones["features"]:
        p = f["properties"]
        crops_seen.add(p["crop"])
        methods_seen.add(p["irrigation_method"])
        p["crop_txt"] = crop(p["crop"], lang)
        p["irr_txt"] = IRRIGATION[lang].get(p["irrigation_method"], p["irrigation_method"])
        p["area_txt"] = fmt(p["area_ha"], lang, 2)
        p["practice_code"] = p["practice_code"] or "–"
        g = {**f, "properties": dict(p)}
        c = styles.CROP_COLORS.get(p["crop"], "#999999")
        p["style"] = {"color": "#333", "weight": 0.6, "fillColor": c, "fillOpacity": 0.8}
        ic = styles.IRRIGATION_COLORS.get(p["irrigation_method"], "#9e9e9e")
        g["properties"]["style"] = {"color": "#333", "weight": 0.6, "fillColor": ic, "fillOpacity": 0.8}
        by_practice["features"].append(g)
    fields = ["zone_code", "crop_txt", "practice_code", "irr_txt", "season", "year", "area_txt"]
    aliases = [t("zone", lang), t("crop", lang), t("practice", lang), t("irrigation", lang), t("season", lang),
               t("year", lang), t("area_ha", lang)]
    folium.GeoJson(zones, name=f'{t("crop_zones", lang)} — {t("crop", lang)}',
                   tooltip=basemap.tooltip(zones, fields, aliases)).add_to(m)
    folium.GeoJson(by_practice, name=f'{t("crop_zones", lang)} — {t("irrigation", lang)}', show=False,
                   tooltip=basemap.tooltip(by_practice, fields, aliases)).add_to(m)

    if opts.api_base is not None:
        vectortiles.VectorTiles(
            vectortiles.tile_url(opts.api_base, "parcels"), "parcels",
            {"weight": 1, "color": PARCEL_COLOR, "fill": True, "fillColor": "#fff8e1", "fillOpacity": 0.15},
            t("parcels", lang), min_zoom=15,
            popup_fields=[("map_sheet", "Tờ / sheet"), ("parcel_no", "Thửa / parcel"),
                          ("land_use_code", t("land_use", lang))]).add_to(m)

    add_assets(m, conn, ASSETS_SQL, params, opts, tol)
    basemap.add_top(m, conn, settings, opts, zoom=zoom, bbox=bbox)
    page.legend(m, t("crop", lang), [(styles.CROP_COLORS.get(c, "#999"), crop(c, lang))
                                     for c in sorted(x for x in crops_seen if x)])
    page.title_panel(m, opts, f'{t("commune_map", lang)}: {row.full_name or row.name}',
                     f'{code} · {len(zones["features"])} {t("zones_in", lang)}')
    return m


def add_assets(m: folium.Map, conn: Connection, sql: str, params: dict[str, Any], opts: MapOptions,
               tol: float, name: str | None = None) -> list[str]:
    """Irrigation works of any geometry: points as circles, lines and areas in the kind's colour.
    Returns the kinds drawn (sorted), for the legend."""
    lang = opts.lang
    rows = sqlgeo.encoded_geometries(conn, sql, params, tolerance=tol)
    for _, _, p in rows:
        p["kind_txt"] = ASSET_KINDS[lang].get(p["kind"], p["kind"])
        p["design_txt"] = fmt(p["design_area_ha"], lang, 1)
        p["name"] = p["name"] or p["asset_code"] or ""
    kinds = sorted({p["kind"] for _, _, p in rows})
    compact.CompactGeoJson(
        compact.pack(rows, ["kind", "name", "kind_txt", "design_txt"]), name or t("irrigation_assets", lang),
        style={"weight": 3, "fill": True, "fillOpacity": 0.6},
        style_by=("kind", {k: {"color": styles.ASSET_COLORS.get(k, "#616161"),
                               "fillColor": styles.ASSET_COLORS.get(k, "#616161")} for k in kinds}),
        tooltip=[("name", t("name", lang)), ("kind_txt", t("kind", lang)), ("design_txt", t("design_area", lang))],
        radius=7).add_to(m)
    return kinds
