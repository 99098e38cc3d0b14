"""Uploads: a vector file (zip, shp, gpkg, geojson) in a multipart form → the ingest function.

The body size is checked twice: against Content-Length before anything is read, and while
streaming to disk (a client may lie or send chunked), so an oversized upload is a 413 problem and
never fills the disk. Commune officers may load only their own commune's data.
"""

import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

import pyogrio.errors
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict

from cropmrv.api.auth import CurrentPrincipal, audit, require
from cropmrv.api.errors import ApiError, BadRequest, PayloadTooLarge, bilingual, error_responses

router = APIRouter(tags=["uploads"])

LAYERS = ("parcels", "crop_zones", "planning_zones", "irrigation_assets", "irrigation_service_areas", "pilot_sites")
CHUNK = 1 << 20


class UploadReport(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: str
    layer: str


def _too_large(limit_mb: int) -> PayloadTooLarge:
    return PayloadTooLarge(bilingual(f"Tệp tải lên vượt quá {limit_mb} MB", f"the upload exceeds {limit_mb} MB"))


def check_length(request: Request) -> None:
    limit = request.app.state.settings.max_upload_mb
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit * 2**20 + 64 * 1024:
        raise _too_large(limit)


async def save(upload: UploadFile, folder: Path, limit_mb: int) -> Path:
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(upload.filename or "upload").name).lstrip(".") or "upload"
    path = folder / name
    size = 0
    with path.open("wb") as f:
        while chunk := await upload.read(CHUNK):
            size += len(chunk)
            if size > limit_mb * 2**20:
                raise _too_large(limit_mb)
            f.write(chunk)
    if size == 0:
        raise BadRequest(bilingual(f"Tệp '{upload.filename}' rỗng", f"the file '{upload.filename}' is empty"))
    return path


@router.post("/uploads", response_model=UploadReport, status_code=201,
             responses=error_responses(400, 401, 403, 413), summary="Upload a vector layer (ingest)")
async def upload(
    request: Request,
    p: CurrentPrincipal,
    file: Annotated[UploadFile, File(description="zip (shapefile), .gpkg, .geojson")],
    layer: Annotated[str, Form(pattern="^(" + "|".join(LAYERS) + ")$")],
    commune_code: Annotated[str | None, Form(pattern=r"^[0-9]{5}$")] = None,
    crs: Annotated[str | None, Form(max_length=64)] = None,
    encoding: Annotated[str, Form(pattern="^(auto|utf-8|cp1258|tcvn3|vni)$")] = "auto",
    dry_run: Annotated[bool, Form()] = False,
) -> Any:
    check_length(request)
    require(p, "upload", commune_code)
    if p.scope is not None and commune_code is None:
        raise BadRequest(bilingual("Cán bộ xã phải ghi rõ mã xã (commune_code)",
                                   "a commune officer must give commune_code"))
    from cropmrv.ingest.load import ingest_vector
    from cropmrv.ingest.report import IngestError

    s, eng = request.app.state.settings, request.app.state.engine
    folder = Path(tempfile.mkdtemp(prefix="cropmrv-upload-"))
    try:
        path = await save(file, folder, s.max_upload_mb)
        try:
            rep = await run_in_threadpool(ingest_vector, path, layer, settings=s, engine=eng, commune=commune_code,
                                          crs=crs, encoding=encoding, dry_run=dry_run, loaded_by=p.username)
        except IngestError as exc:
            report = exc.report.to_dict(max_issues=100) if exc.report is not None else None
            raise ApiError(str(exc), status=400, report=report) from None
        except pyogrio.errors.DataSourceError as exc:  # GDAL cannot open it at all
            raise BadRequest(bilingual(f"Không đọc được tệp '{file.filename}' (không phải shapefile/zip/GeoPackage/"
                                       "GeoJSON?)", f"cannot read '{file.filename}' as a vector file")
                             + f": {str(exc).splitlines()[0][:200]}") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    out = rep.to_dict(max_issues=200)
    if rep.status == "loaded":
        with eng.begin() as c:
            audit(c, p.username, "upload", layer, rep.dataset_id,
                  {"source": rep.source, "commune": commune_code, "features": rep.features_loaded})
    return out
