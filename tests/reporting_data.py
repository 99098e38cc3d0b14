"""Test data for the reporting tests: estimate runs written straight into the tables.

The roll-up, export and report read only ``estimate_run``/``estimate``/``estimate_uncertainty``, so
the tests write those rows with SQL (the schema is the contract) rather than running the engine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import Connection, text

GWP_AR5 = {"CO2": 1, "CH4": 28, "N2O": 265}
ENGINE_CATEGORIES = ["3.C", "3.D.a.1", "3.D.a.2", "3.D.a.4", "3.D.b.1", "3.D.b.2", "3.F.1.c", "3.F.1.d",
                     "3.F.2", "3.F.3", "3.F.4", "3.F.5", "3.G.1", "3.G.2", "3.H", "4.B.1"]
GAS_OF = {"3.C": "CH4", "3.G.1": "CO2", "3.G.2": "CO2", "3.H": "CO2", "4.B.1": "CO2"}


def gas_of(category: str) -> list[str]:
    if category.startswith("3.F"):
        return ["CH4", "N2O"]
    return [GAS_OF.get(category, "N2O")]


def ensure_sets(conn: Connection) -> None:
    conn.execute(text("INSERT INTO gwp_set (code, co2, ch4, n2o, source) VALUES ('ar5', 1, 28, 265, "
                      "'IPCC AR5 WG1 Table 8.A.1') ON CONFLICT DO NOTHING"))
    conn.execute(text("INSERT INTO factor_set (code, version, digest, description) VALUES "
                      "('ipcc2019-sea', 1, 'test', 'test') ON CONFLICT DO NOTHING"))


def make_run(conn: Connection, year: int, rows: Iterable[dict], *, scenario: str = "project",
             province: str = "66", unverified: tuple[str, ...] = (), uncertainty: Iterable[dict] = ()) -> int:
    """Insert a finished run and its rows. Each row: commune_code, category, gas, mass_g and optional
    record_id, crop_zone_id, crop, area_ha, tier, flags; co2e_g defaults to mass_g × AR5 GWP."""
    ensure_sets(conn)
    rows = list(rows)
    digest = hashlib.sha256(repr((year, scenario, rows)).encode()).hexdigest()
    run_id = conn.execute(text(
        "INSERT INTO estimate_run (province_code, year, scenario, factor_set_code, factor_set_version, gwp_set, "
        "code_version, inputs_digest, run_digest, record_count, unverified_factors, finished_at) VALUES "
        "(:p, :y, :s, 'ipcc2019-sea', 1, 'ar5', 'test', :d, :d, :n, :u, now()) RETURNING id"),
        {"p": province, "y": year, "s": scenario, "d": digest, "n": len(rows), "u": list(unverified)}).scalar_one()
    if rows:
        conn.execute(text(
            "INSERT INTO estimate (run_id, province_code, record_id, crop_zone_id, commune_code, crop, category, gas, "
            "mass_g, co2e_g, area_ha, tier, flags) VALUES (:run, :p, :record_id, :crop_zone_id, :commune_code, "
            ":crop, :category, :gas, :mass_g, :co2e_g, :area_ha, :tier, :flags)"),
            [{"run": run_id, "p": province, "record_id": r.get("record_id", f"r{i}"),
              "crop_zone_id": r.get("crop_zone_id"), "commune_code": r["commune_code"], "crop": r.get("crop"),
              "category": r["category"], "gas": r["gas"], "mass_g": r["mass_g"],
              "co2e_g": r.get("co2e_g", r["mass_g"] * GWP_AR5[r["gas"]]), "area_ha": r.get("area_ha"),
              "tier": r.get("tier", "1"), "flags": list(r.get("flags", ()))} for i, r in enumerate(rows)])
    for u in uncertainty:
        conn.execute(text("INSERT INTO estimate_uncertainty (run_id, scope, gas, approach, mean_kg, low95_kg, "
                          "high95_kg) VALUES (:r, :scope, 'CO2e', :a, :m, :lo, :hi)"),
                     {"r": run_id, "scope": u["scope"], "a": u.get("approach", 1), "m": u["mean_kg"],
                      "lo": u["low95_kg"], "hi": u["high95_kg"]})
    return run_id


def sample_rows(communes: list[str], scale: int = 1) -> list[dict]:
    """A small, deterministic province: rice, coffee fertiliser, cane burning, urea, lime, biomass."""
    out: list[dict] = []
    for i, c in enumerate(communes):
        z = f"{c}-z1"
        out += [
            {"record_id": f"{z}-dx", "commune_code": c, "crop": "rice", "category": "3.C", "gas": "CH4",
             "mass_g": (120_000_000 + 1_000_003 * i) * scale, "area_ha": 50 + i, "tier": "1"},
            {"record_id": f"{z}-cf", "commune_code": c, "crop": "coffee", "category": "3.D.a.1", "gas": "N2O",
             "mass_g": (2_500_000 + 7_001 * i) * scale, "area_ha": 200 + i, "tier": "1"},
            {"record_id": f"{z}-cf", "commune_code": c, "crop": "coffee", "category": "3.D.b.1", "gas": "N2O",
             "mass_g": (300_000 + 11 * i) * scale, "area_ha": 200 + i, "tier": "1"},
            {"record_id": f"{z}-cf", "commune_code": c, "crop": "coffee", "category": "3.H", "gas": "CO2",
             "mass_g": (40_000_000 + 13 * i) * scale, "area_ha": 200 + i, "tier": "1",
             "flags": ["unverified_factor"] if i % 3 == 0 else []},
            {"record_id": f"{z}-cf", "commune_code": c, "crop": "coffee", "category": "4.B.1", "gas": "CO2",
             "mass_g": -(90_000_000 + 17 * i) * scale, "area_ha": 200 + i, "tier": "1"},
        ]
        if i % 2 == 0:
            out += [{"record_id": f"{z}-mia", "commune_code": c, "crop": "sugarcane", "category": "3.F.4",
                     "gas": g, "mass_g": m * scale, "area_ha": 30, "tier": "1"}
                    for g, m in (("CH4", 800_000 + i), ("N2O", 21_000 + i))]
    return out
