"""Estimate-run benchmark (issue 4 §10): N crop-zone-season records, end to end on a real PostGIS.

    .venv/bin/python benchmarks/estimate.py [--sizes 10000 100000 1000000] [--draws 0]

An embedded cluster under ``benchmarks/_work/estimate_home`` (git-ignored) holds one database per size,
each with the real communes and N crop zones (tiny squares with a GiST index, as loaded by ingest) and
their activity rows in the long ``activity`` table (≈5 per zone: fertiliser N, urea, lime, rice water
management, yields, residue handling), generated deterministically. Each size is loaded once and
reused. The timed part is exactly ``cropmrv.mrv.runs.create_run``: read (COPY TO → pyarrow), prepare
(pivot, units, packages), compute (validation + equations), write (Arrow → binary COPY, commit), printed
separately with the scaling between sizes. Target: 1M records ≤ 30 s in all; compute > 1M records/s.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import shapely
from sqlalchemy import text

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "benchmarks" / "_work" / "estimate_home"
YEAR = 2025
CROPS = np.array(["coffee", "rice", "pepper", "durian", "sugarcane", "cassava", "maize", "rubber"])
CROP_P = np.array([0.50, 0.18, 0.08, 0.06, 0.06, 0.06, 0.04, 0.02])
RICE_SEASONS = np.array(["dong_xuan", "he_thu", "mua"])
REGIMES = np.array(["continuously_flooded", "single_drainage", "multiple_drainage_awd", "rainfed_regular"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _csv(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return buf.getvalue()


def _copy(raw, table_name: str, table: pa.Table) -> None:
    data = _csv(table)
    with raw.cursor() as cur, cur.copy(f"COPY {table_name} ({', '.join(table.column_names)}) FROM STDIN (FORMAT csv)") as cp:
        step = 1 << 24
        for i in range(0, len(data), step):
            cp.write(data[i:i + step])


def generate(conn, n: int, seed: int = 20260422) -> dict[str, int]:
    """N crop zones of YEAR with their activity rows (deterministic for a seed)."""
    from cropmrv.db.engine import raw_connection

    rng = np.random.default_rng(seed)
    communes = np.array(conn.execute(text("SELECT code FROM admin_unit WHERE level = 'commune' ORDER BY code")).scalars().all())
    dz = conn.execute(text("INSERT INTO dataset (layer, province_code, source_name, sha256, feature_count) VALUES "
                           "('crop_zones', '66', 'benchmark', repeat('b', 64), :n) RETURNING id"), {"n": n}).scalar_one()
    da = conn.execute(text("INSERT INTO dataset (layer, province_code, source_name, sha256) VALUES "
                           "('activity', '66', 'benchmark', repeat('c', 64)) RETURNING id")).scalar_one()
    crop = CROPS[rng.choice(len(CROPS), n, p=CROP_P)]
    is_rice = crop == "rice"
    perennial = np.isin(crop, ["coffee", "pepper", "durian", "rubber"])
    season = np.where(is_rice, RICE_SEASONS[rng.integers(0, 3, n)], np.where(perennial, "perennial", "annual"))
    area = np.round(0.1 + rng.gamma(2.0, 0.6, n), 4)
    commune = communes[rng.integers(0, len(communes), n)]
    zone_code = np.char.add("Z", np.arange(n).astype(str))
    regime = np.where(is_rice, REGIMES[rng.integers(0, len(REGIMES), n)], None)
    planted = np.where(perennial, rng.integers(1990, 2025, n), -1).astype(float)
    planted[planted < 0] = np.nan
    practice = np.full(n, None, dtype=object)
    pick = rng.random(n) < 0.05  # a few zones declare a package and report nothing else
    practice[pick & (crop == "coffee")] = "dl-coffee-conventional"
    practice[pick & is_rice] = "dl-rice-continuous-flooding"
    x = 108.0 + rng.random(n) * 1.2
    y = 12.4 + rng.random(n) * 0.9
    geoms = shapely.multipolygons(shapely.box(x, y, x + 0.0004, y + 0.0004), indices=np.arange(n))
    wkb = shapely.to_wkb(geoms, hex=True, include_srid=False)
    zones = pa.table({
        "province_code": pa.array(np.full(n, "66")), "dataset_id": pa.array(np.full(n, dz)),
        "commune_code": pa.array(commune), "zone_code": pa.array(zone_code), "crop": pa.array(crop),
        "season": pa.array(season), "year": pa.array(np.full(n, YEAR)), "area_ha": pa.array(area),
        "practice_code": pa.array(practice, type=pa.string()), "water_regime": pa.array(regime, type=pa.string()),
        "planted_year": pa.array(planted, mask=np.isnan(planted)).cast(pa.int32()),
        "geom": pa.array(wkb),  # hex WKB; the column's SRID 4326 applies
    })
    raw = raw_connection(conn)
    _copy(raw, "crop_zone", zones)
    # activity: long rows, item by item
    parts = []
    reported = practice == None  # noqa: E711 - zones with a package report nothing else

    def add(mask: np.ndarray, item: str, amount=None, unit: str | None = None, value_text=None) -> None:
        idx = np.flatnonzero(mask & reported)
        m = len(idx)
        parts.append(pa.table({
            "commune_code": pa.array(commune[idx]), "zone_code": pa.array(zone_code[idx]),
            "item": pa.array(np.full(m, item)),
            "amount": pa.array(None if amount is None else np.asarray(amount)[idx], type=pa.float64())
            if amount is not None else pa.nulls(m, pa.float64()),
            "value_text": pa.array(np.asarray(value_text, dtype=object)[idx], type=pa.string())
            if value_text is not None else pa.nulls(m, pa.string()),
            "unit": pa.array(np.full(m, unit), type=pa.string()) if unit else pa.nulls(m, pa.string()),
        }))

    n_rate = np.where(is_rice, rng.uniform(60, 120, n), np.where(perennial, rng.uniform(150, 400, n), rng.uniform(50, 200, n)))
    urea_share = rng.uniform(0, 0.9, n)
    everyone = np.ones(n, dtype=bool)
    add(everyone, "n_synthetic_kg", n_rate, "kg/ha")
    add(everyone, "urea_kg", n_rate * urea_share / 0.466201 * area)
    add(perennial & (rng.random(n) < 0.3), "limestone_kg", rng.uniform(200, 800, n), "kg/ha")
    add(perennial & (rng.random(n) < 0.3), "n_organic_kg", rng.uniform(10, 60, n) * area)
    add(is_rice, "cultivation_days", rng.integers(85, 125, n))
    add(is_rice, "pre_season_regime", value_text=np.full(n, "non_flooded_lt180"))
    add(is_rice, "straw_t_dm_ha", np.zeros(n))
    add(is_rice, "compost_t_ha", np.zeros(n))
    add(is_rice, "manure_t_ha", np.zeros(n))
    add(is_rice, "green_manure_t_ha", np.zeros(n))
    annual = ~perennial
    add(annual, "yield_t_ha", np.where(crop == "sugarcane", rng.uniform(50, 80, n),
                                       np.where(crop == "cassava", rng.uniform(15, 30, n), rng.uniform(4, 8, n))))
    burn = np.where(crop == "sugarcane", rng.uniform(0, 1, n), rng.uniform(0, 0.4, n))
    add(annual, "residue_burned_fraction", burn)
    add(annual, "residue_removed_fraction", (1 - burn) * rng.uniform(0, 0.8, n))
    act = pa.concat_tables(parts)
    m = act.num_rows
    act = act.append_column("province_code", pa.array(np.full(m, "66"))) \
        .append_column("dataset_id", pa.array(np.full(m, da))) \
        .append_column("year", pa.array(np.full(m, YEAR)))
    _copy(raw, "activity", act)
    conn.execute(text("ANALYZE crop_zone; ANALYZE activity"))
    return {"zones": n, "activity_rows": m}


def database(admin_url: str, base_settings, n: int):
    """Settings of the database holding ``n`` zones, created and loaded on first use."""
    import psycopg

    from cropmrv.db.engine import make_engine
    from cropmrv.settings import Settings

    name = f"bench_estimate_{n}"
    with psycopg.connect(admin_url, autocommit=True) as c:
        exists = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            c.execute(f'CREATE DATABASE "{name}" TEMPLATE "bench_estimate_template"')
    s = Settings(home=base_settings.home, pg_port=base_settings.pg_port, pg_database=name)
    eng = make_engine(s)
    with eng.begin() as conn:
        have = conn.execute(text("SELECT count(*) FROM crop_zone")).scalar_one()
        if have != n:
            t0 = time.perf_counter()
            conn.execute(text("TRUNCATE activity, crop_zone, estimate_run CASCADE"))
            info = generate(conn, n)
            print(f"  loaded {info['zones']:,} zones and {info['activity_rows']:,} activity rows "
                  f"in {time.perf_counter() - t0:.1f} s (once; reused afterwards)", flush=True)
        conn.execute(text("TRUNCATE estimate_uncertainty, estimate, estimate_run CASCADE"))
    return s, eng


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--draws", type=int, default=0, help="Monte Carlo draws per run (0: Approach 1 only)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per size (the best is reported)")
    args = ap.parse_args(argv)

    os.environ.pop("CROPMRV_DATABASE_URL", None)
    from cropmrv.db import manage
    from cropmrv.db.engine import libpq_url, make_engine
    from cropmrv.ingest.admin import load_admin_units
    from cropmrv.mrv.runs import create_run
    from cropmrv.settings import Settings

    WORK.mkdir(parents=True, exist_ok=True)
    WORK.chmod(0o755)
    port_file = WORK / "port"
    port = int(port_file.read_text()) if port_file.exists() else free_port()
    port_file.write_text(str(port))
    base = Settings(home=WORK, pg_port=port, pg_database="bench_estimate_template")
    manage.up(base, fast=True)
    eng = make_engine(base)
    with eng.begin() as c:
        if not c.execute(text("SELECT count(*) FROM admin_unit")).scalar_one():
            load_admin_units(c, base)
    eng.dispose()
    admin_url = libpq_url(base.sqlalchemy_url()).rsplit("/", 1)[0] + "/postgres"

    rows = []
    for n in args.sizes:
        print(f"size {n:,}", flush=True)
        s, e = database(admin_url, base, n)
        best = None
        for _ in range(args.repeat):
            with e.begin() as c:
                c.execute(text("TRUNCATE estimate_uncertainty, estimate, estimate_run CASCADE"))
            res = create_run(e, s, YEAR, draws=args.draws, on_error="raise")
            t = dict(res.timings, records=res.record_count, rows=res.estimate_rows)
            if best is None or t["total_s"] < best["total_s"]:
                best = t
        e.dispose()
        rows.append((n, best))
        b = best
        print(f"  read {b['read_s']:.2f} s · prepare {b['prepare_s']:.2f} s · validate {b['validate_s']:.2f} s · "
              f"compute {b['compute_s']:.2f} s ({b['records'] / b['compute_s'] / 1e6:.2f} M records/s) · digest "
              f"{b['digest_s']:.2f} s · uncertainty {b.get('uncertainty_s', 0):.2f} s · arrow {b['arrow_s']:.2f} s · "
              f"write {b['write_s']:.2f} s ({b['rows']:,} rows) · total {b['total_s']:.2f} s", flush=True)
        print(f"  this process's CPU: read {b['read_cpu_s']:.2f} s · prepare {b['pivot_cpu_s']:.2f} s · compute "
              f"{b['compute_cpu_s']:.2f} s ({b['records'] / b['compute_cpu_s'] / 1e6:.2f} M records per CPU-second) · "
              f"arrow {b['arrow_cpu_s']:.2f} s · load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
              flush=True)
    print("\n| records | estimate rows | read s | prepare s | validate s | compute s | compute M rec/s | digest s "
          "| uncertainty s | write s | total s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, b in rows:
        print(f"| {n:,} | {b['rows']:,} | {b['read_s']:.2f} | {b['prepare_s']:.2f} | {b['validate_s']:.2f} | "
              f"{b['compute_s']:.2f} | {b['records'] / b['compute_s'] / 1e6:.2f} | {b['digest_s']:.2f} | "
              f"{b.get('uncertainty_s', 0):.2f} | {b['arrow_s'] + b['write_s']:.2f} | {b['total_s']:.2f} |")
    for (n0, b0), (n1, b1) in zip(rows, rows[1:], strict=False):
        print(f"scaling {n0:,} → {n1:,} records (×{n1 / n0:g}): total ×{b1['total_s'] / b0['total_s']:.1f}, "
              f"read ×{b1['read_s'] / b0['read_s']:.1f}, compute ×{b1['compute_s'] / b0['compute_s']:.1f}, "
              f"write ×{b1['write_s'] / b0['write_s']:.1f}")
    big = [b for n, b in rows if n >= 1_000_000]
    if big:
        b = big[0]
        rate = b["records"] / b["compute_s"] / 1e6
        print(f"target whole 1M run ≤ 30 s: {'met' if b['total_s'] <= 30 else 'NOT met'} ({b['total_s']:.1f} s); "
              f"compute > 1M records/s: {'met' if rate > 1 else 'NOT met'} ({rate:.2f} M/s wall, "
              f"{b['records'] / b['compute_cpu_s'] / 1e6:.2f} M per CPU-second); load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} shared cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
