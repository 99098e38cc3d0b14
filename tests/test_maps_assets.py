"""The local assets: every file folium and our maps load is shipped with its licence, nothing points at
a CDN, and online tiles appear only when configured."""

from __future__ import annotations

import re

import folium
import pytest

from cropmrv.maps import assets, page
from cropmrv.maps.page import MapOptions
from cropmrv.maps.province import province_map
from cropmrv.settings import Settings


def test_every_local_resource_exists_with_a_licence():
    names = [v for v in (*assets.FOLIUM_JS.values(), *assets.FOLIUM_CSS.values()) if v]
    names += [*assets.OUR_CSS, *assets.OUR_JS, assets.VECTORGRID_JS]
    third = (assets.STATIC_DIR / "THIRD_PARTY.md").read_text(encoding="utf-8")
    for n in names:
        assert (assets.STATIC_DIR / n).is_file(), n
        top = n.split("/")[0]
        if top != "cropmrv":
            assert f"`{top}/`" in third, top
    for lic in ("leaflet/LICENSE", "jquery/LICENSE.txt", "bootstrap/LICENSE", "awesome-markers/LICENSE",
                "fontawesome/LICENSE.txt", "fonts/LICENSE"):
        assert (assets.STATIC_DIR / lic).is_file(), lic
    assert "1.9.4" in (assets.STATIC_DIR / "leaflet/leaflet.js").read_text(encoding="utf-8")[-400:]


def test_fonts_and_css_urls_resolve_locally():
    for css in ("fonts/noto-sans.css", "fontawesome/css/all.min.css", "leaflet/leaflet.css"):
        path = assets.STATIC_DIR / css
        for ref in re.findall(r"url\(['\"]?([^)'\"]+)['\"]?\)", path.read_text(encoding="utf-8")):
            if ref.startswith(("data:", "#")) or ref.endswith(".ttf"):  # "#default#VML": old-IE behaviour
                continue  # fontawesome lists .ttf after .woff2 as a fallback never fetched by current browsers
            assert (path.parent / ref).resolve().is_file(), (css, ref)
    vi = (assets.STATIC_DIR / "fonts/noto-sans.css").read_text(encoding="utf-8")
    assert "U+1EA0-1EF9" in vi  # the Vietnamese letters with diacritics (ạ … ỹ)


def test_new_map_references_nothing_outside():
    m = assets.new_map(location=[12.7, 108.3], zoom_start=9)
    html = m.get_root().render()
    assert assets.external_refs(html) == []
    assert 'src="/static/leaflet/leaflet.js"' in html and "/static/fonts/noto-sans.css" in html
    rel = assets.new_map("tinh_files", vectorgrid=True, location=[12.7, 108.3])
    html = rel.get_root().render()
    assert 'src="tinh_files/vectorgrid/Leaflet.VectorGrid.bundled.min.js"' in html
    # a plain folium map would load four CDNs: the check sees them
    plain = folium.Map(location=[12.7, 108.3]).get_root().render()
    refs = assets.external_refs(plain)
    assert any("cdn.jsdelivr.net" in u for u in refs) and any("tile.openstreetmap.org" in u for u in refs)
    with pytest.raises(AssertionError, match="outside"):
        assets.assert_offline(plain)


def test_online_tiles_only_when_configured(conn):
    s = Settings(online_basemaps=True)
    off = page.finish(province_map(conn, s, opts=MapOptions()), MapOptions())
    assert "tile.openstreetmap.org" not in off
    opts = MapOptions(online_basemaps=True)
    on_map = province_map(conn, s, opts=opts)
    html = page.finish(on_map, opts)
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in html
    assert assets.external_refs(html, opts.allowed) == []
    assert assets.external_refs(html) == ["https://tile.openstreetmap.org/{z}/{x}/{y}.png"]
    tile_layer = next(c for c in on_map._children.values() if isinstance(c, folium.TileLayer))
    assert tile_layer.show is False  # offered, unticked: nothing is fetched until the user asks


def test_province_map_without_runs_shows_every_commune_grey(conn):
    html = page.finish(province_map(conn, Settings(), opts=MapOptions(lang="en")), MapOptions(lang="en"))
    assert html.count('"fillColor": "#d9d9d9"') == 102
    assert "No estimate run for" in html
