"""Reading activity records inside a transaction (psycopg COPY path), units, seasons, and the vocabulary."""

from __future__ import annotations

import math

import pytest

from cropmrv.mrv.inputs import InputError, read_inputs
from cropmrv.mrv.items import ITEMS, describe, unit_rule
from cropmrv.mrv.records import FIELDS

from .test_runs import act, dataset, zone


def test_vocabulary_maps_onto_record_fields():
    assert set(ITEMS) <= set(FIELDS)  # every item is a field the calculator reads
    assert unit_rule("urea_kg", "t") == (1000.0, "")
    assert unit_rule("n_synthetic_kg", "kg/ha") == (1.0, "per_ha")
    assert unit_rule("residue_burned_fraction", "%") == (0.01, "")
    assert unit_rule("cultivation_days", "weeks") is None
    rows = describe()
    assert {r["item"] for r in rows} == set(ITEMS) and all(r["vi"] and r["en"] for r in rows)


def test_read_inputs_in_transaction_pivots_units_and_seasons(conn):
    dz, da = dataset(conn, "crop_zones"), dataset(conn, "activity")
    # one zone code, two rice seasons: activity rows pick their season
    a = zone(conn, dz, "R7", "rice", 2.0, season="dong_xuan", water_regime="continuously_flooded", i=3)
    b = zone(conn, dz, "R7", "rice", 2.0, season="he_thu", water_regime="multiple_drainage_awd", i=4)
    c = zone(conn, dz, "V1", "vegetables", 0.5, season="annual", i=5)
    act(conn, da, "cultivation_days", 95, zone_code="R7", season="dong_xuan")
    act(conn, da, "cultivation_days", 100, zone_code="R7", season="summer_autumn")  # record vocabulary too
    act(conn, da, "cultivation_days", 90, zone_code="R7")  # no season, two zones: ambiguous, reported
    act(conn, da, "n_synthetic_kg", 60, zone_code="R7", season="he_thu", unit="kg/ha")
    act(conn, da, "yield_t_ha", 5500, zone_code="V1", unit="kg/ha")
    act(conn, da, "residue_burned_fraction", 20, zone_code="V1", unit="%")
    act(conn, da, "urea_kg", 5, zone_code="NOPE")
    inp = read_inputs(conn, 2025, "66")
    r = inp.records.set_index("id")
    assert r.loc[f"z{a}", "cultivation_days"] == 95 and r.loc[f"z{b}", "cultivation_days"] == 100
    assert r.loc[f"z{a}", "season"] == "winter_spring" and r.loc[f"z{b}", "season"] == "summer_autumn"
    assert r.loc[f"z{b}", "n_synthetic_kg"] == 120  # 60 kg/ha × 2 ha
    assert math.isnan(r.loc[f"z{a}", "n_synthetic_kg"])  # not reported stays NaN
    assert r.loc[f"z{c}", "crop"] == "other_annual" and r.loc[f"z{c}", "yield_t_ha"] == 5.5
    assert r.loc[f"z{c}", "residue_burned_fraction"] == pytest.approx(0.2)
    assert r.loc[f"z{b}", "water_regime"] == "multiple_drainage_awd"
    codes = {w["code"]: w for w in inp.warnings}
    assert codes["ambiguous_zone_activity"]["rows"] == 1
    assert codes["unmatched_zone_activity"]["zone_codes"] == ["NOPE"]
    assert list(inp.records["id"]) == sorted(inp.records["id"], key=lambda s: int(s[1:]))  # canonical order


def test_conflicting_duplicates_are_refused(conn):
    dz, da = dataset(conn, "crop_zones"), dataset(conn, "activity")
    zone(conn, dz, "Q1", "maize", 1.0, season="he_thu")
    act(conn, da, "yield_t_ha", 5, zone_code="Q1")
    act(conn, da, "yield_t_ha", 6, zone_code="Q1")
    with pytest.raises(InputError, match="conflicting values"):
        read_inputs(conn, 2025, "66")


def test_commune_statistics_need_an_area_for_per_ha_units(conn):
    da = dataset(conn, "activity")
    act(conn, da, "n_synthetic_kg", 100, unit="kg/ha", crop="cassava", season="annual")
    with pytest.raises(InputError, match="area_ha"):
        read_inputs(conn, 2025, "66")


def test_monte_carlo_on_collapsed_profiles_equals_the_full_run():
    import numpy as np
    import pandas as pd

    from cropmrv.mrv.packages import apply_package
    from cropmrv.mrv.run_uncertainty import collapse_profiles
    from cropmrv.mrv.uncertainty import monte_carlo

    rng = np.random.default_rng(7)
    n = 60
    recs = pd.DataFrame({
        "id": [f"r{i}" for i in range(n)], "commune_code": "24133", "year": 2025.0,
        "crop": np.where(np.arange(n) % 3 == 0, "rice", "coffee"),
        "area_ha": rng.uniform(0.2, 7.0, n),
        "practice_code": np.where(np.arange(n) % 3 == 0, "dl-rice-awd", "dl-coffee-conventional"),
        "cultivation_days": np.where(np.arange(n) % 3 == 0, 100.0, np.nan),
        "planted_year": np.where(np.arange(n) % 3 == 0, np.nan, 2015.0),
    })
    full = apply_package(recs)
    prof = collapse_profiles(full)
    assert len(prof) == 2 and prof["area_ha"].sum() == pytest.approx(full["area_ha"].sum())
    a = monte_carlo(full, None, "ar5", n_draws=300, seed=11).set_index("category")
    b = monte_carlo(prof, None, "ar5", n_draws=300, seed=11).set_index("category")
    for col in ("co2e_kg", "mean_kg", "low_kg", "high_kg"):
        assert np.allclose(a[col], b[col], rtol=1e-9)
