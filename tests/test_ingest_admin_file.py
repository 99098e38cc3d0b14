"""`cropmrv ingest vector --layer admin_units FILE`: a province's communes file given directly
(.geojson, .gpkg or a .zip holding one) goes through `load_admin_units`; the same file again is a
no-op, a file without the code column changes nothing."""

from __future__ import annotations

import zipfile

import geopandas as gpd
from sqlalchemy import text
from typer.testing import CliRunner

from cropmrv.cli.main import app
from cropmrv.db.engine import make_engine

SIMPLIFIED = "dak_lak_wards_2025_simplified.geojson"


def _state(settings):
    eng = make_engine(settings)
    try:
        with eng.connect() as c:
            return (c.execute(text("SELECT name FROM admin_unit WHERE code = '24133'")).scalar(),
                    c.execute(text("SELECT id, source_name FROM dataset WHERE layer = 'admin_units' "
                                   "AND status = 'active'")).all(),
                    c.execute(text("SELECT count(*) FROM admin_unit WHERE level = 'commune'")).scalar())
    finally:
        eng.dispose()


def test_communes_file_through_ingest_vector(tmp_path, fresh_db):
    gdf = gpd.read_file(fresh_db.province_data_dir / SIMPLIFIED)
    gdf.loc[gdf["ma_xa"].astype(str).str.zfill(5) == "24133", "ten"] = "Buôn Ma Thuột (sửa)"
    src = tmp_path / "xa_phuong.geojson"
    gdf.to_file(src, driver="GeoJSON")
    archive = tmp_path / "xa_phuong.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(src, "ranh_gioi/xa_phuong.geojson")
    run = CliRunner()
    dry = run.invoke(app, ["ingest", "vector", str(archive), "--layer", "admin_units", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert _state(fresh_db)[0] == "Buôn Ma Thuột"
    r = run.invoke(app, ["ingest", "vector", str(archive), "--layer", "admin_units"])
    assert r.exit_code == 0, r.output
    assert f"communes: {len(gdf)} loaded" in r.output
    name, active, n = _state(fresh_db)
    assert name == "Buôn Ma Thuột (sửa)" and n == 102 and [a.source_name for a in active] == ["xa_phuong.zip"]
    again = run.invoke(app, ["ingest", "vector", str(archive), "--layer", "admin_units"])
    assert again.exit_code == 0 and "nothing to do" in again.output
    assert _state(fresh_db)[1] == active
    # no code column: refused with a bilingual message, nothing changed
    bad = tmp_path / "khong_ma.geojson"
    gdf.drop(columns=["ma_xa"]).to_file(bad, driver="GeoJSON")
    r = run.invoke(app, ["ingest", "vector", str(bad), "--layer", "admin_units"])
    assert r.exit_code == 1 and "ma_xa" in r.output and "thiếu cột" in r.output
    assert _state(fresh_db)[1] == active
