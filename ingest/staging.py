"""COPY of validated rows: straight into the layer table inside the load's transaction
(:func:`copy_into`, the default: binary COPY encoded from Arrow by pgpq), or into a TEMP staging
table moved by one INSERT … SELECT at the end (:func:`create_staging` + :func:`copy_rows`, kept for
comparison; see benchmarks/ingest.py).

COPY format, measured on 200k parcels (benchmarks/ingest.py): binary, with the geometry as the WKB
the loader already holds, costs the server 0.64 s against 0.85 s for CSV with hex WKB, and the
client nothing but pgpq's Rust encoder. The TEMP path keeps the CSV writer (Arrow's C++ writer,
geometry hex-encoded by a numpy nibble table, :func:`hex_wkb` — 5× faster than shapely's hex).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import shapely
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from cropmrv.db.manage import LAYER_TABLES
from cropmrv.ingest.profiles import LAYER_COLUMNS, NUMERIC
from cropmrv.ingest.report import IngestError

_HEX = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)


def hex_wkb(geoms: np.ndarray) -> pa.Array:
    """Hex-encoded WKB of many geometries as one Arrow string array, without a Python loop over bytes."""
    wkb = shapely.to_wkb(geoms, byte_order=1)
    lens = np.fromiter((len(b) for b in wkb), dtype=np.int64, count=len(wkb))
    buf = np.frombuffer(b"".join(wkb), dtype=np.uint8)
    out = np.empty(buf.size * 2, dtype=np.uint8)
    out[0::2] = _HEX[buf >> 4]
    out[1::2] = _HEX[buf & 15]
    offsets = np.zeros(len(wkb) + 1, dtype=np.int64)
    np.cumsum(lens * 2, out=offsets[1:])
    return pa.Array.from_buffers(pa.large_string(), len(wkb), [None, pa.py_buffer(offsets), pa.py_buffer(out)])


def extra_sql_type(dtype: object) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "bigint"
    if pd.api.types.is_float_dtype(dtype):
        return "double precision"
    return "text"


def target_sql_type(col: str) -> str:
    if col in NUMERIC:
        return "bigint" if NUMERIC[col] is int else "double precision"
    return "text"


def create_staging(pg: psycopg.Connection, layer: str, extra_types: list[str]) -> None:
    cols = [sql.SQL("fid integer")]
    cols += [sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(target_sql_type(c))) for c in LAYER_COLUMNS[layer]]
    cols += [sql.SQL("{} {}").format(sql.Identifier(f"a{i}"), sql.SQL(t)) for i, t in enumerate(extra_types)]
    cols += [sql.SQL("flags text[]"), sql.SQL("geom geometry")]
    pg.execute(sql.SQL("CREATE TEMP TABLE ingest_stage ({}) ON COMMIT DROP").format(sql.SQL(", ").join(cols)))


def to_arrow(df: pd.DataFrame, layer: str) -> pa.Table:
    arrays, names = [], []
    for col in df.columns:
        s = df[col]
        if col == "geom":
            arrays.append(hex_wkb(s.to_numpy(object)))
        elif col == "fid":
            arrays.append(pa.array(s.to_numpy(np.int64)))
        elif col in NUMERIC:
            arrays.append(pa.array(s.tolist(), type=pa.int64() if NUMERIC[col] is int else pa.float64()))
        elif s.dtype == object:
            try:
                arrays.append(pa.array(s, from_pandas=True, type=pa.string()))
            except (pa.ArrowTypeError, pa.ArrowInvalid):  # mixed Python objects (dates, numbers as text)
                arrays.append(pa.array(s.map(lambda v: None if v is None or v != v else str(v)), type=pa.string()))
        else:
            arrays.append(pa.array(s, from_pandas=True))
        names.append(col)
    return pa.table(arrays, names=names)


def copy_rows(pg: psycopg.Connection, df: pd.DataFrame, layer: str) -> int:
    """COPY one validated chunk into the staging table; returns the rows written."""
    if df.empty:
        return 0
    df = df.drop(columns=["wkb"], errors="ignore")  # this path writes the geometry from ``geom``
    table = to_arrow(df, layer)
    buf = io.BytesIO()
    pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in df.columns)
    with pg.cursor().copy(sql.SQL("COPY ingest_stage ({}) FROM STDIN (FORMAT csv)").format(cols)) as cp:
        cp.write(buf.getbuffer())
    return len(df)


def attributes_json(df: pd.DataFrame, extra: list[str]) -> pa.Array:
    """One JSON object per row: the kept source columns under their own names, plus ``_flags``
    where the validation flagged the feature.

    Built column-wise by Arrow's string kernels (which release the GIL, so the validating thread
    keeps going) for the usual DBF columns — text, integers, booleans; a chunk with anything else
    (floats, dates, control characters in text) goes through pandas' JSON writer instead, whose
    number and date formatting it then keeps. On 200k parcels the Arrow path saves ~0.2 s of wall
    time, most of it GIL the pandas writer held."""
    import json

    import pyarrow.compute as pc

    values = [_json_values(df[f"a{i}"]) for i in range(len(extra))]
    if any(v is None for v in values):
        return _attributes_json_pandas(df, extra)
    n = len(df)
    flags = df["flags"].to_numpy(object)
    tags = [""] * n
    for i in np.flatnonzero(pd.notna(flags)).tolist():
        codes = flags[i].strip("{}").split(",")
        tags[i] = ("," if extra else "") + '"_flags":[' + ",".join(f'"{c}"' for c in codes) + "]"
    pieces: list = []
    for j, (name, v) in enumerate(zip(extra, values, strict=True)):
        pieces += [("{" if j == 0 else ",") + json.dumps(name, ensure_ascii=False) + ":", v]
    if not extra:
        pieces.append("{")
    pieces += [pa.array(tags, type=pa.string()), "}"]
    return pc.binary_join_element_wise(*pieces, "")


def _json_values(s: pd.Series) -> pa.Array | None:
    """A column as JSON value text per row (``null`` where missing), or None when the Arrow path
    does not handle its type."""
    import pyarrow.compute as pc

    if pd.api.types.is_bool_dtype(s):
        return pc.if_else(pa.array(s, from_pandas=True), "true", "false").fill_null("null")
    if pd.api.types.is_integer_dtype(s):
        return pc.cast(pa.array(s, from_pandas=True), pa.string()).fill_null("null")
    if s.dtype != object or pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty"):
        return None
    text = pa.array(s, from_pandas=True, type=pa.string())
    if pc.any(pc.match_substring_regex(text, "[\\x00-\\x1f]")).as_py():
        return None  # control characters need \u escapes: left to the JSON writer
    text = pc.replace_substring(pc.replace_substring(text, "\\", "\\\\"), '"', '\\"')
    return pc.binary_join_element_wise('"', text, '"', "").fill_null("null")


def _attributes_json_pandas(df: pd.DataFrame, extra: list[str]) -> pa.Array:
    """:func:`attributes_json` by pandas' C JSON writer, for columns the Arrow path does not take."""
    n = len(df)
    if extra:
        cols = df[[f"a{i}" for i in range(len(extra))]].copy()
        cols.columns = extra
        for c in cols.columns:
            if cols[c].dtype == object and pd.api.types.infer_dtype(cols[c], skipna=True) not in (
                    "string", "empty", "integer", "floating", "boolean"):
                cols[c] = cols[c].map(lambda v: v if v is None or isinstance(v, str | int | float | bool) else str(v))
        lines = cols.to_json(orient="records", lines=True, force_ascii=False, date_format="iso",
                             double_precision=15).split("\n")[:n]
    else:
        lines = ["{}"] * n
    flags = df["flags"].to_numpy(object)
    for i in np.flatnonzero(pd.notna(flags)):
        codes = flags[i].strip("{}").split(",")
        tag = '"_flags":[' + ",".join(f'"{c}"' for c in codes) + "]"
        lines[i] = lines[i][:-1] + ("," if len(lines[i]) > 2 else "") + tag + "}"
    return pa.array(lines, type=pa.string())


#: PostgreSQL type of a layer-table column → the Arrow type pgpq encodes it from (binary COPY
#: needs the exact width: an int8 sent to an integer column is refused).
_ARROW_OF = {"text": pa.string(), "varchar": pa.string(), "int2": pa.int16(), "int4": pa.int32(),
             "int8": pa.int64(), "float4": pa.float32(), "float8": pa.float64(), "bool": pa.bool_(),
             "jsonb": pa.string(), "geometry": pa.binary()}


def column_types(pg: psycopg.Connection, table: str, cols: list[str]) -> dict[str, str]:
    """``column → type name`` of ``table`` from the catalog (the table decides, not our lists)."""
    rows = pg.execute(
        "SELECT a.attname::text, t.typname::text FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped", (table,)).fetchall()
    types = dict(rows)
    missing = [c for c in cols if c not in types]
    if missing:
        raise ValueError(f"{table} has no column(s) {', '.join(missing)}")
    return {c: types[c] for c in cols}


def binary_encoder(types: dict[str, str]):
    """A pgpq encoder for rows of ``types`` (jsonb from JSON text, geometry from WKB as bytea —
    the binary wire format of both), and the Arrow schema it encodes."""
    from pgpq import ArrowToPostgresBinaryEncoder
    from pgpq.encoders import BinaryEncoderBuilder, StringEncoderBuilder
    from pgpq.schema import Jsonb

    unsupported = {c: t for c, t in types.items() if t not in _ARROW_OF}
    if unsupported:
        raise ValueError(f"binary COPY of column types {unsupported} is not supported")
    schema = pa.schema([pa.field(c, _ARROW_OF[t]) for c, t in types.items()])
    enc = {}
    for f in schema:
        if types[f.name] == "jsonb":
            enc[f.name] = StringEncoderBuilder.new_with_output(f, Jsonb())
        elif types[f.name] == "geometry":
            enc[f.name] = BinaryEncoderBuilder(f)
        else:
            enc[f.name] = ArrowToPostgresBinaryEncoder.infer_encoder(f)
    return ArrowToPostgresBinaryEncoder.new_with_encoders(schema, enc), schema


@contextmanager
def copy_into(pg: psycopg.Connection, layer: str, extra: list[str], province: str, dataset_id: int | None,
              enabled: bool = True) -> Iterator[Callable[[pd.DataFrame], int]]:
    """One binary COPY into the layer table for the whole load; yields ``write(chunk_rows) -> n``.

    Binary, encoded from Arrow by pgpq (Rust), because the server then parses nothing: the
    geometry arrives as the WKB the loader already holds (no hex round trip), numbers as numbers.
    Measured on 200k parcels: the server's COPY work 0.85 s in CSV with hex WKB, 0.64 s binary.

    Two threads work behind the caller: one encodes each chunk (JSON attributes, Arrow, pgpq —
    mostly C/Rust code that releases the GIL) and one (psycopg's queued writer) sends it, so the
    caller validates chunk n+1 while chunk n is encoded and the server stores chunk n-1. At most
    two chunks wait for the encoder (memory stays bounded); an error in it is raised to the
    caller at its next ``write`` or when the block ends, and the COPY is then aborted.
    """
    if not enabled:
        yield lambda df: len(df)
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    table = LAYER_TABLES[layer]
    targets = list(LAYER_COLUMNS[layer])
    cols = ["province_code", "dataset_id", *targets, "attributes", "geom"]
    encoder, schema = binary_encoder(column_types(pg, table, cols))
    q = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, cols)))
    cur = pg.cursor()
    with cur.copy(q, writer=QueuedLibpqWriter(cur)) as cp:
        cp.write(encoder.write_header())

        def encode(df: pd.DataFrame) -> None:
            n = len(df)
            arrays = [pa.array(np.full(n, province, dtype=object), type=pa.string()),
                      pa.array(np.full(n, dataset_id, dtype=np.int64))]
            for c in targets:
                s = df[c]
                if c == "season" and layer == "crop_zones":  # the table's default for rows that do not say
                    s = s.where(s.notna(), "perennial")
                typ = schema.field(c).type
                if pa.types.is_integer(typ) or pa.types.is_floating(typ):
                    arrays.append(pa.array(s.tolist(), type=typ))  # None-aware; ints stay exact
                elif s.dtype == object:
                    try:
                        arrays.append(pa.array(s, from_pandas=True, type=typ))
                    except (pa.ArrowTypeError, pa.ArrowInvalid):  # mixed Python objects
                        arrays.append(pa.array(s.map(lambda v: None if v is None or v != v else str(v)), type=typ))
                else:
                    arrays.append(pa.array(s, from_pandas=True).cast(typ))
            # polygon layers: the MultiPolygon WKB the stage made and checked; irrigation works: as they are
            wkb = df["wkb"].to_numpy(object) if "wkb" in df.columns else \
                shapely.to_wkb(df["geom"].to_numpy(object), byte_order=1)
            arrays += [attributes_json(df, extra), pa.array(wkb, type=pa.binary())]
            cp.write(encoder.write_batch(pa.RecordBatch.from_arrays(arrays, schema=schema)))

        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cropmrv-encode")  # one: chunks stay in order
        pending: deque = deque()

        def write(df: pd.DataFrame) -> int:
            if df.empty:
                return 0
            while pending and (pending[0].done() or len(pending) >= 2):
                pending.popleft().result()  # re-raises the encoder's error here
            pending.append(pool.submit(encode, df))
            return len(df)

        try:
            yield write
            while pending:
                pending.popleft().result()
            cp.write(encoder.finish())
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


#: Foreign keys a layer table may have for :func:`skip_row_fk_checks` to apply.
_FAST_FK_COLUMNS = {"dataset_id", "commune_code"}


def skip_row_fk_checks(pg: psycopg.Connection, table: str, province: str) -> bool:
    """Replace PostgreSQL's per-row foreign-key checks by one set-based check, when that is safe.

    Why: on a cadastre the two per-row FK checks (``dataset_id`` → dataset, ``commune_code`` →
    admin_unit) cost more than everything else the server does (measured on 200k parcels: COPY into
    ``parcel`` 7.5 s with them, 4.0 s without). The rows' references are already known good — the
    dataset row is this transaction's own, and every commune code was checked against the
    province's communes — so the per-row trigger is replaced, as pg_restore --disable-triggers does,
    by (1) locking the referenced communes FOR KEY SHARE, exactly the lock the trigger would take,
    so they cannot vanish before COMMIT, and (2) :func:`restore_fk_checks` verifying every row
    set-based after the COPY. Applies only when the role may set ``session_replication_role``
    (superuser, as in the embedded cluster), the table has no user triggers that replica mode would
    skip (audit triggers; ``ENABLE ALWAYS`` ones such as the approved-submission lock still fire),
    and its only foreign keys are those two; otherwise the normal path runs. The one trigger it
    knowingly skips is the geometry validity trigger (``<table>_geom_valid``): the loader has
    checked the validity of every geometry it COPYs, in EPSG:4326, just before
    (:func:`cropmrv.ingest.checks.stage_polygons`, :func:`cropmrv.ingest.checks.revalidate`).
    """
    row = pg.execute(
        "SELECT r.rolsuper, "
        "(SELECT count(*) FROM pg_trigger t WHERE t.tgrelid = %s::regclass AND NOT t.tgisinternal "
        " AND t.tgenabled <> 'A' AND t.tgfoid IS DISTINCT FROM to_regproc('cropmrv_geom_invalid')), "
        "(SELECT array_agg(a.attname::text) FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid "
        " AND a.attnum = ANY (c.conkey) WHERE c.conrelid = %s::regclass AND c.contype = 'f') "
        "FROM pg_roles r WHERE r.rolname = current_user", (table, table)).fetchone()
    if not row or not row[0] or row[1] or not set(row[2] or []) <= _FAST_FK_COLUMNS:
        return False
    pg.execute("SELECT 1 FROM admin_unit WHERE province_code = %s FOR KEY SHARE", (province,))
    pg.execute("SET LOCAL session_replication_role = replica")
    return True


def restore_fk_checks(pg: psycopg.Connection, table: str, dataset_id: int, codes: set[str] | None = None) -> None:
    """Turn the per-row checks back on and verify, set-based, what they would have checked.

    ``codes``: every commune code the load wrote, as the loader counted them while encoding —
    then only those few are looked up instead of scanning the new rows (200k parcels: 0.07 s)."""
    pg.execute("SET LOCAL session_replication_role = origin")
    if codes is not None:
        bad = pg.execute("SELECT count(*) FROM unnest(%s::text[]) c WHERE NOT EXISTS "
                         "(SELECT 1 FROM admin_unit a WHERE a.code = c)", (sorted(codes),)).fetchone()[0]
        if bad:
            raise IngestError(f"{bad} mã xã trong {table} không có trong admin_unit / {bad} commune codes in "
                              f"{table} are missing from admin_unit: no row changed")
        return
    t = sql.Identifier(table)
    # over the distinct codes: right after a bulk load the table's statistics still say "empty" and
    # the planner picks a nested loop over admin_unit per row (200k rows: 1.3 s; this way 0.1 s)
    bad = pg.execute(sql.SQL(
        "SELECT count(*) FROM (SELECT DISTINCT commune_code FROM {} WHERE dataset_id = %s) x "
        "WHERE x.commune_code IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM admin_unit a WHERE a.code = x.commune_code)").format(t), (dataset_id,)).fetchone()[0]
    if bad:
        raise IngestError(f"{bad} mã xã trong {table} không có trong admin_unit / {bad} commune codes in {table} "
                          "are missing from admin_unit: no row changed")


#: Existing rows per incoming row below which dropping and rebuilding the secondary indexes is
#: cheaper than maintaining them row by row (measured on 200k parcels: GiST ~6 µs per inserted
#: row, ~2 µs per row for the sorted build after the COPY; b-trees ~1.3 µs vs ~0.3 µs).
REBUILD_BELOW = 1.0


def defer_indexes(pg: psycopg.Connection, table: str, incoming: int) -> list[str]:
    """Drop the secondary indexes of ``table`` for a bulk load into a (nearly) empty table; returns
    the ``CREATE INDEX`` statements :func:`rebuild_indexes` runs after the COPY.

    Why: maintaining a GiST index row by row during COPY costs about three times a sorted build
    afterwards (what ogr2ogr and pg_restore do); on 200k parcels that is ~0.9 s of the server's
    ~3 s. Worth it only when the table holds few rows compared with the load (a first load, a
    province-wide reload), judged from the planner's estimate in ``pg_class`` — read without
    locking the table. Everything stays in the load's transaction: a failed or killed load rolls
    the DROP back with the rows. The price: ``ACCESS EXCLUSIVE`` on the table until COMMIT, so
    readers of that layer wait for the load (seconds) instead of seeing the old rows. The lock is
    taken first thing on the table in this transaction, so two concurrent loads queue instead of
    deadlocking on a lock upgrade. Unique and primary-key indexes are kept (they enforce rules).
    Must be called before anything else in the transaction touches ``table``.
    """
    row = pg.execute("SELECT reltuples, relpages FROM pg_class WHERE oid = %s::regclass", (table,)).fetchone()
    reltuples, relpages = float(row[0]), int(row[1])
    existing = reltuples if reltuples >= 0 else relpages * 25.0  # never analysed: ~25 rows a page
    if incoming <= 0 or existing > REBUILD_BELOW * incoming:
        return []
    pg.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.Identifier(table)))
    idx = pg.execute(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i "
        "WHERE indrelid = %s::regclass AND NOT indisunique AND NOT indisprimary AND indisvalid "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1",
        (table,)).fetchall()
    for name, _ in idx:
        pg.execute(sql.SQL("DROP INDEX {}").format(sql.SQL(name)))  # regclass text is already quoted
    return [d for _, d in idx]


def rebuild_indexes(pg: psycopg.Connection, definitions: list[str]) -> None:
    """Recreate what :func:`defer_indexes` dropped (sorted GiST build, parallel b-tree builds)."""
    for d in definitions:
        pg.execute(d)
