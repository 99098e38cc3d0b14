"""Planning review map: crop zones that conflict with the land-use plan they sit in, and a form
that records the land sub-department's review through the API.

A conflict is a crop zone whose overlap with a planning zone is at least ``min_share`` of the zone's
area (geodesic areas of ``ST_Intersection``, computed in PostGIS) while the planned use does not
allow the crop's class: annual crops on land planned for perennials (CLN), perennials on rice land
(LUA/LUK/LUN) or annual-crop land (HNK…), anything but rice on specialised rice land (LUC), any crop
on forestry or non-agricultural land. The rules are a VALUES table so they read as data.

The pairs are stored in ``planning_conflict`` once per data version (:func:`overlay`); a page reads
them with the latest review statuses and draws the zones as compact layers (``maps.compact``).
"""

from __future__ import annotations

from typing import Any

import folium
from sqlalchemy import Connection, Engine, text

from cropmrv.maps import assets, basemap, compact, page, sqlgeo, styles
from cropmrv.maps.i18n import CONFLICT_REASONS, CROPS, REVIEW_STATUS, t
from cropmrv.maps.page import MapOptions

REVIEW_PATH = "/api/v1/planning-reviews"
ANNUAL = ("rice", "sugarcane", "cassava", "maize", "vegetables", "other_annual")
# (planned land-use code, crop class allowed there). Crop classes: rice | annual | perennial.
ALLOWED = [("LUC", "rice"), *[(c, k) for c in ("LUA", "LUK", "LUN") for k in ("rice", "annual")],
           *[(c, k) for c in ("HNK", "BHK", "NHK", "CHN") for k in ("rice", "annual")], ("CLN", "perennial")]
STATUSES = ("open", "conforming", "conflict", "adjustment_proposed", "resolved")

# Every overlapping pair of the province whose planned use does not allow the crop, with the overlap.
# Steps (measured on the generated sample, 1,257 zones × 1,508 planning zones: 2.9 s → ~1 s):
# 1. candidate pairs from the GiST index (``&&``) with the rule check first — a pair the plan allows
#    never reaches GEOS (5,580 bbox pairs → 3,086);
# 2. the exact overlay only for those, once per pair (MATERIALIZED: an inlined CTE let PostgreSQL
#    evaluate the share expression, and its ST_Intersection, in the filter and again in the select).
#    No ST_CoveredBy shortcut: it held for 53 of 1,392 pairs and cost more than it saved;
# 3. the geodesic area only for the pairs kept.
# The share is a ratio of areas in degrees², the same as on the ellipsoid at this scale.
COMPUTE_SQL = """
WITH allowed(code, cls) AS (VALUES {allowed}),
zones AS MATERIALIZED (
    SELECT z.id, z.commune_code, z.geom,
           CASE WHEN z.crop = 'rice' THEN 'rice' WHEN z.crop IN {annual} THEN 'annual' ELSE 'perennial' END AS cls
    FROM crop_zone z JOIN admin_unit u ON u.code = z.commune_code
    WHERE z.province_code = :province
),
candidates AS MATERIALIZED (
    SELECT z.id AS crop_zone_id, p.id AS planning_zone_id, upper(p.land_use_code) AS land_use_code
    FROM zones z JOIN planning_zone p ON p.geom && z.geom
    WHERE NOT EXISTS (SELECT 1 FROM allowed a WHERE a.code = upper(p.land_use_code) AND a.cls = z.cls)
),
pairs AS MATERIALIZED (
    SELECT c.crop_zone_id, c.planning_zone_id, c.land_use_code,
           ST_Area(ST_Intersection(z.geom, p.geom)) / NULLIF(ST_Area(z.geom), 0) AS share
    FROM candidates c JOIN zones z ON z.id = c.crop_zone_id JOIN planning_zone p ON p.id = c.planning_zone_id
    WHERE ST_Intersects(p.geom, z.geom)
)
SELECT x.crop_zone_id, x.planning_zone_id, z.commune_code, x.land_use_code,
       CASE WHEN x.land_use_code = 'CLN' THEN 'perennial_land'
            WHEN x.land_use_code = 'LUC' THEN 'specialised_rice_land'
            WHEN x.land_use_code LIKE 'LU%' THEN 'rice_land'
            WHEN x.land_use_code IN ('HNK', 'BHK', 'NHK', 'CHN') THEN 'annual_land'
            WHEN x.land_use_code IN ('RSX', 'RPH', 'RDD', 'LNP') THEN 'forest'
            WHEN x.land_use_code IN ('NTS', 'CNT', 'LMU', 'NKH', 'COC') THEN 'other_agricultural'
            ELSE 'non_agricultural' END AS reason,
       round(x.share::numeric, 4)::float AS share,
       round((x.share * ST_Area(z.geom::geography) / 1e4)::numeric, 3)::float AS overlap_ha
FROM pairs x JOIN zones z ON z.id = x.crop_zone_id
WHERE x.share > 0
"""

# What the page reads: the stored pairs of the province (or one commune) at or above ``min_share``.
READ_SQL = """
SELECT c.crop_zone_id, c.planning_zone_id, c.commune_code, u.name AS commune_name, z.zone_code, z.crop,
       c.land_use_code, c.overlap_ha, c.share, c.reason,
       ST_XMin(z.geom) AS x0, ST_YMin(z.geom) AS y0, ST_XMax(z.geom) AS x1, ST_YMax(z.geom) AS y1
FROM {source} c JOIN crop_zone z ON z.id = c.crop_zone_id JOIN admin_unit u ON u.code = c.commune_code
WHERE (CAST(:commune AS text) IS NULL OR c.commune_code = :commune) AND c.share >= :min_share
ORDER BY c.crop_zone_id, c.planning_zone_id
"""

# The overlay depends only on the province's crop-zone and planning layers (and on the rules): a
# reload makes a new dataset and new row ids (ids are never reused), a removal changes a count.
VERSION_SQL = """SELECT concat_ws(':', CAST(:rules AS text),
    (SELECT max(id) FROM dataset WHERE layer IN ('crop_zones', 'planning_zones') AND province_code = :province),
    (SELECT max(id) FROM crop_zone WHERE province_code = :province),
    (SELECT count(*) FROM crop_zone WHERE province_code = :province),
    (SELECT max(id) FROM planning_zone WHERE province_code = :province),
    (SELECT count(*) FROM planning_zone WHERE province_code = :province))"""


def compute_sql() -> str:
    allowed = ", ".join(f"('{c}', '{k}')" for c, k in ALLOWED)  # constants of this module, not user input
    annual = "(" + ", ".join(f"'{c}'" for c in ANNUAL) + ")"
    return COMPUTE_SQL.format(allowed=allowed, annual=annual)


def _rules_tag() -> str:
    import hashlib

    return hashlib.sha1(compute_sql().encode()).hexdigest()[:12]


def data_version(conn: Connection, province: str) -> str:
    return conn.execute(text(VERSION_SQL), {"rules": _rules_tag(), "province": province}).scalar_one()


def _stored_version(conn: Connection, province: str) -> str | None:
    return conn.execute(text("SELECT version FROM planning_conflict_state WHERE province_code = :p"),
                        {"p": province}).scalar()


def refresh(engine: Engine, province: str, force: bool = False) -> bool:
    """Recompute the province's stored overlay if its crop-zone or planning data changed (or
    ``force``); True when it was recomputed. One writer at a time per province (advisory lock);
    a second caller waits and then finds the overlay current."""
    with engine.begin() as c:
        c.execute(text("SELECT pg_advisory_xact_lock(hashtextextended('cropmrv.planning_conflict:' || CAST(:p AS text), 0))"),
                  {"p": province})
        version = data_version(c, province)
        if not force and _stored_version(c, province) == version:
            return False
        c.execute(text("DELETE FROM planning_conflict WHERE province_code = :p"), {"p": province})
        n = c.execute(text(
            "INSERT INTO planning_conflict (province_code, crop_zone_id, planning_zone_id, commune_code, "
            "land_use_code, reason, share, overlap_ha) SELECT :province, q.* FROM (" + compute_sql() + ") q"),
            {"province": province}).rowcount
        c.execute(text(
            "INSERT INTO planning_conflict_state (province_code, version, pairs) VALUES (:p, :v, :n) "
            "ON CONFLICT (province_code) DO UPDATE SET version = EXCLUDED.version, pairs = EXCLUDED.pairs, "
            "computed_at = now()"), {"p": province, "v": version, "n": n})
    return True


def overlay(conn: Connection, province: str, commune: str | None = None, min_share: float = 0.1
            ) -> list[dict[str, Any]]:
    """The conflicting pairs (crop zone × planning zone) with their overlap, without geometry.

    Why stored: intersecting detailed zones costs about a second for the sample province (more for
    a real one), yet it only changes when a crop-zone or planning layer is reloaded. The pairs are
    kept in ``planning_conflict`` with the data version they were computed from; a page compares
    versions (a few index lookups) and recomputes — in its own committed transaction — only when
    they differ, so a reload is seen at once and a restarted server pays nothing. Review statuses
    are not part of it (they are read per request). When ``conn`` sees data that other sessions do
    not (its own uncommitted rows), the overlay is computed in ``conn`` and not stored.
    """
    params = {"province": province, "commune": commune, "min_share": float(min_share)}
    version = data_version(conn, province)
    # a database made before planning_conflict existed (the schema is edited in place while
    # unreleased) is still served, computing each time
    stored = conn.execute(text("SELECT to_regclass('planning_conflict_state') IS NOT NULL")).scalar_one()
    if stored and _stored_version(conn, province) != version:
        refresh(conn.engine, province)
    if stored and _stored_version(conn, province) == version:
        sql = READ_SQL.format(source="(SELECT * FROM planning_conflict WHERE province_code = :province)")
    else:
        sql = READ_SQL.format(source="(" + compute_sql() + ")")
    return [dict(r._mapping) for r in conn.execute(text(sql), params)]


def latest_reviews(conn: Connection, zone_ids: list[int]) -> dict[tuple[int, int | None], dict[str, Any]]:
    """The latest review per (crop zone, planning zone or None), for the given crop zones."""
    out: dict[tuple[int, int | None], dict[str, Any]] = {}
    for r in conn.execute(text(
            "SELECT id, crop_zone_id, planning_zone_id, status FROM planning_review WHERE crop_zone_id = ANY(:ids) "
            "ORDER BY updated_at, id"), {"ids": zone_ids}):
        out[(r.crop_zone_id, r.planning_zone_id)] = {"id": r.id, "status": r.status}
    return out


# What a conflict feature carries to the page (names, labels and colours come from CMRV_REVIEW).
CONFLICT_COLUMNS = ["crop_zone_id", "planning_zone_id", "commune_code", "zone_code", "crop", "land_use_code",
                    "overlap_ha", "share", "reason", "status", "review_id"]
# in the page the crop zone is the feature's id (maps.js puts it back) and the review id is unused
PAGE_COLUMNS = [c for c in CONFLICT_COLUMNS if c not in ("crop_zone_id", "review_id")]


def conflict_rows(conn: Connection, province: str, commune: str | None = None, min_share: float = 0.1
                  ) -> list[dict[str, Any]]:
    """The overlay's pairs, each with the status of its latest review (a review naming no planning
    zone applies to every pair of its zone) — "unreviewed" when there is none."""
    rows = overlay(conn, province, commune, min_share)
    reviews = latest_reviews(conn, sorted({r["crop_zone_id"] for r in rows}))
    for r in rows:
        both = [reviews.get((r["crop_zone_id"], r["planning_zone_id"])), reviews.get((r["crop_zone_id"], None))]
        rv = max((x for x in both if x), key=lambda x: x["id"], default=None)
        r.update(status=rv["status"] if rv else "unreviewed", review_id=rv["id"] if rv else None)
    return rows


def conflicts(conn: Connection, province: str, commune: str | None = None, min_share: float = 0.1,
              tolerance: float = 0.0) -> dict[str, Any]:
    """The conflicts as a GeoJSON FeatureCollection (one feature per crop zone × planning zone pair)
    with the properties the page shows (see :func:`conflict_rows`)."""
    rows = conflict_rows(conn, province, commune, min_share)
    ids = sorted({r["crop_zone_id"] for r in rows})
    geoms = {f["id"]: f["geometry"] for f in sqlgeo.feature_collection(
        conn, "SELECT id, geom FROM crop_zone WHERE id = ANY(:ids)", {"ids": ids}, tolerance=tolerance)["features"]}
    feats = [{"type": "Feature", "id": r["crop_zone_id"], "geometry": geoms.get(r["crop_zone_id"]),
              "properties": {k: r[k] for k in [*CONFLICT_COLUMNS, "commune_name"]}} for r in rows]
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
    rows = conflict_rows(conn, prov, commune, min_share)
    b = overlay_bounds(rows) or sqlgeo.bounds(conn, "SELECT geom FROM admin_unit WHERE code = :p", {"p": prov})
    zoom = sqlgeo.fit_zoom(b)
    tol = sqlgeo.tolerance_for_zoom(zoom + 1)
    m = page.start_map(opts, b, zoom=zoom)
    bbox = (b[0][1] - 0.05, b[0][0] - 0.05, b[1][1] + 0.05, b[1][0] + 0.05) if b else None
    basemap.add_base(m, conn, settings, opts, zoom=zoom, bbox=bbox)

    # the planning zones the conflicts lie in, coloured by land-use group
    pz_ids = sorted({r["planning_zone_id"] for r in rows})
    pz = sqlgeo.encoded_geometries(
        conn, "SELECT id, land_use_code, plan_name, geom FROM planning_zone WHERE id = ANY(:ids)", {"ids": pz_ids},
        tolerance=tol)
    colors = {c: styles.planning_color(c) for c in {p["land_use_code"] for _, _, p in pz}}
    compact.CompactGeoJson(
        compact.pack(pz, ["land_use_code", "plan_name"]), t("planning_zones", lang), style={"weight": 2, "dashArray": "6 4", "fillOpacity": 0.1},
        style_by=("land_use_code", {c: {"color": v, "fillColor": v} for c, v in colors.items()}),
        tooltip=[("land_use_code", t("land_use", lang)), ("plan_name", t("plan", lang))]).add_to(m)

    # Features carry codes only; names, labels, number formats and colours come from one lookup
    # table (window.CMRV_REVIEW) in static/cropmrv/maps.js — a province has hundreds of conflicts and
    # repeating the same Vietnamese sentences in each would triple the page. A crop zone's outline
    # is sent once however many pairs it is in (maps.compact).
    geoms = {i: g for i, g, _ in sqlgeo.encoded_geometries(
        conn, "SELECT id, geom FROM crop_zone WHERE id = ANY(:ids)",
        {"ids": sorted({r["crop_zone_id"] for r in rows})}, tolerance=tol, props=False)}
    fc = compact.pack([(r["crop_zone_id"], geoms.get(r["crop_zone_id"]), r) for r in rows], PAGE_COLUMNS)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    compact.CompactGeoJson(fc, t("conflicts", lang), on_each="cmrvConflict").add_to(m)
    cfg = _form_config(opts)
    cfg["communes"] = {r["commune_code"]: r["commune_name"] for r in rows}
    assets.Script("window.CMRV_REVIEW = " + compact.to_js(cfg) + ";").add_to(m, index=0)
    basemap.add_top(m, conn, settings, opts, zoom=zoom, bbox=bbox, labels_show=commune is not None)
    page.legend(m, t("status", lang), [(styles.REVIEW_COLORS[s], f"{REVIEW_STATUS[lang][s]} ({counts.get(s, 0)})")
                                       for s in styles.REVIEW_COLORS])
    page.title_panel(m, opts, t("planning_map", lang),
                     f'{len(rows)} {t("zones_in", lang)} · {settings.province_name}'
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
