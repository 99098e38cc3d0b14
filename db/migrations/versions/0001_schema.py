"""The first cut of the cropmrv data model (ARCHITECTURE.md).

The DDL lives beside this file as plain SQL so that GIS staff and DBAs can read it as it is.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from alembic import op

from cropmrv.db.migrations.sql_file import run_sql_beside

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = [
    # dependants first
    "audit_log", "api_key", "app_user", "sync_log", "inventory_export", "plan_target",
    "submission_event", "submission", "estimate_uncertainty", "estimate_default", "estimate",
    "estimate_run", "factor",
    "factor_set", "gwp_set", "parcel_history", "crop_zone_history", "activity_history",
    "planning_zone_history", "irrigation_asset_history", "irrigation_service_area_history", "pilot_site_history", "raster",
    "pilot_site", "irrigation_service", "irrigation_service_area", "irrigation_asset",
    "planning_conflict", "planning_conflict_state", "planning_review",
    "planning_zone", "activity", "crop_zone", "practice_package", "parcel", "admin_lineage",
    "admin_unit_old", "admin_unit", "dataset",
]


def upgrade() -> None:
    run_sql_beside(__file__)


def downgrade() -> None:
    for t in TABLES:
        op.execute(f"DROP TABLE IF EXISTS {t} CASCADE")
    op.execute("DROP FUNCTION IF EXISTS cropmrv_factor_locked()")
    op.execute("DROP FUNCTION IF EXISTS cropmrv_factor_set_locked()")
    op.execute("DROP FUNCTION IF EXISTS cropmrv_run_immutable()")
    op.execute("DROP FUNCTION IF EXISTS cropmrv_immutable()")
    op.execute("DROP FUNCTION IF EXISTS cropmrv_submission_locked()")
