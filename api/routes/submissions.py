"""Commune submissions and the province roll-up (wrapping ``cropmrv.mrv.submissions`` / ``rollup``).

``mrv.submissions.transition`` checks role and commune itself where it writes; the route adds the
API-key identity, the audit row and the HTTP status of each refusal.
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from cropmrv.api.auth import CurrentPrincipal, Reader, audit, require
from cropmrv.api.errors import Forbidden, error_responses

router = APIRouter(tags=["reporting"])

Year = Annotated[int, Path(ge=1990, le=2100)]
Commune = Annotated[str, Path(pattern=r"^[0-9]{5}$")]
Action = Literal["draft", "submit", "return", "approve", "reopen"]


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    comment: str | None = Field(default=None, max_length=5000)
    run_id: int | None = Field(default=None, ge=1, le=2**62)


class Submission(BaseModel):
    model_config = ConfigDict(extra="allow")
    commune_code: str
    status: str


@router.get("/submissions/{year}", response_model=list[Submission], responses=error_responses(400, 401),
            summary="Submission state of every commune for a year")
def submission_status(request: Request, year: Year, _: Reader) -> Any:
    from cropmrv.mrv import submissions

    s = request.app.state.settings
    with request.app.state.engine.connect() as c:
        return JSONResponse(jsonable_encoder(submissions.status(c, year, s.province_code, s.report_deadline)))


@router.get("/submissions/{year}/{commune_code}", responses=error_responses(400, 401),
            summary="A commune's submission history for a year")
def submission_history(request: Request, year: Year, commune_code: Commune, _: Reader) -> Any:
    from cropmrv.mrv import submissions

    with request.app.state.engine.connect() as c:
        return JSONResponse(jsonable_encoder({"commune_code": commune_code, "year": year,
                                              "events": submissions.history(c, commune_code, year)}))


@router.post("/submissions/{year}/{commune_code}/{action}", response_model=Submission,
             responses=error_responses(400, 401, 403), summary="Draft, submit, return, approve or reopen")
def submission_transition(request: Request, year: Year, commune_code: Commune, action: Action,
                          body: TransitionIn, p: CurrentPrincipal) -> Any:
    from cropmrv.mrv import submissions

    require(p, "submit" if action in ("draft", "submit") else "approve", commune_code)
    actor = submissions.Actor(p.username, p.role, p.commune_code)
    with request.app.state.engine.begin() as c:
        try:
            row = submissions.transition(c, commune_code, year, action, actor, comment=body.comment,
                                         run_id=body.run_id)
        except submissions.PermissionDenied as exc:
            raise Forbidden(str(exc)) from None
        audit(c, p.username, f"submission.{action}", "submission", f"{commune_code}/{year}",
              {"comment": body.comment, "run_id": body.run_id, "status": row["status"]})
    return JSONResponse(jsonable_encoder(row))


@router.get("/rollup/{year}", responses=error_responses(400, 401),
            summary="Province roll-up: commune totals and the province summary of a year's run")
def rollup(request: Request, year: Year, _: Reader,
           scenario: Literal["baseline", "project"] | None = None,
           run_id: Annotated[int | None, Query(ge=1, le=2**62)] = None) -> Any:
    from cropmrv.mrv import rollup as r

    s = request.app.state.settings
    with request.app.state.engine.connect() as c:
        run = r.resolve_run(c, year, s.province_code, scenario=scenario, run_id=run_id)
        prev = r.previous_run(c, run)
        body = {"run_id": run.id, "year": year, "scenario": run.scenario,
                "province": r.province_summary(c, run.id, prev.id if prev else None),
                "communes": r.commune_totals(c, run.id, prev.id if prev else None, s.province_code)}
    return JSONResponse(jsonable_encoder(body))
