"""Uncertainty stored with a run: IPCC Approach 1 and 2 (``mrv.uncertainty``) per category and total."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cropmrv.mrv.calculate import Calculation
from cropmrv.mrv.records import FIELDS

MC_CELL_BUDGET = 50_000_000  # profiles × draws per run (about 10-20 s here)


TOTAL_FIELDS = ("n_synthetic_kg", "n_organic_kg", "urea_kg", "limestone_kg", "dolomite_kg", "cleared_area_ha")


def collapse_profiles(records: pd.DataFrame, digits: int = 10) -> pd.DataFrame:
    """Records with the same per-hectare profile merged into one record of their summed area.

    Every equation is linear in area once the totals (N, urea, lime, cleared area) are scaled with it,
    so a category's Monte Carlo sum over the merged records equals the sum over the originals; the
    draws then run over distinct practices, not over every zone (a province's zones following one
    package collapse into one record). Per-hectare values are compared at ``digits`` significant
    digits, so ``v × a / a`` float noise does not keep identical practices apart."""
    df = records.copy()
    area = df["area_ha"].to_numpy(dtype=float)
    keys = [f for f in FIELDS if f not in ("id", "commune_code", "area_ha")]
    for f in TOTAL_FIELDS:
        with np.errstate(divide="ignore", invalid="ignore"):
            df[f] = df[f].to_numpy(dtype=float) / area
    for f in keys:
        col = df[f]
        if col.dtype.kind == "f":
            v = col.to_numpy()
            with np.errstate(divide="ignore", invalid="ignore"):
                mag = np.where(np.isfinite(v) & (v != 0), np.floor(np.log10(np.abs(v))), 0)
            df[f] = np.round(v / 10.0 ** mag, digits - 1) * 10.0 ** mag
        else:
            df[f] = col.astype(object).where(col.notna(), None)
    grp = df.groupby(keys, dropna=False, sort=True)
    out = grp.head(1).copy()
    out["area_ha"] = grp["area_ha"].transform("sum").loc[out.index].to_numpy()
    a = out["area_ha"].to_numpy()
    for f in TOTAL_FIELDS:
        out[f] = out[f].to_numpy(dtype=float) * a
    out["id"] = [f"profile{i}" for i in range(len(out))]
    return out.reset_index(drop=True)


def uncertainty_rows(calc: Calculation, draws: int, seed: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Approach 1 and 2 per category and for the total, as ``estimate_uncertainty`` rows (kg CO2e)."""
    from cropmrv.mrv.uncertainty import approach1, monte_carlo

    rows: list[dict[str, Any]] = []
    meta: dict[str, Any] = {}
    res = calc.results
    if not res["mass_kg"].notna().any():
        return rows, meta
    a1 = approach1(res, calc.factors)
    for r in a1.itertuples(index=False):
        rows.append({"scope": str(r.category), "approach": 1, "mean_kg": float(r.co2e_kg),
                     "low95_kg": float(r.low_kg), "high95_kg": float(r.high_kg)})
    meta["approach1"] = {"range_unknown": a1.attrs.get("range_unknown", []), "method": a1.attrs.get("method")}
    if draws > 0:
        recs = calc.validation.records
        if len(calc.validation.errors):
            recs = recs[calc.validation.ok].reset_index(drop=True)
        profiles = collapse_profiles(recs)
        # bounded work: profiles × draws cells; very diverse runs get fewer draws (never below 200), said so
        used = int(min(draws, max(200, MC_CELL_BUDGET // max(len(profiles), 1))))
        a2 = monte_carlo(profiles, calc.factors, calc.gwp.code, n_draws=used, seed=seed)
        for r in a2.itertuples(index=False):
            rows.append({"scope": str(r.category), "approach": 2, "mean_kg": float(r.mean_kg),
                         "low95_kg": float(r.low_kg), "high95_kg": float(r.high_kg)})
        meta["approach2"] = {"seed": seed, "draws": used, "draws_requested": draws, "profiles": len(profiles),
                             "records": len(recs), "fixed_factors": a2.attrs.get("fixed_factors", []),
                             "method": a2.attrs.get("method")}
    return rows, meta
