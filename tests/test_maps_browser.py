"""The web maps in a real browser: Debian's headless Chromium, driven through the DevTools protocol.

Chromium resolves no host name but 127.0.0.1 (``--host-resolver-rules``), and every request the page
makes is recorded (``Network.requestWillBeSent``), so "offline" is proven, not assumed. Console
errors, uncaught exceptions and failed loads are collected too. The screenshot is checked by its
pixels: the colours of the layers each map must show (choropleth classes, crops, conflict status,
AWD candidates, pilot sites), not only the HTML. The planning-review form is filled and submitted
in the page; the review must then be in the database and the zone recoloured.

Set ``CROPMRV_MAP_SHOTS=/some/dir`` to keep the screenshots and a JSON of load times and sizes.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websocket
from PIL import Image
from sqlalchemy import text

from cropmrv.db.engine import make_engine
from cropmrv.maps import province, styles
from cropmrv.maps.commune import PARCEL_COLOR
from cropmrv.settings import Settings

from .api_helpers import serve
from .conftest import free_port
from .test_maps_seed import COMMUNE, EXPECTED_AWD, EXPECTED_CONFLICTS, maps_database

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WIDTH, HEIGHT = 1200, 850
RESULTS: dict[str, dict[str, Any]] = {}


class Browser:
    """One headless Chromium and one page, spoken to over the DevTools websocket."""

    def __init__(self, allowed_prefixes: tuple[str, ...]):
        self.allowed = allowed_prefixes
        self.dir = tempfile.mkdtemp(prefix="cropmrv-chromium-")
        port = free_port()
        self.log = open(Path(self.dir) / "stderr.log", "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-default-apps", "--disable-extensions", "--no-default-browser-check",
             "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
             f"--user-data-dir={self.dir}/profile", f"--remote-debugging-port={port}",
             "--remote-allow-origins=*", f"--window-size={WIDTH},{HEIGHT}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=self.log)
        ws_url = None
        for _ in range(300):
            try:
                pages = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=2).json()
                ws_url = next((p["webSocketDebuggerUrl"] for p in pages if p.get("type") == "page"), None)
                if ws_url:
                    break
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.1)
        if not ws_url:
            self.close()
            raise RuntimeError("Chromium did not open its DevTools port")
        self.ws = websocket.create_connection(ws_url, timeout=60, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.call(f"{domain}.enable")
        self.call("Network.setCacheDisabled", {"cacheDisabled": True})
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False})

    # --- protocol ------------------------------------------------------------------------------
    def call(self, method: str, params: dict | None = None) -> dict:
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params or {}}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def pump(self, seconds: float) -> None:
        """Read events for ``seconds``."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.ws.settimeout(max(0.01, end - time.monotonic()))
            try:
                msg = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                break
            if "method" in msg:
                self.events.append(msg)
        self.ws.settimeout(60)

    def evaluate(self, expression: str) -> Any:
        r = self.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True})
        if "exceptionDetails" in r:
            raise RuntimeError(f"page script failed: {r['exceptionDetails']}")
        return r["result"].get("value")

    # --- page ------------------------------------------------------------------------------------
    def open(self, url: str, settle: float = 1.0, timeout: float = 60) -> float:
        """Navigate, wait for the load event and a quiet network; returns the load time in ms."""
        self.events.clear()
        self.call("Page.navigate", {"url": url})
        end = time.monotonic() + timeout
        while not any(e["method"] == "Page.loadEventFired" for e in self.events):
            if time.monotonic() > end:
                raise TimeoutError(f"{url} did not load")
            self.pump(0.2)
        self.wait_idle(settle, end)
        return float(self.evaluate(
            "(function(){var n = performance.getEntriesByType('navigation')[0];"
            " return n ? n.loadEventEnd - n.startTime : -1;})()"))

    def wait_idle(self, settle: float, end: float) -> None:
        while True:
            pending = self.pending()
            self.pump(settle)
            if not pending and not self.pending() or time.monotonic() > end:
                return

    def pending(self) -> set[str]:
        started = {e["params"]["requestId"] for e in self.events if e["method"] == "Network.requestWillBeSent"}
        done = {e["params"]["requestId"] for e in self.events
                if e["method"] in ("Network.loadingFinished", "Network.loadingFailed")}
        return started - done

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e["method"] == "Network.requestWillBeSent"]

    def outside_requests(self) -> list[str]:
        return [u for u in self.requests() if not u.startswith(self.allowed) and not u.startswith("data:")]

    def errors(self) -> list[str]:
        out = []
        for e in self.events:
            m, p = e["method"], e["params"]
            if m == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                out.append("exception: " + (d.get("exception", {}).get("description") or d.get("text", "")))
            elif m == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
                out.append("console: " + " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"]))
            elif m == "Log.entryAdded" and p["entry"]["level"] == "error":
                out.append(f"log: {p['entry']['text']} {p['entry'].get('url', '')}")
            elif m == "Network.loadingFailed" and not p.get("canceled"):
                out.append(f"failed load: {p.get('errorText')}")
            elif m == "Network.responseReceived" and p["response"]["status"] >= 400:
                out.append(f"HTTP {p['response']['status']}: {p['response']['url']}")
        return out

    def screenshot(self) -> Image.Image:
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        return Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")

    def click(self, x: float, y: float) -> None:
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})

    def close(self) -> None:
        try:
            if getattr(self, "ws", None):
                self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.log.close()
            shutil.rmtree(self.dir, ignore_errors=True)


# --- pixels -------------------------------------------------------------------------------------

def count_color(img: Image.Image, rgb: tuple[int, int, int], tol: int = 10) -> int:
    """Pixels within ``tol`` of ``rgb`` on every channel."""
    import numpy as np

    a = np.asarray(img, dtype=np.int16)
    return int((np.abs(a - np.asarray(rgb, dtype=np.int16)) <= tol).all(axis=2).sum())


def not_blank(img: Image.Image) -> None:
    colors = img.getcolors(maxcolors=1 << 20) or []
    assert len(colors) > 50, "the screenshot is (nearly) one colour"
    white = sum(n for n, c in colors if c == (255, 255, 255))
    assert white < 0.97 * img.width * img.height, "the screenshot is (nearly) blank"


def keep(name: str, img: Image.Image, **info: Any) -> None:
    RESULTS[name] = info
    out = os.environ.get("CROPMRV_MAP_SHOTS")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        img.save(Path(out) / f"{name}.png")
        (Path(out) / "results.json").write_text(json.dumps(RESULTS, indent=1, ensure_ascii=False))


# --- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def seeded(pg_cluster) -> Iterator[tuple[Settings, dict]]:
    with maps_database(pg_cluster, "maps_browser") as db:
        yield db


@pytest.fixture(scope="module")
def server(seeded) -> Iterator[str]:
    with serve(seeded[0]) as url:
        yield url


@pytest.fixture
def browser(server) -> Iterator[Browser]:
    b = Browser((server + "/",))
    try:
        yield b
    finally:
        b.close()


def visit(browser: Browser, url: str) -> tuple[Image.Image, float]:
    ms = browser.open(url)
    assert browser.outside_requests() == [], browser.outside_requests()
    assert browser.errors() == [], browser.errors()
    assert browser.evaluate("typeof L") == "object"  # Leaflet came from /static
    img = browser.screenshot()
    not_blank(img)
    return img, ms


def page_bytes(browser: Browser, path: str) -> int:
    for e in browser.events:
        if e["method"] == "Network.responseReceived" and e["params"]["response"]["url"].endswith(path):
            rid = e["params"]["requestId"]
            for f in browser.events:
                if f["method"] == "Network.loadingFinished" and f["params"]["requestId"] == rid:
                    return int(f["params"]["encodedDataLength"])
    return -1


# --- tests --------------------------------------------------------------------------------------

def test_province_choropleth(browser, server):
    img, ms = visit(browser, server + "/maps/province?year=2025")
    opacity = province.FILL_OPACITY
    found = {c: count_color(img, styles.over_white(c, opacity)) for c in province.PALETTE}
    assert sum(1 for n in found.values() if n > 150) >= 4, found  # at least four classes drawn
    grey = count_color(img, styles.over_white(province.NO_DATA, opacity))
    assert grey > 2000  # the communes without data
    assert browser.evaluate("document.querySelectorAll('path.leaflet-interactive').length") >= 102
    legend = browser.evaluate("document.getElementById('cmrv-legend').innerText")
    assert "t CO₂e" in legend and "không có số liệu" in legend and "," in legend
    keep("province", img, load_ms=round(ms), bytes=page_bytes(browser, "/maps/province?year=2025"),
         classes=dict(found), no_data_px=grey)


def test_province_in_english(browser, server):
    img, ms = visit(browser, server + "/maps/province?year=2024&measure=per_ha&lang=en")
    title = browser.evaluate("document.getElementById('cmrv-title').innerText")
    assert "Emissions by commune" in title and "Tiếng Việt" in title
    assert "kg CO₂e/ha" in browser.evaluate("document.getElementById('cmrv-legend').innerText")
    keep("province_en_per_ha", img, load_ms=round(ms))


def test_commune_map(browser, server):
    img, ms = visit(browser, server + f"/maps/commune/{COMMUNE}")
    for crop_ in ("coffee", "rice"):
        n = count_color(img, styles.over_white(styles.CROP_COLORS[crop_], 0.8), tol=12)
        assert n > 40, (crop_, n)
    assert browser.evaluate("typeof L.vectorGrid.protobuf") == "function"
    # zoom in to parcel level: the vector tiles come from the API (and only from it)
    browser.evaluate("""(function(){
        var k = Object.keys(window).find(function (x) { return /^map_/.test(x); }); var m = window[k], z = null;
        m.eachLayer(function (l) { if (l.feature && l.feature.properties.zone_code === 'Z0-0') z = l; });
        m.setView(z.getBounds().getCenter(), 17, {animate: false}); return m.getZoom();})()""")
    browser.wait_idle(1.0, time.monotonic() + 30)
    tiles = [u for u in browser.requests() if "/collections/parcels/tiles/WebMercatorQuad/17/" in u]
    assert tiles, "no vector tile was requested at zoom 17"
    assert browser.outside_requests() == [] and browser.errors() == []
    zoomed = browser.screenshot()
    # the parcel outlines (drawn from the tiles on canvas) are on screen
    parcel_px = count_color(zoomed, styles.hex_rgb(PARCEL_COLOR), tol=60)
    assert parcel_px > 300, parcel_px
    keep("commune", img, load_ms=round(ms), bytes=page_bytes(browser, f"/maps/commune/{COMMUNE}"),
         parcel_tiles=len(tiles), parcel_px=parcel_px)
    keep("commune_z17_parcels", zoomed)


def test_planning_review_form_round_trip(browser, server, seeded):
    settings, ids = seeded
    img, ms = visit(browser, server + "/maps/planning-review")
    red = styles.over_white(styles.REVIEW_COLORS["unreviewed"], 0.85)
    n_red = count_color(img, red, tol=12)
    assert n_red > 500, n_red
    assert browser.evaluate("document.getElementById('cmrv-legend').innerText").count("(5)") == 1
    # click the centre of zone Z2-0 (maize on land planned for perennials) like a reviewer would
    pos = browser.evaluate("""(function(){
        var k = Object.keys(window).find(function (x) { return /^map_/.test(x); }); var m = window[k], hit = null;
        m.eachLayer(function (l) { if (l.feature && l.feature.properties.reason && l.feature.properties.zone_code === 'Z2-0') hit = l; });
        var p = m.latLngToContainerPoint(hit.getBounds().getCenter()); return [p.x, p.y];})()""")
    browser.click(pos[0], pos[1])
    browser.pump(0.5)
    assert browser.evaluate("document.querySelectorAll('.leaflet-popup-content form.cmrv-form').length") == 1
    msg = browser.evaluate("""(async function(){
        var f = document.querySelector('.leaflet-popup-content form.cmrv-form');
        f.elements.status.value = 'conforming';
        f.elements.finding.value = 'Đã kiểm tra thực địa: ngô xen cà phê non';
        f.elements.decision.value = 'Giữ nguyên';
        f.elements.api_key.value = %s;
        f.querySelector('button').click();
        for (var i = 0; i < 100; i++) {
            var t = f.querySelector('.cmrv-msg').textContent;
            if (t) return [f.querySelector('.cmrv-msg').className, t];
            await new Promise(function (r) { setTimeout(r, 100); });
        }
        return null;})()""".replace("%s", json.dumps(ids["key"])))
    assert msg is not None and "cmrv-msg-ok" in msg[0], msg
    assert msg[1].startswith("Đã lưu rà soát số")
    eng = make_engine(settings)
    with eng.connect() as c:
        row = c.execute(text("SELECT id, status, finding, decision, reviewer, crop_zone_id, commune_code "
                             "FROM planning_review WHERE crop_zone_id = :z"), {"z": ids["zones"]["Z2-0"]}).one()
    eng.dispose()
    assert (row.status, row.reviewer, row.commune_code) == ("conforming", "land1", COMMUNE)
    assert row.finding.startswith("Đã kiểm tra thực địa") and row.decision == "Giữ nguyên"
    assert msg[1].endswith(str(row.id))
    assert browser.outside_requests() == [] and browser.errors() == []
    # the zone is now green in the page; after a reload the map reads the review from the database
    browser.evaluate("(function(){var k = Object.keys(window).find(function (x) { return /^map_/.test(x); });"
                     " window[k].closePopup(); return 1;})()")
    green = styles.over_white(styles.REVIEW_COLORS["conforming"], 0.85)
    after = browser.screenshot()
    assert count_color(after, green, tol=12) > 50
    img2, _ = visit(browser, server + "/maps/planning-review")
    assert count_color(img2, green, tol=12) > 50
    assert count_color(img2, red, tol=12) < n_red
    keep("planning_review", img, load_ms=round(ms), bytes=page_bytes(browser, "/maps/planning-review"),
         conflicts=len(EXPECTED_CONFLICTS), review_id=row.id)
    keep("planning_review_after", img2)


def test_review_form_shows_the_api_error(browser, server):
    visit(browser, server + "/maps/planning-review?lang=en")
    msg = browser.evaluate("""(async function(){
        var k = Object.keys(window).find(function (x) { return /^map_/.test(x); }); var m = window[k], hit = null;
        m.eachLayer(function (l) { if (l.feature && l.feature.properties.reason) hit = l; });
        hit.openPopup(); await new Promise(function (r) { setTimeout(r, 200); });
        var f = document.querySelector('.leaflet-popup-content form.cmrv-form');
        f.elements.api_key.value = 'cmrv_wrong_key'; f.querySelector('button').click();
        for (var i = 0; i < 100; i++) {
            var t = f.querySelector('.cmrv-msg').textContent;
            if (t) return [f.querySelector('.cmrv-msg').className, t];
            await new Promise(function (r) { setTimeout(r, 100); });
        }
        return null;})()""")
    assert msg is not None and "cmrv-msg-err" in msg[0] and "401" in msg[1], msg
    # the 401 is the expected answer: the only console line is the browser's own "failed to load" note
    assert all("401" in e for e in browser.errors()), browser.errors()
    assert browser.outside_requests() == []


def test_irrigation_map(browser, server):
    img, ms = visit(browser, server + "/maps/irrigation")
    awd = count_color(img, styles.over_white(styles.AWD_CANDIDATE, 0.85), tol=12)
    coffee = count_color(img, styles.over_white(styles.COFFEE_NOT_EFFICIENT, 0.85), tol=12)
    assert awd > 300 and coffee > 300, (awd, coffee)
    legend = browser.evaluate("document.getElementById('cmrv-legend').innerText")
    assert f"{len(EXPECTED_AWD)} (" in legend and "trạm bơm" in legend and "kênh mương" in legend
    keep("irrigation", img, load_ms=round(ms), bytes=page_bytes(browser, "/maps/irrigation"), awd_px=awd,
         coffee_px=coffee)


TWKB_CASES = [  # (WKT, decimal places): every geometry type the pages send, holes, shared state, negatives
    ("POINT(108.05123 12.66789)", 5), ("LINESTRING(108 12, 108.0001 12.0002, 107.99 11.5)", 4),
    ("POLYGON((108 12, 108.01 12, 108.01 12.01, 108 12.01, 108 12), (108.002 12.002, 108.004 12.002, "
     "108.004 12.004, 108.002 12.002))", 5),
    ("MULTIPOLYGON(((1 1, 2 1, 2 2, 1 1)), ((-3.5 -3.5, -3 -3.5, -3 -3, -3.5 -3.5)))", 4),
    ("MULTILINESTRING((0 0, 1 1), (2 2, 3 1, 4 0))", 0), ("MULTIPOINT(1 2, 3 4)", 3),
    ("GEOMETRYCOLLECTION(POINT(1 2), LINESTRING(0 0, 1 1))", 2), ("POINT(1234567 7654321)", -2),
    ("POLYGON EMPTY", 4), ("POINT Z (108.1 12.2 540)", 3),
]


def test_twkb_decoder_matches_postgis(browser, server, seeded):
    """maps.js reads back what PostGIS writes: the decoded geometry equals ST_GeomFromTWKB's."""
    visit(browser, server + "/maps/pilot-sites")
    eng = make_engine(seeded[0])
    with eng.connect() as c:
        rows = [c.execute(text(
            "SELECT encode(ST_AsTWKB(g, :p), 'base64') AS b, ST_AsGeoJSON(ST_Force2D(ST_GeomFromTWKB(ST_AsTWKB(g, :p))))"
            "::json AS j FROM (SELECT ST_GeomFromText(:w, 4326) AS g) s"), {"w": w, "p": p}).one() for w, p in TWKB_CASES]
    eng.dispose()
    for (wkt, _), r in zip(TWKB_CASES, rows, strict=True):
        got = browser.evaluate(f"cmrvTwkb({json.dumps(r.b.replace(chr(10), ''))})")
        assert _close(got, r.j), (wkt, got, r.j)


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) < 1e-9 * max(1.0, abs(b))
    return a == b


def test_pilot_sites_map(browser, server):
    img, ms = visit(browser, server + "/maps/pilot-sites")
    purple = count_color(img, styles.hex_rgb(styles.PILOT), tol=12)
    assert purple > 100, purple
    html = browser.evaluate("""(async function(){
        var k = Object.keys(window).find(function (x) { return /^map_/.test(x); }); var m = window[k], hit = null;
        m.eachLayer(function (l) { if (l.feature && l.feature.properties.site_code === 'PS-RI-1') hit = l; });
        hit.openPopup(); await new Promise(function (r) { setTimeout(r, 200); });
        return document.querySelector('.leaflet-popup-content').innerText;})()""")
    assert "Giảm phát thải" in html and "t CO₂e/năm" in html and "Mô hình lúa AWD" in html
    assert "chưa tính được" not in html
    keep("pilot_sites", img, load_ms=round(ms), bytes=page_bytes(browser, "/maps/pilot-sites"), popup=html)


def test_index_page(browser, server):
    ms = browser.open(server + "/maps/")
    assert browser.outside_requests() == [] and browser.errors() == []
    links = browser.evaluate("Array.from(document.querySelectorAll('a')).map(function (a) { return a.pathname; })")
    assert {"/maps/province", "/maps/planning-review", "/maps/irrigation", "/maps/pilot-sites",
            f"/maps/commune/{COMMUNE}"} <= set(links)
    keep("index", browser.screenshot(), load_ms=round(ms))


def test_standalone_file_opens_offline_from_disk(seeded, tmp_path):
    """`cropmrv map` output opened as file:// with no server at all."""
    from typer.testing import CliRunner

    from cropmrv.cli.main import app
    from cropmrv.settings import get_settings

    settings, _ = seeded
    env = {"CROPMRV_HOME": str(settings.home), "CROPMRV_PG_PORT": str(settings.pg_port),
           "CROPMRV_PG_DATABASE": settings.pg_database}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    get_settings.cache_clear()
    try:
        out = tmp_path / "ban_do" / "tinh.html"
        r = CliRunner().invoke(app, ["map", "province", "--year", "2025", "-o", str(out)])
        assert r.exit_code == 0, r.output
        out2 = tmp_path / "ban_do" / "thuy_loi.html"
        r = CliRunner().invoke(app, ["map", "irrigation", "--lang", "en", "-o", str(out2)])
        assert r.exit_code == 0, r.output
        bad = CliRunner().invoke(app, ["map", "commune", "--commune", "99999", "-o", str(tmp_path / "x.html")])
        assert bad.exit_code == 1 and "99999" in bad.output
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()
    assert (out.parent / "tinh_files" / "leaflet" / "leaflet.js").exists()
    assert 'src="tinh_files/leaflet/leaflet.js"' in out.read_text(encoding="utf-8")
    b = Browser(("file://",))
    try:
        ms = b.open(out.as_uri())
        assert b.outside_requests() == [] and b.errors() == [], (b.outside_requests(), b.errors())
        img = b.screenshot()
        not_blank(img)
        found = sum(count_color(img, styles.over_white(c, province.FILL_OPACITY)) for c in province.PALETTE)
        assert found > 5000
        keep("standalone_province", img, load_ms=round(ms), bytes=out.stat().st_size)
        b.open(out2.as_uri())
        assert b.outside_requests() == [] and b.errors() == []
        img2 = b.screenshot()
        assert count_color(img2, styles.over_white(styles.AWD_CANDIDATE, 0.85), tol=12) > 300
        keep("standalone_irrigation_en", img2)
    finally:
        b.close()
