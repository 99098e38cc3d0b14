"""Reporting endpoints that complement the API engineer's submissions/rollup/exports routes:
category totals of the roll-up, the annual report as a download, plan targets with progress, and
the sync log. Submissions, ``/rollup/{year}``, ``/exports`` and ``/inventory/{year}`` live in
``submissions.py`` and ``exports.py`` (same library functions, so the numbers agree).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from cropmrv.api.auth import CurrentPrincipal, Reader, require
from cropmrv.api.errors import error_responses

router = APIRouter(tags=["reporting"])

Year = Annotated[int, Path(ge=1990, le=2100)]
RunId = Annotated[int | None, Query(ge=1, le=2**62)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/rollup/{year}/categories", responses=error_responses(400, 401),
            summary="Province totals by CRT category and gas (integer grams, exact sums of the communes)")
def rollup_categories(request: Request, year: Year, _: Reader,
                      scenario: Literal["baseline", "project"] | None = None, run_id: RunId = None) -> Any:
    from cropmrv.mrv import crt, rollup

    s = request.app.state.settings
    with request.app.state.engine.connect() as c:
        run = rollup.resolve_run(c, year, s.province_code, scenario=scenario, run_id=run_id)
        rows = rollup.province_totals(c, run.id)
    for r in rows:
        meta = crt.by_crf()[crt.normalise(r["category"])]
        r.update(crt_category=meta.crt, label_vi=meta.label_vi, label_en=meta.label_en)
    return JSONResponse(jsonable_encoder({"run": run.as_dict(), "categories": rows}))


@router.get("/reports/{year}", responses={**error_responses(400, 401),
                                          200: {"content": {"text/html": {}, XLSX: {}}}},
            summary="The annual report (HTML page or Excel workbook), Vietnamese by default")
def annual_report(request: Request, year: Year, _: Reader, format: Literal["html", "xlsx"] = "html",
                  lang: Literal["vi", "en"] = "vi", run_id: RunId = None) -> Response:
    import tempfile
    from pathlib import Path as P

    from cropmrv.mrv import report

    s = request.app.state.settings
    with request.app.state.engine.connect() as c:
        data = report.gather(c, year, s.province_code, s.province_name, run_id=run_id,
                             deadline_setting=s.report_deadline)
    name = f"bao-cao-{s.province_code}-{year}-{lang}.{format}"
    if format == "html":
        from cropmrv.mrv.report_html import render

        return Response(render(data, lang), media_type="text/html; charset=utf-8")
    with tempfile.TemporaryDirectory() as d:
        body = report.write(data, P(d) / name, lang).read_bytes()
    return Response(body, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/targets", responses=error_responses(400, 401),
            summary="Plan targets, with the year's measured progress when ?year= is given")
def plan_targets(request: Request, _: Reader, year: Annotated[int | None, Query(ge=1990, le=2100)] = None) -> Any:
    from cropmrv.mrv import targets

    s = request.app.state.settings
    with request.app.state.engine.connect() as c:
        rows = targets.progress(c, year, s.province_code) if year else targets.list_targets(c, s.province_code)
    return JSONResponse(jsonable_encoder(rows))


@router.get("/sync-log", responses=error_responses(400, 401, 403),
            summary="Every attempt to send an inventory snapshot to the national system")
def sync_log(request: Request, p: CurrentPrincipal,
             year: Annotated[int | None, Query(ge=1990, le=2100)] = None) -> Any:
    from cropmrv.mrv import sync

    require(p, "export")
    with request.app.state.engine.connect() as c:
        return JSONResponse(jsonable_encoder(sync.sync_history(c, request.app.state.settings.province_code, year)))
