"""The province's national inventory export: CRT-addressable records, canonical JSON, snapshots.

Format: the long-record envelope of INVENTORY_FORMAT.md §5.1–5.2 (``vn-agri-ghg-export/1.0``), one
record per category × measure × gas, with CRT, CRF-2013 and IPCC 2006 codes, notation keys (text
and CRT bitmask) where a category has no number, method/tier keys and per-category uncertainty.

Decimals — the decision: every quantity is a JSON *string* holding a plain decimal with a fixed
number of places and never an exponent (pattern ``-?[0-9]+\\.[0-9]+``):
* emissions and CO2e in kt with 9 places — exact, because masses and CO2e are integer grams
  (1 g = 1e-9 kt); the category summary also carries the integer grams. CO2e is the roll-up's
  own integer figure when the run used AR5 (the engine rounds CO2e from the unrounded mass, so it
  can differ from mass_g × GWP by under half a gram × GWP per row), else mass × AR5 GWP;
* activity data in ha with 4 places (the area rounded half-even from the roll-up's exact sum);
* implied emission factors in kg/ha with 6 places and uncertainty bounds in kt with 6 places —
  derived figures, rounded half-even and marked ``is_calculated``.
Strings because JSON numbers are binary floats in most readers; a string round-trips exactly, and
the national compiler can still parse it with any decimal library.

Canonical bytes: UTF-8 JSON with sorted keys and no whitespace (``mrv.factors.canonical_json``), no
floats anywhere, lists in a fixed order (category table order, then measure, then gas). Nothing
time-dependent is inside the payload (the creation time lives in ``inventory_export.created_at``
and the manifest), so the same data always give the same SHA-256 — which is what makes the sync's
idempotency key stable. A snapshot is stored once in ``inventory_export`` (a trigger forbids
UPDATE and DELETE) and files are always rendered from the stored bytes, never recomputed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from cropmrv.mrv import crt, rollup
from cropmrv.mrv.factors import canonical_json
from cropmrv.mrv.gwp import load_gwp

SCHEMA_ID = "vn-agri-ghg-export/1.0"
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "inventory.schema.json"
GASES = ("CO2", "CH4", "N2O")
GWP_METRIC = "AR5GWP100"
KT, HA, IEF, UNC = Decimal("1e-9"), Decimal("0.0001"), Decimal("0.000001"), Decimal("0.000001")


class InventoryError(ValueError):
    """An export cannot be made or does not validate (Vietnamese and English)."""


def dec(value: Decimal | int, places: Decimal) -> str:
    """A fixed-point decimal string, half-even, never in exponent notation."""
    return format(Decimal(value).quantize(places, rounding=ROUND_HALF_EVEN), "f")


def kt_of_g(grams: int) -> str:
    return dec(Decimal(grams) * KT, KT)


def _software() -> str:
    try:
        return f"cropmrv {version('cropmrv')}"
    except PackageNotFoundError:  # running from a checkout without metadata
        return "cropmrv"


def _nk(keys: set[str]) -> tuple[str, int]:
    order = ["NO", "NE", "IE", "NA", "C"]
    ks = [k for k in order if k in keys]
    return ",".join(ks), sum(crt.NOTATION_BITS[k] for k in ks)


# ---------------------------------------------------------------------------------------------
# Gathering per-category facts from the roll-up and the run
def _facts(conn: Connection, run_id: int) -> dict[str, dict[str, Any]]:
    """Direct (not subtree) figures per table category: mass by gas, area, tiers, record counts."""
    facts: dict[str, dict[str, Any]] = {}

    def f(code: str) -> dict[str, Any]:
        return facts.setdefault(code, {"mass_g": {}, "co2e_g": {}, "area_ha": Decimal(0), "tiers": set(), "rows": 0,
                                       "ne_rows": 0, "unverified_rows": 0, "from_norms_rows": 0})

    for r in rollup.province_totals(conn, run_id):
        d = f(crt.normalise(r["category"]))
        d["mass_g"][r["gas"]] = d["mass_g"].get(r["gas"], 0) + r["mass_g"]
        d["co2e_g"][r["gas"]] = d["co2e_g"].get(r["gas"], 0) + r["co2e_g"]
        d["area_by_gas"] = d.get("area_by_gas", {})
        d["area_by_gas"][r["gas"]] = d["area_by_gas"].get(r["gas"], Decimal(0)) + (r["area_ha"] or 0)
    for r in conn.execute(text("""
            SELECT category, array_agg(DISTINCT tier) AS tiers, count(*) AS n,
                   count(*) FILTER (WHERE 'NE' = ANY(flags)) AS ne,
                   count(*) FILTER (WHERE 'unverified_factor' = ANY(flags)) AS unv,
                   count(*) FILTER (WHERE 'from_norms' = ANY(flags)) AS norms
            FROM estimate WHERE run_id = :r GROUP BY category"""), {"r": run_id}):
        d = f(crt.normalise(r.category))
        d["tiers"] |= {_tier(t) for t in r.tiers}
        d["rows"] += r.n
        d["ne_rows"] += r.ne
        d["unverified_rows"] += r.unv
        d["from_norms_rows"] += r.norms
    # the engine leaves NE rows out of `estimate` and counts them per category in the run's params
    params = conn.execute(text("SELECT params FROM estimate_run WHERE id = :r"), {"r": run_id}).scalar() or {}
    for cat, n in (params.get("not_estimated") or {}).items():
        try:
            d = f(crt.normalise(cat))
        except ValueError:
            continue
        d["rows"] += int(n)
        d["ne_rows"] += int(n)
    for d in facts.values():
        d["area_ha"] = max(d.pop("area_by_gas", {}).values(), default=Decimal(0))
        d["numeric"] = d["rows"] > d["ne_rows"]
    return facts


def _tier(t: str) -> str:
    t = str(t).strip().upper()
    return t if t.startswith("T") else f"T{t}"


def _uncertainty(conn: Connection, run_id: int) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in conn.execute(text("SELECT scope, approach, mean_kg, low95_kg, high95_kg FROM estimate_uncertainty "
                               "WHERE run_id = :r AND gas = 'CO2e' ORDER BY scope, approach"), {"r": run_id}):
        if r.scope == "total":
            key = "total"
        else:
            try:
                key = crt.normalise(r.scope)
            except ValueError:
                continue  # commune scopes and other breakdowns are not part of the national export
        k = Decimal("1e-6")  # kg → kt
        mean = Decimal(repr(r.mean_kg)) * k
        lo, hi = Decimal(repr(r.low95_kg)) * k, Decimal(repr(r.high95_kg)) * k

        def pct(b: Decimal, mean: Decimal = mean) -> str | None:
            return dec((b - mean) / abs(mean) * 100, Decimal("0.01")) if mean else None

        out.setdefault(key, []).append({"approach": r.approach, "gas": "CO2e", "unit": "kt CO2e",
                                        "mean": dec(mean, UNC), "low95": dec(lo, UNC), "high95": dec(hi, UNC),
                                        "low95_pct": pct(lo), "high95_pct": pct(hi)})
    return out


def _subtree(code: str) -> list[str]:
    out = [code]
    for c in crt.children(code):
        out += _subtree(c.crf)
    return out


# ---------------------------------------------------------------------------------------------
def build_payload(conn: Connection, run: rollup.RunInfo, province_name: str) -> dict[str, Any]:
    """The export document for one run (deterministic: same data → same payload)."""
    gwp = load_gwp("ar5")
    g = {k: Decimal(repr(gwp[k])) for k in GASES}
    facts = _facts(conn, run.id)
    stored_ar5 = run.gwp_set.lower() == "ar5"

    def co2e_g(code: str, gas: str) -> Decimal:
        """AR5 CO2e grams: the roll-up's own figure when the run used AR5 (so the export, the API and
        the report agree to the gram), else recomputed from the masses with AR5."""
        d = facts[code]
        return Decimal(d["co2e_g"].get(gas, 0)) if stored_ar5 else Decimal(d["mass_g"].get(gas, 0)) * g[gas]

    unc = _uncertainty(conn, run.id)
    fs_row = conn.execute(text("SELECT digest, description FROM factor_set WHERE code = :c AND version = :v"),
                          {"c": run.factor_set_code, "v": run.factor_set_version}).first()
    records: list[dict[str, Any]] = []
    summary: list[dict[str, Any]] = []
    base = {"province_code": run.province_code, "inventory_year": run.year, "classification": "no classification",
            "crt_variable_uid": None, "qa_status": "province-compiled", "source": f"cropmrv estimate run {run.id}"}

    for cat in crt.CATEGORIES:
        tree = _subtree(cat.crf)
        numeric = [c for c in tree if facts.get(c, {}).get("numeric")]
        direct = bool(facts.get(cat.crf, {}).get("numeric"))
        masses = {gas: sum(facts[c]["mass_g"].get(gas, 0) for c in numeric) for gas in cat.gases}
        co2es = {gas: sum((co2e_g(c, gas) for c in numeric), Decimal(0)) for gas in cat.gases}
        area = sum((facts[c]["area_ha"] for c in numeric), Decimal(0))
        tiers = sorted(set().union(*(facts[c]["tiers"] for c in tree if c in facts)))
        if numeric:
            nk, nk_why = None, None
        elif any(facts.get(c, {}).get("rows") for c in tree):
            nk, nk_why = "NE", "Dữ liệu hoạt động không được báo cáo / the activity data were not reported"
        elif any(facts.get(a, {}).get("numeric") for a in crt.ancestors(cat.crf)):
            parent = next(a for a in crt.ancestors(cat.crf) if facts.get(a, {}).get("numeric"))
            nk = "IE"
            nk_why = " / ".join(s.format(parent=crt.by_crf()[parent].crt) for s in crt.NK_REASON["IE"])
        else:
            leaves = [c for c in tree if crt.is_leaf(c)]
            nk = _nk({crt.by_crf()[c].default_nk for c in leaves})[0]
            nk_why = "; ".join(" / ".join(crt.NK_REASON[k]) for k in nk.split(","))
        nk_key, nk_bits = _nk(set(nk.split(","))) if nk else (None, 0)
        method = tiers or None
        ef_type = ("CS" if any(t in ("T2", "T3") for t in tiers) else "D") if tiers else None
        calc = not direct
        ids = {"crt_category": cat.crt, "crt_category_label": cat.crt_label, "crf2013_category": cat.crf,
               "ipcc2006_category": cat.ipcc2006, "method": method, "ef_type": ef_type}
        for gas in cat.gases:
            m = masses[gas]
            val = kt_of_g(m) if nk is None else None
            rec = {**base, **ids, "measure": "Emissions", "gas": gas, "unit": "kt", "value": val,
                   "notation_key": nk_key, "notation_key_bits": nk_bits, "nk_explanation": nk_why,
                   "is_calculated": calc, "gwp_metric": None}
            records.append(rec)
            records.append({**rec, "measure": "Emissions CO2 equivalent", "unit": "kt CO2e",
                            "value": dec(co2es[gas] * KT, KT) if nk is None else None,
                            "is_calculated": True, "gwp_metric": GWP_METRIC})
            if nk is None:
                records.append({**rec, "measure": "Implied emission factor", "unit": f"kg {gas}/ha",
                                "value": dec(Decimal(m) / 1000 / area, IEF) if area else None,
                                "notation_key": None if area else "NE", "notation_key_bits": 0 if area else 1024,
                                "nk_explanation": None if area else "Không có diện tích / no area reported",
                                "is_calculated": True})
        na = next((v for k, v in crt.NA_GASES.items() if cat.crf == k or cat.crf.startswith(k + ".")), ())
        for gas in na:
            records.append({**base, **ids, "measure": "Emissions", "gas": gas, "unit": "kt", "value": None,
                            "notation_key": "NA", "notation_key_bits": crt.NOTATION_BITS["NA"],
                            "nk_explanation": " / ".join(crt.NK_REASON["NA"]), "is_calculated": False,
                            "gwp_metric": None, "method": None, "ef_type": None})
        records.append({**base, **ids, "measure": "Activity data", "gas": None, "unit": "ha",
                        "value": dec(area, HA) if nk is None else None, "notation_key": nk_key,
                        "notation_key_bits": nk_bits, "nk_explanation": nk_why, "is_calculated": calc,
                        "gwp_metric": None, "classification": cat.activity})
        co2e = sum(co2es.values(), Decimal(0))
        summary.append({
            "crt_category": cat.crt, "crf2013_category": cat.crf, "ipcc2006_category": cat.ipcc2006,
            "parent_crt_category": crt.by_crf()[cat.parent].crt if cat.parent else None,
            "label_en": cat.label_en, "label_vi": cat.label_vi, "gases": list(cat.gases),
            "mass_g": {gas: masses[gas] for gas in cat.gases} if nk is None else None,
            "co2e_kt": dec(co2e * KT, KT) if nk is None else None, "area_ha": dec(area, HA) if nk is None else None,
            "notation_key": nk_key, "method": method, "ef_type": ef_type, "is_calculated": calc,
            "records": sum(facts.get(c, {}).get("rows", 0) for c in tree),
            "not_estimated_records": sum(facts.get(c, {}).get("ne_rows", 0) for c in tree),
            "unverified_factor_records": sum(facts.get(c, {}).get("unverified_rows", 0) for c in tree),
            "uncertainty": unc.get(cat.crf, []),
        })

    def sector_g(prefix: str, gas: str | None = None) -> Decimal:
        return sum((Decimal(m) if gas else co2e_g(c, gs) for c, d in facts.items() if c.startswith(prefix)
                    and d["numeric"] for gs, m in d["mass_g"].items() if gas in (None, gs)), Decimal(0))

    totals = {
        "agriculture_co2e_kt": dec(sector_g("3.") * KT, KT), "lulucf_co2e_kt": dec(sector_g("4.") * KT, KT),
        "net_co2e_kt": dec((sector_g("3.") + sector_g("4.")) * KT, KT),
        "by_gas_kt": {gas: dec((sector_g("3.", gas) + sector_g("4.", gas)) * KT, KT) for gas in GASES},
        "gwp": {gas: dec(g[gas], Decimal(1)) for gas in GASES}, "uncertainty": unc.get("total", []),
    }
    dataset = {
        "reporting_entity": {"level": "province", "code": run.province_code, "name": province_name},
        "inventory_year": run.year, "years": [run.year], "sector": "3 Agriculture; 4.B.1 Cropland remaining cropland",
        "category_terminologies": {"crt": "CRT (decision 5/CMA.3)", "ipcc": "IPCC2006", "crf": "CRF2013_2023",
                                   "gas": "climate_categories.gas"},
        "crt_metadata_version": None, "gwp": GWP_METRIC, "units_default": "kt", "software": _software(),
        "decimal_format": "quantities are strings: kt with 9 places (exact from integer grams), ha with 4, "
                          "kg/ha and uncertainty with 6 (rounded half-even); never exponent notation",
        "run": {"id": run.id, "scenario": run.scenario, "run_digest": run.run_digest,
                "inputs_digest": run.inputs_digest, "code_version": run.code_version, "gwp_set": run.gwp_set,
                "finished_at": run.finished_at.isoformat() if isinstance(run.finished_at, datetime) else None},
        "factor_set": {"code": run.factor_set_code, "version": run.factor_set_version,
                       "digest": fs_row.digest if fs_row else None},
        "unverified_factors": sorted(run.unverified_factors),
    }
    return {"schema": SCHEMA_ID, "dataset": dataset, "records": records, "categories": summary, "totals": totals}


def canonical_bytes(payload: dict[str, Any]) -> bytes:
    return canonical_json(payload).encode("utf-8")


@lru_cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate(payload: dict[str, Any]) -> None:
    """Check the payload against ``mrv/schemas/inventory.schema.json`` and every category code
    against climate-categories; raises InventoryError listing the problems."""
    import jsonschema

    errors = sorted(jsonschema.Draft202012Validator(schema()).iter_errors(payload), key=lambda e: list(e.path))
    problems = [f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors[:20]]
    import climate_categories as cc

    for r in payload.get("records", []):
        if r.get("crf2013_category") not in cc.CRF2013_2023:
            problems.append(f"{r.get('crf2013_category')}: not a CRF2013_2023 category")
        if r.get("ipcc2006_category") not in cc.IPCC2006:
            problems.append(f"{r.get('ipcc2006_category')}: not an IPCC2006 category")
    if problems:
        raise InventoryError("Tệp kiểm kê không hợp lệ / the inventory export is invalid:\n  " + "\n  ".join(problems))


# ---------------------------------------------------------------------------------------------
# Snapshots
@dataclass(frozen=True)
class ExportInfo:
    id: int
    province_code: str
    year: int
    run_id: int | None
    sha256: str
    payload: bytes
    created_at: datetime
    created_by: str | None
    reused: bool = False

    def document(self) -> dict[str, Any]:
        return json.loads(self.payload)

    def idempotency_key(self) -> str:
        """Province + year + payload hash: the same snapshot always gets the same key."""
        return f"cropmrv-{self.province_code}-{self.year}-{self.sha256}"


_EXPORT_COLS = "id, province_code, year, run_id, sha256, payload, created_at, created_by"


def _export(row, reused: bool = False) -> ExportInfo:
    m = dict(row._mapping)
    m["payload"] = bytes(m["payload"])
    return ExportInfo(**m, reused=reused)


def create_export(conn: Connection, year: int, province_code: str, province_name: str, *,
                  run_id: int | None = None, scenario: str | None = None,
                  created_by: str | None = None) -> ExportInfo:
    """Build, validate and store a snapshot for ``year``; if an identical snapshot (same SHA-256)
    exists for the province and year it is returned instead (``reused=True``)."""
    run = rollup.resolve_run(conn, year, province_code, scenario=scenario, run_id=run_id)
    payload = build_payload(conn, run, province_name)
    validate(payload)
    body = canonical_bytes(payload)
    sha = hashlib.sha256(body).hexdigest()
    row = conn.execute(text(f"SELECT {_EXPORT_COLS} FROM inventory_export WHERE province_code = :p AND year = :y "
                            "AND sha256 = :s ORDER BY id LIMIT 1"), {"p": province_code, "y": year, "s": sha}).first()
    if row is not None:
        return _export(row, reused=True)
    row = conn.execute(text(f"INSERT INTO inventory_export (province_code, year, run_id, sha256, payload, created_by) "
                            f"VALUES (:p, :y, :r, :s, :b, :u) RETURNING {_EXPORT_COLS}"),
                       {"p": province_code, "y": year, "r": run.id, "s": sha, "b": body, "u": created_by}).first()
    return _export(row)


def get_export(conn: Connection, export_id: int) -> ExportInfo:
    row = conn.execute(text(f"SELECT {_EXPORT_COLS} FROM inventory_export WHERE id = :i"), {"i": export_id}).first()
    if row is None:
        raise InventoryError(f"Không có bản xuất {export_id} / export {export_id} does not exist")
    return _export(row)


def latest_export(conn: Connection, year: int, province_code: str) -> ExportInfo | None:
    row = conn.execute(text(f"SELECT {_EXPORT_COLS} FROM inventory_export WHERE province_code = :p AND year = :y "
                            "ORDER BY id DESC LIMIT 1"), {"p": province_code, "y": year}).first()
    return _export(row) if row else None


def list_exports(conn: Connection, province_code: str, year: int | None = None) -> list[dict[str, Any]]:
    rows = conn.execute(text("SELECT id, province_code, year, run_id, sha256, length(payload) AS bytes, created_at, "
                             "created_by FROM inventory_export WHERE province_code = :p AND (CAST(:y AS integer) IS NULL OR year = CAST(:y AS integer)) "
                             "ORDER BY id"), {"p": province_code, "y": year})
    return [dict(r._mapping) for r in rows]
