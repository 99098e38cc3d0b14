"""Uncertainty of results: IPCC Approach 1 (error propagation) and Approach 2 (seeded Monte Carlo).

Both read each factor's 95 % range from the register; a factor without a published range is held
fixed and *named* (``range_unknown``), never given an invented spread. GWP values carry no
uncertainty here (reporting convention).

Approach 1 is first-order propagation (2006 GL Vol. 1 Ch. 3, Eq 3.1 and 3.2): a result row is a
product of factors, so its relative uncertainty is the quadrature sum of theirs; a factor shared by
many rows is one variable, so the rows that use it are summed *before* its uncertainty is applied
(their errors are fully correlated), and distinct factors add in quadrature. Factors that enter
non-multiplicatively (CFOA inside Eq 5.3's power, the residue parameters inside F_CR's sum) are left
to Approach 2, which is exact for them. Approach 2 draws every factor used, pushes the draws through
the same vectorised equations as the calculator (``mrv.engine.Lookup`` with draws), and reports the
2.5 / 97.5 percentiles per category and for the total. Same seed → same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from cropmrv.mrv.calculate import calculate_detailed
from cropmrv.mrv.categories import all_blocks, prepare
from cropmrv.mrv.engine import Lookup
from cropmrv.mrv.factors import Factor, FactorSet, load_factor_set

Z95 = 1.959964
NON_MULTIPLICATIVE = ("rice.cfoa.", "rice.sfo_exponent", "residue.")
CLIP_AT_ONE = ("n2o.frac_", "rice.cfoa.")


def relative_u(f: Factor) -> float | None:
    """Half-width of the 95 % range as a fraction of the value (larger side if asymmetric); None if unknown."""
    if f.low is None or f.high is None or f.value == 0:
        return None
    return max(f.high - f.value, f.value - f.low) / abs(f.value)


def _ad_u(activity_uncertainty: float | Mapping[str, float], category: str) -> float:
    if isinstance(activity_uncertainty, Mapping):
        return float(activity_uncertainty.get(category, 0.0))
    return float(activity_uncertainty)


def approach1(
    results: pd.DataFrame,
    factors: FactorSet | str | None = None,
    activity_uncertainty: float | Mapping[str, float] = 0.0,
) -> pd.DataFrame:
    """95 % uncertainty of CO2e per category and for the total, from a :func:`calculate` result.

    ``activity_uncertainty``: relative 95 % half-width of the activity data, one number or per
    category (e.g. {"3.C": 0.1}); default 0 (factor uncertainty only). Returns columns category,
    co2e_kg, u_kg, u_pct, low_kg, high_kg; ``attrs['range_unknown']`` lists the factors held fixed.
    """
    fs = factors if isinstance(factors, FactorSet) else load_factor_set(factors or "ipcc2019-sea")
    res = results[results.mass_kg.notna()]
    by_combo = res.groupby(["category", "factor_keys"], observed=True)["co2e_kg"].sum().reset_index()
    unknown: set[str] = set()
    rows = []
    tot_sens: dict[str, float] = {}
    tot_ad2 = 0.0

    def keys_of(s: str) -> list[str]:
        return [k for k in str(s).split(",") if k and not k.startswith(NON_MULTIPLICATIVE)]

    for cat, grp in by_combo.groupby("category", observed=True):
        sens: dict[str, float] = {}
        for keys, e in zip(grp.factor_keys, grp.co2e_kg, strict=True):
            for k in keys_of(keys):
                sens[k] = sens.get(k, 0.0) + e
                tot_sens[k] = tot_sens.get(k, 0.0) + e
        e_cat = float(grp.co2e_kg.sum())
        var = 0.0
        for k, s in sens.items():
            u = relative_u(fs[k])
            if u is None:
                unknown.add(k)
                continue
            var += (u * s) ** 2
        ad = (_ad_u(activity_uncertainty, cat) * e_cat) ** 2
        tot_ad2 += ad
        rows.append((cat, e_cat, float(np.sqrt(var + ad))))
    var_tot = sum((relative_u(fs[k]) * s) ** 2 for k, s in tot_sens.items() if relative_u(fs[k]) is not None)
    e_tot = float(res.co2e_kg.sum())
    rows.append(("total", e_tot, float(np.sqrt(var_tot + tot_ad2))))
    out = pd.DataFrame(rows, columns=["category", "co2e_kg", "u_kg"])
    with np.errstate(divide="ignore", invalid="ignore"):
        out["u_pct"] = 100 * out.u_kg / out.co2e_kg.abs()
    out["low_kg"] = out.co2e_kg - out.u_kg
    out["high_kg"] = out.co2e_kg + out.u_kg
    out["approach2_advised"] = out.u_pct > 100  # Approach 1 assumes small, symmetric errors
    out.attrs["range_unknown"] = sorted(unknown)
    out.attrs["method"] = "IPCC Approach 1, first-order propagation, 95 % half-widths"
    return out


def draw_factors(factors: FactorSet, keys: Iterable[str], n_draws: int, seed: int) -> tuple[dict[str, np.ndarray], list[str]]:
    """Lognormal draws (median = value) for each key with a range; keys in sorted order for determinism.

    σ = ln(high/low) / (2·1.96) when low > 0, else ln(high/value) / 1.96 (ranges that reach 0, e.g.
    EF1FR 0.000-0.010, are skewed: the lognormal keeps draws positive and matches the upper bound).
    Fractions and CFOA are clipped at 1."""
    rng = np.random.default_rng(seed)
    draws: dict[str, np.ndarray] = {}
    fixed = []
    for k in sorted(set(keys)):
        f = factors[k]
        if f.low is None or f.high is None or f.value <= 0 or f.high <= f.value:
            fixed.append(k)
            continue
        sigma = np.log(f.high / f.low) / (2 * Z95) if f.low > 0 else np.log(f.high / f.value) / Z95
        d = f.value * np.exp(sigma * rng.standard_normal(n_draws))
        draws[k] = np.minimum(d, 1.0) if k.startswith(CLIP_AT_ONE) else d
    return draws, fixed


def monte_carlo(
    records: pd.DataFrame,
    factors: FactorSet | str | None = None,
    gwp: str = "ar5",
    n_draws: int = 2000,
    seed: int = 20260422,
    activity_uncertainty: float | Mapping[str, float] = 0.0,
    max_cells: int = 4_000_000,
) -> pd.DataFrame:
    """IPCC Approach 2: 95 % intervals of CO2e per category and total from ``n_draws`` seeded draws.

    Records are processed in chunks of ``max_cells // n_draws`` so memory stays bounded. Returns
    category, co2e_kg (deterministic estimate), mean_kg, median_kg, low_kg (2.5 %), high_kg (97.5 %);
    ``attrs`` carries the seed, the draws and the factors held fixed."""
    calc = calculate_detailed(records, factors, gwp)
    fs, g = calc.factors, calc.gwp
    draws, fixed = draw_factors(fs, calc.factor_keys_used, n_draws, seed)
    recs = calc.validation.records
    sums: dict[str, np.ndarray] = {}
    step = max(1, max_cells // n_draws)
    for start in range(0, len(recs), step):
        P = prepare(recs.iloc[start:start + step], fs.option("default_climate", "wet"))
        for b in all_blocks(P, Lookup(fs, draws, n_draws)):
            if not len(b.rec):
                continue
            s = np.asarray(b.mass).reshape(len(b.rec), -1).sum(axis=0) * g[b.gas]
            sums[b.category] = sums.get(b.category, 0.0) + np.broadcast_to(s, (n_draws,))
    rng = np.random.default_rng([seed, 1])
    for cat in sorted(sums):  # activity data: one multiplicative error per category and draw
        u = _ad_u(activity_uncertainty, cat)
        if u > 0:
            sums[cat] = sums[cat] * np.exp(np.log1p(u) / Z95 * rng.standard_normal(n_draws))
    det = calc.results[calc.results.mass_kg.notna()].groupby("category", observed=True)["co2e_kg"].sum()
    rows = []
    total = np.zeros(n_draws)
    for cat in sorted(sums):
        total = total + sums[cat]
        rows.append((cat, float(det.get(cat, 0.0)), *_stats(sums[cat])))
    rows.append(("total", float(det.sum()), *_stats(total)))
    out = pd.DataFrame(rows, columns=["category", "co2e_kg", "mean_kg", "median_kg", "low_kg", "high_kg"])
    out.attrs.update(method="IPCC Approach 2, Monte Carlo, lognormal factors", seed=seed, n_draws=n_draws,
                     fixed_factors=fixed, factor_set=fs.ref, gwp=g.code)
    return out


def _stats(x: np.ndarray) -> tuple[float, float, float, float]:
    lo, med, hi = np.percentile(x, [2.5, 50, 97.5])
    return float(np.mean(x)), float(med), float(lo), float(hi)
