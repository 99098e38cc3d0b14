"""The `cropmrv ingest …` and `cropmrv export layer` commands, and a load killed mid-COPY."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import geopandas as gpd
import psycopg
import pyogrio
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from cropmrv.cli.main import app
from cropmrv.db.engine import libpq_url

from .conftest import DATA, REPO

PARCELS = DATA / "ingest" / "parcels_bmt.shp"
runner = CliRunner()


def test_cli_vector_load_report_and_reload(fresh_db, fresh_engine, tmp_path):
    rep_path = tmp_path / "report.json"
    r = runner.invoke(app, ["ingest", "vector", str(PARCELS), "--layer", "parcels", "--report", str(rep_path)])
    assert r.exit_code == 0, r.output
    assert "đã nạp" in r.output and "loaded" in r.output and "feature 42" in r.output
    rep = json.loads(rep_path.read_text(encoding="utf-8"))
    assert rep["status"] == "loaded" and rep["features_loaded"] == 45 and len(rep["issues"]) == 7
    r = runner.invoke(app, ["ingest", "vector", str(PARCELS), "--layer", "parcels"])
    assert r.exit_code == 0 and "identical" in r.output


def test_cli_exit_code_when_rejects_exceed_the_limit(fresh_db, fresh_engine, tmp_path):
    rep_path = tmp_path / "r.json"
    r = runner.invoke(app, ["ingest", "vector", str(PARCELS), "--layer", "parcels", "--max-rejects", "2",
                            "--report", str(rep_path)])
    assert r.exit_code == 2
    assert "max-rejects" in r.output
    assert json.loads(rep_path.read_text())["status"] == "refused"
    with fresh_engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM parcel")).scalar() == 0


def test_cli_refuses_hktb_with_a_clear_message(fresh_db):
    r = runner.invoke(app, ["ingest", "vector", str(DATA / "vn2000" / "hktb.shp"), "--layer", "parcels"])
    assert r.exit_code == 2 and "EPSG:9210" in r.output and "hktb.shp" in r.output


def test_cli_dry_run_and_encoding_option(fresh_db, fresh_engine):
    r = runner.invoke(app, ["ingest", "vector", str(DATA / "legacy" / "communes_vni.shp"), "--layer",
                            "planning_zones", "--encoding", "vni", "--dry-run", "--mapping", str(_map(fresh_db))])
    assert r.exit_code == 0, r.output
    assert "chạy thử" in r.output and "Encoding: vni" in r.output
    with fresh_engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM planning_zone")).scalar() == 0


def _map(settings):
    p = settings.home / "map.yaml"
    p.write_text("columns:\n  land_use_code: LOAI\n", encoding="utf-8")
    return p


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "shp"])
def test_export_layer_round_trip(fresh_db, tmp_path, fmt):
    assert runner.invoke(app, ["ingest", "vector", str(PARCELS), "--layer", "parcels", "-q"]).exit_code == 0
    out = tmp_path / f"thua.{fmt}"
    r = runner.invoke(app, ["export", "layer", "parcels", "--commune", "24133", "-o", str(out)])
    assert r.exit_code == 0, r.output
    gdf = gpd.read_file(out)
    assert len(gdf) == 45 and gdf.crs.to_epsg() == 4326
    owner = "TenChu"
    assert set(gdf[owner]) >= {"Nguyễn Văn Hòa", "H'Hen Êban"}
    if fmt == "shp":
        assert out.with_suffix(".cpg").read_text().strip().upper() in ("UTF-8", "UTF8")
        assert "land_use_c" in gdf.columns
    else:
        assert {"map_sheet", "parcel_no", "land_use_code", "dataset_id"} <= set(gdf.columns)


def test_export_unknown_layer_or_empty(fresh_db, tmp_path):
    r = runner.invoke(app, ["export", "layer", "crop_zones", "-o", str(tmp_path / "x.gpkg")])
    assert r.exit_code == 1 and "no rows" in r.output
    r = runner.invoke(app, ["export", "layer", "nope", "-o", str(tmp_path / "x.gpkg")])
    assert r.exit_code == 1 and "cannot export" in r.output


def test_killed_mid_copy_leaves_the_previous_state(fresh_db, fresh_engine, tmp_path):
    """SIGKILL the CLI while its COPY into the staging table is running: nothing changes."""
    assert runner.invoke(app, ["ingest", "vector", str(PARCELS), "--layer", "parcels", "-q"]).exit_code == 0
    with fresh_engine.connect() as c:
        before = c.execute(text("SELECT (SELECT count(*) FROM parcel), (SELECT count(*) FROM dataset), "
                                "(SELECT max(id) FROM parcel)")).one()
    sys.path.insert(0, str(REPO / "benchmarks"))
    from ingest_data import make_parcels

    big = make_parcels(tmp_path / "big.shp", n=60_000)
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, "-m", "cropmrv", "ingest", "vector", str(big), "--layer", "parcels",
                             "-q"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = libpq_url(fresh_db.sqlalchemy_url())
    seen = False
    deadline = time.monotonic() + 120
    with psycopg.connect(url, autocommit=True) as mon:
        while time.monotonic() < deadline and proc.poll() is None:
            row = mon.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY %%parcel%%' "
                              "AND pid <> pg_backend_pid()").fetchone()
            if row[0]:
                seen = True
                break
            time.sleep(0.05)
    assert seen, proc.communicate()[1].decode()[-2000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    with fresh_engine.connect() as c:
        after = c.execute(text("SELECT (SELECT count(*) FROM parcel), (SELECT count(*) FROM dataset), "
                               "(SELECT max(id) FROM parcel)")).one()
        assert c.execute(text("SELECT count(*) FROM dataset WHERE layer='parcels' AND status='active'")).scalar() == 1
    assert after == before


def test_gpkg_export_names_the_layer(fresh_db, tmp_path):
    assert runner.invoke(app, ["ingest", "vector", str(PARCELS), "--layer", "parcels", "-q"]).exit_code == 0
    out = tmp_path / "p.gpkg"
    assert runner.invoke(app, ["export", "layer", "parcels", "-o", str(out)]).exit_code == 0
    assert [name for name, _ in pyogrio.list_layers(out)] == ["parcels"]


def test_cli_activity_and_raster(fresh_db, fresh_engine, tmp_path):
    csv = tmp_path / "hd.csv"
    csv.write_text("MaXa,ChiTieu,GiaTri,DonVi\n24133,urea_kg,5,t\n24133,urea_kg,5,bao\n", encoding="utf-8")
    r = runner.invoke(app, ["ingest", "activity", str(csv), "--year", "2025"])
    assert r.exit_code == 0, r.output
    assert "row 3" in r.output and "dòng 3" in r.output
    r = runner.invoke(app, ["ingest", "activity", str(csv), "--year", "2025", "--max-rejects", "0"])
    assert r.exit_code == 0 and "identical" in r.output  # same file, same year: nothing to do
    from .test_ingest_raster import write_dem

    dem = write_dem(tmp_path / "dem.tif")
    r = runner.invoke(app, ["ingest", "raster", str(dem), "--kind", "dem"])
    assert r.exit_code == 0, r.output
    assert "covers" in r.output
    r = runner.invoke(app, ["ingest", "raster", str(write_dem(tmp_path / "n.tif", crs=None)), "--kind", "dem"])
    assert r.exit_code == 2 and "no CRS" in r.output


def test_cli_process_leaves_no_unzipped_copy_behind(fresh_db, fresh_engine, tmp_path):
    """The real process (it ends with os._exit after the command, and starts reading before the
    loader is imported) removes the unpacked zip whether the load succeeds or is refused."""
    from .data.ingest import make_fixtures as fx

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp))
    zipped = fx.nested_zip(PARCELS, tmp_path / "xa.zip")

    def run(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "cropmrv", "ingest", "vector", str(zipped), "--layer", "parcels",
                               *extra], env=env, capture_output=True, text=True, timeout=120)

    refused = run("--max-rejects", "0")
    assert refused.returncode == 2 and "max-rejects" in refused.stderr
    wrong = run("--crs", "EPSG:9210")  # the data do not fit there: refused, saying where they would land
    assert wrong.returncode == 2 and "EPSG:9210" in wrong.stderr
    ok = run("-q")
    assert ok.returncode == 0, ok.stderr
    assert list(tmp.iterdir()) == []
    with fresh_engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM parcel")).scalar() == 45
