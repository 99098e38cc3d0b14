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
from typing import Any

import folium
from folium.utilities import JsCode
from sqlalchemy import Connection

from cropmrv.maps import assets, basemap, page, sqlgeo, styles
from cropmrv.maps.i18n import CONFLICT_REASONS, REVIEW_STATUS, crop, fmt, fmt_pct, t
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
pairs AS (
    SELECT z.id AS crop_zone_id, p.id AS planning_zone_id, z.commune_code, z.zone_code, z.crop, z.cls, z.area_ha,
           upper(p.land_use_code) AS land_use_code, p.plan_name, z.geom,
           ST_Area(ST_Intersection(z.geom, p.geom)::geography) AS overlap_m2,
           ST_Area(z.geom::geography) AS zone_m2
    FROM zones z JOIN planning_zone p ON p.geom && z.geom AND ST_Intersects(p.geom, z.geom)
)
SELECT x.crop_zone_id AS id, x.crop_zone_id, x.planning_zone_id, x.commune_code, u.name AS commune_name,
       x.zone_code, x.crop, x.land_use_code, x.plan_name, x.area_ha,
       round((x.overlap_m2 / 1e4)::numeric, 3)::float AS overlap_ha,
       round((x.overlap_m2 / NULLIF(x.zone_m2, 0))::numeric, 4)::float AS share,
       CASE WHEN x.land_use_code = 'CLN' THEN 'perennial_land'
            WHEN x.land_use_code = 'LUC' THEN 'specialised_rice_land'
            WHEN x.land_use_code LIKE 'LU%' THEN 'rice_land'
            WHEN x.land_use_code IN ('HNK', 'BHK', 'NHK', 'CHN') THEN 'annual_land'
            WHEN x.land_use_code IN ('RSX', 'RPH', 'RDD', 'LNP') THEN 'forest'
            WHEN x.land_use_code IN ('NTS', 'CNT', 'LMU', 'NKH', 'COC') THEN 'other_agricultural'
            ELSE 'non_agricultural' END AS reason,
       coalesce(r.status, 'unreviewed') AS status, r.id AS review_id, r.finding, r.reviewer,
       x.geom
FROM pairs x
JOIN admin_unit u ON u.code = x.commune_code
LEFT JOIN LATERAL (SELECT pr.id, pr.status, pr.finding, pr.reviewer FROM planning_review pr
                   WHERE pr.crop_zone_id = x.crop_zone_id
                     AND (pr.planning_zone_id IS NULL OR pr.planning_zone_id = x.planning_zone_id)
                   ORDER BY pr.updated_at DESC, pr.id DESC LIMIT 1) r ON true
WHERE x.overlap_m2 >= :min_share * x.zone_m2
  AND NOT EXISTS (SELECT 1 FROM allowed a WHERE a.code = x.land_use_code AND a.cls = x.cls)
"""


def conflicts_sql() -> str:
    allowed = ", ".join(f"('{c}', '{k}')" for c, k in ALLOWED)  # constants of this module, not user input
    annual = "(" + ", ".join(f"'{c}'" for c in ANNUAL) + ")"
    return CONFLICTS_SQL.format(allowed=allowed, annual=annual)


def conflicts(conn: Connection, province: str, commune: str | None = None, min_share: float = 0.1,
              tolerance: float = 0.0) -> dict[str, Any]:
    """The conflicts as a FeatureCollection (one feature per crop zone × planning zone pair)."""
    return sqlgeo.feature_collection(conn, conflicts_sql(), {"province": province, "commune": commune,
                                                             "min_share": min_share}, tolerance=tolerance)


def planning_map(conn: Connection, settings: Any, commune: str | None = None, min_share: float = 0.1,
                 opts: MapOptions | None = None) -> folium.Map:
    opts = opts or MapOptions()
    lang = opts.lang
    prov = settings.province_code
    if commune is not None:
        from cropmrv.maps.commune import commune_row

        commune_row(conn, commune)
    fc = conflicts(conn, prov, commune, min_share, tolerance=sqlgeo.tolerance_for_zoom(14))
    b = _fc_bounds(fc) or sqlgeo.bounds(conn, "SELECT geom FROM admin_unit WHERE code = :p", {"p": prov})
    zoom = 12 if fc["features"] else 9
    m = page.start_map(opts, b, zoom=zoom)
    bbox = (b[0][1] - 0.05, b[0][0] - 0.05, b[1][1] + 0.05, b[1][0] + 0.05) if b else None
    basemap.add_base(m, conn, settings, opts, zoom=zoom, bbox=bbox)

    pz_ids = sorted({f["properties"]["planning_zone_id"] for f in fc["features"]})
    pz = sqlgeo.feature_collection(
        conn, "SELECT id, land_use_code, plan_name, geom FROM planning_zone WHERE id = ANY(:ids)", {"ids": pz_ids},
        tolerance=sqlgeo.tolerance_for_zoom(14))
    for f in pz["features"]:
        col = styles.planning_color(f["properties"]["land_use_code"])
        f["properties"]["style"] = {"color": col, "weight": 2, "dashArray": "6 4", "fillColor": col,
                                    "fillOpacity": 0.1}
    folium.GeoJson(pz, name=t("planning_zones", lang), tooltip=basemap.tooltip(
        pz, ["land_use_code", "plan_name"], [t("land_use", lang), t("plan", lang)])).add_to(m)

    counts: dict[str, int] = {}
    for f in fc["features"]:
        p = f["properties"]
        counts[p["status"]] = counts.get(p["status"], 0) + 1
        p["crop_txt"] = crop(p["crop"], lang)
        p["reason_txt"] = CONFLICT_REASONS[lang][p["reason"]]
        p["status_txt"] = REVIEW_STATUS[lang][p["status"]]
        p["overlap_txt"] = f'{fmt(p["overlap_ha"], lang, 2)} ha ({fmt_pct(p["share"], lang)} {t("of_area", lang)})'
        col = styles.REVIEW_COLORS[p["status"]]
        p["style"] = {"color": "#222", "weight": 1, "fillColor": col, "fillOpacity": 0.85}
    popup = JsCode("function (feature, layer) { layer.bindPopup(function () { "
                   "return cmrvReviewForm(feature.properties, layer); }, {maxWidth: 320, minWidth: 260}); }")
    folium.GeoJson(fc, name=t("conflicts", lang), on_each_feature=popup, tooltip=basemap.tooltip(
        fc, ["commune_name", "zone_code", "crop_txt", "land_use_code", "reason_txt", "overlap_txt", "status_txt"],
        [t("commune", lang), t("zone", lang), t("crop", lang), t("land_use", lang), t("reason", lang),
         t("overlap", lang), t("status", lang)])).add_to(m)
    assets.Script("window.CMRV_REVIEW = " + json.dumps(_form_config(opts), ensure_ascii=False) + ";").add_to(m)
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
            "reason", "overlap", "zone", "commune", "served_only", "missing_key")
    return {"url": None if opts.api_base is None else opts.api_base.rstrip("/") + REVIEW_PATH,
            "labels": {k: t(k, lang) for k in keys},
            "statuses": [[s, REVIEW_STATUS[lang][s]] for s in STATUSES]}


def _fc_bounds(fc: dict[str, Any]) -> list[list[float]] | None:
    """Bounds of a FeatureCollection's coordinates (already in the page, so no second query)."""
    xs, ys = [], []

    def walk(c: Any) -> None:
        if isinstance(c[0], (int, float)):
            xs.append(c[0])
            ys.append(c[1])
        else:
            for x in c:
                walk(x)

    for f in fc["features"]:
        walk(f["geometry"]["coordinates"])
    return [[min(ys), min(xs)], [max(ys), max(xs)]] if xs else None
