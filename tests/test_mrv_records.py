"""Validation of activity records: bilingual per-record errors, warnings, and the null policy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cropmrv.mrv.calculate import calculate
from cropmrv.mrv.records import RecordError, records_digest, validate_records

GOOD = {"id": "a", "commune_code": "24133", "crop": "coffee", "year": 2024, "area_ha": 2.0, "n_synthetic_kg": 300}


def codes(v, field=None):
    e = v.errors if field is None else v.errors[v.errors.field == field]
    return sorted(set(e["code"]))


def test_good_record_has_no_errors():
    v = validate_records([GOOD])
    assert len(v.errors) == 0 and v.ok.tolist() == [True]


@pytest.mark.parametrize(
    "change, field, code",
    [
        ({"area_ha": -1}, "area_ha", "out_of_range"),
        ({"area_ha": 0}, "area_ha", "area_not_positive"),
        ({"n_synthetic_kg": -5}, "n_synthetic_kg", "out_of_range"),
        ({"n_synthetic_kg": 2.0 * 5000}, "n_synthetic_kg", "out_of_range"),  # 5,000 kg N/ha is absurd
        ({"crop": "rice", "water_regime": "continuously_flooded", "cultivation_days": 400}, "cultivation_days", "out_of_range"),
        ({"crop": "banana_tree"}, "crop", "unknown_value"),
        ({"crop": "rice", "water_regime": "swamp"}, "water_regime", "unknown_value"),
        ({"crop": "rice"}, "water_regime", "water_regime_required"),
        ({"area_ha": "two"}, "area_ha", "not_a_number"),
        ({"commune_code": "2413"}, "commune_code", "bad_commune_code"),
        ({"commune_code": None}, "commune_code", "required"),
        ({"residue_burned_fraction": 0.7, "residue_removed_fraction": 0.5}, "residue_burned_fraction", "fractions_exceed_one"),
        ({"urea_kg": 1000, "n_synthetic_kg": 100}, "urea_kg", "urea_exceeds_n"),
        ({"planted_year": 2030}, "planted_year", "planted_after_year"),
        ({"crop": "rice", "water_regime": "continuously_flooded", "straw_t_dm_ha": 3}, "straw_timing", "straw_timing_required"),
    ],
)
def test_bad_values_are_clear_errors(change, field, code):
    v = validate_records([{**GOOD, **change}])
    assert code in codes(v, field), v.errors
    row = v.errors[(v.errors.field == field) & (v.errors.code == code)].iloc[0]
    assert row.record_id == "a" and field in row.message_vi and field in row.message_en
    assert row.message_vi != row.message_en  # bilingual
    assert v.ok.tolist() == [False]


def test_duplicate_ids():
    v = validate_records([GOOD, GOOD])
    assert codes(v, "id") == ["duplicate_id"] and v.ok.tolist() == [False, False]


def test_calculate_raises_with_the_per_record_list():
    with pytest.raises(RecordError, match=r"a: area_ha") as exc:
        calculate(pd.DataFrame([{**GOOD, "area_ha": -3}]))
    assert "diện tích" in str(exc.value) or "area_ha" in str(exc.value)
    assert len(exc.value.errors) >= 1


def test_missing_rice_period_falls_back_with_a_warning():
    rec = {**GOOD, "crop": "rice", "water_regime": "continuously_flooded", "pre_season_regime": "non_flooded_lt180",
           "straw_t_dm_ha": 0, "compost_t_ha": 0, "manure_t_ha": 0, "green_manure_t_ha": 0}
    v = validate_records([rec])
    assert len(v.errors) == 0
    assert set(v.warnings["code"]) == {"days_default"}
    res = calculate(pd.DataFrame([rec]))
    rice = res[res.category == "3.C"].iloc[0]
    assert "days_default" in rice["flags"]
    assert rice.mass_kg == pytest.approx(1.22 * 102 * 2.0)  # Table 5.11A default 102 d


def test_null_n_is_not_zero_but_ne():
    res = calculate(pd.DataFrame([{**GOOD, "n_synthetic_kg": None}]))
    syn = res[res.category == "3.D.a.1"]
    assert len(syn) == 1 and np.isnan(syn.mass_kg.iloc[0]) and syn["flags"].iloc[0] == "NE"
    zero = calculate(pd.DataFrame([{**GOOD, "n_synthetic_kg": 0}]))
    assert (zero.category == "3.D.a.1").sum() == 0  # explicit zero: nothing applied, no row


def test_straw_double_count_warning():
    rec = {**GOOD, "crop": "rice", "water_regime": "continuously_flooded", "straw_t_dm_ha": 8, "straw_timing": "lt30",
           "yield_t_ha": 6, "residue_burned_fraction": 0.5, "residue_removed_fraction": 0.2}
    assert "straw_double_count" in set(validate_records([rec]).warnings["code"])


def test_digest_is_stable_and_sensitive():
    a = validate_records([GOOD]).records
    b = validate_records([dict(GOOD)]).records
    assert records_digest(a) == records_digest(b)
    c = validate_records([{**GOOD, "area_ha": 2.0000001}]).records
    assert records_digest(a) != records_digest(c)


def test_numeric_commune_code_is_read_as_text():
    v = validate_records([{**GOOD, "commune_code": 24133}])
    assert len(v.errors) == 0 and v.records.commune_code.iloc[0] == "24133"
