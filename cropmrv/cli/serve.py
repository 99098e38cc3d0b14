"""`cropmrv serve`: run the API (OGC Features + tiles, /api/v1, maps) with uvicorn."""

from __future__ import annotations

import typer

from cropmrv.cli.common import console, user_errors


def serve(
    host: str = typer.Option(None, "--host", help="Interface to listen on (default: settings.host, 127.0.0.1)."),
    port: int = typer.Option(None, "--port", help="TCP port (default: settings.port, 8000)."),
    workers: int = typer.Option(1, "--workers", min=1, help="uvicorn worker processes (each has its own pool)."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
) -> None:
    """Serve the HTTP API: OGC API – Features and vector tiles at /, MRV endpoints at /api/v1/."""
    import uvicorn

    from cropmrv.settings import get_settings

    with user_errors():
        s = get_settings()
        h, p = host or s.host, port or s.port
        console.print(f"cropmrv API on http://{h}:{p}/  (OpenAPI: /openapi.json, docs: /docs)")
        uvicorn.run("cropmrv.api.app:create_app", factory=True, host=h, port=p, workers=workers,
                    log_level=log_level, proxy_headers=True)
