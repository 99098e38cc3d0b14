"""The database ↔ Arrow boundary of estimate runs: read query results into Arrow tables.

Why Arrow: a run moves millions of rows each way. Row-by-row fetches build a Python object per value;
``COPY`` into Arrow (ADBC's C++ reader, or pyarrow's CSV parser) builds columns directly, and the
numpy code downstream works on those columns without a per-row loop.
"""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql
from sqlalchemy import Connection

from cropmrv.db.engine import raw_connection


def _copy_csv(conn: Connection, query: sql.Composable, column_types: dict[str, pa.DataType]) -> pa.Table:
    """``COPY (query) TO STDOUT`` as CSV inside ``conn``'s transaction, parsed by pyarrow."""
    raw = raw_connection(conn)
    buf = io.BytesIO()
    with raw.cursor() as cur, cur.copy(sql.SQL("COPY ({}) TO STDOUT (FORMAT csv, HEADER true)").format(query)) as cp:
        for chunk in cp:
            buf.write(chunk)
    buf.seek(0)
    if buf.getbuffer().nbytes == 0:
        return pa.table({c: pa.array([], type=t) for c, t in column_types.items()})
    return pacsv.read_csv(buf, convert_options=pacsv.ConvertOptions(
        column_types=column_types, strings_can_be_null=True, null_values=[""], quoted_strings_can_be_null=False))


def read_table(conn: Connection, query: sql.Composable, column_types: dict[str, pa.DataType],
               arrow_url: str | None = None) -> pa.Table:
    """A query's result as an Arrow table.

    With ``arrow_url`` (a libpq URL) the ADBC PostgreSQL driver reads it by binary COPY straight into
    Arrow in C++ — several times faster than psycopg's COPY, which hands Python one row at a time —
    but on its own connection, so it sees committed data only (what a run reads anyway). Without it,
    ``COPY … TO STDOUT`` runs inside ``conn``'s transaction and pyarrow parses the CSV."""
    if arrow_url is None:
        return _copy_csv(conn, query, column_types)
    import adbc_driver_postgresql.dbapi as adbc

    text_sql = query.as_string(raw_connection(conn))
    with adbc.connect(arrow_url) as ac, ac.cursor() as cur:
        cur.execute(text_sql)
        table = cur.fetch_arrow_table()
    return pa.table({c: table.column(c).cast(t) for c, t in column_types.items()})


def copy_query(conn: Connection, query: sql.Composable, column_types: dict[str, pa.DataType]) -> pd.DataFrame:
    """``COPY (query) TO STDOUT`` into a DataFrame (inside ``conn``'s transaction)."""
    return _copy_csv(conn, query, column_types).to_pandas()
