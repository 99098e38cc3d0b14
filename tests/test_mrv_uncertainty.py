"""Approach 1 by hand on DOMAIN.md case 1, and the seeded Monte Carlo (Approach 2)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cropmrv.mrv.calculate import calculate
from cropmrv.mrv.factors import load_factor_set
from cropmrv.mrv.uncertainty import approach1, draw_factors, monte_carlo, relative_u

RICE = {"id": "r", "commune_code": "24133", "crop": "rice", "season": "winter_spring", "year": 2024, "area_ha": 1.0,
        "water_regime": "continuously_flooded", "pre_season_regime": "non_flooded_lt180", "cultivation_days": 102,
        "straw_t_dm_ha": 0, "compost_t_ha": 0, "manure_t_ha": 0, "green_manure_t_ha": 0, "n_synthetic_kg": 0,
        "n_organic_kg": 0, "urea_kg": 0, "limestone_kg": 0, "dolomite_kg": 0}
EXAMPLE = json.loads((Path(__file__).resolve().parents[1] / "mrv/schemas/example-input.json").read_text())


def test_relative_u_uses_the_wider_side():
    fs = load_factor_set()
    assert relative_u(fs["rice.efc"]) == pytest.approx((1.81 - 1.22) / 1.22)  # Table 5.11 0.83-1.81
    assert relative_u(fs["n2o.frac_gasf.urea"]) is None  # range not read: held fixed, not invented


def test_approach1_case1_by_hand():
    a1 = approach1(calculate(pd.DataFrame([RICE])))
    row = a1.set_index("category").loc["3.C"]
    # EFc (0.83-1.81 on 1.22), SFw continuous (0.73-1.27 on 1), SFp < 180 d (0.88-1.12 on 1)
    u = math.sqrt(((1.81 - 1.22) / 1.22) ** 2 + 0.27 ** 2 + 0.12 ** 2)
    assert row.co2e_kg == pytest.approx(3484.32)
    assert row.u_kg == pytest.approx(3484.32 * u)
    assert a1.set_index("category").loc["total", "u_kg"] == pytest.approx(3484.32 * u)


def test_approach1_treats_a_shared_factor_as_one_variable():
    one = approach1(calculate(pd.DataFrame([RICE])))
    two = approach1(calculate(pd.DataFrame([RICE, {**RICE, "id": "r2"}])))
    # same factors on both rows: fully correlated, so U doubles (it would be ×√2 if independent)
    assert two.u_kg.iloc[-1] == pytest.approx(2 * one.u_kg.iloc[-1])


def test_approach1_activity_uncertainty_adds_in_quadrature():
    base = approach1(calculate(pd.DataFrame([RICE])))
    ad = approach1(calculate(pd.DataFrame([RICE])), activity_uncertainty={"3.C": 0.1})
    assert ad.u_kg.iloc[0] == pytest.approx(math.hypot(base.u_kg.iloc[0], 0.1 * 3484.32))


def test_monte_carlo_is_deterministic_given_the_seed():
    df = pd.DataFrame(EXAMPLE)
    a = monte_carlo(df, n_draws=500, seed=7)
    b = monte_carlo(df, n_draws=500, seed=7)
    c = monte_carlo(df, n_draws=500, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    assert a.attrs["seed"] == 7 and "co2.urea_c" in a.attrs["fixed_factors"]


def test_monte_carlo_chunking_does_not_change_the_numbers():
    df = pd.DataFrame(EXAMPLE)
    big = monte_carlo(df, n_draws=300, seed=3)
    small = monte_carlo(df, n_draws=300, seed=3, max_cells=300)  # one record per chunk
    np.testing.assert_allclose(big[["mean_kg", "low_kg", "high_kg"]], small[["mean_kg", "low_kg", "high_kg"]], rtol=1e-10)


def test_monte_carlo_median_of_a_product_of_lognormals():
    # every factor of case 1 is lognormal with median = its value → the median of the product is 124.44 kg
    mc = monte_carlo(pd.DataFrame([RICE]), n_draws=8000, seed=11).set_index("category")
    assert mc.loc["3.C", "median_kg"] == pytest.approx(3484.32, rel=0.03)
    assert mc.loc["3.C", "low_kg"] < 3484.32 < mc.loc["3.C", "high_kg"]
    assert mc.loc["total", "median_kg"] == pytest.approx(mc.loc["3.C", "median_kg"])


def test_intervals_contain_the_estimate_for_every_category():
    mc = monte_carlo(pd.DataFrame(EXAMPLE), n_draws=2000, seed=5)
    assert ((mc.low_kg <= mc.co2e_kg + 1e-6) & (mc.co2e_kg <= mc.high_kg + 1e-6)).all(), mc


def test_draws_respect_bounds():
    fs = load_factor_set()
    d, fixed = draw_factors(fs, ["n2o.frac_leach.wet", "rice.cfoa.straw_lt30", "co2.urea_c"], 5000, 1)
    assert d["n2o.frac_leach.wet"].max() <= 1 and d["rice.cfoa.straw_lt30"].min() > 0
    assert fixed == ["co2.urea_c"]
