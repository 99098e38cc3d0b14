"""Estimate runs: create (province admin), list and read.

Creating a run is the runs module's job (``cropmrv.mrv.runs.create_run``); listing and reading are
plain queries on ``estimate_run`` so they do not depend on it.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from cropmrv.api.auth import CurrentPrincipal, Reader, audit, require
from cropmrv.api.errors import NotFound, bilingual, error_responses

router = APIRouter(tags=["MRV"])


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    year: int = Field(ge=1990, le=2100)
    scenario: Literal["baseline", "project"] = "baseline"
    factor_set: str | None = Field(default=None, min_length=1, max_length=100)
    gwp: str | None = Field(default=None, min_length=1, max_length=20)


class Run(BaseModel):
    id: int
    province_code: str
    year: int
    scenario: str
    factor_set_code: str
    factor_set_version: int
    gwp_set: str
    code_version: str
    inputs_digest: str
    run_digest: str
    record_count: int
    unverified_factors: list[str]
    warnings: list[Any]
    started_at: datetime
    finished_at: datetime | None
    co2e_t: float | None = None


_SELECT = ("SELECT r.id, r.province_code, r.year, r.scenario, r.factor_set_code, r.factor_set_version, r.gwp_set, "
           "r.code_version, r.inputs_digest, r.run_digest, r.record_count, r.unverified_factors, r.warnings, "
           "r.started_at, r.finished_at, (SELECT sum(co2e_g) / 1e6 FROM estimate e WHERE e.run_id = r.id) AS co2e_t "
           "FROM estimate_run r")


@router.get("/runs", response_model=list[Run], responses=error_responses(400, 401), summary="List estimate runs")
def list_runs(request: Request, _: Reader, year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
              scenario: Literal["baseline", "project"] | None = None) -> list[Run]:
    with request.app.state.engine.connect() as c:
        rows = c.execute(text(_SELECT + " WHERE r.province_code = :p AND (CAST(:y AS integer) IS NULL OR r.year = :y) "
                              "AND (CAST(:s AS text) IS NULL OR r.scenario = :s) ORDER BY r.id DESC"),
                         {"p": request.app.state.settings.province_code, "y": year, "s": scenario})
        return [Run(**r._mapping) for r in rows]


@router.get("/runs/{run_id}", response_model=Run, responses=error_responses(400, 401, 404), summary="One estimate run")
def get_run(request: Request, run_id: Annotated[int, Path(ge=1, le=2**62)], _: Reader) -> Run:
    with request.app.state.engine.connect() as c:
        r = c.execute(text(_SELECT + " WHERE r.id = :id"), {"id": run_id}).first()
    if r is None:
        raise NotFound(bilingual(f"Không có lượt tính {run_id}", f"no estimate run {run_id}"))
    return Run(**r._mapping)


@router.post("/runs", response_model=Run, status_code=201, responses=error_responses(400, 401, 403),
             summary="Run the estimate for a year (province admin)")
async def create_run(request: Request, body: RunIn, p: CurrentPrincipal) -> Run:
    require(p, "run")
    from cropmrv.mrv import runs  # the estimate engine (pandas, pyarrow) only when a run is asked for
    s = request.app.state.settings
    eng = request.app.state.engine
    result = await run_in_threadpool(runs.create_run, eng, s, body.year, body.scenario,
                                     body.factor_set or s.default_factor_set, body.gwp or s.default_gwp)
    with eng.begin() as c:
        audit(c, p.username, "estimate_run.create", "estimate_run", result.run_id,
              body.model_dump() | {"reused": result.reused})
    return get_run(request, result.run_id, p)
