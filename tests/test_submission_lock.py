"""Approved submissions lock the commune's data for the year until the province reopens them
(issue 6 §1): activity and crop-zone loads are refused with a bilingual message naming the commune
and year and change no row; raw SQL is refused by the database trigger; after reopen all succeed."""

from __future__ import annotations

import geopandas as gpd
import psycopg
import pytest
import shapely
from sqlalchemy import text

from cropmrv.db import locks
from cropmrv.ingest.activity import ingest_activity
from cropmrv.ingest.load import ingest_vector
from cropmrv.ingest.report import IngestError
from cropmrv.mrv import submissions
from cropmrv.mrv.items import ITEMS
from cropmrv.mrv.submissions import CLI_ACTOR

BMT, OTHER = "24133", "24154"


def _approve(engine, commune: str, year: int) -> None:
    with engine.begin() as c:
        submissions.submit(c, commune, year, CLI_ACTOR)
        submissions.approve(c, commune, year, CLI_ACTOR)


def _reopen(engine, commune: str, year: int) -> None:
    with engine.begin() as c:
        submissions.reopen(c, commune, year, CLI_ACTOR, "sửa số liệu phân bón / fix fertiliser figures")


def _state(engine, table: str) -> tuple:
    with engine.connect() as c:
        return (c.execute(text(f"SELECT count(*), coalesce(sum(id), 0) FROM {table}")).one(),
                c.execute(text("SELECT count(*), coalesce(sum(id), 0) FROM dataset WHERE status = 'active'")).one())


def _activity_csv(path, urea: int, communes=(BMT,)):
    path.write_text("MaXa;CayTrong;ChiTieu;GiaTri;DonVi\n"
                    + "".join(f"{c};rice;urea_kg;{urea};kg\n" for c in communes), encoding="utf-8-sig")
    return path


def _zones_file(tmp_path, engine, name: str, codes: list[str], commune: str = BMT):
    with engine.connect() as c:
        p = shapely.from_wkb(bytes(c.execute(text(
            "SELECT ST_AsBinary(ST_PointOnSurface(geom)) FROM admin_unit WHERE code = :c"), {"c": commune}).scalar()))
    geoms = [shapely.box(p.x + 0.003 * i, p.y, p.x + 0.003 * i + 0.002, p.y + 0.002) for i in range(len(codes))]
    gdf = gpd.GeoDataFrame({"MaVung": codes, "CayTrong": ["Cà phê"] * len(codes), "NamTrong": [2010] * len(codes)},
                           geometry=geoms, crs=4326)
    path = tmp_path / name
    gdf.to_file(path, driver="GeoJSON")
    return path


def test_activity_of_an_approved_commune_year_is_refused_until_reopened(tmp_path, fresh_db, fresh_engine):
    first = ingest_activity(_activity_csv(tmp_path / "a.csv", 100), 2025, settings=fresh_db, engine=fresh_engine,
                            commune=BMT, vocabulary=ITEMS)
    assert first.status == "loaded"
    _approve(fresh_engine, BMT, 2025)
    before = _state(fresh_engine, "activity")
    with pytest.raises(IngestError) as e:
        ingest_activity(_activity_csv(tmp_path / "b.csv", 200), 2025, settings=fresh_db, engine=fresh_engine,
                        commune=BMT, vocabulary=ITEMS)
    msg = str(e.value)
    assert BMT in msg and "2025" in msg and "phê duyệt" in msg and "approved" in msg
    # a province-wide file holding a row of the approved commune is refused as a whole
    with pytest.raises(IngestError, match=BMT):
        ingest_activity(_activity_csv(tmp_path / "c.csv", 300, (OTHER, BMT)), 2025, settings=fresh_db,
                        engine=fresh_engine, vocabulary=ITEMS)
    assert _state(fresh_engine, "activity") == before
    # another year of the same commune is not locked
    assert ingest_activity(tmp_path / "b.csv", 2024, settings=fresh_db, engine=fresh_engine, commune=BMT,
                           vocabulary=ITEMS).status == "loaded"
    _reopen(fresh_engine, BMT, 2025)
    again = ingest_activity(tmp_path / "b.csv", 2025, settings=fresh_db, engine=fresh_engine, commune=BMT,
                            vocabulary=ITEMS)
    assert again.status == "loaded" and again.supersedes == first.dataset_id


def test_crop_zones_of_an_approved_commune_are_refused_until_reopened(tmp_path, fresh_db, fresh_engine):
    first = ingest_vector(_zones_file(tmp_path, fresh_engine, "z1.geojson", ["Z-1", "Z-2"]), "crop_zones",
                          settings=fresh_db, engine=fresh_engine, commune=BMT)
    assert first.status == "loaded"
    _approve(fresh_engine, BMT, 2025)
    _approve(fresh_engine, OTHER, 2025)
    before = _state(fresh_engine, "crop_zone")
    # reloading the commune would supersede approved zones: refused before anything is written
    with pytest.raises(IngestError) as e:
        ingest_vector(_zones_file(tmp_path, fresh_engine, "z2.geojson", ["Z-1", "Z-3"]), "crop_zones",
                      settings=fresh_db, engine=fresh_engine, commune=BMT)
    assert BMT in str(e.value) and "2025" in str(e.value) and "approved" in str(e.value)
    # a first load into another approved commune: refused by the database trigger on insert
    with pytest.raises(IngestError) as e:
        ingest_vector(_zones_file(tmp_path, fresh_engine, "z3.geojson", ["O-1"], commune=OTHER), "crop_zones",
                      settings=fresh_db, engine=fresh_engine, commune=OTHER)
    assert OTHER in str(e.value) and "2025" in str(e.value) and "không dòng nào thay đổi" in str(e.value)
    assert _state(fresh_engine, "crop_zone") == before
    _reopen(fresh_engine, BMT, 2025)
    again = ingest_vector(tmp_path / "z2.geojson", "crop_zones", settings=fresh_db, engine=fresh_engine, commune=BMT)
    assert again.status == "loaded" and again.supersedes == first.dataset_id


def test_raw_sql_is_refused_by_the_trigger(tmp_path, fresh_db, fresh_engine):
    ingest_activity(_activity_csv(tmp_path / "a.csv", 100), 2025, settings=fresh_db, engine=fresh_engine,
                    commune=BMT, vocabulary=ITEMS)
    _approve(fresh_engine, BMT, 2025)
    with fresh_engine.connect() as c:
        ds = c.execute(text("SELECT max(id) FROM dataset")).scalar()
        assert locks.approved(c, [BMT, OTHER], [2024, 2025]) == [(BMT, 2025)]
        with pytest.raises(locks.CommuneYearLocked, match=BMT):
            locks.assert_commune_year_editable(c, BMT, 2025)
        with pytest.raises(submissions.SubmissionLocked):
            submissions.assert_editable(c, BMT, 2025)
    for sql in ("DELETE FROM activity WHERE commune_code = '24133'",
                "UPDATE activity SET amount = 1 WHERE commune_code = '24133'",
                "UPDATE activity SET year = 2025 WHERE false",  # touches nothing: allowed
                f"INSERT INTO activity (province_code, dataset_id, commune_code, year, item, amount) "
                f"VALUES ('66', {ds}, '24133', 2025, 'urea_kg', 5)"):
        with fresh_engine.connect() as c:
            raw = c.connection.dbapi_connection
            if "WHERE false" in sql:
                raw.execute(sql)
                c.rollback()
                continue
            with pytest.raises(psycopg.errors.CheckViolation) as e:
                raw.execute(sql)
            assert "24133" in str(e.value) and "2025" in str(e.value)
            c.rollback()
    with fresh_engine.begin() as c:  # other commune-years are free
        c.execute(text(f"INSERT INTO activity (province_code, dataset_id, commune_code, year, item, amount) "
                       f"VALUES ('66', {ds}, '24133', 2024, 'urea_kg', 5)"))
