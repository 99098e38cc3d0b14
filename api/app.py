"""The FastAPI application factory.

``create_app(settings)`` builds one app; the database engine is created in the lifespan (one per
process, so uvicorn workers never share a pool across a fork) and disposed on shutdown. Routers
are listed by module path in ``ROUTERS``: an area that adds endpoints adds one line there (imported
when an app is built, so importing this module stays light).
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cropmrv.api.errors import add_exception_handlers, install_openapi
from cropmrv.api.ogc import documents, features, queries, tile_routes, tiles
from cropmrv.settings import Settings, get_settings

log = logging.getLogger("cropmrv.api")

# (module, attribute, prefix).
ROUTERS: list[tuple[str, str, str]] = [
    ("cropmrv.api.routes.health", "router", "/api/v1"),
    ("cropmrv.api.routes.calculate", "router", "/api/v1"),
    ("cropmrv.api.routes.runs", "router", "/api/v1"),
    ("cropmrv.api.routes.reviews", "router", "/api/v1"),
    ("cropmrv.api.routes.pilots", "router", "/api/v1"),
    ("cropmrv.api.routes.uploads", "router", "/api/v1"),
    ("cropmrv.api.routes.reporting", "router", "/api/v1"),
    ("cropmrv.api.routes.submissions", "router", "/api/v1"),
    ("cropmrv.api.routes.exports", "router", "/api/v1"),
    ("cropmrv.maps.web", "router", "/maps"),  # web maps (+ /static mounted by that module)
]


class Prepare:
    """Pure ASGI middleware (no per-request task overhead):

    * makes sure the engine and caches exist even when a client skips the lifespan (some test
      transports do);
    * answers HEAD on every GET route by running it as GET and dropping the body (keeping
      Content-Length). Clients probe with HEAD (GDAL's /vsicurl, caches); tipg answers 405.
    """

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI):
        self.app = app
        self.fastapi_app = fastapi_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ensure_state(self.fastapi_app)
        if scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_no_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_no_body)


def _include(app: FastAPI, module: str, attr: str, prefix: str) -> None:
    mod = importlib.import_module(module)
    app.include_router(getattr(mod, attr), prefix=prefix)
    mount = getattr(mod, "mount", None)  # optional hook: static files and the like
    if callable(mount):
        mount(app)


def create_app(settings: Settings | None = None) -> FastAPI:
    s = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ensure_state(app)
        yield
        app.state.engine.dispose()

    app = FastAPI(
        title=f"cropmrv API — {s.province_name}",
        version="0.1.0",
        description="OGC API – Features (Parts 1–3) and vector tiles for the crop-production GHG layers, "
                    "and the MRV endpoints under /api/v1/.",
        lifespan=lifespan,
    )
    app.state.settings = s
    add_exception_handlers(app)
    app.include_router(features.make_router(s))
    app.include_router(tile_routes.make_router())
    for module, attr, prefix in ROUTERS:
        _include(app, module, attr, prefix)
    app.add_middleware(Prepare, fastapi_app=app)
    install_openapi(app)
    return app


def ensure_state(app: FastAPI) -> None:
    """Create the engine and caches from ``app.state.settings`` once (idempotent; no I/O)."""
    if getattr(app.state, "_ready", False):
        return
    from cropmrv.db.engine import make_engine

    s = app.state.settings
    # JIT off: the API runs many short queries; PostgreSQL's JIT would spend 50–100 ms compiling
    # any count or filter the planner thinks is expensive, more than the query itself.
    # The pool holds as many connections as requests usually run at once: an overflow connection
    # is closed on return, and a new session pays ~70 ms loading PostGIS on its first query (p99).
    # No pre-ping: it is one more round trip per request; a dropped connection is detected on use
    # and the pool invalidated, and pool_recycle retires old ones.
    app.state.engine = make_engine(s, pool_size=24, max_overflow=16, pool_recycle=1800, pool_pre_ping=False,
                                   connect_args={"options": "-c jit=off"})
    app.state.counts = queries.CountCache()
    app.state.tiles = tiles.TileCache(max_bytes=tile_cache_bytes())
    app.state.extents = documents.ExtentCache()
    app.state._ready = True


def tile_cache_bytes() -> int:
    """Tile cache size; CROPMRV_TILE_CACHE_MB=0 turns it off (benchmarks measure both)."""
    return int(float(os.environ.get("CROPMRV_TILE_CACHE_MB", "64")) * 2**20)
