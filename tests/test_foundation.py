"""Foundation: the embedded cluster, the schema, constraints and the real admin units."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import shapely
import sqlalchemy.exc
from sqlalchemy import text

from cropmrv.db import cluster, manage
from cropmrv.settings import Settings

from .conftest import REPO, free_port

CLI = [sys.executable, "-m", "cropmrv.cli"]


def run_cli(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    e = dict(os.environ)
    e.update(env or {})
    res = subprocess.run([*CLI, *args], capture_output=True, text=True, env=e, cwd=REPO)
    if check and res.returncode != 0:
        raise AssertionError(f"cropmrv {' '.join(args)} failed:\n{res.stdout}\n{res.stderr}")
    return res


def test_postgis_versions(conn):
    v = conn.execute(text("SELECT postgis_lib_version(), postgis_geos_version(), postgis_proj_version()")).one()
    assert all(v)


def test_102_communes_with_gso_codes(conn):
    rows = conn.execute(text(
        "SELECT code, kind FROM admin_unit WHERE level='commune' AND province_code='66'")).all()
    assert len(rows) == 102
    kinds = [k for _, k in rows]
    assert kinds.count("xa") == 88 and kinds.count("phuong") == 14
    codes = sorted(c for c, _ in rows)
    assert codes[0] == "22015" and codes[-1] == "24607"
    assert conn.execute(text("SELECT name FROM admin_unit WHERE code='24133'")).scalar() == "Buôn Ma Thuột"


def test_union_covers_province_outline_within_one_percent(conn):
    ratio = conn.execute(text(
        "SELECT ST_Area(ST_SymDifference(u.g, p.geom)::geography) / ST_Area(p.geom::geography) "
        "FROM (SELECT ST_Union(geom) g FROM admin_unit WHERE level='commune' AND province_code='66') u, "
        "admin_unit p WHERE p.code='66'")).scalar()
    assert ratio < 0.01


def test_lineage_complete_and_points_to_new_codes(conn):
    n_old = conn.execute(text("SELECT count(*) FROM admin_unit_old")).scalar()
    assert n_old == 286
    dangling = conn.execute(text(
        "SELECT count(*) FROM admin_lineage l LEFT JOIN admin_unit a ON a.code = l.new_code "
        "WHERE a.code IS NULL")).scalar()
    assert dangling == 0
    assert conn.execute(text("SELECT count(*) FROM admin_lineage WHERE kind='partial'")).scalar() == 18
    # Shares of each old unit add up to one: carrying data through the lineage conserves it.
    worst = conn.execute(text(
        "SELECT max(abs(s - 1)) FROM (SELECT sum(area_share) s FROM admin_lineage GROUP BY old_code) x")).scalar()
    assert worst < 1e-9
    # every new unit has at least one predecessor
    orphans = conn.execute(text(
        "SELECT count(*) FROM admin_unit a WHERE level='commune' AND NOT EXISTS "
        "(SELECT 1 FROM admin_lineage l WHERE l.new_code=a.code)")).scalar()
    assert orphans == 0


def test_name_differences_are_reported(conn):
    report = conn.execute(text(
        "SELECT report FROM dataset WHERE layer='admin_units' AND status='active'")).scalar()
    diffs = report["name_differences"]
    assert diffs, "the Hoà/Hòa spellings must be reported"
    assert all(d["same_when_tone_placement_normalised"] for d in diffs if "Ho" in d["file"])
    # Three units carry different codes in the boundary source and in GSO's list (vietnam-provinces):
    # reported with the matching name, never joined by name.
    mism = {(m["file_code"], m["reference_code"]) for m in report["code_mismatches"]}
    assert mism == {("22060", "22066"), ("22303", "22306"), ("24472", "24481")}
    assert len(report["missing_in_reference"]) == len(report["code_mismatches"])


def _ds(conn) -> int:
    return conn.execute(text("SELECT id FROM dataset LIMIT 1")).scalar()


SQUARE = "ST_Multi(ST_MakeEnvelope(108.0, 12.6, 108.01, 12.61, 4326))"
BOWTIE = "ST_Multi(ST_GeomFromText('POLYGON((108 12.6,108.01 12.61,108.01 12.6,108 12.61,108 12.6))',4326))"


@pytest.mark.parametrize("sql", [
    # invalid geometry
    f"INSERT INTO parcel (province_code, dataset_id, commune_code, geom) VALUES ('66', :ds, '24133', {BOWTIE})",
    # unknown commune code
    f"INSERT INTO parcel (province_code, dataset_id, commune_code, geom) VALUES ('66', :ds, '99999', {SQUARE})",
    # negative area
    f"INSERT INTO parcel (province_code, dataset_id, commune_code, area_m2, geom) VALUES ('66', :ds, '24133', -1, {SQUARE})",
    # wrong SRID
    "INSERT INTO parcel (province_code, dataset_id, commune_code, geom) VALUES "
    "('66', :ds, '24133', ST_Multi(ST_MakeEnvelope(0,0,1,1,3857)))",
    # unknown crop
    f"INSERT INTO crop_zone (province_code, dataset_id, commune_code, crop, geom) VALUES ('66', :ds, '24133', 'tulip', {SQUARE})",
    # unknown irrigation asset kind
    f"INSERT INTO irrigation_asset (province_code, dataset_id, kind, geom) VALUES ('66', :ds, 'teleporter', {SQUARE})",
    # negative activity amount
    "INSERT INTO activity (province_code, dataset_id, commune_code, year, item, amount) VALUES ('66', :ds, '24133', 2025, 'urea_kg', -5)",
    # unknown review status
    "INSERT INTO planning_review (province_code, commune_code, reviewer, status) VALUES ('66','24133','x','maybe')",
    # commune officer without commune
    "INSERT INTO app_user (username, role) VALUES ('x', 'commune_officer')",
    # unknown submission status
    "INSERT INTO submission (commune_code, year, status) VALUES ('24133', 2025, 'lost')",
    # bad dataset checksum
    "INSERT INTO dataset (layer, province_code, source_name, sha256) VALUES ('parcels', '66', 'f', 'abc')",
    # a GWP must be positive
    "INSERT INTO gwp_set (code, co2, ch4, n2o, source) VALUES ('bad', 1, -28, 265, 'x')",
])
def test_constraints_reject_bad_rows(conn, sql):
    ds = _ds(conn)
    sp = conn.begin_nested()
    with pytest.raises(sqlalchemy.exc.DBAPIError) as exc:
        conn.execute(text(sql), {"ds": ds})
    sp.rollback()
    # 23xxx: integrity (check, foreign key, not null); 22xxx: data exception (wrong SRID)
    assert exc.value.orig.sqlstate[:2] in ("23", "22"), exc.value


def test_valid_row_is_accepted(conn):
    ds = _ds(conn)
    conn.execute(text(
        f"INSERT INTO parcel (province_code, dataset_id, commune_code, area_m2, geom) VALUES ('66', :ds, '24133', 10, {SQUARE})"),
        {"ds": ds})


def test_migrations_down_and_up(fresh_db):
    url = fresh_db.sqlalchemy_url()
    assert manage.current_revision(url) == manage.head_revision()
    manage.downgrade(url, "base")
    assert manage.current_revision(url) is None
    manage.migrate(url)
    assert manage.current_revision(url) == manage.head_revision()


def test_db_up_twice_is_idempotent_and_status_reports(pg_cluster, fresh_db):
    first = run_cli("db", "up")
    assert "nothing to do" in first.stdout
    st = run_cli("db", "status", "--json")
    assert "\"revision\": \"0003\"" in st.stdout and '"admin_units": 103' in st.stdout
    url = run_cli("db", "url").stdout.strip()
    assert url.startswith("postgresql://") and str(pg_cluster["port"]) in url


def test_new_cluster_from_scratch_then_noop(tmp_path_factory):
    """`db up` on an empty home creates, starts and migrates; the second call changes nothing."""
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="cropmrv-up-"))
    base.chmod(0o755)
    s = Settings(home=base, pg_port=free_port(), pg_database="fresh")
    try:
        r1 = manage.up(s, fast=True)
        assert r1.created_cluster and r1.started and r1.created_database and r1.migrated_to == "0003"
        r2 = manage.up(s, fast=True)
        assert not (r2.created_cluster or r2.started or r2.created_database)
        assert r2.migrated_from == r2.migrated_to
        # a port already in use gives one clear sentence and changes nothing
        other = Settings(home=base / "other", pg_port=s.pg_port)
        with pytest.raises(cluster.ClusterError, match="already used"):
            cluster.init(manage.cluster_spec(other))
            cluster.start(manage.cluster_spec(other))
        # deletion needs --force
        with pytest.raises(cluster.ClusterError, match="--force"):
            cluster.destroy(manage.cluster_spec(s))
        assert (base / "pg" / "data" / "PG_VERSION").exists()
    finally:
        cluster.stop(manage.cluster_spec(s))
        import shutil

        shutil.rmtree(base, ignore_errors=True)


def test_missing_binaries_clear_message(tmp_path, monkeypatch):
    """No PostgreSQL programs anywhere: one sentence naming the Debian packages, nothing created."""
    monkeypatch.setattr(cluster.glob, "glob", lambda *_a, **_k: [])
    monkeypatch.setattr(cluster.shutil, "which", lambda *_a, **_k: None)
    spec = cluster.ClusterSpec(root=tmp_path / "pg", port=free_port(), bin_dir=tmp_path / "nope")
    with pytest.raises(cluster.ClusterError, match="apt-get install postgresql-15 postgresql-15-postgis-3"):
        cluster.init(spec)
    assert not (tmp_path / "pg").exists()


def test_external_url_starts_no_cluster(pg_cluster, tmp_path):
    url = f"postgresql://cropmrv@127.0.0.1:{pg_cluster['port']}/ext_{os.getpid()}"
    s = Settings(database_url=url, home=tmp_path / "unused")
    r = manage.up(s)
    assert not r.created_cluster and not r.started and r.created_database
    assert not (tmp_path / "unused").exists()
    from .conftest import drop_database

    drop_database(pg_cluster["admin_url"], f"ext_{os.getpid()}")


def test_commune_geometries_valid_and_inside_bbox(conn):
    import geopandas as gpd

    gdf = gpd.read_postgis("SELECT code, geom FROM admin_unit WHERE level='commune'", conn, geom_col="geom")
    assert shapely.is_valid(gdf.geometry.values).all()
    minx, miny, maxx, maxy = gdf.total_bounds
    assert 107.4 < minx < maxx < 109.5 and 12.1 < miny < maxy < 13.7
