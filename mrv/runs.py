"""Estimate runs: read the year's activity from PostGIS, compute, and write an immutable run by COPY.

A run is identified by its ``run_digest`` = SHA-256 of (inputs digest, factor set code + version +
digest, GWP set, code version, scenario, province, year). The inputs digest is B's
``records_digest`` over the records in canonical order (zones by id, then commune records by id),
after practice packages filled them, so it covers every number the calculation read. Asking twice
for the same run returns the stored one (``RunResult.reused``) instead of writing a duplicate.

Storage rules:

* masses are integer grams: ``mass_g = round_half_even(mass_kg × 1000)`` and
  ``co2e_g = round_half_even(co2e_kg × 1000)``, each rounded **once**, per record × category × gas,
  from the calculator's float64 — never re-derived from another rounded number — so every sum over
  the table is exact and the same inputs give the same integers on any machine;
* NE rows (activity not reported) are not stored as numbers — a null must never become a zero in a
  sum; their counts per category are kept in ``params.not_estimated`` and in the warnings;
* results go in with a binary ``COPY`` encoded from Arrow by ``pgpq`` (Rust): building a million
  Python tuples would cost more than the whole computation;
* the factor set used is locked (its factors can never change again), and a finished run, its
  estimates and its uncertainty rows are immutable (database triggers).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa
from psycopg import sql
from sqlalchemy import Connection, Engine, text

from cropmrv.db.engine import libpq_url
from cropmrv.mrv.arrow_io import copy_query
from cropmrv.mrv.calculate import calculate_detailed, code_version
from cropmrv.mrv.factors import FactorError, FactorSet, load_factor_set, sha256_of
from cropmrv.mrv.inputs import Inputs, read_inputs
from cropmrv.mrv.records import RecordError
from cropmrv.mrv.run_rows import copy_estimates, estimate_table
from cropmrv.mrv.run_uncertainty import uncertainty_rows
from cropmrv.mrv.store import lock_factor_set, sync_reference_data
from cropmrv.settings import Settings

ESTIMATE_COLUMNS = ["run_id", "province_code", "record_id", "crop_zone_id", "commune_code", "crop", "category",
                    "gas", "mass_g", "co2e_g", "area_ha", "tier", "flags"]
DEFAULT_DRAWS = 1000
DEFAULT_SEED = 20260422
PARALLEL_MIN_ROWS = 500_000  # estimate rows from which the partition is written by parallel COPY
Progress = Callable[[str], None]


@dataclass
class RunResult:
    """What :func:`create_run` did. ``int(result)`` is the run id."""

    run_id: int
    run_digest: str
    inputs_digest: str
    reused: bool
    record_count: int
    estimate_rows: int
    unverified_factors: list[str]
    warnings: list[dict[str, Any]]
    timings: dict[str, float] = field(default_factory=dict)

    def __int__(self) -> int:
        return self.run_id


def parse_factor_set(spec: str | None) -> FactorSet:
    """``code`` (latest version) or ``code@version``."""
    if not spec:
        return load_factor_set()
    code, _, ver = spec.partition("@")
    try:
        return load_factor_set(code, int(ver) if ver else None)
    except ValueError as exc:
        if isinstance(exc, FactorError):
            raise
        raise FactorError(f"Phiên bản không hợp lệ '{spec}' / bad factor set '{spec}' (use CODE or CODE@VERSION)") from exc


def make_run_digest(inputs_digest: str, fs: FactorSet, gwp: str, scenario: str, province_code: str, year: int,
                    code_ver: str | None = None) -> str:
    return sha256_of({"inputs": inputs_digest, "factor_set": fs.ref, "gwp": gwp,
                      "code_version": code_ver or code_version(), "scenario": scenario,
                      "province": province_code, "year": int(year)})


# ------------------------------------------------------------------------------------------ rows
# ------------------------------------------------------------------------------------------ runs
def _find(conn: Connection, run_digest: str) -> Any:
    return conn.execute(text(
        "SELECT id, inputs_digest, record_count, unverified_factors, warnings FROM estimate_run "
        "WHERE run_digest = :d AND finished_at IS NOT NULL ORDER BY id LIMIT 1"), {"d": run_digest}).first()


def _drop_orphan(engine: Engine, run_id: int) -> None:
    """A partition filled on its own connections outlives a failed run's transaction: drop it."""
    with engine.begin() as c:
        attached = c.execute(text("SELECT 1 FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhrelid "
                                  "WHERE p.relname = :n"), {"n": f"estimate_r{int(run_id)}"}).first()
        if attached is None:
            c.execute(text(f"DROP TABLE IF EXISTS estimate_r{int(run_id)}"))


def create_run(
    engine: Engine,
    settings: Settings,
    year: int,
    scenario: str = "baseline",
    factor_set: str | FactorSet | None = None,
    gwp: str | None = None,
    progress: Progress | None = None,
    *,
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    on_error: str = "raise",
    fast_read: bool = True,
    write_streams: int = 2,
) -> RunResult:
    """Estimate ``year`` for the configured province and store the run (or return the identical one).

    ``factor_set``: a code, ``code@version`` or a FactorSet (default: the settings' default set);
    ``gwp``: a GWP set code (default: the factor set's default, AR5). ``on_error='skip'`` leaves
    invalid records out and lists their errors in the run's warnings; the default refuses the run
    with the bilingual per-record errors. ``draws`` Monte Carlo draws (0: Approach 1 only)."""
    say = progress or (lambda _msg: None)
    t: dict[str, float] = {}
    fs = factor_set if isinstance(factor_set, FactorSet) else parse_factor_set(
        factor_set or settings.default_factor_set)
    gwp_code = (gwp or fs.gwp or "ar5").lower()
    province = settings.province_code
    t0 = time.perf_counter()
    with engine.begin() as conn:
        sync_reference_data(conn)
    say("factor sets in the database")
    url = libpq_url(engine.url.render_as_string(hide_password=False)) if fast_read else None
    with engine.connect() as conn:
        inputs: Inputs = read_inputs(conn, year, province, scenario, arrow_url=url)
        conn.rollback()
    t["read_s"] = inputs.timings.get("read_s", 0.0)
    t["prepare_s"] = inputs.timings.get("pivot_s", 0.0)
    t["read_cpu_s"] = inputs.timings.get("read_cpu_s", 0.0)
    t["pivot_cpu_s"] = inputs.timings.get("pivot_cpu_s", 0.0)
    say(f"{len(inputs.records):,} records read")
    calc = calculate_detailed(inputs.records, fs, gwp_code, on_error=on_error, timings=t)
    warnings = list(inputs.warnings)
    v = calc.validation
    if len(v.errors):
        warnings.append({"code": "invalid_records_skipped", "records": int((~v.ok).sum()),
                         "message_vi": f"bỏ qua {int((~v.ok).sum())} bản ghi không hợp lệ",
                         "message_en": f"{int((~v.ok).sum())} invalid records skipped",
                         "errors": v.errors.head(100).astype(object).where(v.errors.head(100).notna(), None)
                         .to_dict("records")})
    if len(v.warnings):
        counts = v.warnings.groupby(["code", "message_vi", "message_en"]).size().reset_index(name="records")
        warnings.extend({"code": r.code, "records": int(r.records), "message_vi": r.message_vi,
                         "message_en": r.message_en} for r in counts.itertuples(index=False))
    if calc.unverified_keys_used:
        warnings.append({"code": "unverified_factors", "factors": calc.unverified_keys_used,
                         "message_vi": "lượt tính dùng hệ số chưa được kiểm chứng",
                         "message_en": "this run uses unverified factors"})
    digest = make_run_digest(calc.inputs_digest, fs, gwp_code, scenario, province, year)
    written: list[int] = []  # a partition filled on its own connections must not outlive a failed run
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:d))"), {"d": digest})
            old = _find(conn, digest)
            if old is not None:
                say(f"identical run {old.id} exists (same digest): reused")
                return RunResult(old.id, digest, old.inputs_digest, True, old.record_count, 0,
                                 list(old.unverified_factors), list(old.warnings), t)
            t2 = time.perf_counter()
            u_rows, u_meta = uncertainty_rows(calc, draws, seed)
            t["uncertainty_s"] = time.perf_counter() - t2
            lock_factor_set(conn, fs.code, fs.version)
            params = {"scenario": scenario, "factor_set": fs.ref, "gwp": {"code": calc.gwp.code,
                      "values": dict(calc.gwp.values)}, "factor_keys_used": calc.factor_keys_used,
                      "regional_proxy_factors_used": calc.proxy_keys_used, "counts": inputs.counts,
                      "uncertainty": u_meta, "rounding": "integer grams, round half to even once per row"}
            run_id = conn.execute(text(
                "INSERT INTO estimate_run (province_code, year, scenario, factor_set_code, factor_set_version, gwp_set, "
                "code_version, inputs_digest, run_digest, record_count, unverified_factors, warnings, params) "
                "VALUES (:p, :y, :s, :fc, :fv, :g, :cv, :idg, :rdg, :n, :unv, CAST(:w AS jsonb), CAST(:params AS jsonb)) "
                "RETURNING id"),
                {"p": province, "y": int(year), "s": scenario, "fc": fs.code, "fv": fs.version, "g": calc.gwp.code,
                 "cv": code_version(), "idg": calc.inputs_digest, "rdg": digest, "n": int(v.ok.sum()),
                 "unv": calc.unverified_keys_used, "w": json.dumps(warnings, ensure_ascii=False, default=str),
                 "params": "{}"}).scalar_one()
            written.append(int(run_id))
            t3, c3 = time.perf_counter(), time.process_time()
            table, not_estimated = estimate_table(calc, run_id, province)
            t["arrow_s"], t["arrow_cpu_s"] = time.perf_counter() - t3, time.process_time() - c3
            t4 = time.perf_counter()
            copy_estimates(conn, table, run_id, write_streams, libpq_url(engine.url.render_as_string(hide_password=False)),
                           parallel_min_rows=PARALLEL_MIN_ROWS)
            t["write_s"] = time.perf_counter() - t4
            say(f"{table.num_rows:,} estimate rows written")
            if u_rows:
                conn.execute(text("INSERT INTO estimate_uncertainty (run_id, scope, gas, approach, mean_kg, low95_kg, "
                                  "high95_kg) VALUES (:r, :scope, 'CO2e', :approach, :mean_kg, :low95_kg, :high95_kg)"),
                             [{"r": run_id, **r} for r in u_rows])
            if not_estimated:
                warnings.append({"code": "not_estimated", "categories": not_estimated,
                                 "message_vi": "hạng mục không ước tính được (NE) do thiếu số liệu hoạt động",
                                 "message_en": "categories not estimated (NE): activity data not reported"})
            params["not_estimated"] = not_estimated
            conn.execute(text("UPDATE estimate_run SET warnings = CAST(:w AS jsonb), params = CAST(:params AS jsonb), "
                              "finished_at = clock_timestamp() WHERE id = :r"),
                         {"r": run_id, "w": json.dumps(warnings, ensure_ascii=False, default=str),
                          "params": json.dumps(params, ensure_ascii=False, default=str)})
    except BaseException:
        if written:
            _drop_orphan(engine, written[0])
        raise
    t["total_s"] = time.perf_counter() - t0
    return RunResult(int(run_id), digest, calc.inputs_digest, False, int(v.ok.sum()), table.num_rows,
                     calc.unverified_keys_used, warnings, t)


def list_runs(conn: Connection, year: int | None = None) -> list[dict[str, Any]]:
    """Runs, newest first, with their total CO2e in tonnes."""
    rows = conn.execute(text(
        "SELECT r.id, r.province_code, r.year, r.scenario, r.factor_set_code, r.factor_set_version, r.gwp_set, "
        "r.code_version, r.run_digest, r.record_count, r.unverified_factors, r.started_at, r.finished_at, "
        "(SELECT sum(co2e_g) FROM estimate e WHERE e.run_id = r.id) AS co2e_g FROM estimate_run r "
        "WHERE CAST(:y AS integer) IS NULL OR r.year = :y ORDER BY r.id DESC"), {"y": year}).mappings().all()
    return [dict(r) for r in rows]


def get_run(conn: Connection, run_id: int) -> dict[str, Any]:
    """One run with its totals by category and gas (exact integer grams) and its uncertainty rows."""
    row = conn.execute(text("SELECT * FROM estimate_run WHERE id = :r"), {"r": run_id}).mappings().first()
    if row is None:
        raise LookupError(f"Không có lượt tính {run_id} / no estimate run {run_id}")
    out = dict(row)
    out["totals"] = [dict(r) for r in conn.execute(text(
        "SELECT category, gas, sum(mass_g) AS mass_g, sum(co2e_g) AS co2e_g, count(*) AS rows "
        "FROM estimate WHERE run_id = :r GROUP BY category, gas ORDER BY category, gas"), {"r": run_id}).mappings()]
    out["total_co2e_g"] = sum(int(r["co2e_g"]) for r in out["totals"])
    out["uncertainty"] = [dict(r) for r in conn.execute(text(
        "SELECT scope, gas, approach, mean_kg, low95_kg, high95_kg FROM estimate_uncertainty WHERE run_id = :r "
        "ORDER BY scope = 'total', scope, approach"), {"r": run_id}).mappings()]
    return out


def run_frame(conn: Connection, run_id: int) -> pd.DataFrame:
    """All estimate rows of a run, ordered (for comparisons and exports)."""
    q = sql.SQL("SELECT record_id, category, gas, mass_g, co2e_g, commune_code, crop, crop_zone_id, area_ha, tier, "
                "array_to_string(flags, ',') AS flags FROM estimate WHERE run_id = {r} "
                "ORDER BY record_id, category, gas").format(r=sql.Literal(int(run_id)))
    return copy_query(conn, q, {"record_id": pa.string(), "category": pa.string(), "gas": pa.string(),
                                "mass_g": pa.int64(), "co2e_g": pa.int64(), "commune_code": pa.string(),
                                "crop": pa.string(), "crop_zone_id": pa.int64(), "area_ha": pa.float64(),
                                "tier": pa.string(), "flags": pa.string()})


__all__ = ["RunResult", "RecordError", "create_run", "list_runs", "get_run", "run_frame", "estimate_table",
           "copy_estimates", "make_run_digest", "parse_factor_set", "uncertainty_rows"]
