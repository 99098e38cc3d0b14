"""What every cropmrv migration does: run the plain-SQL file that sits beside it.

The DDL lives in ``versions/NNNN_name.sql`` so that GIS staff and DBAs can read it as it is; it is
sent through the driver untouched because it holds $$-quoted functions and '%' in messages.
"""

from pathlib import Path

from alembic import op


def run_sql_beside(version_file: str) -> None:
    """Execute ``<version_file>`` with the suffix ``.sql`` in the migration's connection."""
    sql = Path(version_file).with_suffix(".sql").read_text(encoding="utf-8")
    op.get_bind().connection.dbapi_connection.execute(sql)
