"""What every map page shares: options, the title panel (language and year links), legends.

The panels are plain HTML controls placed over the map (our text only: names from the database are
escaped), styled by ``static/cropmrv/maps.css``. Links between pages only make sense when the API
serves the page, so a standalone file (``served=False``) shows the same panel without links.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from html import escape
from typing import Any
from urllib.parse import urlencode

import folium

from cropmrv.maps import assets
from cropmrv.maps.i18n import check_lang, t

OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_PREFIX = "https://tile.openstreetmap.org/"


@dataclass(frozen=True)
class MapOptions:
    """How a page is built.

    ``api_base``: where the browser reaches the API ("" = the page's own server; None = no API, as
    in a standalone file: no vector tiles and no review form). ``path``/``query`` are the page's
    own URL parts, used to build the language and year links.
    """

    lang: str = "vi"
    static_base: str = "/static"
    api_base: str | None = ""
    online_basemaps: bool = False
    served: bool = True
    path: str = ""
    query: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        check_lang(self.lang)

    def with_(self, **kw: Any) -> MapOptions:
        return replace(self, **kw)

    def link(self, **changes: Any) -> str:
        q = dict(self.query)
        q.update({k: str(v) for k, v in changes.items() if v is not None})
        q = {k: v for k, v in q.items() if v != ""}
        return self.path + ("?" + urlencode(q) if q else "")

    @property
    def allowed(self) -> tuple[str, ...]:
        """URL prefixes the page may load from: only the online tile server when configured."""
        return (OSM_PREFIX,) if self.online_basemaps else ()


def start_map(opts: MapOptions, bounds: list[list[float]] | None, *, vectorgrid: bool = False,
              zoom: int = 9) -> folium.Map:
    center = [12.7, 108.3] if not bounds else [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
    m = assets.new_map(opts.static_base, vectorgrid=vectorgrid, location=center, zoom_start=zoom)
    if bounds:
        m.fit_bounds(bounds, max_zoom=16)
    return m


def title_panel(m: folium.Map, opts: MapOptions, title: str, subtitle: str = "",
                extra_html: str = "") -> None:
    """The top-left panel: title, language switch (served pages only) and any extra controls."""
    lang = opts.lang
    other = "en" if lang == "vi" else "vi"
    switch = (f'<a class="cmrv-lang" href="{escape(opts.link(lang=other))}">{t("lang_other", lang)}</a>'
              if opts.served else "")
    index = (f'<a class="cmrv-index" href="{escape(_index_link(opts))}">{t("maps", lang)}</a> · '
             if opts.served else "")
    html = (f'<div class="cmrv-panel cmrv-title" id="cmrv-title"><div class="cmrv-h">{escape(title)}</div>'
            f'<div class="cmrv-sub">{index}{escape(subtitle)} {switch}</div>{extra_html}</div>')
    assets.Script(_control_js(html, "topleft")).add_to(m)


def _index_link(opts: MapOptions) -> str:
    return "/maps/" + (f"?lang={opts.lang}" if opts.lang != "vi" else "")


def legend(m: folium.Map, title: str, items: list[tuple[str, str]], *, shape: str = "box",
           note: str = "", element_id: str = "cmrv-legend") -> None:
    """A bottom-right legend: (css colour, label) rows. ``shape`` box | line | dot."""
    rows = "".join(f'<div class="cmrv-row"><span class="cmrv-key cmrv-{shape}" style="background:{c}"></span>'
                   f"{escape(label)}</div>" for c, label in items)
    html = (f'<div class="cmrv-panel cmrv-legend" id="{element_id}"><div class="cmrv-h2">{escape(title)}</div>'
            f'{rows}{f"<div class=cmrv-note>{escape(note)}</div>" if note else ""}</div>')
    assets.Script(_control_js(html, "bottomright")).add_to(m)


def _control_js(html: str, position: str) -> str:
    import json

    return ("(function(){var c = L.control({position: " + json.dumps(position) + "}); c.onAdd = function(){"
            "var d = L.DomUtil.create('div'); d.innerHTML = " + json.dumps(html, ensure_ascii=False) + "; var e = d.firstChild;"
            "L.DomEvent.disableClickPropagation(e); L.DomEvent.disableScrollPropagation(e); return e;};"
            " c.addTo({map});})();")


def finish(m: folium.Map, opts: MapOptions) -> str:
    """Add the layer switcher and return the checked HTML (no outside reference)."""
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    return assets.render_html(m, opts.allowed)
