"""Geometry validity of the loaded layers: a trigger the loader's checked fast path may skip.

The DDL and the reasons are in the .sql file beside this one.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from pathlib import Path

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

LAYERS = ("parcel", "crop_zone", "planning_zone", "irrigation_asset", "pilot_site")


def upgrade() -> None:
    # Run through the driver untouched: the DDL holds a $$-quoted function and '%' in its message.
    sql = Path(__file__).with_suffix(".sql").read_text(encoding="utf-8")
    op.get_bind().connection.dbapi_connection.execute(sql)


def downgrade() -> None:
    for t in LAYERS:
        op.execute(f"DROP TRIGGER IF EXISTS {t}_geom_valid ON {t}")
        op.execute(f"ALTER TABLE {t} ADD CONSTRAINT {t}_geom_check CHECK (ST_IsValid(geom))")
    op.execute("DROP FUNCTION IF EXISTS cropmrv_geom_invalid()")
