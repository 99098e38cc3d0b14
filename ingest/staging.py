"""The staging table and COPY: validated rows go into a TEMP table (no WAL, dropped at commit),
then one INSERT … SELECT moves them into the layer table inside the swap transaction.

COPY format, measured on 200k parcels (benchmarks/ingest.py): CSV written by Arrow's C++ writer,
with the geometry as hex WKB, is the fastest path we found from Python. psycopg's per-row binary
``write_row`` spends ~1 µs per field in Python, and shapely's ``to_wkb(hex=True)`` is 5× slower
than binary WKB + a numpy nibble table (:func:`hex_wkb`), so that is what is used.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import shapely
from psycopg import sql

from cropmrv.ingest.profiles import LAYER_COLUMNS, NUMERIC

_HEX = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)


def hex_wkb(geoms: np.ndarray) -> pa.Array:
    """Hex-encoded WKB of many geometries as one Arrow string array, without a Python loop over bytes."""
    wkb = shapely.to_wkb(geoms)
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
    table = to_arrow(df, layer)
    buf = io.BytesIO()
    pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in df.columns)
    with pg.cursor().copy(sql.SQL("COPY ingest_stage ({}) FROM STDIN (FORMAT csv)").format(cols)) as cp:
        cp.write(buf.getbuffer())
    return len(df)
