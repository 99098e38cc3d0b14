"""The calculator: activity records + a factor set + a GWP set → emissions by record, category and gas.

``calculate`` is the bulk path (a DataFrame in, a long DataFrame out, pure numpy, no per-row
Python); ``calculate_json`` is the same for a JSON list of records, used by ``cropmrv calc`` and the
API. Results are in kg of each gas; CO2e is applied last, from the GWP set chosen by the caller.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
import pandas as pd

from cropmrv.mrv.categories import CATEGORIES, all_blocks, prepare
from cropmrv.mrv.engine import Assembler, Lookup, empty_results
from cropmrv.mrv.factors import FactorSet, FactorUsage, load_factor_set, sha256_of
from cropmrv.mrv.gwp import GwpSet, load_gwp
from cropmrv.mrv.records import FIELDS, MESSAGES, RecordError, Validation, records_digest, validate_records

RESULT_COLUMNS = ["record_id", "category", "gas", "mass_kg", "co2e_kg", "tier", "flags", "factor_keys"]
CATEGORY_TITLES = {
    "3.C": "Rice cultivation", "3.D.a.1": "Direct N2O: inorganic N fertilisers",
    "3.D.a.2": "Direct N2O: organic N fertilisers", "3.D.a.4": "Direct N2O: crop residues",
    "3.D.b.1": "Indirect N2O: atmospheric deposition", "3.D.b.2": "Indirect N2O: nitrogen leaching and run-off",
    "3.F.1.c": "Field burning: maize", "3.F.1.d": "Field burning: other cereals (rice)",
    "3.F.2": "Field burning: pulses", "3.F.3": "Field burning: tubers and roots",
    "3.F.4": "Field burning: sugar cane", "3.F.5": "Field burning: other", "3.G.1": "Liming: limestone CaCO3",
    "3.G.2": "Liming: dolomite CaMg(CO3)2", "3.H": "Urea application",
    "4.B.1": "Cropland remaining cropland: perennial woody biomass",
}


def code_version() -> str:
    try:
        return version("cropmrv")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        from cropmrv import __version__

        return __version__


def run_digest(inputs_digest: str, factors_digest: str, gwp_code: str, code_ver: str | None = None) -> str:
    """The identity of a run: same inputs, factor set, GWP set and code version → same digest."""
    return sha256_of({"inputs": inputs_digest, "factors": factors_digest, "gwp": gwp_code,
                      "code_version": code_ver or code_version()})


def _factor_set(factors: FactorSet | str | None) -> FactorSet:
    if isinstance(factors, FactorSet):
        return factors
    return load_factor_set(factors or "ipcc2019-sea")


@dataclass(frozen=True)
class Calculation:
    """Everything a run must keep: results, the validation outcome, and what it used."""

    results: pd.DataFrame
    validation: Validation
    factors: FactorSet
    gwp: GwpSet
    factor_keys_used: list[str]
    unverified_keys_used: list[str]
    proxy_keys_used: list[str]
    inputs_digest: str
    run_digest: str

    def meta(self) -> dict[str, Any]:
        return {
            "factor_set": self.factors.ref, "gwp": {"code": self.gwp.code, "values": dict(self.gwp.values)},
            "code_version": code_version(), "inputs_digest": self.inputs_digest, "run_digest": self.run_digest,
            "factor_keys_used": self.factor_keys_used, "unverified_factors_used": self.unverified_keys_used,
            "regional_proxy_factors_used": self.proxy_keys_used,
        }


def compute(records: pd.DataFrame, factors: FactorSet, gwp: GwpSet, usage: FactorUsage | None = None) -> pd.DataFrame:
    """The pure numpy core on already validated, normalised records (no validation, no digests)."""
    if not len(records):
        return empty_results(CATEGORIES)
    P = prepare(records, factors.option("default_climate", "wet"))
    blocks = all_blocks(P, Lookup(factors))
    return Assembler(factors, usage).frame(blocks, records["id"].to_numpy(), gwp.values, CATEGORIES)


def calculate_detailed(
    records: pd.DataFrame | Iterable[Mapping[str, Any]],
    factors: FactorSet | str | None = None,
    gwp: str = "ar5",
    *,
    on_error: str = "raise",
    timings: dict[str, float] | None = None,
) -> Calculation:
    """Validate, compute and describe a run. ``on_error``: ``raise`` (default) or ``skip`` bad records.

    ``timings``, when given, receives ``validate_s``, ``compute_s``, ``compute_cpu_s`` and ``digest_s``
    (the estimate benchmark reports the steps apart)."""
    fs = _factor_set(factors)
    g = load_gwp(gwp)
    t0 = time.perf_counter()
    v = validate_records(records)
    if len(v.errors) and on_error == "raise":
        raise RecordError(v.errors)
    ok = v.records[v.ok].reset_index(drop=True) if len(v.errors) else v.records
    usage = fs.usage()
    t1, c1 = time.perf_counter(), time.process_time()
    res = compute(ok, fs, g, usage)
    t2, c2 = time.perf_counter(), time.process_time()
    digest = records_digest(v.records)
    if timings is not None:
        timings.update(validate_s=t1 - t0, compute_s=t2 - t1, compute_cpu_s=c2 - c1,
                       digest_s=time.perf_counter() - t2)
    return Calculation(res, v, fs, g, usage.keys_used, usage.unverified_keys_used, usage.proxy_keys_used,
                       digest, run_digest(digest, fs.digest, g.code))


def calculate(records: pd.DataFrame, factors: FactorSet | str | None = None, gwp: str = "ar5") -> pd.DataFrame:
    """Emissions per record, CRT category and gas (long format, see RESULT_COLUMNS).

    Raises :class:`RecordError` (bilingual, per record) if any record is invalid. ``mass_kg`` is NaN
    on NE rows (activity not reported). ``attrs`` carries the factor set, GWP, digests and the
    unverified factors used."""
    calc = calculate_detailed(records, factors, gwp)
    out = calc.results
    out.attrs.update(calc.meta())
    return out


def totals(results: pd.DataFrame) -> pd.DataFrame:
    """Sums by category and gas (NE rows count as missing, not zero)."""
    g = results.groupby(["category", "gas"], observed=True)[["mass_kg", "co2e_kg"]].sum(min_count=1)
    return g.dropna(how="all").reset_index()


def _clean(x: Any) -> Any:
    if isinstance(x, float) and not np.isfinite(x):
        return None
    if isinstance(x, np.floating):
        return _clean(float(x))
    if isinstance(x, np.integer):
        return int(x)
    return x


def _issue_dicts(df: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in df.itertuples(index=False):
        out.setdefault(str(r.record_id), []).append(
            {"field": r.field, "code": r.code, "value": _clean(r.value), "message_vi": r.message_vi,
             "message_en": r.message_en})
    return out


def calculate_json(records: list[dict[str, Any]], factor_set_code: str = "ipcc2019-sea", gwp: str = "ar5") -> dict[str, Any]:
    """JSON in, JSON out (mrv/schemas/calc-output.schema.json). Invalid records are reported, not fatal."""
    calc = calculate_detailed(records, factor_set_code, gwp, on_error="skip")
    res = calc.results
    errors = _issue_dicts(calc.validation.errors)
    warnings = _issue_dicts(calc.validation.warnings)
    known = set(FIELDS)
    for rec in records:  # a misspelt field must not vanish silently
        for k in sorted(set(rec) - known):
            vi, en = MESSAGES["unknown_field"]
            warnings.setdefault(str(rec.get("id")), []).append(
                {"field": k, "code": "unknown_field", "value": None, "message_vi": f"{k}: {vi}", "message_en": f"{k}: {en}"})
    by_rec: dict[str, list[dict[str, Any]]] = {}
    for r in res.itertuples(index=False):
        by_rec.setdefault(str(r.record_id), []).append({
            "category": r.category, "category_title": CATEGORY_TITLES[r.category], "gas": r.gas,
            "mass_kg": _clean(r.mass_kg), "co2e_kg": _clean(r.co2e_kg), "tier": int(r.tier) or None,
            "flags": [f for f in str(r.flags).split(",") if f], "factor_keys": [k for k in str(r.factor_keys).split(",") if k],
        })
    out_records = []
    for rid in calc.validation.records["id"]:
        rid_s = None if rid is None else str(rid)
        rows = by_rec.get(rid_s, [])
        co2e = [x["co2e_kg"] for x in rows if x["co2e_kg"] is not None]
        out_records.append({
            "id": rid_s, "status": "error" if rid_s in errors else "ok", "errors": errors.get(rid_s, []),
            "warnings": warnings.get(rid_s, []), "results": rows, "total_co2e_kg": float(sum(co2e)) if rows else None,
        })
    tot = totals(res)
    return {
        **calc.meta(),
        "records": out_records,
        "totals": [{"category": t.category, "gas": t.gas, "mass_kg": _clean(t.mass_kg), "co2e_kg": _clean(t.co2e_kg)}
                   for t in tot.itertuples(index=False)],
        "total_co2e_kg": float(np.nansum(res["co2e_kg"].to_numpy())),
    }
