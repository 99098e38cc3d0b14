"""Ingest benchmark: `cropmrv ingest vector` against `ogr2ogr -f PostgreSQL` on the same database.

    .venv/bin/python benchmarks/ingest.py [N_FEATURES] [--runs R]

Makes a deterministic N-polygon (default 200,000) parcel shapefile in benchmarks/_work/ (git-ignored;
see ingest_data.py), starts an embedded cluster there through ``cropmrv.db.manage.up``, loads the
communes, then times, best of R runs each, starting from an empty layer every time:

* ogr2ogr (Debian gdal-bin) with COPY, PROMOTE_TO_MULTI and GEOMETRY_NAME=geom: read, write, build
  the GiST index — and nothing else (no reprojection, no validation, no versioning);
* ``cropmrv ingest vector --layer parcels`` as a user runs it (a new process: imports included):
  everything issue 3 asks for, into the real ``parcel`` table with its constraints and indexes;
* the same through the library call ``ingest_vector`` in this process (imports excluded), and
  with ``staging_table=True`` (TEMP staging table + INSERT … SELECT) for comparison;
* the floor: the rows of the last load COPYed back into the empty ``parcel`` table with no client
  work at all — what the table's constraints and indexes cost whoever loads it;
* for context, ogr2ogr also reprojecting to EPSG:4326 and running -makevalid (part of our work).

Prints both times and the ratio (target ≤ 1.5× ogr2ogr). The CLI line includes a fixed ~1 s of
Python start-up (the interpreter and the imports of pandas via pyogrio/geopandas, SQLAlchemy,
psycopg, PROJ and GDAL) that does not grow with the file; run with a larger N to see it amortised.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"
sys.path.insert(0, str(HERE))

from ingest_data import make_parcels  # noqa: E402

from cropmrv.db import manage  # noqa: E402
from cropmrv.db.engine import libpq_url, make_engine  # noqa: E402
from cropmrv.settings import Settings  # noqa: E402


def settings() -> Settings:
    return Settings(home=WORK / "home", pg_port=int(os.environ.get("BENCH_PG_PORT", "55499")), pg_database="bench",
                    _env_file=None)


def prepare(s: Settings) -> None:
    manage.up(s, fast=True)
    eng = make_engine(s)
    from sqlalchemy import text

    from cropmrv.ingest.admin import load_admin_units

    with eng.begin() as c:
        if not c.execute(text("SELECT count(*) FROM admin_unit")).scalar():
            load_admin_units(c, s)
    eng.dispose()


def reset(s: Settings) -> None:
    import psycopg

    with psycopg.connect(libpq_url(s.sqlalchemy_url()), autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS ogr_bench")
        c.execute("TRUNCATE parcel, parcel_history")
        c.execute("DELETE FROM dataset WHERE layer = 'parcels'")
        c.execute("CHECKPOINT")


_TICK = os.sysconf("SC_CLK_TCK")


def server_cpu(s: Settings) -> float:
    """CPU seconds used so far by the cluster: postmaster + its live children + reaped backends.

    Exited backends are reaped by the postmaster, so their time shows in its cutime/cstime; on a
    busy shared machine CPU seconds compare loaders more fairly than wall time."""
    pid = int((s.pg_home / "data" / "postmaster.pid").read_text().split()[0])

    def stat(p: int) -> list[str]:
        return Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()

    st = stat(pid)
    total = sum(int(x) for x in st[11:15])  # utime stime cutime cstime
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                c = stat(int(d.name))
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(c[1]) == pid:
                total += int(c[11]) + int(c[12])
    return total / _TICK


def child_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_ogr2ogr(s: Settings, shp: Path, *extra: str) -> float:
    """``ogr2ogr -f PostgreSQL`` with COPY into a new table ``ogr_bench``; ``extra``: more options."""
    u = s.sqlalchemy_url().split("://", 1)[1]
    user, rest = u.split("@", 1)
    hostport, db = rest.split("/", 1)
    host, port = hostport.split(":")
    pg = f"PG:host={host} port={port} dbname={db} user={user}"
    t = time.perf_counter()
    subprocess.run(["ogr2ogr", "-f", "PostgreSQL", pg, str(shp), "-nln", "ogr_bench", "-nlt", "PROMOTE_TO_MULTI",
                    *extra, "-lco", "GEOMETRY_NAME=geom", "--config", "PG_USE_COPY", "YES"], check=True)
    return time.perf_counter() - t


def run_ogr2ogr_alike(s: Settings, shp: Path) -> float:
    """ogr2ogr asked for part of what we do — reproject to EPSG:4326 and make geometries valid —
    for context only: the ratio is taken against the plain load above."""
    return run_ogr2ogr(s, shp, "-t_srs", "EPSG:4326", "-makevalid")


def run_cli(s: Settings, shp: Path) -> float:
    env = dict(os.environ, CROPMRV_HOME=str(s.home), CROPMRV_PG_PORT=str(s.pg_port), CROPMRV_PG_DATABASE=s.pg_database)
    env.pop("CROPMRV_DATABASE_URL", None)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cropmrv", "ingest", "vector", str(shp), "--layer", "parcels", "-q"],
                   check=True, env=env)
    return time.perf_counter() - t


def run_library(s: Settings, shp: Path, staging_table: bool = False) -> tuple[float, dict]:
    from cropmrv.ingest.load import ingest_vector

    eng = make_engine(s)
    t = time.perf_counter()
    rep = ingest_vector(shp, "parcels", settings=s, engine=eng, staging_table=staging_table)
    dt = time.perf_counter() - t
    eng.dispose()
    return dt, {"loaded": rep.features_loaded, "rejected": rep.rejected, "flags": len(rep.issues),
                "stages": rep.seconds}


def run_server_floor(s: Settings) -> float:
    """COPY the rows the last load wrote back into an empty ``parcel``: no client work at all.

    This is the floor our loader pays for this table (the ST_IsValid CHECK, the GiST and b-tree
    indexes — built after the COPY as the load does on an empty table —, WAL, the set-based FK
    check); ogr2ogr writes a bare new table and indexes it after."""
    import psycopg

    cols = "province_code, dataset_id, commune_code, map_sheet, parcel_no, land_use_code, area_m2, attributes, geom"
    with psycopg.connect(libpq_url(s.sqlalchemy_url())) as c:
        buf = bytearray()
        with c.cursor().copy(f"COPY (SELECT {cols} FROM parcel) TO STDOUT") as cp:
            for d in cp:
                buf += d
        n = c.execute("SELECT count(*) FROM parcel").fetchone()[0]
        c.execute("TRUNCATE parcel")
        c.commit()
        c.execute("CHECKPOINT")
        t = time.perf_counter()
        from cropmrv.ingest.staging import (
            defer_indexes,
            rebuild_indexes,
            restore_fk_checks,
            skip_row_fk_checks,
        )

        deferred = defer_indexes(c, "parcel", n)  # as the load itself does
        fast = skip_row_fk_checks(c, "parcel", s.province_code)
        with c.cursor().copy(f"COPY parcel ({cols}) FROM STDIN") as cp:
            cp.write(bytes(buf))
        rebuild_indexes(c, deferred)
        if fast:
            did = c.execute("SELECT max(dataset_id) FROM parcel").fetchone()[0]
            restore_fk_checks(c, "parcel", did)
        c.commit()
        return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=2)
    a = ap.parse_args()
    s = settings()
    shp = WORK / f"parcels{a.n // 1000}k.shp"
    if not shp.exists():
        t = time.perf_counter()
        make_parcels(shp, a.n)
        print(f"generated {shp.name} ({a.n} polygons) in {time.perf_counter() - t:.1f} s")
    prepare(s)
    load0 = os.getloadavg()
    times: dict[str, list[float]] = {"ogr2ogr": [], "cropmrv (CLI)": [], "cropmrv (library)": [],
                                     "library, TEMP staging": [], "floor: server-only COPY": [],
                                     "ogr2ogr -t_srs -makevalid": []}
    cpu: dict[str, list[float]] = {k: [] for k in times}

    def measured(name: str, fn) -> None:
        c0, s0, p0 = child_cpu(), server_cpu(s), time.process_time()
        out = fn()
        time.sleep(0.5)  # let the postmaster reap the backend
        dt = out[0] if isinstance(out, tuple) else out
        times[name].append(dt)
        cpu[name].append(child_cpu() - c0 + server_cpu(s) - s0 + time.process_time() - p0)
        return out
    info = {}
    for _ in range(a.runs):
        reset(s)
        measured("ogr2ogr", lambda: run_ogr2ogr(s, shp))
        reset(s)
        measured("cropmrv (CLI)", lambda: run_cli(s, shp))
        reset(s)
        _, info = measured("cropmrv (library)", lambda: run_library(s, shp))
        measured("floor: server-only COPY", lambda: run_server_floor(s))
        reset(s)
        measured("library, TEMP staging", lambda: run_library(s, shp, staging_table=True))
        reset(s)
        measured("ogr2ogr -t_srs -makevalid", lambda: run_ogr2ogr_alike(s, shp))
    reset(s)
    base, cbase = min(times["ogr2ogr"]), min(cpu["ogr2ogr"])
    print(f"\n{a.n} polygons, best of {a.runs}; wall time, and CPU seconds of client + database server "
          f"(load average {load0[0]:.1f} at start, {os.getloadavg()[0]:.1f} now, on {os.cpu_count()} CPUs):")
    for k, v in times.items():
        c = min(cpu[k])
        print(f"  {k:<24} wall {min(v):6.2f} s  ratio {min(v) / base:4.2f}×   cpu {c:6.2f} s  ratio {c / cbase:4.2f}×"
              f"   (wall runs {', '.join(f'{x:.2f}' for x in v)})")
    print(f"  library run: {info}")


if __name__ == "__main__":
    main()
