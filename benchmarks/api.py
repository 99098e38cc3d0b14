"""Our OGC server against tipg on the same PostGIS table of 100,000 crop zones, side by side.

    .venv/bin/python benchmarks/api.py [--zones 100000] [--duration 10] [--connections 16]

What it does (everything under benchmarks/_work/, which git ignores):

1. an embedded PostGIS cluster (``cropmrv.db.manage.up``, the code path of ``cropmrv db up``) with
   the real communes and N crop zones of 17-vertex polygons spread over the province;
2. our API (``uvicorn --factory cropmrv.api.app:create_app``, 1 worker) and tipg (PyPI, its own
   venv in _work/venv-tipg because it pins its own FastAPI; 1 worker, only the crop_zone table,
   ``TIPG_DB_EXCLUDE_FUNCTION_SCHEMAS='["public"]'``);
3. for each case, wrk with 2 threads and 16 connections for --duration seconds on each server in
   turn (same URL list, cycled by a Lua script so no server answers one URL over and over):
   items pages of 100 (first page, and pages at random offsets), bbox queries (limit 1000) and
   z12/z14 tiles (tipg gets ``properties=`` with our tile attributes, so tiles carry the same data);
4. prints req/s, p50/p99 latency, non-2xx count and the ratio to tipg.

Our tile cache is switched off for the comparison (CROPMRV_TILE_CACHE_MB=0), so tiles are rendered
every time as tipg's are; two extra rows show the tile cases with the cache on (the default). PEERS.md: the VM has
CPU steal and 2 cores shared by servers, PostgreSQL and wrk, so compare only within one run.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import morecantile
from sqlalchemy import text

from cropmrv.db import manage
from cropmrv.db.engine import libpq_url, make_engine
from cropmrv.settings import Settings

WORK = Path(__file__).resolve().parent / "_work"
TIPG_VENV = WORK / "venv-tipg"
REPO = Path(__file__).resolve().parent.parent
PY = Path(sys.executable)
TILE_PROPS = "commune_code,zone_code,crop,season,year,area_ha,irrigation_method"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database(zones: int, pg_port: int) -> Settings:
    """The benchmark database, (re)built only when its crop-zone count differs."""
    s = Settings(home=WORK / "api-home", pg_port=pg_port, pg_database="bench_api")
    (WORK / "api-home").mkdir(parents=True, exist_ok=True)
    WORK.chmod(0o755)
    (WORK / "api-home").chmod(0o755)
    manage.up(s)
    eng = make_engine(s)
    with eng.begin() as c:
        if not c.execute(text("SELECT count(*) FROM admin_unit")).scalar():
            from cropmrv.ingest.admin import load_admin_units

            load_admin_units(c, s)
        have = c.execute(text("SELECT count(*) FROM crop_zone")).scalar()
        if have != zones:
            t0 = time.perf_counter()
            c.execute(text("TRUNCATE crop_zone"))
            c.execute(text("DELETE FROM dataset WHERE layer = 'crop_zones'"))
            ds = c.execute(text("INSERT INTO dataset (layer, province_code, source_name, sha256, feature_count) "
                                "VALUES ('crop_zones', '66', 'benchmark', :s, :n) RETURNING id"),
                           {"s": "c" * 64, "n": zones}).scalar()
            # Random points over the province's communes; each becomes a 17-vertex polygon (quad_segs=4).
            c.execute(text("SELECT setseed(0.42)"))
            c.execute(text("""
                INSERT INTO crop_zone (province_code, dataset_id, commune_code, zone_code, crop, season, year,
                                       area_ha, irrigation_method, geom)
                SELECT '66', :ds, a.code, 'Z' || p.g, (ARRAY['coffee','pepper','durian','rice','cassava'])[1 + p.g % 5],
                       'perennial', 2020 + p.g % 5, round((0.2 + random() * 3)::numeric, 2),
                       (ARRAY['drip','sprinkler','rainfed','flood'])[1 + p.g % 4],
                       ST_Multi(ST_Buffer(p.pt, 0.0004 + random() * 0.0012, 'quad_segs=4'))
                FROM (SELECT g, ST_SetSRID(ST_MakePoint(107.9 + random() * 1.45, 12.2 + random() * 1.2), 4326) pt
                      FROM generate_series(1, :cand) g) p
                JOIN admin_unit a ON a.level = 'commune' AND ST_Intersects(a.geom, p.pt)
                LIMIT :n"""), {"ds": ds, "n": zones, "cand": int(zones * 2.2)})
            got = c.execute(text("SELECT count(*) FROM crop_zone")).scalar()
            if got != zones:
                raise RuntimeError(f"generated {got} crop zones, wanted {zones}")
            print(f"generated {zones} crop zones in {time.perf_counter() - t0:.1f} s")
    with eng.connect() as c:
        c.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE crop_zone"))
    eng.dispose()
    return s


def url_sets(s: Settings, n_urls: int = 200, seed: int = 7) -> dict[str, list[tuple[str, str]]]:
    """Per case, (our path, tipg path) pairs; the same places for both servers."""
    rnd = random.Random(seed)
    eng = make_engine(s)
    with eng.connect() as c:
        pts = c.execute(text("SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM crop_zone "
                             "TABLESAMPLE SYSTEM (5) REPEATABLE (7) LIMIT :n"), {"n": n_urls * 3}).all()
        total = c.execute(text("SELECT count(*) FROM crop_zone")).scalar()
    eng.dispose()
    tms = morecantile.tms.get("WebMercatorQuad")
    ours, tipg = "/collections/crop_zones", "/collections/public.crop_zone"
    cases: dict[str, list[tuple[str, str]]] = {}
    cases["items limit=100 (first page)"] = [(f"{ours}/items?limit=100", f"{tipg}/items?limit=100")]
    offs = [rnd.randrange(0, total - 100) for _ in range(n_urls)]
    cases["items limit=100 (random offsets)"] = [
        (f"{ours}/items?limit=100&offset={o}", f"{tipg}/items?limit=100&offset={o}") for o in offs]
    boxes = []
    for x, y in rnd.sample(pts, n_urls):
        b = f"{x - 0.015:.5f},{y - 0.015:.5f},{x + 0.015:.5f},{y + 0.015:.5f}"
        boxes.append((f"{ours}/items?limit=1000&bbox={b}", f"{tipg}/items?limit=1000&bbox={b}"))
    cases["bbox 0.03° (limit 1000)"] = boxes
    for z in (12, 14):
        tiles = sorted({(t.x, t.y) for t in (tms.tile(x, y, z) for x, y in pts)})[:n_urls]
        rnd.shuffle(tiles)
        cases[f"tiles z{z}"] = [(f"{ours}/tiles/WebMercatorQuad/{z}/{x}/{y}",
                                 f"{tipg}/tiles/WebMercatorQuad/{z}/{x}/{y}?properties={TILE_PROPS}")
                                for x, y in tiles]
    return cases


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {url}")
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"server not ready: {url}")


def start_ours(s: Settings, port: int, cache_mb: int) -> subprocess.Popen:
    env = {**os.environ, "CROPMRV_HOME": str(s.home), "CROPMRV_PG_PORT": str(s.pg_port),
           "CROPMRV_PG_DATABASE": s.pg_database, "CROPMRV_TILE_CACHE_MB": str(cache_mb)}
    env.pop("CROPMRV_DATABASE_URL", None)
    return subprocess.Popen([str(PY), "-m", "uvicorn", "--factory", "cropmrv.api.app:create_app", "--host",
                             "127.0.0.1", "--port", str(port), "--workers", "1", "--log-level", "warning",
                             "--no-access-log"], env=env, cwd=REPO)


def ensure_tipg() -> Path:
    exe = TIPG_VENV / "bin" / "uvicorn"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(TIPG_VENV)], check=True)
        subprocess.run([str(TIPG_VENV / "bin" / "pip"), "install", "-q", "tipg", "uvicorn"], check=True)
    return exe


def start_tipg(s: Settings, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CROPMRV_", "TIPG_"))}
    env.update({"DATABASE_URL": libpq_url(s.sqlalchemy_url()), "TIPG_DB_EXCLUDE_FUNCTION_SCHEMAS": '["public"]',
                "TIPG_DB_SCHEMAS": '["public"]', "TIPG_DB_TABLES": '["public.crop_zone"]'})
    return subprocess.Popen([str(ensure_tipg()), "tipg.main:app", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", "1", "--log-level", "warning", "--no-access-log"], env=env, cwd=WORK)


LUA = """paths = {{{paths}}}
i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
"""


def _ms(v: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)", v)
    num, unit = float(m.group(1)), m.group(2)
    return num * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def run_wrk(base: str, paths: list[str], duration: int, conns: int, threads: int, name: str) -> dict:
    script = WORK / f"wrk_{name}.lua"
    script.write_text(LUA.format(paths=", ".join(f'"{p}"' for p in paths)))
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--timeout", "30s", "--latency",
                          "-s", str(script), base], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {m.group(1): _ms(m.group(2)) for m in re.finditer(r"^\s+(50|99)%\s+(\S+)", out, re.M)}
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errs = re.search(r"Socket errors:.*", out)
    return {"rps": rps, "p50": lat.get("50"), "p99": lat.get("99"), "non2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errs.group(0) if errs else ""}


def stop(p: subprocess.Popen) -> None:
    p.send_signal(signal.SIGINT)
    try:
        p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()


def sanity(ours: str, tipg: str, cases: dict) -> None:
    """Both servers must answer the same question with the same count before we time them."""
    o, t = cases["bbox 0.03° (limit 1000)"][0]
    a = httpx.get(ours + o, timeout=60).json()
    b = httpx.get(tipg + t, timeout=60).json()
    if a["numberMatched"] != b["numberMatched"]:
        raise RuntimeError(f"bbox counts differ: ours {a['numberMatched']} vs tipg {b['numberMatched']}")
    print(f"sanity: both servers match {a['numberMatched']} features in the first bbox")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zones", type=int, default=100_000)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pg-port", type=int, default=55491)
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is required (Debian: apt-get install wrk)")
    WORK.mkdir(exist_ok=True)
    s = database(args.zones, args.pg_port)
    cases = url_sets(s)
    p_ours, p_tipg, p_cached = free_port(), free_port(), free_port()
    ours, tipg = f"http://127.0.0.1:{p_ours}", f"http://127.0.0.1:{p_tipg}"
    procs = [start_ours(s, p_ours, 0), start_tipg(s, p_tipg), start_ours(s, p_cached, 64)]
    rows = []
    try:
        wait_ready(f"{ours}/collections", procs[0])
        wait_ready(f"{tipg}/collections", procs[1])
        wait_ready(f"http://127.0.0.1:{p_cached}/collections", procs[2])
        sanity(ours, tipg, cases)
        for name, pairs in cases.items():
            res = {}
            for who, base, idx in (("ours", ours, 0), ("tipg", tipg, 1)):
                paths = [p[idx] for p in pairs]
                run_wrk(base, paths[:20], 2, args.connections, args.threads, "warm")  # warm-up
                res[who] = run_wrk(base, paths, args.duration, args.connections, args.threads, "case")
            rows.append((name, res["ours"], res["tipg"]))
            print(f"  {name}: ours {res['ours']['rps']:.1f} req/s, tipg {res['tipg']['rps']:.1f} req/s", flush=True)
        base = f"http://127.0.0.1:{p_cached}"
        tipg_rows = {name: t for name, _, t in rows}
        for z in (12, 14):
            paths = [p[0] for p in cases[f"tiles z{z}"]]
            run_wrk(base, paths, 5, args.connections, args.threads, "warm")
            rows.append((f"tiles z{z}, our tile cache on", run_wrk(base, paths, args.duration, args.connections,
                                                                   args.threads, "case"), tipg_rows[f"tiles z{z}"]))
    finally:
        for p in procs:
            stop(p)
    print(f"\n{args.zones} crop zones, wrk -t{args.threads} -c{args.connections} -d{args.duration}s, "
          "1 uvicorn worker each, same PostGIS\n")
    print("| case | ours req/s | ours p50 / p99 ms | tipg req/s | tipg p50 / p99 ms | ratio ours/tipg | non-2xx ours/tipg |")
    print("|---|---|---|---|---|---|---|")
    for name, o, t in rows:
        print(f"| {name} | {o['rps']:.1f} | {o['p50']:.1f} / {o['p99']:.1f} | {t['rps']:.1f} | "
              f"{t['p50']:.1f} / {t['p99']:.1f} | {o['rps'] / t['rps']:.2f} | {o['non2xx']} / {t['non2xx']} |")


if __name__ == "__main__":
    main()
