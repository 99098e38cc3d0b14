"""Replaced irrigation service links are kept in ``irrigation_service_history``.

The DDL is in the .sql file beside this one.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from pathlib import Path

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.get_bind().connection.dbapi_connection.execute(Path(__file__).with_suffix(".sql").read_text(encoding="utf-8"))


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS irrigation_service_history")
