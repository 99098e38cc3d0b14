"""Practice packages: the catalogue, its sources, and filling unreported inputs flagged from_norms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cropmrv.mrv.calculate import calculate
from cropmrv.mrv.packages import PackageError, apply_package, get_package, load_packages


def test_catalogue_has_the_norms_and_the_illustrative_packages():
    pk = load_packages()
    assert {"dq773-green-ramie-ap1", "dq773-ragworm-rice", "dl-coffee-conventional", "dl-coffee-low-emission",
            "dl-rice-continuous-flooding", "dl-rice-awd", "dl-sugarcane-burning", "dl-sugarcane-no-burning"} <= set(pk)
    for p in pk.values():
        assert p.source.get("document"), p.code
        assert p.illustrative == p.code.startswith("dl-"), p.code  # Decision 773 norms are not illustrative
    ramie = pk["dq773-green-ramie-ap1"]
    assert ramie.per_ha["n_synthetic_kg"] == 540 and ramie.per_ha["limestone_kg"] == 500  # Decision 773, TR3004
    assert ramie.per_ha["n_organic_kg"] is None  # N content of the micro-organic fertiliser is not in the norm
    assert pk["dq773-ragworm-rice"].practice["compost_t_ha"] == 3.0  # 1 t bio-organic + 2 t micro-organic


def test_rice_packages_differ_only_in_water_regime():
    cf, awd = get_package("dl-rice-continuous-flooding"), get_package("dl-rice-awd")
    assert dict(cf.per_ha) == dict(awd.per_ha)
    assert {k: v for k, v in cf.practice.items() if k != "water_regime"} == \
        {k: v for k, v in awd.practice.items() if k != "water_regime"}
    assert awd.practice["water_regime"] == "multiple_drainage_awd"


def test_apply_fills_only_missing_inputs_and_flags_them():
    df = pd.DataFrame([
        {"id": "a", "commune_code": "24133", "crop": "coffee", "year": 2024, "area_ha": 3.0,
         "practice_code": "dl-coffee-conventional"},
        {"id": "b", "commune_code": "24133", "crop": "coffee", "year": 2024, "area_ha": 3.0,
         "practice_code": "dl-coffee-conventional", "n_synthetic_kg": 600},
        {"id": "c", "commune_code": "24133", "crop": "coffee", "year": 2024, "area_ha": 3.0, "n_synthetic_kg": 10},
    ])
    out = apply_package(df)
    assert out.n_synthetic_kg.tolist() == [349 * 3.0, 600, 10]  # package × area; measured value wins
    assert out.from_norms.tolist() == [True, True, False]
    assert "n_synthetic_kg" in out.norms_fields[0] and "n_synthetic_kg" not in out.norms_fields[1]
    res = calculate(out)
    syn = res[res.category == "3.D.a.1"].set_index("record_id")
    assert "from_norms" in syn.loc["a", "flags"] and "from_norms" not in syn.loc["c", "flags"]


def test_urea_is_not_mixed_into_a_measured_n_total():
    df = pd.DataFrame([{"id": "r", "commune_code": "24133", "crop": "rice", "year": 2024, "area_ha": 2.0,
                        "practice_code": "dl-rice-awd", "n_synthetic_kg": 100}])
    out = apply_package(df)
    assert np.isnan(out.urea_kg[0]) and out.water_regime[0] == "multiple_drainage_awd"


def test_package_errors_are_clear():
    base = {"id": "r", "commune_code": "24133", "year": 2024, "area_ha": 1.0}
    with pytest.raises(PackageError, match="is for coffee"):
        apply_package(pd.DataFrame([{**base, "crop": "rice", "practice_code": "dl-coffee-conventional"}]))
    with pytest.raises(PackageError, match="unknown practice package"):
        apply_package(pd.DataFrame([{**base, "crop": "rice", "practice_code": "nope"}]))
    with pytest.raises(PackageError, match="unknown practice package"):
        get_package("nope")


def test_to_record_builds_a_calculable_record():
    rec = get_package("dl-sugarcane-burning").to_record(10.0, id="s", commune_code="22015", year=2024)
    res = calculate(pd.DataFrame([rec]))
    assert set(res.category) >= {"3.D.a.1", "3.D.a.4", "3.F.4"}
    assert res[res.category == "3.D.a.1"].mass_kg.iloc[0] == pytest.approx(1840 * 0.016 * 44 / 28)
