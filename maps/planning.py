"""Planning review map: crop zones that conflict with the land-use plan they sit in, and a form
that records the land sub-department's review through the API.

A conflict is a crop zone whose overlap with a planning zone is at least ``min_share`` of the zone's
area (geodesic areas of ``ST_Intersection``, computed in PostGIS) while the planned use does not
allow the crop's class: annual crops on land planned for perennials (CLN), perennials on rice land
(LUA/LUK/LUN) or annual-crop land (HNK…), anything but rice on specialised rice land (LUC), any crop
on forestry or non-agricultural land. The rules are a VALUES table so they read as data.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

import folium
from folium.utilities import JsCode
from sqlalchemy import Connection, text

from cropmrv.maps import assets, basemap, page, sqlgeo, styles
from cropmrv.maps.i18n import CONFLICT_REASONS, CROPS, REVIEW_STATUS, t
from cropmrv.maps.page import MapOptions

REVIEW_PATH = "/api/v1/planning-reviews"
ANNUAL = ("rice", "sugarcane", "cassava", "maize", "vegetables", "other_annual")
# (planned land-use code, crop class allowed there). Crop classes: rice | annual | perennial.
ALLOWED = [("LUC", "rice"), *[(c, k) for c in ("LUA", "LUK", "LUN") for k in ("rice", "annual")],
           *[(c, k) for c in ("HNK", "BHK", "NHK", "CHN") for k in ("rice", "annual")], ("CLN", "perennial")]
STATUSES = ("open", "conforming", "conflict", "adjustment_proposed", "resolved")

CONFLICTS_SQL = """
WITH allowed(code, cls) AS (VALUES {allowed}),
zones AS (
    SELECT z.id, z.commune_code, z.zone_code, z.crop, z.area_ha, z.geom,
           CASE WHEN z.crop = 'rice' THEN 'rice' WHEN z.crop IN {annual} THEN 'annual' ELSE 'perennial' END AS cls
    FROM crop_zone z
    WHERE z.province_code = :province AND (CAST(:commune AS text) IS NULL OR z.commune_code = :commune)
),
-- the rule check comes first, so the costly intersection is computed only for disallowed pairs
pairs AS (
    SELECT z.id AS crop_zone_id, p.id AS planning_zone_id, z.commune_code, z.zone_code, z.crop, z.area_ha,
           upper(p.land_use_code) AS land_use_code, p.plan_name, z.geom,
           -- overlap share of the zone: a ratio of areas, the same in degrees as on the ellipsoid at
           -- this scale; the zone lying wholly inside the planning zone needs no intersection at all
           CASE WHEN ST_CoveredBy(z.geom, p.geom) THEN 1.0
                ELSE ST_Area(ST_Intersection(z.geom, p.geom)) / NULLIF(ST_Area(z.geom), 0) END AS share
    FROM zones z JOIN planning_zone p ON p.geom && z.geom AND ST_Intersects(p.geom, z.geom)
    WHERE NOT EXISTS (SELECT 1 FROM allowed a WHERE a.code = upper(p.land_use_code) AND a.cls = z.cls)
)
SELECT x.crop_zone_id, x.planning_zone_id, x.commune_code, u.name AS commune_name,
       x.zone_code, x.crop, x.land_use_code,
       round((x.share * ST_Area(x.geom::geography) / 1e4)::numeric, 3)::float AS overlap_ha,
       round(x.share::numeric, 4)::float AS share,
       CASE WHEN x.land_use_code = 'CLN' THEN 'perennial_land'
            WHEN x.land_use_code = 'LUC' THEN 'specialised_rice_land'
            WHEN x.land_use_code LIKE 'LU%' THEN 'rice_land'
            WHEN x.land_use_code IN ('HNK', 'BHK', 'NHK', 'CHN') THEN 'annual_land'
            WHEN x.land_use_code IN ('RSX', 'RPH', 'RDD', 'LNP') THEN 'forest'
            WHEN x.land_use_code IN ('NTS', 'CNT', 'LMU', 'NKH', 'COC') THEN 'other_agricultural'
            ELSE 'non_agricultural' END AS reason,
       ST_XMin(x.geom) AS x0, ST_YMin(x.geom) AS y0, ST_XMax(x.geom) AS x1, ST_YMax(x.geom) AS y1
FROM pairs x JOIN admin_unit u ON u.code = x.commune_code
WHERE x.share >= :min_share
ORDER BY x.crop_zone_id, x.planning_zone_id
"""

# The overlay depends only on the crop-zone and planning layers; this says when either changed.
VERSION_SQL = """SELECT concat_ws(':', current_database(),
    (SELECT max(id) FROM dataset WHERE layer IN ('crop_zones', 'planning_zones')),
    (SELECT max(id) FROM crop_zone), (SELECT count(*) FROM crop_zone),
    (SELECT max(id) FROM planning_zone), (SELECT count(*) FROM planning_zone))"""
_CACHE: OrderedDict[tuple, list[dict[str, Any]]] = OrderedDict()
_CACHE_SIZE = 32


def conflicts_sql() -> str:
    allowed = ", ".join(f"('{c}', '{k}')" for c, k in ALLOWED)  # constants of this module, not user input
    annual = "(" + ", ".join(f"'{c}'" for c in ANNUAL) + ")"
    return CONFLICTS_SQL.format(allowed=allowed, annual=annual)


def overlay(conn: Connection, province: str, commune: str | None = None, min_share: float = 0.1
            ) -> list[dict[str, Any]]:
    """The conflicting pairs (crop zone × planning zone) with their overlap, without geometry.

    Why cached: intersecting detailed zones costs seconds for a province (a few ms per pair), yet
    it only changes when a crop-zone or planning layer is reloaded — the key is that data version,
    so a reload is seen at once. Review statuses are not part of it (they are read per request).
    """
    key = (str(conn.engine.url), conn.execute(text(VERSION_SQL)).scalar_one(), province, commune,
           float(min_share))
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    rows = [dict(r._mapping) for r in conn.execute(text(conflicts_sql()), {
        "province": province, "commune": commune, "min_share": min_share})]
    _CACHE[key] = rows
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return rows


def latest_reviews(conn: Connection, zone_ids: list[int]) -> dict[tuple[int, int | None], dict[str, Any]]:
    """The latest review per (crop zone, planning zone or None), for the given crop zones."""
    out: dict[tuple[int, int | None], dict[str, Any]] = {}
    for r in conn.execute(text(
            "SELECT id, crop_zone_id, planning_zone_id, status FROM planning_review WHERE crop_zone_id = ANY(:ids) "
            "ORDER BY updated_at, id"), {"ids": zone_ids}):
        out[(r.crop_zone_id, r.planning_zone_id)] = {"id": r.id, "status": r.status}
    return out


def conflicts(conn: Connection, province: str, commune: str | None = None, min_share: float = 0.1,
              tolerance: float = 0.0) -> dict[str, Any]:
    """The conflicts as a FeatureCollection (one feature per crop zone × planning zone pair), each with
    the status of its latest review (a review naming no planning zone applies to every pair of its zone)."""
    rows = overlay(conn, province, commune, min_share)
    ids = sorted({r["crop_zone_id"] for r in rows})
    geoms = {f["id"]: f["geometry"] for f in sqlgeo.feature_collection(
        conn, "SELECT id, geom FROM crop_zone WHERE id = ANY(:ids)", {"ids": ids}, tolerance=tolerance)["features"]}
    reviews = latest_reviews(conn, ids)
    feats = []
    for r in rows:
        both = [reviews.get((r["crop_zone_id"], r["planning_zone_id"])), reviews.get((r["crop_zone_id"], None))]
        rv = max((x for x in both if x), key=lambda x: x["id"], default=None)
        props = {k: v for k, v in r.items() if k not in ("x0", "y0", "x1", "y1")}
        props.update(status=rv["status"] if rv else "unreviewed", review_id=rv["id"] if rv else None)
        feats.append({"type": "Feature", "id": r["crop_zone_id"], "geometry": geoms.get(r["crop_zone_id"]),
                      "properties": props})
    return {"type": "FeatureCollection", "features": [f for f in feats if f["geometry"]]}


def overlay_bounds(rows: list[dict[str, Any]]) -> list[list[float]] | None:
    if not rows:
        return None
    return [[min(r["y0"] for r in rows), min(r["x0"] for r in rows)],
            [max(r["y1"] for r in rows), max(r["x1"] for r in rows)]]


def planning_map(conn: Connection, settings: Any, commune: str | None = None, min_share: float = 0.1,
                 opts: MapOptions | None = None) -> folium.Map:
    opts = opts or MapOptions()
    lang = opts.lang
    prov = settings.province_code
    if commune is not None:
        from cropmrv.maps.commune import commune_row

        commune_row(conn, commune)
    b = overlay_bounds(overlay(conn, prov, commune, min_share)) \
        or sqlgeo.bounds(conn, "SELECT geom FROM admin_unit WHERE code = :p", {"p": prov})
    zoom = sqlgeo.fit_zoom(b)
    fc = conflicts(conn, prov, commune, min_share, tolerance=sqlgeo.tolerance_for_zoom(zoom + 1))
    m = page.start_map(opts, b, zoom=zoom)
    bbox = (b[0][1] - 0.05, b[0][0] - 0.05, b[1][1] + 0.05, b[1][0] + 0.05) if b else None
    basemap.add_base(m, conn, settings, opts, zoom=zoom, bbox=bbox)

    pz_ids = sorted({f["properties"]["planning_zone_id"] for f in fc["features"]})
    pz = sqlgeo.feature_collection(
        conn, "SELECT id, land_use_code, plan_name, geom FROM planning_zone WHERE id = ANY(:ids)", {"ids": pz_ids},
        tolerance=sqlgeo.tolerance_for_zoom(zoom + 1))
    for f in pz["features"]:
        col = styles.planning_color(f["properties"]["land_use_code"])
        f["properties"]["style"] = {"color": col, "weight": 2, "dashArray": "6 4", "fillColor": col,
                                    "fillOpacity": 0.1}
    folium.GeoJson(pz, name=t("planning_zones", lang), tooltip=basemap.tooltip(
        pz, ["land_use_code", "plan_name"], [t("land_use", lang), t("plan", lang)])).add_to(m)

    # Features carry codes only; names, labels, number formats and colours come from one lookup
    # table (window.CMRV_REVIEW) in static/cropmrv/maps.js — a province has hundreds of conflicts and
    # repeating the same Vietnamese sentences in each would triple the page.
    counts: dict[str, int] = {}
    communes: dict[str, str] = {}
    for f in fc["features"]:
        p = f["properties"]
        counts[p["status"]] = counts.get(p["status"], 0) + 1
        communes[p["commune_code"]] = p.pop("commune_name")
    js = JsCode("function (feature, layer) { cmrvConflict(feature, layer); }")
    folium.GeoJson(fc, name=t("conflicts", lang), on_each_feature=js).add_to(m)
    cfg = _form_config(opts)
    cfg["communes"] = communes
    assets.Script("window.CMRV_REVIEW = " + json.dumps(cfg, ensure_ascii=False, separators=(",", ":")) + ";"
                  ).add_to(m, index=0)
    basemap.add_top(m, conn, settings, opts, zoom=zoom, bbox=bbox, labels_show=commune is not None)
    page.legend(m, t("status", lang), [(styles.REVIEW_COLORS[s], f"{REVIEW_STATUS[lang][s]} ({counts.get(s, 0)})")
                                       for s in styles.REVIEW_COLORS])
    page.title_panel(m, opts, t("planning_map", lang),
                     f'{len(fc["features"])} {t("zones_in", lang)} · {settings.province_name}'
                     + (f" · {commune}" if commune else ""))
    return m


def _form_config(opts: MapOptions) -> dict[str, Any]:
    lang = opts.lang
    keys = ("review", "status", "finding", "decision", "api_key", "submit", "saved", "error", "crop", "land_use",
            "reason", "overlap", "zone", "commune", "served_only", "missing_key", "of_area")
    return {"url": None if opts.api_base is None else opts.api_base.rstrip("/") + REVIEW_PATH,
            "lang": lang, "labels": {k: t(k, lang) for k in keys},
            "statuses": [[s, REVIEW_STATUS[lang][s]] for s in STATUSES],
            "status_names": REVIEW_STATUS[lang], "colors": styles.REVIEW_COLORS,
            "crops": CROPS[lang], "reasons": CONFLICT_REASONS[lang]}
