"""ingest_vector against a real database: what lands, versions, refusals that change no row."""

from __future__ import annotations

import pyproj
import pytest
import shapely
from sqlalchemy import text

from cropmrv.ingest.load import ingest_vector
from cropmrv.ingest.report import IngestError

from .conftest import DATA
from .data.ingest import make_fixtures as fx

PARCELS = DATA / "ingest" / "parcels_bmt.shp"
HKTB = DATA / "vn2000" / "hktb.shp"
LEGACY = DATA / "legacy"


def counts(engine) -> dict[str, int]:
    with engine.connect() as c:
        return {t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                for t in ("parcel", "parcel_history", "dataset", "planning_zone")}


def load(settings, engine, path=PARCELS, layer="parcels", **kw):
    return ingest_vector(path, layer, settings=settings, engine=engine, **kw)


def test_parcels_load_with_the_expected_report(fresh_db, fresh_engine):
    rep = load(fresh_db, fresh_engine)
    assert rep.status == "loaded"
    assert (rep.features_read, rep.features_loaded, rep.rejected) == (48, 45, 3)
    assert rep.crs_in == "EPSG:9218" and rep.crs_source == "prj" and "6960" in rep.crs_operation
    assert rep.encoding_in == "utf-8"
    by = {(i.feature, i.code): i.action for i in rep.issues}
    assert by[(41, "repaired")] == "repaired"
    assert by[(42, "duplicate_identity")] == "rejected"
    assert by[(43, "area_mismatch")] == "flagged"
    assert by[(44, "unknown_land_use")] == "flagged"
    assert by[(45, "crosses_communes")] == "flagged"
    assert by[(46, "outside_province")] == "rejected"
    assert by[(48, "empty_geometry")] == "rejected"
    assert rep.mapping == {"commune_code": "MaXa", "map_sheet": "SoTo", "parcel_no": "SoThua",
                           "land_use_code": "LoaiDat", "area_m2": "DienTich"}
    assert rep.attributes_kept == ["TenChu"]
    with fresh_engine.connect() as c:
        ds = c.execute(text("SELECT * FROM dataset WHERE id = :i"), {"i": rep.dataset_id}).mappings().one()
        assert ds["status"] == "active" and ds["version"] == 1 and ds["sha256"] == rep.sha256
        assert (ds["crs_in"], ds["encoding_in"], ds["feature_count"], ds["rejected_count"]) == \
            ("EPSG:9218", "utf-8", 45, 3)
        assert ds["source_name"] == "parcels_bmt.shp" and "6960" in ds["crs_operation"]
        assert ds["report"]["counts"]["duplicate_identity"] == {"rejected": 1}
        rows = c.execute(text("SELECT parcel_no, commune_code, land_use_code, area_m2, attributes, "
                              "ST_SRID(geom) srid, GeometryType(geom) gt, ST_IsValid(geom) ok FROM parcel "
                              "ORDER BY id")).mappings().all()
    assert len(rows) == 45
    assert {r["srid"] for r in rows} == {4326} and {r["gt"] for r in rows} == {"MULTIPOLYGON"}
    assert all(r["ok"] for r in rows)
    by_no = {r["parcel_no"]: r for r in rows}
    assert by_no["1"]["attributes"] == {"TenChu": "Nguyễn Văn Hòa"}
    assert by_no["47"]["commune_code"] == "24133"  # assigned by majority area
    assert by_no["45"]["attributes"]["_flags"] == ["crosses_communes"]
    assert by_no["44"]["land_use_code"] == "XYZ"


def test_reload_identical_is_a_noop_and_a_change_supersedes(fresh_db, fresh_engine, tmp_path):
    first = load(fresh_db, fresh_engine)
    before = counts(fresh_engine)
    again = load(fresh_db, fresh_engine)
    assert again.status == "unchanged" and again.dataset_id == first.dataset_id
    assert counts(fresh_engine) == before
    # a changed file (one more owner column) is a new version; the old rows go to history, same ids
    import geopandas as gpd

    gdf = gpd.read_file(PARCELS)
    gdf["GhiChu"] = "đã đo lại"
    changed = tmp_path / "parcels_bmt.shp"
    gdf.to_file(changed, encoding="UTF-8")
    with fresh_engine.connect() as c:
        old_ids = sorted(c.execute(text("SELECT id FROM parcel")).scalars())
    second = load(fresh_db, fresh_engine, changed)
    assert second.status == "loaded" and second.supersedes == first.dataset_id
    with fresh_engine.connect() as c:
        st = dict(c.execute(text("SELECT id, status FROM dataset WHERE layer='parcels'")).all())
        assert st == {first.dataset_id: "superseded", second.dataset_id: "active"}
        assert sorted(c.execute(text("SELECT id FROM parcel_history")).scalars()) == old_ids
        new_ids = c.execute(text("SELECT min(id) FROM parcel")).scalar()
        assert new_ids > max(old_ids)
        v = c.execute(text("SELECT version FROM dataset WHERE id=:i"), {"i": second.dataset_id}).scalar()
        assert v == 2


def test_dry_run_writes_nothing(fresh_db, fresh_engine):
    before = counts(fresh_engine)
    rep = load(fresh_db, fresh_engine, dry_run=True)
    assert rep.status == "dry_run" and rep.features_loaded == 45
    assert counts(fresh_engine) == before


def test_max_rejects_refuses_and_changes_no_row(fresh_db, fresh_engine):
    load(fresh_db, fresh_engine)
    before = counts(fresh_engine)
    import geopandas as gpd

    with pytest.raises(IngestError, match="max-rejects 2") as ei:
        gdf = gpd.read_file(PARCELS)
        gdf["X"] = 1
        p = fx.HERE.parent.parent / "ignored"
        del p
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / "p.shp"
            gdf.to_file(out, encoding="UTF-8")
            load(fresh_db, fresh_engine, out, max_rejects=2)
    assert ei.value.report.status == "refused" and ei.value.report.rejected == 3
    assert counts(fresh_engine) == before


def _empty(p):
    p.write_bytes(b"")
    return p


@pytest.mark.parametrize("make", [
    lambda d: fx.truncated(PARCELS, d),
    lambda d: fx.copy_shapefile(PARCELS, d, skip=(".shx",)),
    lambda d: fx.copy_shapefile(PARCELS, d, skip=(".dbf",)),
    lambda d: fx.evil_zip(PARCELS, d / "evil.zip", "../evil.txt"),
    lambda d: fx.evil_zip(PARCELS, d / "abs.zip", "/etc/evil.txt"),
    lambda d: fx.bomb_zip(d / "bomb.zip"),
    lambda d: _empty(d / "empty.shp"),
    lambda d: fx.lying_prj(PARCELS, d),
], ids=["truncated", "no-shx", "no-dbf", "zip-dotdot", "zip-absolute", "zip-bomb", "empty", "lying-prj"])
def test_bad_input_is_refused_and_changes_no_row(fresh_db, fresh_engine, tmp_path, make):
    load(fresh_db, fresh_engine)
    before = counts(fresh_engine)
    path = make(tmp_path)
    with pytest.raises(IngestError) as ei:
        load(fresh_db, fresh_engine, path)
    msg = str(ei.value)
    assert " / " in msg and path.name in msg  # bilingual, names the file
    assert counts(fresh_engine) == before


def test_lying_prj_names_the_fitting_crs(fresh_db, fresh_engine, tmp_path):
    path = fx.lying_prj(PARCELS, tmp_path)
    with pytest.raises(IngestError, match=r"EPSG:9210.*EPSG:9218.*--crs EPSG:9218"):
        load(fresh_db, fresh_engine, path)
    rep = load(fresh_db, fresh_engine, path, crs="EPSG:9218")
    assert rep.status == "loaded" and rep.crs_source == "user"


def test_z_geometries_are_dropped_to_2d_with_a_note(fresh_db, fresh_engine, tmp_path):
    rep = load(fresh_db, fresh_engine, fx.with_z(PARCELS, tmp_path / "z.shp"))
    assert rep.status == "loaded"
    assert any("Z/M" in n for n in rep.notes)
    with fresh_engine.connect() as c:
        assert c.execute(text("SELECT bool_and(NOT ST_Zmflag(geom)::int::bool) FROM parcel")).scalar()


def test_mixed_types_reject_the_non_polygons(fresh_db, fresh_engine, tmp_path):
    path = fx.mixed_types(PARCELS, tmp_path / "mixed.geojson")
    rep = load(fresh_db, fresh_engine, path, dry_run=True)
    wrong = sorted(i.feature for i in rep.issues if i.code == "wrong_geometry_type")
    assert wrong == [2, 3] and rep.crs_in == "EPSG:4326"
    before = counts(fresh_engine)
    with pytest.raises(IngestError, match="max-rejects 0"):
        load(fresh_db, fresh_engine, path, max_rejects=0)
    assert counts(fresh_engine) == before


def test_self_intersection_rejected_when_repair_is_off(fresh_db, fresh_engine):
    rep = load(fresh_db, fresh_engine, repair=False, dry_run=True)
    assert [(i.feature, i.action) for i in rep.issues if i.code == "invalid_geometry"] == [(41, "rejected")]
    assert "Self-intersection" in next(i.detail for i in rep.issues if i.code == "invalid_geometry")


def test_zip_and_gpkg_inputs(fresh_db, fresh_engine, tmp_path):
    rep = load(fresh_db, fresh_engine, fx.nested_zip(PARCELS, tmp_path / "xa.zip"), dry_run=True)
    assert rep.features_loaded == 45 and rep.source == "xa.zip"
    g = fx.two_layer_gpkg(PARCELS, tmp_path / "two.gpkg")
    with pytest.raises(IngestError, match="source-layer"):
        load(fresh_db, fresh_engine, g, dry_run=True)
    rep = load(fresh_db, fresh_engine, g, source_layer="thua_dat", dry_run=True)
    assert rep.features_read == 20 and rep.encoding_in == "utf-8"


def test_commune_option_rejects_other_communes(fresh_db, fresh_engine):
    rep = load(fresh_db, fresh_engine, commune="24133")
    assert rep.status == "loaded"
    with fresh_engine.connect() as c:
        assert c.execute(text("SELECT commune_code FROM dataset WHERE id=:i"), {"i": rep.dataset_id}).scalar() == "24133"
    with pytest.raises(IngestError, match="no valid feature") as ei:
        load(fresh_db, fresh_engine, commune="24154", dry_run=True)
    assert sum(i.code == "other_commune" for i in ei.value.report.issues) >= 40
    with pytest.raises(IngestError, match="99999"):
        load(fresh_db, fresh_engine, commune="99999")


# -- CRS: the real VN-2000 file from old Bến Tre ------------------------------------------------------
def test_hktb_is_refused_for_dak_lak_naming_epsg_9210(fresh_db, fresh_engine):
    before = counts(fresh_engine)
    with pytest.raises(IngestError) as ei:
        load(fresh_db, fresh_engine, HKTB)
    msg = str(ei.value)
    assert "EPSG:9210" in msg and "Ben Tre" in msg and "hktb.shp" in msg
    with pytest.raises(IngestError, match=r"EPSG:9210 puts the data outside province Đắk Lắk"):
        load(fresh_db, fresh_engine, HKTB, crs="EPSG:9210")
    assert counts(fresh_engine) == before


def _ben_tre_like(settings, engine):
    """A platform configured for a province around the hktb commune (old Bến Tre), one commune."""
    t = pyproj.Transformer.from_crs(9210, 4326, always_xy=True)
    x0, y0, x1, y1 = 576_000, 1_128_500, 582_000, 1_134_500
    box = shapely.Polygon([t.transform(x, y) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))])
    with engine.begin() as c:
        c.execute(text("INSERT INTO admin_unit (code, name, level, kind, province_code, geom) VALUES "
                       "('83', 'Bến Tre (thử)', 'province', 'tinh', '83', ST_Multi(ST_GeomFromText(:g, 4326)))"),
                  {"g": box.buffer(0.01).wkt})
        c.execute(text("INSERT INTO admin_unit (code, name, level, kind, parent_code, province_code, geom) VALUES "
                       "('28900', 'Xã thử', 'commune', 'xa', '83', '83', ST_Multi(ST_GeomFromText(:g, 4326)))"),
                  {"g": box.wkt})
    return settings.model_copy(update={"province_code": "83", "province_name": "Bến Tre", "preferred_epsg": 9210})


def test_hktb_accepted_with_crs_9210_in_a_ben_tre_province(fresh_db, fresh_engine):
    s = _ben_tre_like(fresh_db, fresh_engine)
    rep = load(s, fresh_engine, HKTB, crs="EPSG:9210")
    assert rep.status == "loaded" and rep.crs_in == "EPSG:9210" and rep.crs_source == "user"
    assert rep.features_loaded + rep.rejected == 3950
    repaired = [i for i in rep.issues if i.code == "repaired"]
    assert len(repaired) == 24
    with fresh_engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM parcel WHERE province_code='83' AND commune_code='28900'")
                         ).scalar() == rep.features_loaded
        sample = c.execute(text("SELECT parcel_no, attributes ? 'GUID', attributes->>'SOTHUTU001' FROM parcel "
                                "ORDER BY id LIMIT 1")).one()
        assert sample == ("34", True, None)  # SOTHUTUTHU is empty in this file: SOTHUTU001 feeds parcel_no
    # and without --crs the zone is inferred: only EPSG:9210 puts it there
    rep2 = load(s, fresh_engine, HKTB, dry_run=True)
    assert rep2.status == "unchanged" or rep2.crs_in == "EPSG:9210"


# -- encodings ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,enc", [("communes_tcvn3_noprj", "tcvn3"), ("communes_vni", "vni"),
                                      ("communes_cp1258", "cp1258"), ("communes_utf8", "utf-8")])
def test_legacy_encodings_are_detected_and_stored_nfc(fresh_db, fresh_engine, name, enc):
    rep = load(fresh_db, fresh_engine, LEGACY / f"{name}.shp", layer="planning_zones",
               mapping={"land_use_code": "LOAI"})
    assert rep.status == "loaded" and rep.encoding_in == enc
    with fresh_engine.connect() as c:
        names = dict(c.execute(text("SELECT attributes->>'TEN', land_use_code FROM planning_zone")).all())
        ward = dict(c.execute(text("SELECT code, name FROM admin_unit WHERE level='commune'")).all())
        stored = c.execute(text("SELECT commune_code, attributes->>'TEN' FROM planning_zone")).all()
    import unicodedata

    assert all(unicodedata.is_normalized("NFC", n) for n in names)
    # every decoded name matches the real ward's name (TCVN3 has no upper-case toned letters)
    from cropmrv.ingest.names import name_key

    ok = sum(name_key(ward[code]) == name_key(n) for code, n in stored)
    assert ok == len(stored) == 21


# -- killed or failing loads leave the previous state --------------------------------------------------
def test_failure_inside_the_swap_leaves_the_previous_state(fresh_db, fresh_engine, tmp_path):
    load(fresh_db, fresh_engine)
    before = counts(fresh_engine)
    with fresh_engine.connect() as c:
        before_rows = c.execute(text("SELECT id, parcel_no, dataset_id FROM parcel ORDER BY id")).all()

    def boom(stage, done, total):
        if stage == "swap" and done == 1:
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        load(fresh_db, fresh_engine, fx.lying_prj(PARCELS, tmp_path), crs=9218, progress=boom)
    assert counts(fresh_engine) == before
    with fresh_engine.connect() as c:
        assert c.execute(text("SELECT id, parcel_no, dataset_id FROM parcel ORDER BY id")).all() == before_rows
        assert c.execute(text("SELECT count(*) FROM dataset WHERE status='active'")).scalar() == 2  # admin + parcels


def test_set_based_fk_check_replaces_the_per_row_one_safely(conn):
    """The fast path skips per-row FK triggers only as superuser, and verifies every row afterwards."""
    from cropmrv.db.engine import raw_connection
    from cropmrv.ingest import staging

    pg = raw_connection(conn)
    did = pg.execute("INSERT INTO dataset (layer, province_code, source_name, sha256) "
                     "VALUES ('parcels', '66', 't', repeat('a', 64)) RETURNING id").fetchone()[0]
    assert staging.skip_row_fk_checks(pg, "parcel", "66")  # the test cluster's role is a superuser
    pg.execute("INSERT INTO parcel (province_code, dataset_id, commune_code, geom) VALUES "
               "('66', %s, '00000', ST_Multi(ST_MakeEnvelope(108, 12, 108.001, 12.001, 4326)))", (did,))
    with pytest.raises(IngestError, match="missing from admin_unit"):
        staging.restore_fk_checks(pg, "parcel", did)
    # pilot_site has other foreign keys (practice packages): never on the fast path
    assert not staging.skip_row_fk_checks(pg, "pilot_site", "66")


def _indexes(engine, table="parcel") -> dict[str, str]:
    with engine.connect() as c:
        return dict(c.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t"), {"t": table}).all())


def test_indexes_deferred_on_a_bulk_load_are_rebuilt_and_rolled_back_on_refusal(fresh_db, fresh_engine, tmp_path):
    """A load into an (almost) empty table drops its secondary indexes and builds them after the
    COPY (staging.defer_indexes): they must be identical afterwards, and a refused load, which
    rolls the DROP back, must leave them too."""
    before = _indexes(fresh_engine)
    assert {"parcel_geom", "parcel_commune", "parcel_dataset"} <= set(before)
    load(fresh_db, fresh_engine)
    assert _indexes(fresh_engine) == before
    with fresh_engine.connect() as c:  # the GiST index answers a spatial query after the rebuild
        c.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(r[0] for r in c.execute(text(
            "EXPLAIN SELECT id FROM parcel WHERE geom && ST_MakeEnvelope(108, 12, 109, 13, 4326)")).all())
        assert "parcel_geom" in plan
    import geopandas as gpd

    gdf = gpd.read_file(PARCELS)
    gdf["X"] = 1
    out = tmp_path / "p.shp"
    gdf.to_file(out, encoding="UTF-8")
    with fresh_engine.begin() as c:  # fresh statistics: the table now looks as big as the load
        c.execute(text("ANALYZE parcel"))
    with pytest.raises(IngestError, match="max-rejects 0"):
        load(fresh_db, fresh_engine, out, max_rejects=0)
    assert _indexes(fresh_engine) == before


BOWTIE_SQL = ("ST_Multi(ST_GeomFromText('POLYGON((108 12.6,108.01 12.61,108.01 12.6,108 12.61,108 12.6))',4326))")


@pytest.mark.parametrize("table,cols,vals", [
    ("parcel", "", ""),
    ("crop_zone", ", crop", ", 'coffee'"),
    ("planning_zone", ", land_use_code", ", 'CLN'"),
    ("irrigation_asset", ", kind", ", 'canal'"),
    ("pilot_site", ", site_code, name, crop", ", 'X1', 'x', 'coffee'"),
])
def test_geometry_validity_trigger_guards_every_other_writer(conn, table, cols, vals):
    """The loader checks validity itself (and skips the trigger on its superuser fast path); any
    other INSERT or UPDATE of an invalid geometry is refused by the table's trigger."""
    import sqlalchemy

    ds = conn.execute(text("INSERT INTO dataset (layer, province_code, source_name, sha256) "
                           "VALUES ('parcels', '66', 't', repeat('b', 64)) RETURNING id")).scalar()
    with pytest.raises(sqlalchemy.exc.IntegrityError, match=f"invalid geometry in {table}"), conn.begin_nested():
        conn.execute(text(f"INSERT INTO {table} (province_code, dataset_id, commune_code, geom{cols}) "
                          f"VALUES ('66', :d, '24133', {BOWTIE_SQL}{vals})"), {"d": ds})
    rid = conn.execute(text(f"INSERT INTO {table} (province_code, dataset_id, commune_code, geom{cols}) VALUES "
                            f"('66', :d, '24133', ST_Multi(ST_MakeEnvelope(108, 12.6, 108.01, 12.61, 4326)){vals}) "
                            "RETURNING id"), {"d": ds}).scalar()
    with pytest.raises(sqlalchemy.exc.IntegrityError, match="Self-intersection"), conn.begin_nested():
        conn.execute(text(f"UPDATE {table} SET geom = {BOWTIE_SQL} WHERE id = :i"), {"i": rid})


def test_loads_as_an_ordinary_role_take_the_checked_path(fresh_db, fresh_engine):
    """Not a superuser (a shared server's application role): per-row foreign keys and the
    geometry trigger run for every row, and the load is the same."""
    import os

    from sqlalchemy import create_engine

    role = f"loader_{os.getpid()}"
    with fresh_engine.begin() as c:
        owner = c.execute(text("SELECT current_user")).scalar()
        c.execute(text(f'CREATE ROLE {role} LOGIN NOSUPERUSER IN ROLE "{owner}"'))  # owns the tables through it
    eng = create_engine(fresh_engine.url.set(username=role))
    try:
        rep = load(fresh_db, eng)
        assert rep.status == "loaded" and (rep.features_loaded, rep.rejected) == (45, 3)
        with eng.connect() as c:
            assert c.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar() is False
            assert c.execute(text("SELECT bool_and(ST_IsValid(geom)), count(*) FROM parcel")).one() == (True, 45)
    finally:
        eng.dispose()
        with fresh_engine.begin() as c:
            c.execute(text(f"DROP OWNED BY {role}"))
            c.execute(text(f"DROP ROLE {role}"))


def test_ingest_takes_over_an_early_reader_or_closes_a_mismatched_one(fresh_db, fresh_engine, monkeypatch):
    from cropmrv.ingest import early as early_mod

    early = early_mod.start(PARCELS, "parcels")
    assert early is not None and early.spec_epsg == 9218
    with monkeypatch.context() as m:  # the load must use the reader it is given, not open the file again
        m.setattr(early_mod, "open_source", lambda *a, **k: pytest.fail("the file was opened a second time"))
        rep = load(fresh_db, fresh_engine, early=early)
    assert rep.status == "loaded" and rep.features_loaded == 45
    assert early.chunks._stop.is_set()  # closed by the load
    other = early_mod.start(PARCELS, "parcels", encoding="cp1258")
    rep = load(fresh_db, fresh_engine, early=other)  # not what the load was asked: opened afresh
    assert rep.status == "unchanged" and other.chunks._stop.is_set()
    assert early_mod.start(PARCELS.with_suffix(".missing"), "parcels") is None  # problems are left to the loader


def test_polygons_broken_by_reprojection_are_repaired_in_wgs84(fresh_db, fresh_engine, tmp_path):
    """A hole touching its shell at a vertex is valid in VN-2000, but the vertex lands a hair on
    the wrong side of the curved-then-straightened edge in EPSG:4326 for two of these four. The
    loader checks what it stores, so it repairs them there and says so; nothing invalid lands
    (this runs on the superuser fast path, where the table's validity trigger is skipped)."""
    import geopandas as gpd

    x0, y0 = 500000.0, 1400000.0
    cx, cy = x0 + 500, y0 + 500
    shell = [(x0, y0), (x0 + 1000, y0), (x0 + 1000, y0 + 1000), (x0, y0 + 1000), (x0, y0)]
    tips = {"right": (x0 + 1000, cy), "left": (x0, cy), "top": (cx, y0 + 1000), "bottom": (cx, y0)}
    geoms = []
    for side, tip in tips.items():
        d = (100, 50) if side in ("right", "left") else (50, 100)
        geoms.append(shapely.Polygon(shell, [[tip, (cx + d[0], cy + d[1]), (cx - d[0], cy - d[1]), tip]]))
    assert all(shapely.is_valid(geoms))
    gdf = gpd.GeoDataFrame({"SoThua": list(tips), "SoTo": ["1"] * 4}, geometry=geoms, crs=9218)
    path = tmp_path / "holes.shp"
    gdf.to_file(path, encoding="UTF-8")
    rep = load(fresh_db, fresh_engine, path)
    assert rep.status == "loaded" and rep.features_loaded == 4
    fixed = {i.feature: i.detail for i in rep.issues if i.code == "repaired"}
    assert sorted(fixed) == [2, 3] and all("invalid after reprojection to EPSG:4326" in d for d in fixed.values())
    with fresh_engine.connect() as c:
        assert c.execute(text("SELECT bool_and(ST_IsValid(geom)), count(*) FROM parcel")).one() == (True, 4)


def test_an_open_ring_is_closed_and_reported(fresh_db, fresh_engine, tmp_path):
    """GDAL hands over a GeoJSON ring whose last point is not its first; GEOS refuses it as it is.
    The loader closes it and says so, instead of failing the whole file."""
    import json

    ring = [[108.05, 12.67], [108.051, 12.67], [108.051, 12.671], [108.05, 12.671]]  # not closed
    shut = [[108.052, 12.67], [108.053, 12.67], [108.053, 12.671], [108.052, 12.671], [108.052, 12.67]]
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"SoThua": str(i)}, "geometry": {"type": "Polygon", "coordinates": [r]}}
        for i, r in enumerate((ring, shut), start=1)]}
    path = tmp_path / "open.geojson"
    path.write_text(json.dumps(fc), encoding="utf-8")
    rep = load(fresh_db, fresh_engine, path)
    assert rep.status == "loaded" and rep.features_loaded == 2 and rep.rejected == 0
    fixed = {i.feature: i.detail for i in rep.issues if i.code == "repaired"}
    assert list(fixed) == [1] and "ring not closed" in fixed[1]
    with fresh_engine.connect() as c:
        assert c.execute(text("SELECT bool_and(ST_IsValid(geom) AND ST_IsClosed(ST_ExteriorRing(ST_GeometryN(geom, 1)))) "
                              "FROM parcel")).scalar() is True
