"""Inventory exports for the national GHG inventory (``cropmrv.mrv.inventory``).

Reading is for ``national_sync`` and ``province_admin`` only; making a snapshot is the province's.
Snapshots are immutable, so their SHA-256 is a strong ETag.
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from cropmrv.api.auth import CurrentPrincipal, audit, require
from cropmrv.api.errors import NotFound, bilingual, error_responses

router = APIRouter(tags=["reporting"])


class ExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    year: int = Field(ge=1990, le=2100)
    run_id: int | None = Field(default=None, ge=1, le=2**62)
    scenario: Literal["baseline", "project"] | None = None


def _document(request: Request, info: Any) -> Response:
    tag = f'"{info.sha256}"'
    if tag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers={"ETag": tag})
    return Response(info.payload, media_type="application/json",
                    headers={"ETag": tag, "X-Export-Id": str(info.id), "X-Payload-SHA256": info.sha256})


@router.get("/exports", responses=error_responses(400, 401, 403), summary="List inventory snapshots")
def exports(request: Request, p: CurrentPrincipal,
            year: Annotated[int | None, Query(ge=1990, le=2100)] = None) -> Any:
    from cropmrv.mrv import inventory

    require(p, "export")
    with request.app.state.engine.connect() as c:
        return JSONResponse(jsonable_encoder(inventory.list_exports(c, request.app.state.settings.province_code, year)))


@router.post("/exports", status_code=201, responses=error_responses(400, 401, 403),
             summary="Make (or reuse) the inventory snapshot of a year (province admin)")
def make_export(request: Request, body: ExportIn, p: CurrentPrincipal) -> Any:
    from cropmrv.mrv import inventory

    require(p, "admin")
    s = request.app.state.settings
    with request.app.state.engine.begin() as c:
        info = inventory.create_export(c, body.year, s.province_code, s.province_name, run_id=body.run_id,
                                       scenario=body.scenario, created_by=p.username)
        if not info.reused:
            audit(c, p.username, "inventory_export.create", "inventory_export", info.id, body.model_dump())
    return JSONResponse({"id": info.id, "year": info.year, "run_id": info.run_id, "sha256": info.sha256,
                         "reused": info.reused}, status_code=200 if info.reused else 201)


@router.get("/exports/{export_id}", responses=error_responses(400, 401, 403, 404),
            summary="One inventory snapshot (the canonical JSON document)")
def export(request: Request, export_id: Annotated[int, Path(ge=1, le=2**62)], p: CurrentPrincipal) -> Response:
    from cropmrv.mrv import inventory

    require(p, "export")
    with request.app.state.engine.connect() as c:
        try:
            info = inventory.get_export(c, export_id)
        except inventory.InventoryError as exc:
            raise NotFound(str(exc)) from None
    return _document(request, info)


@router.get("/inventory/{year}", responses=error_responses(400, 401, 403, 404),
            summary="The latest inventory snapshot of a year")
def inventory_year(request: Request, year: Annotated[int, Path(ge=1990, le=2100)], p: CurrentPrincipal) -> Response:
    from cropmrv.mrv import inventory

    require(p, "export")
    with request.app.state.engine.connect() as c:
        info = inventory.latest_export(c, year, request.app.state.settings.province_code)
    if info is None:
        raise NotFound(bilingual(f"Chưa có bản xuất kiểm kê năm {year}", f"no inventory snapshot for {year}"))
    return _document(request, info)
