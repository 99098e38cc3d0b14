"""Every error leaves the API as ``application/problem+json`` (RFC 9457) with a bilingual message.

The rooms below ``api/`` know nothing of HTTP: they raise ``ValueError`` subclasses for bad input
(factor sets, activity records, files), ``PermissionError`` for scope violations and ``LookupError``
for things that do not exist. One table here turns them into status codes, so a route never
builds an error response by hand and a user never sees a traceback (the detail is logged).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("cropmrv.api")

PROBLEM = "application/problem+json"


class Problem(BaseModel):
    """The problem+json body (RFC 9457), documented on every route."""

    model_config = ConfigDict(extra="allow")
    type: str = "about:blank"
    title: str
    status: int
    detail: str


class ApiError(Exception):
    """An error with its HTTP status; ``detail`` is shown to the user (Vietnamese / English)."""

    status = 400
    title = "Bad Request"

    def __init__(self, detail: str, status: int | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        self.extra = extra


class BadRequest(ApiError):
    status, title = 400, "Bad Request"


class Unauthorized(ApiError):
    status, title = 401, "Unauthorized"


class Forbidden(ApiError):
    status, title = 403, "Forbidden"


class NotFound(ApiError):
    status, title = 404, "Not Found"


class Conflict(ApiError):
    status, title = 409, "Conflict"


class PayloadTooLarge(ApiError):
    status, title = 413, "Payload Too Large"


def bilingual(vi: str, en: str) -> str:
    return f"{vi} / {en}"


def problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None,
            **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


# Status per exception type from the rooms below api/ (first match wins, most specific first).
DOMAIN_STATUS: list[tuple[type[BaseException], int, str]] = [
    (PermissionError, 403, "Forbidden"),
    (FileNotFoundError, 404, "Not Found"),
    (LookupError, 404, "Not Found"),
    (IntegrityError, 409, "Conflict"),
    (DataError, 400, "Bad Request"),
    (ValueError, 400, "Bad Request"),
]


def _validation_detail(exc: RequestValidationError) -> str:
    parts = []
    for e in exc.errors()[:5]:
        loc = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path"))
        parts.append(f"{loc or 'request'}: {e.get('msg', 'invalid')}")
    return bilingual("Tham số không hợp lệ", "invalid request parameters") + ": " + "; ".join(parts)


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="cropmrv"'} if exc.status == 401 else None
    return problem(exc.status, exc.title, exc.detail, headers=headers, **exc.extra)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 404 and detail == "Not Found":
        detail = bilingual("Không tìm thấy đường dẫn", "no such path") + f": {request.url.path}"
    elif exc.status_code == 405:
        detail = bilingual("Phương thức không được hỗ trợ", "method not allowed") + f": {request.method}"
    return problem(exc.status_code, _title(exc.status_code), detail, headers=getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    return problem(400, "Bad Request", _validation_detail(exc))


async def _db_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
    log.error("database unavailable: %s", exc)
    return problem(503, "Service Unavailable",
                   bilingual("Không kết nối được cơ sở dữ liệu", "the database is unavailable"))


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    for typ, status, title in DOMAIN_STATUS:
        if isinstance(exc, typ):
            detail = str(getattr(exc, "orig", None) or exc).splitlines()[0] if status == 409 else str(exc)
            if status == 409:
                detail = bilingual("Xung đột dữ liệu", "conflicting data") + f": {detail}"
            return problem(status, title, detail)
    return await _unexpected(request, exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "Internal Server Error",
                   bilingual("Lỗi máy chủ; đã ghi nhật ký", "internal server error; it has been logged"))


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def add_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(OperationalError, _db_unavailable)
    for typ, _, _ in DOMAIN_STATUS:
        app.add_exception_handler(typ, _domain_error)
    app.add_exception_handler(Exception, _unexpected)


# Documented on every route so that clients (and schemathesis) know the error shapes.
def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: {"description": _title(c), "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for c in codes}


def install_openapi(app: FastAPI) -> None:
    """Register the Problem schema; FastAPI's default 422 is documented as a problem too, next to
    the 400 our validation errors use."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = Problem.model_json_schema()
        for path in doc.get("paths", {}).values():
            for op in path.values():
                responses = op.get("responses", {})
                if "422" in responses:  # FastAPI's default; ours are 400, a mounted router may use 422
                    responses["422"] = error_responses(422)[422]
                # Any operation may refuse input (400) or name something that does not exist (404).
                for code in (400, 404):
                    responses.setdefault(str(code), error_responses(code)[code])
        for k in ("HTTPValidationError", "ValidationError"):
            schemas.pop(k, None)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
