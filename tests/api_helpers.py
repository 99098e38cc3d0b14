"""Shared pieces of the API tests: a seeded database per module and a real uvicorn server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from sqlalchemy import Engine, text

from cropmrv.api.app import create_app
from cropmrv.settings import Settings

from .conftest import free_port

N_ZONES = 300
SHA = "a" * 64


def seed(engine: Engine, zones: int = N_ZONES) -> dict[str, int]:
    """Insert a few hundred crop zones (with their dataset row) and a handful of every other layer."""
    ids: dict[str, int] = {}
    with engine.begin() as c:
        def ds(layer: str, n: int) -> int:
            return c.execute(text(
                "INSERT INTO dataset (layer, province_code, source_name, sha256, feature_count) "
                "VALUES (:l, '66', 'test seed', :s, :n) RETURNING id"), {"l": layer, "s": SHA, "n": n}).scalar_one()

        ids["crop_zones"] = ds("crop_zones", zones)
        c.execute(text("""
            INSERT INTO crop_zone (province_code, dataset_id, commune_code, zone_code, crop, season, year, area_ha,
                                   irrigation_method, geom)
            SELECT '66', :ds, a.code, 'Z' || lpad(g::text, 4, '0'),
                   (ARRAY['coffee','pepper','durian','rice'])[1 + g % 4],
                   CASE WHEN g % 4 = 3 THEN 'he_thu' ELSE 'perennial' END, 2023 + g % 2, 0.5 + (g % 7),
                   (ARRAY['drip','sprinkler','rainfed'])[1 + g % 3],
                   ST_Multi(ST_Buffer(ST_Translate(ST_PointOnSurface(a.geom), (g % 5) * 0.0012, (g % 3) * 0.0012),
                                      0.0005, 'quad_segs=2'))
            FROM generate_series(1, :n) g
            JOIN LATERAL (SELECT code, geom FROM admin_unit WHERE level = 'commune'
                          ORDER BY code OFFSET (g % 102) LIMIT 1) a ON true"""), {"ds": ids["crop_zones"], "n": zones})
        ids["parcels"] = ds("parcels", 20)
        c.execute(text("""
            INSERT INTO parcel (province_code, dataset_id, commune_code, map_sheet, parcel_no, land_use_code, area_m2, geom)
            SELECT '66', :ds, z.commune_code, '12', g::text, 'CLN', 1000 + g, z.geom
            FROM generate_series(1, 20) g JOIN crop_zone z ON z.zone_code = 'Z' || lpad(g::text, 4, '0')"""),
                  {"ds": ids["parcels"]})
        ids["planning_zones"] = ds("planning_zones", 10)
        c.execute(text("""
            INSERT INTO planning_zone (province_code, dataset_id, commune_code, zone_code, plan_name, plan_period,
                                       land_use_code, geom)
            SELECT '66', :ds, z.commune_code, 'P' || g, 'QH 2021-2030', '2021-2030', 'CLN', ST_Multi(ST_Buffer(z.geom, 0.001))
            FROM generate_series(1, 10) g JOIN crop_zone z ON z.zone_code = 'Z' || lpad(g::text, 4, '0')"""),
                  {"ds": ids["planning_zones"]})
        ids["irrigation_assets"] = ds("irrigation_assets", 2)
        c.execute(text("""
            INSERT INTO irrigation_asset (province_code, dataset_id, commune_code, asset_code, kind, name, geom)
            SELECT '66', :ds, z.commune_code, 'A' || g, CASE WHEN g = 1 THEN 'pump_station' ELSE 'canal' END,
                   'Asset ' || g,
                   CASE WHEN g = 1 THEN ST_Centroid(z.geom)
                        ELSE ST_MakeLine(ST_Centroid(z.geom), ST_Translate(ST_Centroid(z.geom), 0.01, 0.01)) END
            FROM generate_series(1, 2) g JOIN crop_zone z ON z.zone_code = 'Z' || lpad(g::text, 4, '0')"""),
                  {"ds": ids["irrigation_assets"]})
        ids["irrigation_service_areas"] = ds("irrigation_service_areas", 1)
        c.execute(text("""
            INSERT INTO irrigation_service_area (province_code, dataset_id, asset_code, commune_code, geom)
            SELECT '66', :ds, 'A2', z.commune_code, ST_Multi(ST_Buffer(z.geom, 0.002)) FROM crop_zone z
            WHERE z.zone_code = 'Z0002'"""), {"ds": ids["irrigation_service_areas"]})
        c.execute(text("""
            INSERT INTO pilot_site (province_code, site_code, name, crop, commune_code, start_year, area_ha, geom)
            SELECT '66', 'PS-' || g, 'Pilot ' || g, 'coffee', z.commune_code, 2025, 10, z.geom
            FROM generate_series(1, 2) g JOIN crop_zone z ON z.zone_code = 'Z' || lpad(g::text, 4, '0')"""))
        c.execute(text("""
            INSERT INTO planning_review (province_code, commune_code, crop_zone_id, reviewer, status, finding,
                                         proposed_geom)
            SELECT '66', z.commune_code, z.id, 'seed', 'open', 'seeded review ' || g,
                   CASE WHEN g % 2 = 0 THEN z.geom END
            FROM generate_series(1, 4) g JOIN crop_zone z ON z.zone_code = 'Z' || lpad(g::text, 4, '0')"""))
        # A baseline run for 2024 with per-zone estimates (the runs module writes these in production).
        c.execute(text("INSERT INTO gwp_set (code, co2, ch4, n2o, source) VALUES ('ar5', 1, 28, 265, 'IPCC AR5') "
                       "ON CONFLICT DO NOTHING"))
        c.execute(text("INSERT INTO factor_set (code, version, digest) VALUES ('test-set', 1, 'd') ON CONFLICT DO NOTHING"))
        ids["run"] = c.execute(text("""
            INSERT INTO estimate_run (province_code, year, scenario, factor_set_code, factor_set_version, gwp_set,
                                      code_version, inputs_digest, run_digest, record_count, finished_at)
            VALUES ('66', 2024, 'baseline', 'test-set', 1, 'ar5', 'test', 'i', 'r', :n, now()) RETURNING id"""),
                               {"n": zones}).scalar_one()
        c.execute(text("""
            INSERT INTO estimate (run_id, province_code, record_id, crop_zone_id, commune_code, crop, category, gas,
                                  mass_g, co2e_g, area_ha, tier)
            SELECT :run, '66', z.zone_code, z.id, z.commune_code, z.crop, '3.D.1', g.gas,
                   CASE g.gas WHEN 'N2O' THEN 1000 * z.id ELSE 5000 * z.id END,
                   CASE g.gas WHEN 'N2O' THEN 265000 * z.id ELSE 5000 * z.id END, z.area_ha, '1'
            FROM crop_zone z CROSS JOIN (VALUES ('N2O'), ('CO2')) g(gas)"""), {"run": ids["run"]})
    return ids


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """Run the app with uvicorn on 127.0.0.1 in a background thread; yields the base URL."""
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    else:
        raise RuntimeError("uvicorn did not start")
    try:
        yield base
    finally:
        server.should_exit = True
        t.join(timeout=10)


def get(url: str, **kw) -> httpx.Response:
    return httpx.get(url, timeout=30, **kw)


@contextmanager
def module_database(pg_cluster: dict, tag: str) -> Iterator[Settings]:
    """A private, seeded clone of the template for one test module (servers need committed rows)."""
    import os

    from .conftest import TEMPLATE_DB, clone_database, drop_database

    name = f"cropmrv_api_{tag}_{os.getpid()}"
    clone_database(pg_cluster["admin_url"], TEMPLATE_DB, name)
    s = Settings(home=pg_cluster["home"], pg_port=pg_cluster["port"], pg_database=name)
    try:
        yield s
    finally:
        drop_database(pg_cluster["admin_url"], name)


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    import morecantile

    t = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, z)
    return t.z, t.x, t.y
