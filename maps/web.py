"""The maps as web pages: ``/maps/…`` (the API includes ``router`` under ``/maps``) and ``/static``.

Pages are built per request from the database (a few hundred milliseconds for the sample
province) and are fully offline: every resource comes from ``/static`` (see ``maps.assets``). Errors
are problem+json like the rest of the API, produced here so the router behaves the same in any app:
an unknown commune is a 404, a bad year, measure or language a 422 — never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from html import escape
from typing import Annotated, Any

import folium
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from cropmrv.maps import assets, page
from cropmrv.maps.i18n import LANGS, t
from cropmrv.maps.page import MapOptions

log = logging.getLogger("cropmrv.maps")
router = APIRouter(tags=["web maps"])
PROBLEM = "application/problem+json"
Lang = Annotated[str | None, Query(description="vi (default) or en")]
YearQ = Annotated[str | None, Query(description="Year (1990–2100); default: the latest year with a run")]
CommuneQ = Annotated[str | None, Query(description="5-digit commune code (default: the whole province)")]

MAPS = (  # (key, path, label key)
    ("province", "/maps/province", "province_map"),
    ("planning-review", "/maps/planning-review", "planning_map"),
    ("irrigation", "/maps/irrigation", "irrigation_map"),
    ("pilot-sites", "/maps/pilot-sites", "pilot_map"),
)


def mount(app: FastAPI) -> None:
    """Serve ``maps/static`` at ``/static`` (the API factory calls this hook when it includes the router)."""
    if not any(getattr(r, "path", None) == "/static" for r in app.routes):
        app.mount("/static", StaticFiles(directory=assets.STATIC_DIR), name="static")



def _problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse({"type": "about:blank", "title": title, "status": status, "detail": detail},
                        status_code=status, media_type=PROBLEM)


class _Invalid(Exception):
    def __init__(self, detail: str):
        self.detail = detail


def _lang(lang: str | None) -> str:
    if lang is None or lang == "":
        return "vi"
    if lang not in LANGS:
        raise _Invalid(f"Ngôn ngữ không hỗ trợ '{lang}' (vi, en) / unsupported language '{lang}' (vi, en)")
    return lang


def _year(year: str | None) -> int | None:
    if year is None or year == "":
        return None
    try:
        y = int(year)
    except ValueError:
        raise _Invalid(f"Năm không hợp lệ '{year}' / invalid year '{year}' (1990–2100)") from None
    if not 1990 <= y <= 2100:
        raise _Invalid(f"Năm ngoài khoảng 1990–2100: {y} / year out of range 1990–2100: {y}")
    return y


def _options(request: Request, lang: str) -> MapOptions:
    s = request.app.state.settings
    return MapOptions(lang=lang, static_base="/static", api_base="", online_basemaps=s.online_basemaps,
                      served=True, path=request.url.path,
                      query=tuple((k, v) for k, v in request.query_params.items()))


def _render(request: Request, lang: str | None, build: Callable[[Any, Any, MapOptions], folium.Map]) -> Response:
    """Run a builder with a connection; turn domain errors into problems."""
    try:
        opts = _options(request, _lang(lang))
        with request.app.state.engine.connect() as conn:
            m = build(conn, request.app.state.settings, opts)
        html = page.finish(m, opts)
    except _Invalid as e:
        return _problem(422, "Unprocessable Content", e.detail)
    except LookupError as e:
        return _problem(404, "Not Found", str(e))
    except ValueError as e:
        return _problem(422, "Unprocessable Content", str(e))
    body = html.encode("utf-8")
    log.info("map %s: %d bytes", request.url.path, len(body))
    return HTMLResponse(body, headers={"X-Map-Bytes": str(len(body)), "Cache-Control": "no-cache"})


@router.get("/province", response_class=HTMLResponse, summary="Choropleth of emissions by commune")
def province_page(request: Request, year: YearQ = None, lang: Lang = None,
                  measure: Annotated[str, Query(description="total | per_ha")] = "total") -> Response:
    from cropmrv.maps.province import province_map

    try:
        y = _year(year)
    except _Invalid as e:
        return _problem(422, "Unprocessable Content", e.detail)
    return _render(request, lang, lambda c, s, o: province_map(c, s, y, measure, o))


@router.get("/commune/{code}", response_class=HTMLResponse, summary="Commune map: crop zones, planning, works, parcels")
def commune_page(request: Request, code: str, year: YearQ = None, lang: Lang = None) -> Response:
    from cropmrv.maps.commune import commune_map

    try:
        y = _year(year)
    except _Invalid as e:
        return _problem(422, "Unprocessable Content", e.detail)
    return _render(request, lang, lambda c, s, o: commune_map(c, s, code, y, o))


@router.get("/planning-review", response_class=HTMLResponse, summary="Crop zones in conflict with the land-use plan")
def planning_page(request: Request, commune: CommuneQ = None, lang: Lang = None,
                  min_share: Annotated[float, Query(gt=0, le=1)] = 0.1) -> Response:
    from cropmrv.maps.planning import planning_map

    return _render(request, lang, lambda c, s, o: planning_map(c, s, commune or None, min_share, o))


@router.get("/irrigation", response_class=HTMLResponse, summary="Irrigation works, service areas, AWD and drip potential")
def irrigation_page(request: Request, commune: CommuneQ = None, lang: Lang = None) -> Response:
    from cropmrv.maps.irrigation import irrigation_map

    return _render(request, lang, lambda c, s, o: irrigation_map(c, s, commune or None, o))


@router.get("/pilot-sites", response_class=HTMLResponse, summary="Pilot sites with baseline vs project results")
def pilots_page(request: Request, lang: Lang = None) -> Response:
    from cropmrv.maps.pilots import pilot_map

    return _render(request, lang, lambda c, s, o: pilot_map(c, s, o))


@router.get("/", response_class=HTMLResponse, summary="Every web map with its link")
def index(request: Request, lang: Lang = None) -> Response:
    try:
        lg = _lang(lang)
    except _Invalid as e:
        return _problem(422, "Unprocessable Content", e.detail)
    s = request.app.state.settings
    with request.app.state.engine.connect() as c:
        communes = c.execute(text(
            "SELECT u.code, u.name, count(z.id) AS n FROM admin_unit u LEFT JOIN crop_zone z ON z.commune_code = u.code "
            "WHERE u.level = 'commune' AND u.province_code = :p GROUP BY u.code, u.name "
            "ORDER BY count(z.id) DESC, u.name"), {"p": s.province_code}).all()
        from cropmrv.maps.province import years

        ys = years(c, s.province_code)
    return HTMLResponse(index_html(lg, s.province_name, ys, [(r.code, r.name, r.n) for r in communes]))


def index_html(lang: str, province_name: str, years: list[int], communes: list[tuple[str, str, int]]) -> str:
    q = "" if lang == "vi" else "?lang=en"
    amp = "" if lang == "vi" else "&lang=en"
    other = "en" if lang == "vi" else "vi"
    items = []
    for key, path, label in MAPS:
        extra = ""
        if key == "province" and years:
            extra = " — " + " ".join(f'<a href="{path}?year={y}{amp}">{y}</a>' for y in years)
        items.append(f'<li><a id="map-{key}" href="{path}{q}">{escape(t(label, lang))}</a>{extra}</li>')
    rows = "".join(f'<option value="{escape(c)}">{escape(n)} ({escape(c)}){f" — {k}" if k else ""}</option>'
                   for c, n, k in communes)
    first = communes[0][0] if communes else ""
    items.append(
        f'<li><a id="map-commune" href="/maps/commune/{escape(first)}{q}">{escape(t("commune_map", lang))}</a>: '
        f'<select id="commune-select" onchange="location.href=\'/maps/commune/\'+this.value+\'{q}\'">{rows}</select></li>')
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(t("index_title", lang))} — {escape(province_name)}</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/static/fonts/noto-sans.css"><link rel="stylesheet" href="/static/cropmrv/maps.css">
</head><body><div class="cmrv-index-page">
<h1>{escape(t("index_title", lang))} — {escape(province_name)}</h1>
<p><a href="/maps/?lang={other}">{escape(t("lang_other", lang))}</a></p>
<ul>{"".join(items)}</ul></div></body></html>"""
