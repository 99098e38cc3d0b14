"""Seed rows for the map tests (crop zones, planning, irrigation, parcels, pilots, runs) and checks
of the map queries against them (conflicts, AWD candidates, classification, formatting).

Rows are written with SQL (the schema is the contract). Everything lies in Cư M'gar (24280), a
coffee commune, on a 6 × 3 grid of 430 m cells around a point inside the commune, so the expected
results can be read off the layout below:

    row 0: coffee drip | coffee rainfed | coffee sprinkler | coffee none | pepper drip | durian drip
    row 1: rice cf     | rice cf        | rice cf          | rice awd    | rice cf     | sugarcane
    row 2: maize       | cassava        | coffee rainfed   | coffee rain | pepper      | rice cf

planning: LUA over row 0 cols 0–1 (coffee on rice land: 2 conflicts), LUA over row 1 (no conflict),
CLN over row 2 cols 0–3 (maize and cassava on perennial land: 2 conflicts), RPH over row 2 col 4
(pepper in protection forest: 1 conflict). Service area over row 1 cols 0–3 → AWD candidates: the
three continuously flooded rice zones in cols 0–2 (col 3 is already AWD, col 4 lies outside).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from sqlalchemy import Engine, text

from cropmrv.db.engine import make_engine
from cropmrv.maps import i18n, planning, province
from cropmrv.maps.irrigation import AWD_SQL, COFFEE_SQL
from cropmrv.maps.page import MapOptions
from cropmrv.settings import Settings

from .api_helpers import module_database
from .reporting_data import make_run

COMMUNE = "24280"
COMMUNE_NAME = "Cư M'gar"
CELL = 0.004
SHA = "b" * 64
GRID = [
    [("coffee", "drip"), ("coffee", "rainfed"), ("coffee", "sprinkler"), ("coffee", "none"), ("pepper", "drip"),
     ("durian", "drip")],
    [("rice", "continuous_flooding")] * 3 + [("rice", "awd"), ("rice", "continuous_flooding"), ("sugarcane", "furrow")],
    [("maize", "rainfed"), ("cassava", "rainfed"), ("coffee", "rainfed"), ("coffee", "rainfed"), ("pepper", "drip"),
     ("rice", "continuous_flooding")],
]
EXPECTED_CONFLICTS = {("Z0-0", "LUA"), ("Z0-1", "LUA"), ("Z2-0", "CLN"), ("Z2-1", "CLN"), ("Z2-4", "RPH")}
EXPECTED_AWD = {"Z1-0", "Z1-1", "Z1-2"}
EXPECTED_COFFEE = {"Z0-1", "Z0-3", "Z2-2", "Z2-3"}
PACKAGES = [("dl-coffee-conventional", "coffee"), ("dl-coffee-low-emission", "coffee"),
            ("dl-rice-continuous-flooding", "rice"), ("dl-rice-awd", "rice")]


def _env(x0: float, y0: float, r0: float, c0: float, r1: float, c1: float) -> str:
    """A MultiPolygon WKT of the grid cells from (row r0, col c0) to (r1, c1), inset by 2 % of a cell."""
    e = CELL * 0.02
    xa, xb = x0 + c0 * CELL + e, x0 + c1 * CELL - e
    ya, yb = y0 - r0 * CELL - e, y0 - r1 * CELL + e
    return f"MULTIPOLYGON((({xa} {ya},{xb} {ya},{xb} {yb},{xa} {yb},{xa} {ya})))"


def seed_maps(engine: Engine) -> dict:
    """Insert the layout above, two finished runs (2024, 2025) for 40 communes, a land reviewer."""
    with engine.begin() as c:
        x0, y0 = c.execute(text("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM admin_unit "
                                "WHERE code = :c) s"), {"c": COMMUNE}).one()
        x0, y0 = x0 - 3 * CELL, y0 + 1.5 * CELL

        def ds(layer: str) -> int:
            return c.execute(text("INSERT INTO dataset (layer, province_code, commune_code, source_name, sha256) "
                                  "VALUES (:l, '66', :c, 'map test seed', :s) RETURNING id"),
                             {"l": layer, "c": COMMUNE, "s": SHA}).scalar_one()

        d = ds("crop_zones")
        zone_ids = {}
        for r, row in enumerate(GRID):
            for col, (crop, irr) in enumerate(row):
                zone_ids[f"Z{r}-{col}"] = c.execute(text(
                    "INSERT INTO crop_zone (province_code, dataset_id, commune_code, zone_code, crop, season, year, "
                    "area_ha, practice_code, irrigation_method, geom) VALUES ('66', :d, :c, :z, :crop, :season, 2025, "
                    "ST_Area(ST_GeomFromText(:g, 4326)::geography) / 1e4, :pc, :irr, ST_GeomFromText(:g, 4326)) "
                    "RETURNING id"),
                    {"d": d, "c": COMMUNE, "z": f"Z{r}-{col}", "crop": crop, "irr": irr,
                     "season": "he_thu" if crop == "rice" else ("annual" if crop in planning.ANNUAL else "perennial"),
                     "pc": "dl-coffee-conventional" if crop == "coffee" else None,
                     "g": _env(x0, y0, r, col, r + 1, col + 1)}).scalar_one()
        d = ds("planning_zones")
        for code, zc, cells in [("LUA", "P-LUA-1", (0, 0, 1, 2)), ("LUA", "P-LUA-2", (1, 0, 2, 6)),
                                ("CLN", "P-CLN-1", (2, 0, 3, 4)), ("RPH", "P-RPH-1", (2, 4, 3, 5))]:
            c.execute(text("INSERT INTO planning_zone (province_code, dataset_id, commune_code, zone_code, plan_name, "
                           "plan_period, land_use_code, geom) VALUES ('66', :d, :c, :z, 'QHSDĐ 2021-2030', "
                           "'2021-2030', :code, ST_Multi(ST_Buffer(ST_GeomFromText(:g, 4326), 0.0004, 'join=mitre')))"),
                      {"d": d, "c": COMMUNE, "z": zc, "code": code, "g": _env(x0, y0, *cells)})
        d = ds("irrigation_service_areas")
        c.execute(text("INSERT INTO irrigation_service_area (province_code, dataset_id, asset_code, commune_code, geom) "
                       "VALUES ('66', :d, 'KENH-1', :c, ST_Multi(ST_Buffer(ST_GeomFromText(:g, 4326), 0.0003, "
                       "'join=mitre')))"), {"d": d, "c": COMMUNE, "g": _env(x0, y0, 1, 0, 2, 4)})
        d = ds("irrigation_assets")
        yc = y0 - 1.5 * CELL
        for code, kind, name, wkt in [
            ("HO-1", "reservoir", "Hồ Ea Kao nhỏ", _env(x0, y0, -1.2, 0.5, -0.2, 2.5)),
            ("KENH-1", "canal", "Kênh chính N1", f"LINESTRING({x0 - 0.001} {yc},{x0 + 4 * CELL} {yc})"),
            ("TB-1", "pump_station", "Trạm bơm Cư M'gar", f"POINT({x0 - 0.002} {yc})"),
        ]:
            c.execute(text("INSERT INTO irrigation_asset (province_code, dataset_id, commune_code, asset_code, kind, "
                           "name, design_area_ha, status, geom) VALUES ('66', :d, :c, :a, :k, :n, 120, 'operating', "
                           "ST_GeomFromText(:g, 4326))"), {"d": d, "c": COMMUNE, "a": code, "k": kind, "n": name,
                                                          "g": wkt})
        d = ds("parcels")
        c.execute(text("""
            INSERT INTO parcel (province_code, dataset_id, commune_code, map_sheet, parcel_no, land_use_code, area_m2, geom)
            SELECT '66', :d, :c, '12', (i * 10 + j)::text, 'CLN', 1500,
                   ST_Multi(ST_MakeEnvelope(:x + i * 0.0004, :y - (j + 1) * 0.0004, :x + (i + 1) * 0.0004 - 0.00003,
                                            :y - j * 0.0004 - 0.00003, 4326))
            FROM generate_series(0, 9) i, generate_series(0, 9) j"""), {"d": d, "c": COMMUNE, "x": x0, "y": y0})
        for code, crop in PACKAGES:
            c.execute(text("INSERT INTO practice_package (code, crop, name, inputs, source, illustrative) VALUES "
                           "(:c, :crop, :c, '{}'::jsonb, 'mrv/packages', true) ON CONFLICT DO NOTHING"),
                      {"c": code, "crop": crop})
        for code, name, crop, b, p, cells in [
            ("PS-CF-1", "Mô hình cà phê phát thải thấp", "coffee", "dl-coffee-conventional", "dl-coffee-low-emission",
             (3.3, 0, 4.3, 2)),
            ("PS-RI-1", "Mô hình lúa AWD", "rice", "dl-rice-continuous-flooding", "dl-rice-awd", (3.3, 3, 4.3, 5)),
        ]:
            c.execute(text("INSERT INTO pilot_site (province_code, site_code, name, crop, decision_ref, commune_code, "
                           "baseline_package, project_package, start_year, area_ha, geom) VALUES ('66', :s, :n, :crop, "
                           "'4766/QĐ-BNNMT', :c, :b, :p, 2025, 12.5, ST_GeomFromText(:g, 4326))"),
                      {"s": code, "n": name, "crop": crop, "c": COMMUNE, "b": b, "p": p, "g": _env(x0, y0, *cells)})
        communes = [r[0] for r in c.execute(text(
            "SELECT code FROM admin_unit WHERE level = 'commune' ORDER BY code LIMIT 40"))] + [COMMUNE]
        runs = {}
        for year, scale in ((2024, 1.0), (2025, 1.1)):
            rows = [{"record_id": f"{cc}-{year}", "commune_code": cc, "crop": "coffee", "category": "3.D.a.1",
                     "gas": "N2O", "mass_g": int(scale * (i + 1) ** 2 * 40_000), "area_ha": 100 + 10 * i}
                    for i, cc in enumerate(communes)]
            runs[year] = make_run(c, year, rows, scenario="baseline")
        from cropmrv.api.auth import add_user, new_key
    add_user(engine, "land1", "land_reviewer")
    key = new_key(engine, "land1")
    return {"zones": zone_ids, "runs": runs, "communes": communes, "key": key, "origin": (x0, y0)}


@contextmanager
def maps_database(pg_cluster: dict, tag: str) -> Iterator[tuple[Settings, dict]]:
    """A private database for one test module, seeded by :func:`seed_maps`: (settings, seeded ids)."""
    with module_database(pg_cluster, tag) as s:
        eng = make_engine(s)
        seeded = seed_maps(eng)
        eng.dispose()
        yield s, seeded


def test_conflicts_follow_the_rules(fresh_engine):
    seed_maps(fresh_engine)
    with fresh_engine.connect() as c:
        fc = planning.conflicts(c, "66")
        got = {(f["properties"]["zone_code"], f["properties"]["land_use_code"]) for f in fc["features"]}
        assert got == EXPECTED_CONFLICTS
        reasons = {f["properties"]["zone_code"]: f["properties"]["reason"] for f in fc["features"]}
        assert reasons == {"Z0-0": "rice_land", "Z0-1": "rice_land", "Z2-0": "perennial_land",
                           "Z2-1": "perennial_land", "Z2-4": "forest"}
        assert all(f["properties"]["status"] == "unreviewed" for f in fc["features"])
        assert all(0.9 < f["properties"]["share"] <= 1.0 for f in fc["features"])
        # only one commune, and none elsewhere
        assert planning.conflicts(c, "66", "24133")["features"] == []
        assert len(planning.conflicts(c, "66", COMMUNE)["features"]) == 5


def test_latest_review_decides_the_status(fresh_engine):
    ids = seed_maps(fresh_engine)
    with fresh_engine.begin() as c:
        for status in ("open", "conforming"):
            c.execute(text("INSERT INTO planning_review (province_code, commune_code, crop_zone_id, reviewer, status, "
                           "updated_at) VALUES ('66', :c, :z, 't', :s, now() + make_interval(secs => :n))"),
                      {"c": COMMUNE, "z": ids["zones"]["Z2-0"], "s": status, "n": 1 if status == "conforming" else 0})
        fc = planning.conflicts(c, "66")
    st = {f["properties"]["zone_code"]: f["properties"]["status"] for f in fc["features"]}
    assert st["Z2-0"] == "conforming" and st["Z2-1"] == "unreviewed"


def test_irrigation_candidates(fresh_engine):
    seed_maps(fresh_engine)
    with fresh_engine.connect() as c:
        p = {"province": "66", "commune": None}
        awd = {r.zone_code for r in c.execute(text(AWD_SQL), p)}
        coffee = {r.zone_code for r in c.execute(text(COFFEE_SQL), p)}
    assert awd == EXPECTED_AWD
    assert coffee == EXPECTED_COFFEE


def test_classes_and_formatting():
    idx, bins = province.classify(np.array([1.0, 2.0, np.nan, 10.0, 50.0, 51.0, 100.0, 3.0]))
    assert idx[2] == -1 and len(bins) == 5 and bins[-1] == 100.0
    assert list(idx[[0, 6]]) == [0, 4]
    idx, bins = province.classify(np.array([5.0, 5.0, np.nan]))
    assert list(idx) == [0, 0, -1] and bins == [5.0]
    assert province.class_colors(2) == [province.PALETTE[0], province.PALETTE[-1]]
    assert i18n.fmt(1234.5, "vi") == "1.234,5"
    assert i18n.fmt(1234567.891, "vi", 2) == "1.234.567,89"
    assert i18n.fmt(1234.5, "en") == "1,234.5"
    assert i18n.fmt(None, "vi") == "–"
    assert set(i18n.T["vi"]) == set(i18n.T["en"])
    for table in (i18n.CROPS, i18n.IRRIGATION, i18n.ASSET_KINDS, i18n.REVIEW_STATUS, i18n.CONFLICT_REASONS):
        assert set(table["vi"]) == set(table["en"])
    assert i18n.crop("coffee", "vi") == "cà phê" and i18n.crop("cassava", "vi") == "sắn"
    assert MapOptions(path="/maps/province", query=(("year", "2024"),)).link(lang="en") == \
        "/maps/province?year=2024&lang=en"


def _add_planning(c, x0: float, y0: float, code: str, cells: tuple[int, int, int, int]) -> None:
    d = c.execute(text("INSERT INTO dataset (layer, province_code, commune_code, variant, source_name, sha256) "
                       "VALUES ('planning_zones', '66', :c, :v, 'map test reload', :s) RETURNING id"),
                  {"c": COMMUNE, "v": code, "s": "c" * 64}).scalar_one()
    c.execute(text("INSERT INTO planning_zone (province_code, dataset_id, commune_code, zone_code, land_use_code, geom) "
                   "VALUES ('66', :d, :c, :z, :code, ST_Multi(ST_GeomFromText(:g, 4326)))"),
              {"d": d, "c": COMMUNE, "z": f"P-{code}-X", "code": code, "g": _env(x0, y0, *cells)})


def test_overlay_is_stored_once_per_data_version(fresh_engine):
    ids = seed_maps(fresh_engine)
    x0, y0 = ids["origin"]
    state = "SELECT version, pairs, computed_at FROM planning_conflict_state WHERE province_code = '66'"
    with fresh_engine.connect() as c:
        assert len(planning.overlay(c, "66")) == 5
        first = c.execute(text(state)).one()
        assert first.pairs >= 5 and first.version == planning.data_version(c, "66")
        assert planning.overlay(c, "66", COMMUNE) == planning.overlay(c, "66")
        assert c.execute(text(state)).one() == first  # read, not recomputed
        # slivers where the buffered planning zones reach into the next cell are stored, shown only on request
        assert len(planning.overlay(c, "66", min_share=0.01)) > 5 and first.pairs > 5
    # a reload of the planning layer (pepper on row 0 col 4 now in production forest) is seen at once
    with fresh_engine.begin() as c:
        _add_planning(c, x0, y0, "RSX", (0, 4, 1, 5))
    with fresh_engine.connect() as c:
        got = {(r["zone_code"], r["land_use_code"]) for r in planning.overlay(c, "66")}
        assert got == EXPECTED_CONFLICTS | {("Z0-4", "RSX")}
        assert c.execute(text(state)).one().version != first.version
    # rows this connection has not committed are honoured, and not stored for others
    with fresh_engine.begin() as c:
        _add_planning(c, x0, y0, "ODT", (0, 5, 1, 6))
        assert ("Z0-5", "ODT") in {(r["zone_code"], r["land_use_code"]) for r in planning.overlay(c, "66")}
        with fresh_engine.connect() as other:
            stored = other.execute(text(state)).one().version
            assert stored == planning.data_version(other, "66") != planning.data_version(c, "66")
        c.rollback()
