"""Baseline vs project: the emission reduction of a change of practice, by category, in t CO2e.

A pilot site (or a crop zone) is described once — area, crop, commune, year, season, anything
measured about the place — and each scenario lays a practice package over it. Practice fields come
from the package (they *are* the scenario); place fields come from the site. Both scenarios run
through the same calculator, so every coupling is automatic: moving rice from continuous flooding to
AWD lowers CH4 through SFw and raises flooded-rice N2O through EF1FR (VM0051 Eq 25), and both show.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cropmrv.mrv.calculate import calculate_detailed
from cropmrv.mrv.factors import FactorSet
from cropmrv.mrv.packages import Package, get_package


def compare(baseline: pd.DataFrame, project: pd.DataFrame, factors: FactorSet | str | None = None,
            gwp: str = "ar5") -> pd.DataFrame:
    """Reduction (baseline − project) by category and gas, plus a ``total`` row in t CO2e.

    Positive ``reduction_t_co2e`` means the project emits less. NE rows are left out of sums; if the
    two scenarios do not cover the same categories the ``attrs['not_comparable']`` list says so."""
    b = calculate_detailed(baseline, factors, gwp)
    p = calculate_detailed(project, factors, gwp)
    sums = []
    for name, calc in (("baseline", b), ("project", p)):
        r = calc.results[calc.results.mass_kg.notna()]
        s = r.groupby(["category", "gas"], observed=True)[["mass_kg", "co2e_kg"]].sum()
        sums.append(s.rename(columns={"mass_kg": f"{name}_kg", "co2e_kg": f"{name}_co2e"}))
    t = pd.concat(sums, axis=1).fillna(0.0).reset_index()
    t["baseline_t_co2e"] = t.pop("baseline_co2e") / 1000
    t["project_t_co2e"] = t.pop("project_co2e") / 1000
    t["reduction_t_co2e"] = t.baseline_t_co2e - t.project_t_co2e
    t["category"] = t["category"].astype(str)
    t["gas"] = t["gas"].astype(str)
    tot = {"category": "total", "gas": "CO2e", "baseline_kg": np.nan, "project_kg": np.nan,
           **{c: t[c].sum() for c in ("baseline_t_co2e", "project_t_co2e", "reduction_t_co2e")}}
    out = pd.concat([t, pd.DataFrame([tot])], ignore_index=True)
    base_total = tot["baseline_t_co2e"]
    ne = lambda c: set(c.results.loc[c.results.mass_kg.isna(), "category"].astype(str))  # noqa: E731
    out.attrs.update(
        reduction_t_co2e=float(tot["reduction_t_co2e"]),
        reduction_pct=float(100 * tot["reduction_t_co2e"] / base_total) if base_total else None,
        not_comparable=sorted(ne(b) ^ ne(p)),
        unverified_factors_used=sorted(set(b.unverified_keys_used) | set(p.unverified_keys_used)),
        baseline_run_digest=b.run_digest, project_run_digest=p.run_digest, gwp=b.gwp.code, factor_set=b.factors.ref,
    )
    return out


def _overlay(site: Mapping[str, Any], pkg: Package, suffix: str) -> dict[str, Any]:
    if site.get("crop", pkg.crop) != pkg.crop:
        raise ValueError(f"Gói {pkg.code} dành cho {pkg.crop}, không phải {site['crop']} / "
                         f"package {pkg.code} is for {pkg.crop}, not {site['crop']}")
    rec = {**site, **pkg.to_record(float(site["area_ha"]))}
    rec["id"] = f"{site.get('id', 'site')}:{suffix}"
    return rec


def package_scenario(
    sites: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    baseline_package: str | Package,
    project_package: str | Package,
    factors: FactorSet | str | None = None,
    gwp: str = "ar5",
) -> pd.DataFrame:
    """Reduction for one site (or several zones) moving from ``baseline_package`` to ``project_package``.

    Each site needs ``id, commune_code, year, area_ha`` (and may carry season, cultivation_days,
    climate, planted_year...); the package supplies the practice, per ha × area."""
    sites = [sites] if isinstance(sites, Mapping) else list(sites)
    bp = baseline_package if isinstance(baseline_package, Package) else get_package(baseline_package)
    pp = project_package if isinstance(project_package, Package) else get_package(project_package)
    base = pd.DataFrame([_overlay(s, bp, "baseline") for s in sites])
    proj = pd.DataFrame([_overlay(s, pp, "project") for s in sites])
    out = compare(base, proj, factors, gwp)
    out.attrs.update(baseline_package=bp.code, project_package=pp.code,
                     illustrative=bp.illustrative or pp.illustrative)
    return out
