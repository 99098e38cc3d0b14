"""The estimate rows of a run: the calculator's frame in the ``estimate`` layout, and how they are written.

Masses become integer grams here — ``round_half_even(kg × 1000)``, once per record × category × gas,
from the calculator's float64 — so every later sum is exact. NE rows (activity not reported) are left
out and counted, never stored as zeros. The rows go in as the run's own partition of ``estimate`` by
binary COPY (Arrow encoded by ``pgpq``), ordered by commune for the BRIN index.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pgpq import ArrowToPostgresBinaryEncoder
from sqlalchemy import Connection

from cropmrv.db.engine import raw_connection
from cropmrv.mrv.calculate import Calculation


def _text(indices: np.ndarray, values: Any) -> pa.Array:
    """A text column from integer codes into a small (or per-record) value list, built in Arrow."""
    d = pa.array(values, type=pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(indices, type=pa.int32()), d).cast(pa.string())


def _lists(codes: np.ndarray, combos: list[list[str]]) -> pa.Array:
    """A text[] column from integer codes into a few distinct lists (offsets built with numpy)."""
    names = sorted({x for c in combos for x in c})
    ids = {x: i for i, x in enumerate(names)}
    lens = np.array([len(c) for c in combos], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    flat = np.array([ids[x] for c in combos for x in c], dtype=np.int32)
    row_len = lens[codes]
    offsets = np.zeros(len(codes) + 1, dtype=np.int32)
    np.cumsum(row_len, out=offsets[1:])
    total = int(offsets[-1])
    pos = np.repeat(start[codes] - offsets[:-1], row_len) + np.arange(total)
    values = _text(flat[pos] if total else np.zeros(0, np.int32), names)
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def estimate_table(calc: Calculation, run_id: int, province_code: str) -> tuple[pa.Table, dict[str, int]]:
    """The calculator's long frame as an Arrow table in the ``estimate`` layout (NE rows left out).

    Rows are ordered by commune (then as the calculator gave them), so the run's partition is
    clustered for the BRIN index; the ordering is done on integer codes before any text is built."""
    res = calc.results
    recs = calc.validation.records
    if len(calc.validation.errors):
        recs = recs[calc.validation.ok].reset_index(drop=True)
    mass = res["mass_kg"].to_numpy()
    ne = np.isnan(mass)
    not_estimated = {str(k): int(v) for k, v in res.loc[ne, "category"].value_counts().items() if v}
    keep = np.flatnonzero(~ne)
    rec = res["record_id"].cat.codes.to_numpy()[keep].astype(np.int64)
    com_codes, com_uniq = pd.factorize(recs["commune_code"].astype(object), use_na_sentinel=True)
    rank = np.empty(len(com_uniq) + 1, dtype=np.int32)
    rank[np.argsort(np.asarray(com_uniq, dtype=object), kind="stable")] = np.arange(len(com_uniq))
    rank[-1] = len(com_uniq)
    order = np.argsort(rank[com_codes][rec].astype(np.int16 if len(com_uniq) < 32000 else np.int32), kind="stable")
    keep, rec = keep[order], rec[order]
    n = len(keep)

    def per_record_text(col: str) -> pa.Array:
        vals = recs[col].astype(object).where(recs[col].notna(), None).to_numpy(dtype=object) if col in recs \
            else np.full(len(recs), None, dtype=object)
        return _text(rec, vals)

    czi = recs["crop_zone_id"].to_numpy(dtype=float) if "crop_zone_id" in recs else np.full(len(recs), np.nan)
    czi_r = czi[rec]
    cat = res["category"].cat
    gas = res["gas"].cat
    flags = res["flags"].cat
    tier = res["tier"].to_numpy()[keep]
    tier_names = [f"T{i}" for i in range(int(tier.max(initial=0)) + 1)]
    combos = [[f for f in c.split(",") if f] for c in flags.categories]
    table = pa.table({
        "run_id": pa.array(np.full(n, run_id, dtype=np.int64)),
        "province_code": _text(np.zeros(n, np.int32), [province_code]),
        "record_id": _text(rec, recs["id"].astype(str).to_numpy(dtype=object)),
        "crop_zone_id": pa.array(np.nan_to_num(czi_r).astype(np.int64), mask=np.isnan(czi_r)),
        "commune_code": per_record_text("commune_code"),
        "crop": per_record_text("crop"),
        "category": _text(cat.codes.to_numpy()[keep], list(cat.categories)),
        "gas": _text(gas.codes.to_numpy()[keep], list(gas.categories)),
        # round half to even, once, from the float64 result (np.rint is IEEE round-half-even)
        "mass_g": pa.array(np.rint(mass[keep] * 1000.0).astype(np.int64)),
        "co2e_g": pa.array(np.rint(res["co2e_kg"].to_numpy()[keep] * 1000.0).astype(np.int64)),
        "area_ha": pa.array(recs["area_ha"].to_numpy(dtype=float)[rec]),
        "tier": _text(tier.astype(np.int32), tier_names),
        "flags": _lists(flags.codes.to_numpy()[keep].astype(np.int64), combos),
    })
    return table, not_estimated


def _copy_rows(cp_conn: Any, part: str, table: pa.Table, freeze: bool, batch_rows: int) -> None:
    encoder = ArrowToPostgresBinaryEncoder(table.schema)
    cols = ", ".join(table.column_names)
    opts = "FORMAT binary, FREEZE" if freeze else "FORMAT binary"
    with cp_conn.cursor() as cur, cur.copy(f"COPY {part} ({cols}) FROM STDIN ({opts})") as cp:
        cp.write(encoder.write_header())
        for batch in table.to_batches(max_chunksize=batch_rows):
            cp.write(encoder.write_batch(batch))
        cp.write(encoder.finish())


def copy_estimates(conn: Connection, table: pa.Table, run_id: int, streams: int = 1, url: str | None = None,
                   batch_rows: int = 262_144, parallel_min_rows: int = 500_000) -> None:
    """Write a run's rows as its own partition of ``estimate`` (pgpq encodes Arrow, psycopg streams), then
    attach it inside the run's transaction ``conn``.

    One stream: the partition is created in the run's transaction and filled by ``COPY … FREEZE``.
    Several streams (large runs, ``url`` given): the empty partition is created and committed on its own,
    filled by ``streams`` parallel COPYs on separate connections (PostgreSQL parses each on its own core),
    and dropped again if anything fails before the run commits; until ATTACH it is invisible to every
    query on ``estimate``."""
    part = f"estimate_r{int(run_id)}"
    raw = raw_connection(conn)
    ddl = f"CREATE TABLE {part} (LIKE estimate INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    parallel = streams > 1 and url is not None and table.num_rows >= parallel_min_rows
    if not parallel:
        raw.execute(ddl)
        if table.num_rows:
            _copy_rows(raw, part, table, True, batch_rows)
    else:
        import threading

        import psycopg

        with psycopg.connect(url, autocommit=True) as c:
            c.execute(ddl)
        try:
            step = -(-table.num_rows // streams)
            errors: list[BaseException] = []

            def work(piece: pa.Table) -> None:
                try:
                    with psycopg.connect(url) as c:
                        _copy_rows(c, part, piece, False, batch_rows)
                except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                    errors.append(exc)

            threads = [threading.Thread(target=work, args=(table.slice(i, step),))
                       for i in range(0, table.num_rows, step)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            if errors:
                raise errors[0]
        except BaseException:
            with psycopg.connect(url, autocommit=True) as c:
                c.execute(f"DROP TABLE IF EXISTS {part}")
            raise
    # the CHECK lets ATTACH skip its own scan; the foreign key is validated once, in bulk, by ATTACH
    raw.execute(f"ALTER TABLE {part} ADD CONSTRAINT {part}_run CHECK (run_id = {int(run_id)})")
    raw.execute(f"ALTER TABLE estimate ATTACH PARTITION {part} FOR VALUES IN ({int(run_id)})")
