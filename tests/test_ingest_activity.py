"""Activity tables (CSV long, XLSX wide) and crop zones: validated per row, atomic, versioned per year."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from sqlalchemy import text

from cropmrv.ingest.activity import ingest_activity, to_long
from cropmrv.ingest.load import ingest_vector
from cropmrv.ingest.report import IngestError
from cropmrv.mrv.items import ITEMS


def _zones(tmp_path, fresh_db, fresh_engine):
    """Two coffee zones in Buôn Ma Thuột, loaded through ingest_vector (crop_zones layer)."""
    with fresh_engine.connect() as c:
        p = shapely.from_wkb(bytes(c.execute(text(
            "SELECT ST_AsBinary(ST_PointOnSurface(geom)) FROM admin_unit WHERE code='24133'")).scalar()))
    g = [shapely.box(p.x, p.y, p.x + 0.002, p.y + 0.002), shapely.box(p.x + 0.003, p.y, p.x + 0.005, p.y + 0.002)]
    gdf = gpd.GeoDataFrame({"MaVung": ["BMT-01", "BMT-02"], "CayTrong": ["Cà phê", "cà phê"],
                            "TUOI": ["tưới nhỏ giọt", "nhờ mưa"], "NamTrong": [2005, 2012]}, geometry=g, crs=4326)
    path = tmp_path / "vung_trong.geojson"
    gdf.to_file(path, driver="GeoJSON")
    rep = ingest_vector(path, "crop_zones", settings=fresh_db, engine=fresh_engine)
    assert rep.status == "loaded" and rep.features_loaded == 2
    return rep


def test_crop_zones_values_are_normalised(tmp_path, fresh_db, fresh_engine):
    _zones(tmp_path, fresh_db, fresh_engine)
    with fresh_engine.connect() as c:
        rows = c.execute(text("SELECT zone_code, crop, season, irrigation_method, planted_year, commune_code "
                              "FROM crop_zone ORDER BY zone_code")).all()
    assert rows == [("BMT-01", "coffee", "perennial", "drip", 2005, "24133"),
                    ("BMT-02", "coffee", "perennial", "rainfed", 2012, "24133")]


def test_long_csv_with_per_row_errors(tmp_path, fresh_db, fresh_engine):
    _zones(tmp_path, fresh_db, fresh_engine)
    csv = tmp_path / "hoat_dong.csv"
    csv.write_text(
        "MaXa;MaVung;Vu;CayTrong;ChiTieu;GiaTri;DonVi;Nguon\n"
        "24133;BMT-01;;coffee;urea_kg;1200;kg;phiếu điều tra\n"       # row 2 ok
        ";BMT-02;;coffee;n_synthetic_kg;250;kg/ha;\n"                  # row 3 ok, commune from the zone
        "24133;;;rice;area_ha;150;ha;thống kê\n"                        # row 4 ok, commune level
        "24133;;;rice;water_regime;continuously_flooded;;\n"            # row 5 ok, code item
        "24133;;;rice;urea_kg;-5;kg;\n"                                 # row 6 negative
        "24133;;;rice;phan_bon_la;3;kg;\n"                              # row 7 unknown item
        "24133;;;rice;urea_kg;3;bao;\n"                                 # row 8 unit not accepted
        "99999;;;rice;urea_kg;3;kg;\n"                                  # row 9 unknown commune
        "24133;VT-404;;coffee;urea_kg;3;kg;\n"                          # row 10 unknown zone
        "24133;;;rice;yield_t_ha;nhiều;t/ha;\n",                        # row 11 not a number
        encoding="utf-8-sig")
    rep = ingest_activity(csv, 2025, settings=fresh_db, engine=fresh_engine, vocabulary=ITEMS)
    assert rep.status == "loaded" and rep.features_loaded == 4
    bad = {i.feature: i.code for i in rep.issues}
    assert bad == {6: "bad_value", 7: "bad_value", 8: "bad_value", 9: "unknown_commune", 10: "bad_value",
                   11: "bad_value"}
    assert "row 7" in rep.to_text("en") and "dòng 7" in rep.to_text("vi")
    with fresh_engine.connect() as c:
        rows = c.execute(text("SELECT commune_code, zone_code, item, amount, value_text, unit, year FROM activity "
                              "ORDER BY id")).all()
    assert rows[1] == ("24133", "BMT-02", "n_synthetic_kg", 250.0, None, "kg/ha", 2025)
    assert rows[3][2:5] == ("water_regime", None, "continuously_flooded")


def test_wide_xlsx_and_versions_per_year(tmp_path, fresh_db, fresh_engine):
    xlsx = tmp_path / "xa.xlsx"
    df = pd.DataFrame({"MaXa": ["24133", "24154"], "CayTrong": ["rice", "rice"], "Vu": ["he_thu", "he_thu"],
                       "area_ha": ["120", "80"], "urea_kg [t]": ["18", ""], "water_regime": ["single_drainage", ""]})
    df.to_excel(xlsx, index=False)
    long, shape, unknown = to_long(pd.read_excel(xlsx, dtype=str, keep_default_na=False), ITEMS)
    assert shape == "wide" and unknown == [] and len(long) == 4
    r24 = ingest_activity(xlsx, 2024, settings=fresh_db, engine=fresh_engine, vocabulary=ITEMS)
    r25 = ingest_activity(xlsx, 2025, settings=fresh_db, engine=fresh_engine, vocabulary=ITEMS)
    assert r24.status == r25.status == "loaded" and r25.supersedes is None  # another year: both active
    again = ingest_activity(xlsx, 2025, settings=fresh_db, engine=fresh_engine, vocabulary=ITEMS)
    assert again.status == "unchanged"
    df.loc[0, "area_ha"] = "125"
    df.to_excel(xlsx, index=False)
    r25b = ingest_activity(xlsx, 2025, settings=fresh_db, engine=fresh_engine, vocabulary=ITEMS)
    assert r25b.supersedes == r25.dataset_id
    with fresh_engine.connect() as c:
        assert c.execute(text("SELECT year, count(*) FROM activity GROUP BY year ORDER BY year")).all() == \
            [(2024, 4), (2025, 4)]
        assert c.execute(text("SELECT count(*) FROM activity_history")).scalar() == 4
        assert c.execute(text("SELECT amount FROM activity WHERE year=2025 AND item='area_ha' AND "
                              "commune_code='24133'")).scalar() == 125.0
        assert c.execute(text("SELECT unit FROM activity WHERE item='urea_kg' AND year=2024")).scalar() == "t"


def test_bad_activity_files_change_no_row(tmp_path, fresh_db, fresh_engine):
    ok = tmp_path / "ok.csv"
    ok.write_text("MaXa,ChiTieu,GiaTri,DonVi\n24133,area_ha,10,ha\n", encoding="utf-8")
    ingest_activity(ok, 2025, settings=fresh_db, engine=fresh_engine, vocabulary=ITEMS)
    with fresh_engine.connect() as c:
        before = c.execute(text("SELECT count(*) FROM activity")).scalar()
    wide_unknown = tmp_path / "w.csv"
    wide_unknown.write_text("MaXa,area_ha,so_cay\n24133,10,500\n", encoding="utf-8")
    with pytest.raises(IngestError, match="so_cay"):
        ingest_activity(wide_unknown, 2025, settings=fresh_db, engine=fresh_engine, vocabulary=ITEMS)
    too_bad = tmp_path / "bad.csv"
    too_bad.write_text("MaXa,ChiTieu,GiaTri\n24133,area_ha,x\n24133,area_ha,12\n", encoding="utf-8")
    with pytest.raises(IngestError, match="max-rejects 0"):
        ingest_activity(too_bad, 2025, settings=fresh_db, engine=fresh_engine, vocabulary=ITEMS, max_rejects=0)
    year = tmp_path / "y.csv"
    year.write_text("MaXa,Nam,ChiTieu,GiaTri\n24133,2023,area_ha,1\n", encoding="utf-8")
    with pytest.raises(IngestError, match="no valid row"):
        ingest_activity(year, 2025, settings=fresh_db, engine=fresh_engine, vocabulary=ITEMS)
    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    with pytest.raises(IngestError, match="empty"):
        ingest_activity(empty, 2025, settings=fresh_db, engine=fresh_engine)
    with fresh_engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM activity")).scalar() == before


def test_old_commune_codes_follow_the_lineage(tmp_path, fresh_db, fresh_engine):
    with fresh_engine.connect() as c:
        old, new = c.execute(text("SELECT old_code, new_code FROM admin_lineage WHERE kind='full' LIMIT 1")).one()
    csv = tmp_path / "cu.csv"
    csv.write_text(f"MaXaCu,ChiTieu,GiaTri,CayTrong\n{old},area_ha,33,coffee\n", encoding="utf-8")
    rep = ingest_activity(csv, 2024, settings=fresh_db, engine=fresh_engine, vocabulary=ITEMS)
    assert rep.status == "loaded"
    with fresh_engine.connect() as c:
        assert c.execute(text("SELECT commune_code, old_commune_code FROM activity")).one() == (new, old)


def test_irrigation_assets_any_geometry_and_pilot_sites(tmp_path, fresh_db, fresh_engine):
    with fresh_engine.connect() as c:
        p = shapely.from_wkb(bytes(c.execute(text(
            "SELECT ST_AsBinary(ST_PointOnSurface(geom)) FROM admin_unit WHERE code='24133'")).scalar()))
    assets = gpd.GeoDataFrame({
        "MaCT": ["K1", "TB2", "H3", "X4"], "LoaiCT": ["Kênh", "trạm bơm", "hồ chứa", "giếng"],
        "TenCT": ["Kênh N1", "Trạm bơm Ea Tam", "Hồ Ea Kao", "Giếng khoan"]},
        geometry=[shapely.LineString([(p.x, p.y), (p.x + 0.003, p.y)]), shapely.Point(p.x, p.y + 0.001),
                  shapely.box(p.x, p.y - 0.003, p.x + 0.002, p.y - 0.001), shapely.Point(p.x + 0.001, p.y)],
        crs=4326)
    path = tmp_path / "cong_trinh.geojson"
    assets.to_file(path, driver="GeoJSON")
    rep = ingest_vector(path, "irrigation_assets", settings=fresh_db, engine=fresh_engine)
    assert rep.features_loaded == 3 and [(i.feature, i.code) for i in rep.issues] == [(4, "bad_value")]
    with fresh_engine.connect() as c:
        rows = c.execute(text("SELECT asset_code, kind, GeometryType(geom), commune_code FROM irrigation_asset "
                              "ORDER BY asset_code")).all()
    assert rows == [("H3", "reservoir", "POLYGON", "24133"), ("K1", "canal", "LINESTRING", "24133"),
                    ("TB2", "pump_station", "POINT", "24133")]
    sites = gpd.GeoDataFrame({"MaMoHinh": ["PS-CF-01"], "TenMoHinh": ["Cà phê giảm phát thải"],
                              "CayTrong": ["coffee"], "NamBatDau": [2026]},
                             geometry=[shapely.box(p.x, p.y, p.x + 0.001, p.y + 0.001)], crs=4326)
    sp = tmp_path / "mo_hinh.geojson"
    sites.to_file(sp, driver="GeoJSON")
    first = ingest_vector(sp, "pilot_sites", settings=fresh_db, engine=fresh_engine)
    sites["TenMoHinh"] = ["Cà phê giảm phát thải (mở rộng)"]
    sites.to_file(sp, driver="GeoJSON")
    second = ingest_vector(sp, "pilot_sites", settings=fresh_db, engine=fresh_engine)
    assert second.supersedes == first.dataset_id
    with fresh_engine.connect() as c:
        assert c.execute(text("SELECT site_code, name, commune_code, start_year FROM pilot_site")).one() == \
            ("PS-CF-01", "Cà phê giảm phát thải (mở rộng)", "24133", 2026)
        assert c.execute(text("SELECT count(*) FROM pilot_site_history")).scalar() == 1
