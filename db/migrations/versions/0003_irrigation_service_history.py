"""Replaced irrigation service links are kept in ``irrigation_service_history``.

The DDL is in the .sql file beside this one.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from alembic import op

from cropmrv.db.migrations.sql_file import run_sql_beside

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_beside(__file__)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS irrigation_service_history")
