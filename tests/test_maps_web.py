"""The web maps over HTTP (the real app factory, uvicorn on 127.0.0.1): every page answers, is
offline (no outside URL), is light, speaks Vietnamese by default and English on request, and
errors are problems (404 unknown commune, 422 bad year) — never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cropmrv.maps import assets
from cropmrv.settings import Settings

from .api_helpers import get, serve
from .test_maps_seed import COMMUNE, maps_database

PAGES = ["/maps/province", "/maps/province?year=2024&measure=per_ha", f"/maps/commune/{COMMUNE}",
         "/maps/planning-review", f"/maps/planning-review?commune={COMMUNE}", "/maps/irrigation",
         "/maps/pilot-sites"]


@pytest.fixture(scope="module")
def maps_db(pg_cluster) -> Iterator[tuple[Settings, dict]]:
    with maps_database(pg_cluster, "maps_web") as db:
        yield db


@pytest.fixture(scope="module")
def base(maps_db) -> Iterator[str]:
    with serve(maps_db[0]) as url:
        yield url


@pytest.mark.parametrize("path", PAGES)
def test_page_is_offline_and_light(base, path):
    r = get(base + path)
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert assets.external_refs(html) == []
    assert "/static/leaflet/leaflet.js" in html and "cdn." not in html
    assert int(r.headers["x-map-bytes"]) == len(r.content) < 1_500_000
    assert '<html lang' in html or "<!DOCTYPE html>" in html


def test_every_static_file_the_pages_name_is_served(base):
    import re

    html = get(base + f"/maps/commune/{COMMUNE}").text
    urls = set(re.findall(r'(?:src|href)="(/static/[^"]+)"', html))
    assert {"/static/leaflet/leaflet.js", "/static/vectorgrid/Leaflet.VectorGrid.bundled.min.js",
            "/static/fonts/noto-sans.css", "/static/cropmrv/maps.js"} <= urls
    for u in urls:
        assert get(base + u).status_code == 200, u
    for css in ("/static/fonts/noto-sans.css", "/static/fontawesome/css/all.min.css"):
        text = get(base + css).text
        folder = css.rsplit("/", 1)[0]
        for ref in re.findall(r"url\(([^)]+\.woff2)\)", text):
            assert get(base + _join(folder, ref)).status_code == 200, ref


def _join(folder: str, ref: str) -> str:
    parts = folder.split("/")
    for p in ref.split("/"):
        if p == "..":
            parts.pop()
        elif p != ".":
            parts.append(p)
    return "/".join(parts)


def test_index_lists_every_map(base):
    r = get(base + "/maps/")
    assert r.status_code == 200
    for path in ("/maps/province", "/maps/planning-review", "/maps/irrigation", "/maps/pilot-sites",
                 f"/maps/commune/{COMMUNE}"):
        assert f'href="{path}' in r.text
    assert "Bản đồ phục vụ rà soát" in r.text and "?year=2024" in r.text
    en = get(base + "/maps/?lang=en").text
    assert "Maps for reviewers" in en and "/maps/pilot-sites?lang=en" in en


def text_of(path: str) -> str:
    """The page with JSON \\uXXXX escapes decoded (folium writes its data with ensure_ascii)."""
    import re

    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), get(path).text)


def test_vietnamese_by_default_english_on_request(base):
    vi = text_of(base + "/maps/province?year=2025")
    en = text_of(base + "/maps/province?year=2025&lang=en")
    assert "Phát thải theo xã" in vi and "Tổng phát thải" in vi and "không có số liệu" in vi
    assert "Emissions by commune" in en and "Total emissions" in en and "no data" in en
    assert "Phát thải theo xã" not in en
    # Vietnamese numbers: thousands with '.', decimals with ','; English the other way round
    import re

    assert re.search(r'"total_txt": "\d{1,3}(\.\d{3})*,\d"', vi)
    assert re.search(r'"total_txt": "\d{1,3}(,\d{3})*\.\d"', en)
    commune = text_of(base + f"/maps/commune/{COMMUNE}")
    assert "cà phê" in commune and "lúa" in commune and "sắn" in commune and "Cư M" in commune
    assert "coffee" in get(base + f"/maps/commune/{COMMUNE}?lang=en").text


def test_year_selector_links(base):
    html = get(base + "/maps/province?year=2024").text
    assert "/maps/province?year=2025" in html and "/maps/province?year=2024" in html
    assert "measure=per_ha" in html


def test_commune_page_uses_vector_tiles_not_embedded_parcels(base):
    html = get(base + f"/maps/commune/{COMMUNE}").text
    assert "/collections/parcels/tiles/WebMercatorQuad/{z}/{x}/{y}" in html
    assert '"parcel_no"' not in html.split("L.vectorGrid")[0]  # parcels are not GeoJSON in the page
    tile = get(base + "/collections/parcels/tiles/WebMercatorQuad/0/0/0")
    assert tile.status_code == 200


@pytest.mark.parametrize("path,status", [
    ("/maps/commune/99999", 404), ("/maps/commune/abc", 404), ("/maps/province?year=1800", 422),
    ("/maps/province?year=abc", 422), ("/maps/province?lang=fr", 422), ("/maps/province?measure=x", 422),
    (f"/maps/commune/{COMMUNE}?year=20x5", 422), ("/maps/planning-review?commune=99999", 404),
    ("/maps/irrigation?commune=00000", 404), ("/maps/?lang=de", 422),
])
def test_errors_are_problems(base, path, status):
    r = get(base + path)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and " / " in body["detail"]  # bilingual


def test_year_without_run_renders_a_notice(base):
    r = get(base + "/maps/province?year=2030")
    assert r.status_code == 200
    assert "Chưa có kết quả tính cho năm" in r.text
