"""Estimate runs end to end on a real PostGIS: SQL-inserted zones and activity → run → stored rows."""

from __future__ import annotations

import pytest
import sqlalchemy.exc
from sqlalchemy import text

from cropmrv.mrv.records import RecordError
from cropmrv.mrv.runs import create_run, get_run, list_runs, run_frame

BMT = "24133"  # Phường Buôn Ma Thuột
SQUARE = "SRID=4326;MULTIPOLYGON((({x} {y},{x2} {y},{x2} {y2},{x} {y2},{x} {y})))"


def dataset(c, layer: str) -> int:
    return c.execute(text(
        "INSERT INTO dataset (layer, province_code, source_name, sha256) VALUES (:l, '66', 'test', repeat('a', 64)) "
        "RETURNING id"), {"l": layer}).scalar_one()


def zone(c, ds: int, zone_code: str, crop: str, area_ha: float, *, season="perennial", year=2025, i=0,
         practice=None, water_regime=None, commune=BMT, planted_year=None) -> int:
    x, y = 108.0 + 0.01 * i, 12.6
    return c.execute(text(
        "INSERT INTO crop_zone (province_code, dataset_id, commune_code, zone_code, crop, season, year, area_ha, "
        "practice_code, water_regime, planted_year, geom) VALUES ('66', :ds, :cc, :zc, :crop, :season, :year, :a, "
        ":pc, :wr, :py, ST_GeomFromEWKT(:g)) RETURNING id"),
        {"ds": ds, "cc": commune, "zc": zone_code, "crop": crop, "season": season, "year": year, "a": area_ha,
         "pc": practice, "wr": water_regime, "py": planted_year,
         "g": SQUARE.format(x=x, y=y, x2=x + 0.005, y2=y + 0.005)}).scalar_one()


def act(c, ds: int, item: str, amount=None, *, zone_code=None, unit=None, value_text=None, commune=BMT,
        old=None, crop=None, season=None, year=2025) -> None:
    c.execute(text(
        "INSERT INTO activity (province_code, dataset_id, commune_code, old_commune_code, zone_code, year, season, "
        "crop, item, amount, value_text, unit) VALUES ('66', :ds, :cc, :old, :zc, :y, :s, :crop, :item, :a, :vt, :u)"),
        {"ds": ds, "cc": commune, "old": old, "zc": zone_code, "y": year, "s": season, "crop": crop, "item": item,
         "a": amount, "vt": value_text, "u": unit})


def seed_basic(eng) -> dict[str, int]:
    """Three zones whose results DOMAIN.md §4 works out by hand."""
    with eng.begin() as c:
        dz, da = dataset(c, "crop_zones"), dataset(c, "activity")
        ids = {
            "rice": zone(c, dz, "R1", "rice", 1.0, season="dong_xuan", water_regime="continuously_flooded", i=0),
            "coffee": zone(c, dz, "C1", "coffee", 1.0, i=1, planted_year=2000),
            "lime": zone(c, dz, "L1", "pepper", 2.0, i=2, planted_year=2000),
        }
        # oracle 1: rice, SE Asia, 102 d, SFw = SFp = SFo = 1 → 124.44 kg CH4
        act(c, da, "cultivation_days", 102, zone_code="R1", unit="d")
        act(c, da, "pre_season_regime", value_text="non_flooded_lt180", zone_code="R1")
        for it in ("straw_t_dm_ha", "compost_t_ha", "manure_t_ha", "green_manure_t_ha"):
            act(c, da, it, 0, zone_code="R1")
        # oracle 7: 100 kg synthetic N on coffee, wet tropics → 2.514286 kg N2O (given per ha: × 1 ha)
        act(c, da, "n_synthetic_kg", 100, zone_code="C1", unit="kg/ha")
        act(c, da, "urea_kg", 0, zone_code="C1")
        # oracle 11: 1 t limestone → 440 kg CO2; oracle 10: 1 t urea → 733.333 kg CO2 (urea N ≤ synthetic N)
        act(c, da, "limestone_kg", 1, zone_code="L1", unit="t")
        act(c, da, "urea_kg", 1000, zone_code="L1")
        act(c, da, "n_synthetic_kg", 300, zone_code="L1")
        act(c, da, "n_synthetic_kg", 200, zone_code="L1")  # a second application adds up: 500 kg N
    return ids


def row(frame, record_id: str, category: str, gas: str):
    hit = frame[(frame.record_id == record_id) & (frame.category == category) & (frame.gas == gas)]
    assert len(hit) == 1, (record_id, category, gas, frame[frame.record_id == record_id])
    return hit.iloc[0]


def test_run_matches_hand_worked_oracles_and_is_reproducible(fresh_db, fresh_engine):
    ids = seed_basic(fresh_engine)
    r1 = create_run(fresh_engine, fresh_db, 2025, draws=200)
    assert not r1.reused and r1.record_count == 3 and int(r1) == r1.run_id
    with fresh_engine.connect() as c:
        f = run_frame(c, r1.run_id)
        run = get_run(c, r1.run_id)
    rice = row(f, f"z{ids['rice']}", "3.C", "CH4")
    assert (rice.mass_g, rice.co2e_g) == (124_440, 3_484_320)  # 124.44 kg CH4, 3,484.32 kg CO2e (AR5)
    assert rice.crop_zone_id == ids["rice"] and rice.commune_code == BMT and rice.area_ha == 1.0
    n2o = row(f, f"z{ids['coffee']}", "3.D.a.1", "N2O")
    assert (n2o.mass_g, n2o.co2e_g) == (2_514, 666_286)  # 2.514286 kg N2O, 666.2857 kg CO2e
    assert row(f, f"z{ids['lime']}", "3.G.1", "CO2").mass_g == 440_000
    assert row(f, f"z{ids['lime']}", "3.H", "CO2").mass_g == 733_333
    # direct N2O on 500 kg N (two rows summed): 500 × 0.016 × 44/28 = 12.571429 kg
    assert row(f, f"z{ids['lime']}", "3.D.a.1", "N2O").mass_g == 12_571
    # totals by category and gas are exact integer sums; uncertainty rows stored for both approaches
    assert run["total_co2e_g"] == int(f.co2e_g.sum())
    scopes = {(u["scope"], u["approach"]) for u in run["uncertainty"]}
    assert {("total", 1), ("total", 2), ("3.C", 1), ("3.C", 2)} <= scopes
    tot2 = next(u for u in run["uncertainty"] if u["scope"] == "total" and u["approach"] == 2)
    assert tot2["low95_kg"] < run["total_co2e_g"] / 1000 < tot2["high95_kg"]
    # unverified factors used are named in the run (perennial biomass factors are unverified)
    assert run["unverified_factors"] and any(k.startswith("biomass.") for k in run["unverified_factors"])
    assert any(w["code"] == "unverified_factors" for w in run["warnings"])
    # not reported stays NE: the rice zone gave no N, so 3.D.a.1 has no row for it (not a zero)
    assert f[(f.record_id == f"z{ids['rice']}") & (f.category == "3.D.a.1")].empty
    assert run["params"]["not_estimated"].get("3.D.a.1", 0) >= 1

    # same inputs → same digest, the stored run is returned, no duplicate written
    r2 = create_run(fresh_engine, fresh_db, 2025, draws=200)
    assert r2.reused and r2.run_id == r1.run_id and r2.run_digest == r1.run_digest
    with fresh_engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM estimate_run")).scalar_one() == 1
        runs = list_runs(c, 2025)
    assert [r["id"] for r in runs] == [r1.run_id]
    # the factor set is now locked and the run immutable
    with fresh_engine.begin() as c, pytest.raises(sqlalchemy.exc.IntegrityError, match="make a new version"):
        c.execute(text("UPDATE factor SET value = 2 WHERE set_code = 'ipcc2019-sea' AND key = 'rice.efc'"))
    with fresh_engine.begin() as c, pytest.raises(sqlalchemy.exc.IntegrityError, match="immutable"):
        c.execute(text("UPDATE estimate SET mass_g = 0 WHERE run_id = :r"), {"r": r1.run_id})

    # changing one input changes the digest, and AR6 is a different run with the same masses
    with fresh_engine.begin() as c:
        c.execute(text("UPDATE activity SET amount = 101 WHERE zone_code = 'C1' AND item = 'n_synthetic_kg'"))
    r3 = create_run(fresh_engine, fresh_db, 2025, draws=0)
    assert not r3.reused and r3.inputs_digest != r1.inputs_digest and r3.run_digest != r1.run_digest
    r4 = create_run(fresh_engine, fresh_db, 2025, gwp="ar6", draws=0)
    assert r4.inputs_digest == r3.inputs_digest and r4.run_digest != r3.run_digest
    with fresh_engine.connect() as c:
        f3, f4 = run_frame(c, r3.run_id), run_frame(c, r4.run_id)
    assert (f3.mass_g.to_numpy() == f4.mass_g.to_numpy()).all()
    assert row(f4, f"z{ids['rice']}", "3.C", "CH4").co2e_g == 3_359_880  # AR6: 124.44 × 27


def test_rerun_on_a_copy_gives_identical_rows(fresh_db, fresh_engine):
    seed_basic(fresh_engine)
    a = create_run(fresh_engine, fresh_db, 2025, draws=100)
    with fresh_engine.connect() as c:
        fa = run_frame(c, a.run_id)
        ua = get_run(c, a.run_id)["uncertainty"]
    # delete the run (cascade) and compute again from scratch: same digest, same integers, same intervals
    with fresh_engine.begin() as c:
        c.execute(text("DELETE FROM estimate_run WHERE id = :r"), {"r": a.run_id})
    b = create_run(fresh_engine, fresh_db, 2025, draws=100)
    assert not b.reused and b.run_digest == a.run_digest and b.run_id != a.run_id
    with fresh_engine.connect() as c:
        fb = run_frame(c, b.run_id)
        ub = get_run(c, b.run_id)["uncertainty"]
    assert fa.drop(columns=[]).equals(fb)
    assert ua == ub


def test_lineage_carries_old_commune_activity_with_conservation(fresh_db, fresh_engine):
    with fresh_engine.begin() as c:
        old = c.execute(text(
            "SELECT old_code FROM admin_lineage WHERE old_code NOT IN (SELECT code FROM admin_unit) "
            "GROUP BY old_code HAVING count(*) > 1 ORDER BY old_code LIMIT 1")).scalar_one()
        shares = dict(c.execute(text("SELECT new_code, area_share FROM admin_lineage WHERE old_code = :o"),
                                {"o": old}).all())
        main = max(shares, key=shares.get)
        da = dataset(c, "activity")
        kw = {"commune": main, "old": old, "crop": "maize", "season": "he_thu", "year": 2024}
        act(c, da, "area_ha", 1000, **kw)
        act(c, da, "n_synthetic_kg", 120, unit="kg/ha", **kw)   # 120,000 kg over 1000 ha
        act(c, da, "urea_kg", 0, **kw)
        act(c, da, "limestone_kg", 50, unit="t", **kw)
    r = create_run(fresh_engine, fresh_db, 2024, draws=0)
    with fresh_engine.connect() as c:
        f = run_frame(c, r.run_id)
    assert set(f.commune_code) == set(shares)  # carried to every new commune of the old one
    assert all(rid.startswith(f"c{old}:maize:summer_autumn@") for rid in f.record_id)
    total_share = sum(shares.values())
    for new, s in shares.items():
        area = f[f.commune_code == new].area_ha.iloc[0]
        assert area == pytest.approx(1000 * s / total_share)
    lime = f[f.category == "3.G.1"].mass_g.sum()
    assert abs(lime - 50_000 * 0.44 * 1000) <= len(shares)  # 22 t CO2, one gram of rounding per split
    n2o = f[(f.category == "3.D.a.1")].mass_g.sum()
    assert abs(n2o - 120_000 * 0.016 * 44 / 28 * 1000) <= len(shares)
    assert any(w["code"] == "lineage_split" for w in r.warnings)


def test_null_inputs_never_become_zero(fresh_db, fresh_engine):
    with fresh_engine.begin() as c:
        dz, da = dataset(c, "crop_zones"), dataset(c, "activity")
        zid = zone(c, dz, "C9", "coffee", 2.0, planted_year=2010)
        c.execute(text(
            "INSERT INTO activity (province_code, dataset_id, commune_code, zone_code, year, item, amount, value_text) "
            "VALUES ('66', :ds, :cc, 'C9', 2025, 'n_synthetic_kg', NULL, 'không rõ')"), {"ds": da, "cc": BMT})
        act(c, da, "fertiliser_x", 5, zone_code="C9")  # not in the vocabulary: reported, not used
    r = create_run(fresh_engine, fresh_db, 2025, draws=0)
    with fresh_engine.connect() as c:
        f = run_frame(c, r.run_id)
        run = get_run(c, r.run_id)
    soils = f[(f.record_id == f"z{zid}") & f.category.str.startswith("3.D")]
    assert soils.empty  # no N reported → NE, no zero rows
    assert run["params"]["not_estimated"]["3.D.a.1"] == 1
    codes = {w["code"] for w in run["warnings"]}
    assert {"unknown_item", "not_estimated"} <= codes


def test_bad_unit_and_bad_record_are_refused_with_reasons(fresh_db, fresh_engine):
    with fresh_engine.begin() as c:
        dz, da = dataset(c, "crop_zones"), dataset(c, "activity")
        zone(c, dz, "R2", "rice", 1.0, season="he_thu", water_regime="continuously_flooded")
        act(c, da, "cultivation_days", 400, zone_code="R2")
    with pytest.raises(RecordError, match="cultivation_days"):
        create_run(fresh_engine, fresh_db, 2025, draws=0)
    skipped = create_run(fresh_engine, fresh_db, 2025, draws=0, on_error="skip")
    assert skipped.record_count == 0
    assert any(w["code"] == "invalid_records_skipped" for w in skipped.warnings)
    with fresh_engine.begin() as c:
        c.execute(text("UPDATE activity SET amount = 100, unit = 'weeks'"))
    with pytest.raises(ValueError, match="weeks"):
        create_run(fresh_engine, fresh_db, 2025, draws=0)


def test_parallel_write_gives_the_same_rows_and_leaves_no_orphan(fresh_db, fresh_engine, monkeypatch):
    from cropmrv.mrv import runs

    seed_basic(fresh_engine)
    monkeypatch.setattr(runs, "PARALLEL_MIN_ROWS", 0)
    a = create_run(fresh_engine, fresh_db, 2025, draws=0, write_streams=2)
    with fresh_engine.connect() as c:
        fa = run_frame(c, a.run_id)
    with fresh_engine.begin() as c:
        c.execute(text("DELETE FROM estimate_run WHERE id = :r"), {"r": a.run_id})
    b = create_run(fresh_engine, fresh_db, 2025, draws=0, write_streams=1)
    with fresh_engine.connect() as c:
        fb = run_frame(c, b.run_id)
    assert b.run_digest == a.run_digest and fa.equals(fb) and len(fa) > 0

    # a failure after the rows were copied on their own connections rolls back the run and drops them
    with fresh_engine.begin() as c:
        c.execute(text("DELETE FROM estimate_run"))

    def broken(calc, draws, seed):
        return [{"scope": None, "approach": 1, "mean_kg": 0.0, "low95_kg": 0.0, "high95_kg": 0.0}], {}

    monkeypatch.setattr(runs, "uncertainty_rows", broken)
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        create_run(fresh_engine, fresh_db, 2025, draws=0, write_streams=2)
    with fresh_engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM estimate_run")).scalar_one() == 0
        orphans = c.execute(text(
            "SELECT relname FROM pg_class WHERE relname ~ '^estimate_r[0-9]+$' AND relkind = 'r' AND NOT relispartition"
        )).scalars().all()
    assert orphans == []
