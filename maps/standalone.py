"""Build any map by kind, and write it as a standalone HTML file that works offline from disk.

``cropmrv map KIND -o FILE`` calls :func:`write_map`. The file's scripts, styles and fonts are
copied beside it (``FILE_files/``) and linked relatively, so the page opens from a USB stick with no
network. Without ``api_base`` the page has no parcel tiles and no review form (both need the API);
with it (``--api http://server:8000``) they point at that server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import folium
from sqlalchemy import Connection

from cropmrv.maps import assets
from cropmrv.maps.page import MapOptions

KINDS = ("province", "commune", "planning-review", "irrigation", "pilot-sites")


def build_map(conn: Connection, settings: Any, kind: str, opts: MapOptions, *, year: int | None = None,
              commune: str | None = None, measure: str = "total") -> folium.Map:
    """The ``folium.Map`` of ``kind`` (see :data:`KINDS`)."""
    if kind == "province":
        from cropmrv.maps.province import province_map

        return province_map(conn, settings, year, measure, opts)
    if kind == "commune":
        from cropmrv.maps.commune import commune_map

        if not commune:
            raise ValueError("Bản đồ xã cần --commune MÃ / the commune map needs --commune CODE")
        return commune_map(conn, settings, commune, year, opts)
    if kind == "planning-review":
        from cropmrv.maps.planning import planning_map

        return planning_map(conn, settings, commune, opts=opts)
    if kind == "irrigation":
        from cropmrv.maps.irrigation import irrigation_map

        return irrigation_map(conn, settings, commune, opts)
    if kind == "pilot-sites":
        from cropmrv.maps.pilots import pilot_map

        return pilot_map(conn, settings, opts)
    raise ValueError(f"Loại bản đồ không hợp lệ '{kind}' / unknown map kind '{kind}' ({', '.join(KINDS)})")


def write_map(settings: Any, kind: str, path: Path, *, year: int | None = None, commune: str | None = None,
              lang: str = "vi", measure: str = "total", api_base: str | None = None,
              engine: Any = None) -> dict[str, Any]:
    """Write ``path`` (+ its assets folder) and return ``{"path", "assets", "bytes"}``."""
    from cropmrv.db.engine import make_engine
    from cropmrv.maps.page import finish

    path = Path(path)
    opts = MapOptions(lang=lang, static_base=assets.assets_folder_name(path), api_base=api_base,
                      online_basemaps=settings.online_basemaps, served=False)
    eng = engine or make_engine(settings)
    try:
        with eng.connect() as conn:
            m = build_map(conn, settings, kind, opts, year=year, commune=commune, measure=measure)
        html = finish(m, opts)
    finally:
        if engine is None:
            eng.dispose()
    folder = assets.write_standalone(html, path, opts.allowed)
    return {"path": path, "assets": folder, "bytes": len(html.encode("utf-8"))}
