"""Irrigation service links (work → crop zone, share): validated per row, refused as a whole when a
row is bad, atomic replacement of the links of the works in the file, identical file a no-op."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from sqlalchemy import text
from typer.testing import CliRunner

from cropmrv.cli.main import app
from cropmrv.ingest.links import ingest_service_links, parse_share
from cropmrv.ingest.load import ingest_vector
from cropmrv.ingest.report import IngestError


def _layers(tmp_path, settings, engine) -> None:
    """Three rice zones and two works in Buôn Ma Thuột, loaded through ingest_vector."""
    with engine.connect() as c:
        p = shapely.from_wkb(bytes(c.execute(text(
            "SELECT ST_AsBinary(ST_PointOnSurface(geom)) FROM admin_unit WHERE code='24133'")).scalar()))
    boxes = [shapely.box(p.x + 0.003 * i, p.y, p.x + 0.003 * i + 0.002, p.y + 0.002) for i in range(3)]
    zones = gpd.GeoDataFrame({"MaVung": ["Z-1", "Z-2", "Z-3"], "CayTrong": ["Lúa"] * 3,
                              "TUOI": ["ngập"] * 3}, geometry=boxes, crs=4326)
    zones.to_file(tmp_path / "vung.geojson", driver="GeoJSON")
    works = gpd.GeoDataFrame({"MaCT": ["TL-A", "TL-B"], "LoaiCT": ["Hồ chứa", "Trạm bơm"], "TenCT": ["Hồ A", "Trạm B"]},
                             geometry=[shapely.Point(p.x - 0.01, p.y), shapely.Point(p.x + 0.01, p.y)], crs=4326)
    works.to_file(tmp_path / "cong_trinh.geojson", driver="GeoJSON")
    assert ingest_vector(tmp_path / "vung.geojson", "crop_zones", settings=settings, engine=engine).status == "loaded"
    assert ingest_vector(tmp_path / "cong_trinh.geojson", "irrigation_assets", settings=settings,
                         engine=engine).status == "loaded"


def _links(engine) -> list[tuple]:
    with engine.connect() as c:
        return c.execute(text("SELECT asset_code, zone_code, share, dataset_id IS NOT NULL FROM irrigation_service "
                              "ORDER BY 1, 2")).all()


def test_parse_share():
    assert [parse_share(v) for v in ("", "1", "0,4", "0.25", "40%", "abc")] == [1.0, 1.0, 0.4, 0.25, 0.4, None]


def test_good_file_then_reload_replaces_and_identical_is_noop(tmp_path, fresh_db, fresh_engine):
    _layers(tmp_path, fresh_db, fresh_engine)
    csv = tmp_path / "phuc_vu_vung_trong.csv"
    csv.write_text("MaCT,MaVung,TyLe\nTL-A,Z-1,1\nTL-A,Z-2,\"0,6\"\nTL-B,Z-2,40%\n", encoding="utf-8-sig")
    rep = ingest_service_links(csv, settings=fresh_db, engine=fresh_engine)
    assert rep.status == "loaded" and rep.features_loaded == 3
    assert _links(fresh_engine) == [("TL-A", "Z-1", 1.0, True), ("TL-A", "Z-2", 0.6, True), ("TL-B", "Z-2", 0.4, True)]
    with fresh_engine.connect() as c:
        ds = c.execute(text("SELECT layer, status, feature_count, sha256 FROM dataset WHERE id = :i"),
                       {"i": rep.dataset_id}).one()
    assert ds[:3] == ("irrigation_service", "active", 3) and ds[3] == rep.sha256
    # identical file: nothing done
    again = ingest_service_links(csv, settings=fresh_db, engine=fresh_engine)
    assert again.status == "unchanged" and again.dataset_id == rep.dataset_id
    # an XLSX with English headers naming only TL-A: TL-A's links replaced, TL-B's kept
    xlsx = tmp_path / "links.xlsx"
    pd.DataFrame({"asset_code": ["TL-A"], "zone_code": ["Z-3"], "share": ["0.5"]}).to_excel(xlsx, index=False)
    new = ingest_service_links(xlsx, settings=fresh_db, engine=fresh_engine)
    assert new.status == "loaded" and new.supersedes == rep.dataset_id
    assert _links(fresh_engine) == [("TL-A", "Z-3", 0.5, True), ("TL-B", "Z-2", 0.4, True)]
    assert "2 previous links replaced by 1" in new.to_text("en")
    with fresh_engine.connect() as c:  # the replaced links are kept, traceable to both loads
        kept = c.execute(text("SELECT asset_code, zone_code, share, dataset_id, replaced_by "
                              "FROM irrigation_service_history ORDER BY 1, 2")).all()
    assert kept == [("TL-A", "Z-1", 1.0, rep.dataset_id, new.dataset_id),
                    ("TL-A", "Z-2", 0.6, rep.dataset_id, new.dataset_id)]


def test_bad_rows_refuse_the_file_and_change_nothing(tmp_path, fresh_db, fresh_engine):
    _layers(tmp_path, fresh_db, fresh_engine)
    good = tmp_path / "good.csv"
    good.write_text("ma_cong_trinh;ma_vung;ty_le\nTL-B;Z-1;0.7\n", encoding="utf-8")
    assert ingest_service_links(good, settings=fresh_db, engine=fresh_engine).status == "loaded"
    before = _links(fresh_engine)
    bad = tmp_path / "bad.csv"
    bad.write_text("MaCT,MaVung,TyLe\n"
                   "TL-A,Z-2,1\n"        # row 2 ok
                   "TL-X,Z-2,1\n"        # row 3 unknown work
                   "TL-A,VT-404,1\n"     # row 4 unknown zone
                   "TL-A,Z-3,1.5\n"      # row 5 share > 1
                   "TL-A,Z-2,0.5\n"      # row 6 duplicate link
                   "TL-A,Z-1,0.5\n"      # row 7 zone Z-1 would sum to 1.2 with TL-B's 0.7
                   ",Z-3,1\n",           # row 8 no work code
                   encoding="utf-8")
    with pytest.raises(IngestError) as e:
        ingest_service_links(bad, settings=fresh_db, engine=fresh_engine)
    rep = e.value.report
    assert rep.status == "refused" and {i.feature for i in rep.issues} == {3, 4, 5, 6, 7, 8}
    txt_en, txt_vi = rep.to_text("en"), rep.to_text("vi")
    assert "row 3" in txt_en and "TL-X" in txt_en and "is not a loaded irrigation work" in txt_en
    assert "dòng 4" in txt_vi and "VT-404" in txt_vi and "sum to 1.2" in txt_en
    assert _links(fresh_engine) == before
    with fresh_engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM dataset WHERE layer = 'irrigation_service'")).scalar() == 1
    # a missing column names the accepted headers
    (tmp_path / "cols.csv").write_text("MaCT,Vung\nTL-A,Z-1\n", encoding="utf-8")
    with pytest.raises(IngestError, match="zone_code"):
        ingest_service_links(tmp_path / "cols.csv", settings=fresh_db, engine=fresh_engine)


def test_cli_and_awd_candidates(tmp_path, fresh_db, fresh_engine):
    from cropmrv.maps.irrigation import AWD_SQL

    _layers(tmp_path, fresh_db, fresh_engine)
    csv = tmp_path / "phuc_vu_vung_trong.csv"
    csv.write_text("MaCT,MaVung,TyLe\nTL-A,Z-1,1\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["ingest", "links", str(csv), "--report", str(tmp_path / "r.json")])
    assert r.exit_code == 0, r.output
    assert '"status": "loaded"' in (tmp_path / "r.json").read_text(encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("MaCT,MaVung\nTL-Z,Z-1\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["ingest", "links", str(bad)])
    assert r.exit_code == 2 and "TL-Z" in r.output
    with fresh_engine.connect() as c:  # linked rice is an AWD candidate on the irrigation map; the others not
        got = c.execute(text(f"SELECT zone_code FROM ({AWD_SQL}) a"), {"province": "66", "commune": None}).scalars()
    assert list(got) == ["Z-1"]
