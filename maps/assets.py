"""Local copies of every script, style sheet and font the maps load, and the checks that keep them local.

Why: folium's default page pulls Leaflet, jQuery, Bootstrap and Font Awesome from four CDNs; with no
internet that page is blank (``L is not defined``). Provincial networks are not always online, so
every map is built with :func:`new_map`, which points folium at ``maps/static/`` (served by the API
at ``/static`` or copied beside a standalone file), and :func:`external_refs` proves nothing else
is referenced. The instance attributes ``default_js``/``default_css`` are set per map instead of
patching folium's class defaults, so importing this module changes nothing for other code.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import folium
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

STATIC_DIR = Path(__file__).resolve().parent / "static"

# folium's own resource names → our files (None: not needed and not shipped).
FOLIUM_JS: dict[str, str | None] = {
    "leaflet": "leaflet/leaflet.js",
    "jquery": "jquery/jquery.min.js",
    "bootstrap": "bootstrap/bootstrap.bundle.min.js",
    "awesome_markers": "awesome-markers/leaflet.awesome-markers.js",
}
FOLIUM_CSS: dict[str, str | None] = {
    "leaflet_css": "leaflet/leaflet.css",
    "bootstrap_css": "bootstrap/bootstrap.min.css",
    "glyphicons_css": None,  # Bootstrap 3 glyphicons from a dead CDN; folium's icons use Font Awesome
    "awesome_markers_font_css": "fontawesome/css/all.min.css",
    "awesome_markers_css": "awesome-markers/leaflet.awesome-markers.css",
    "awesome_rotate_css": None,  # not in any npm package; only for rotated awesome markers, unused here
}
OUR_CSS = ("fonts/noto-sans.css", "cropmrv/maps.css")
OUR_JS = ("cropmrv/maps.js",)
VECTORGRID_JS = "vectorgrid/Leaflet.VectorGrid.bundled.min.js"

_URL = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s"'<>)]*""")
# Strings that look like URLs but are never fetched: XML namespaces inside Leaflet/SVG code,
# OGC URIs, and the attribution links (an <a href> the user may click; nothing is loaded).
_NOT_FETCHED = ("http://www.w3.org/", "http://www.opengis.net/", "https://www.openstreetmap.org/copyright",
                "https://opendatacommons.org/licenses/odbl/", "https://leafletjs.com")


def _check_folium_names() -> None:
    """Fail loudly if a folium upgrade adds a resource we do not map (it would load from a CDN)."""
    import folium.folium as ff

    js = {k for k, _ in ff._default_js} - set(FOLIUM_JS)
    css = {k for k, _ in ff._default_css} - set(FOLIUM_CSS)
    if js or css:
        raise RuntimeError(f"folium loads resources with no local copy: {sorted(js | css)}; "
                           "add them to maps/static and maps/assets.py")


def local_resources(static_base: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """folium's (name, url) lists rewritten to ``static_base`` (``/static`` or a relative folder)."""
    _check_folium_names()
    base = static_base.rstrip("/")
    js = [(k, f"{base}/{v}") for k, v in FOLIUM_JS.items() if v]
    css = [(k, f"{base}/{v}") for k, v in FOLIUM_CSS.items() if v]
    return js, css


class LocalAssets(JSCSSMixin):
    """Our font, style sheet and script (and VectorGrid when a map shows vector tiles)."""

    _template = Template("")

    def __init__(self, static_base: str, vectorgrid: bool = False):
        super().__init__()
        self._name = "LocalAssets"
        base = static_base.rstrip("/")
        self.default_css = [(f"cropmrv_css_{i}", f"{base}/{p}") for i, p in enumerate(OUR_CSS)]
        js = [(f"cropmrv_js_{i}", f"{base}/{p}") for i, p in enumerate(OUR_JS)]
        if vectorgrid:
            js.insert(0, ("vectorgrid", f"{base}/{VECTORGRID_JS}"))
        self.default_js = js


def new_map(static_base: str = "/static", *, vectorgrid: bool = False, **kwargs: Any) -> folium.Map:
    """A ``folium.Map`` with no tile layer and every resource local.

    ``static_base`` is ``/static`` when the API serves the page, or the folder written beside a
    standalone file. Keyword arguments go to ``folium.Map`` (``tiles`` defaults to None: the offline
    basemap is drawn from our own vectors; online tile layers are added only when configured).
    """
    kwargs.setdefault("tiles", None)
    kwargs.setdefault("control_scale", True)
    kwargs.setdefault("prefer_canvas", False)
    min_zoom, max_zoom = kwargs.pop("min_zoom", 5), kwargs.pop("max_zoom", 20)
    m = folium.Map(**kwargs)
    # folium hands min/max zoom to its tile layer; with no tile layer they must be map options, or
    # Leaflet takes them from the layers (a parcel layer from zoom 15 would lock the map at 15+).
    m.options.update(min_zoom=min_zoom, max_zoom=max_zoom)
    m.default_js, m.default_css = local_resources(static_base)
    # no favicon request (a 404 in the console of an offline page is noise)
    m.get_root().header.add_child(folium.Element('<link rel="icon" href="data:,">'), name="favicon")
    LocalAssets(static_base, vectorgrid=vectorgrid).add_to(m)
    return m


def external_refs(html: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """Every absolute http(s) or protocol-relative URL in ``html`` that a browser might fetch.

    ``allowed`` lists URL prefixes that are expected (online tile layers when configured).
    """
    out = []
    for u in _URL.findall(html):
        if u.startswith(_NOT_FETCHED) or u.startswith(allowed):
            continue
        out.append(u)
    return sorted(set(out))


def assert_offline(html: str, allowed: tuple[str, ...] = ()) -> None:
    refs = external_refs(html, allowed)
    if refs:
        raise AssertionError("Bản đồ tham chiếu tài nguyên bên ngoài / the map references outside resources: "
                             + ", ".join(refs[:10]))


def render_html(m: folium.Map, allowed: tuple[str, ...] = ()) -> str:
    """The page's HTML, checked to reference nothing outside (except ``allowed`` tile servers)."""
    html = m.get_root().render()
    assert_offline(html, allowed)
    return html


def write_standalone(m_or_html: folium.Map | str, path: Path, allowed: tuple[str, ...] = ()) -> Path:
    """Write an HTML file that works offline from disk: the static folder is copied beside it.

    The map must have been built with ``static_base=assets_folder_name(path)`` so its links are
    relative to the file. Returns the assets folder.
    """
    path = Path(path)
    html = m_or_html if isinstance(m_or_html, str) else render_html(m_or_html, allowed)
    assert_offline(html, allowed)
    folder = path.parent / assets_folder_name(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(STATIC_DIR, folder, ignore=shutil.ignore_patterns("*.md"))
    shutil.copy2(STATIC_DIR / "THIRD_PARTY.md", folder / "THIRD_PARTY.md")
    path.write_text(html, encoding="utf-8")
    return folder


def assets_folder_name(path: Path) -> str:
    """``map.html`` → ``map_files`` (like a browser's "save page")."""
    return f"{Path(path).stem}_files"


class Html(MacroElement):
    """A raw HTML block in the page body (controls, legends); its text is ours, never user input."""

    _template = Template("{% macro html(this, kwargs) %}{{ this.html }}{% endmacro %}")

    def __init__(self, html: str):
        super().__init__()
        self._name = "Html"
        self.html = html


class Script(MacroElement):
    """A raw script run after the map exists; ``{map}`` in the code is replaced by the map's JS name."""

    _template = Template("{% macro script(this, kwargs) %}{{ this.code }}{% endmacro %}")

    def __init__(self, code: str):
        super().__init__()
        self._name = "Script"
        self.raw = code

    def render(self, **kwargs: Any) -> None:
        self.code = self.raw.replace("{map}", self._parent.get_name())
        super().render(**kwargs)
