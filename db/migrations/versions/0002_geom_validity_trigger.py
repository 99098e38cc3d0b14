"""Geometry validity of the loaded layers: a trigger the loader's checked fast path may skip.

The DDL and the reasons are in the .sql file beside this one.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from alembic import op

from cropmrv.db.migrations.sql_file import run_sql_beside

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

LAYERS = ("parcel", "crop_zone", "planning_zone", "irrigation_asset", "pilot_site")


def upgrade() -> None:
    run_sql_beside(__file__)


def downgrade() -> None:
    for t in LAYERS:
        op.execute(f"DROP TRIGGER IF EXISTS {t}_geom_valid ON {t}")
        op.execute(f"ALTER TABLE {t} ADD CONSTRAINT {t}_geom_check CHECK (ST_IsValid(geom))")
    op.execute("DROP FUNCTION IF EXISTS cropmrv_geom_invalid()")
