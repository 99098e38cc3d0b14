"""Liveness and readiness: the process answers and the database is reachable and migrated."""


from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import text

from cropmrv.api.errors import error_responses

router = APIRouter(tags=["health"])


class Health(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str
    database: bool
    schema_revision: str | None
    province_code: str


@router.get("/health", response_model=Health, responses=error_responses(503), summary="Service health")
def health(request: Request) -> Health:
    with request.app.state.engine.connect() as c:
        rev = c.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return Health(status="ok", database=True, schema_revision=rev,
                  province_code=request.app.state.settings.province_code)
