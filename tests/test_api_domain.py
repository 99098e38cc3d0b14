"""The /api/v1 endpoints: health, calculate, runs → emission layers → exports, pilot sites, uploads."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from cropmrv.api.app import create_app
from cropmrv.api.auth import add_user, new_key
from cropmrv.db.engine import make_engine
from cropmrv.mrv.calculate import calculate_json
from cropmrv.mrv.scenarios import package_scenario
from cropmrv.settings import PACKAGE_DATA

from .api_helpers import module_database
from .test_runs import BMT, seed_basic

EXAMPLE = PACKAGE_DATA.parent.parent / "mrv" / "schemas" / "example-input.json"


@pytest.fixture(scope="module")
def env(pg_cluster):
    with module_database(pg_cluster, "domain") as s:
        eng = make_engine(s)
        seed_basic(eng)
        with eng.begin() as conn:  # two pilot sites on the seeded zones
            conn.execute(text("""
                INSERT INTO pilot_site (province_code, site_code, name, crop, commune_code, start_year, area_ha, geom)
                SELECT '66', 'PS-' || row_number() OVER (ORDER BY id), 'Pilot', 'coffee', commune_code, 2025, 10, geom
                FROM crop_zone ORDER BY id LIMIT 2"""))
        keys = {}
        for role in ("province_admin", "national_sync", "gis_loader", "viewer"):
            add_user(eng, role, role)
            keys[role] = {"X-API-Key": new_key(eng, role)}
        with TestClient(create_app(s)) as client:
            yield {"c": client, "engine": eng, "keys": keys, "settings": s}
        eng.dispose()


def test_health(env):
    r = env["c"].get("/api/v1/health")
    assert r.status_code == 200 and r.json()["database"] is True and r.json()["schema_revision"]


def test_calculate_is_the_library_function(env):
    records = json.loads(EXAMPLE.read_text())
    r = env["c"].post("/api/v1/calculate", json={"records": records})
    assert r.status_code == 200, r.text
    direct = calculate_json(records, "ipcc2019-sea", "ar5")
    assert r.json()["total_co2e_kg"] == pytest.approx(direct["total_co2e_kg"])
    assert len(r.json()["records"]) == len(records)


@pytest.mark.parametrize("body,content_type", [
    ("{not json", "application/json"),
    (json.dumps({"records": []}), "application/json"),
    (json.dumps({"records": [{"id": "a"}], "gwp": 5}), "application/json"),
    (json.dumps({"records": [{"id": "a"}], "factor_set": "no-such-set"}), "application/json"),
    (json.dumps({"records": [{"id": "a"}], "extra": 1}), "application/json"),
    ("records=1", "application/x-www-form-urlencoded"),
])
def test_calculate_bad_input_is_a_400_problem(env, body, content_type):
    r = env["c"].post("/api/v1/calculate", content=body, headers={"content-type": content_type})
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json" and " / " in r.json()["detail"]


def test_run_create_list_get_then_layers_and_exports(env):
    c, keys = env["c"], env["keys"]
    assert c.post("/api/v1/runs", json={"year": 2025}, headers=keys["viewer"]).status_code == 403
    r = c.post("/api/v1/runs", json={"year": 2025}, headers=keys["province_admin"])
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["year"] == 2025 and run["scenario"] == "baseline" and run["finished_at"]
    assert c.get(f"/api/v1/runs/{run['id']}").json()["run_digest"] == run["run_digest"]
    assert run["id"] in [x["id"] for x in c.get("/api/v1/runs?year=2025").json()]
    assert c.get("/api/v1/runs/999999").status_code == 404
    # the run shows up as per-year emission layers, summed from the stored integer grams
    ids = {x["id"] for x in c.get("/collections").json()["collections"]}
    assert {"emissions_communes_2025", "emissions_crop_zones_2025"} <= ids
    with env["engine"].connect() as conn:
        grams = conn.execute(text("SELECT sum(co2e_g) FROM estimate WHERE run_id = :r AND commune_code = :c"),
                             {"r": run["id"], "c": BMT}).scalar()
    f = c.get(f"/collections/emissions_communes_2025/items/{BMT}").json()
    assert f["properties"]["co2e_kg"] == pytest.approx(int(grams) / 1000) and f["properties"]["run_id"] == run["id"]
    assert c.get("/api/v1/rollup/2025").json()["province"]["co2e_g"] == pytest.approx(
        sum(x["co2e_g"] for x in c.get("/api/v1/rollup/2025").json()["communes"]))
    # the province snapshots the inventory; the national system reads it, with a strong ETag
    r = c.post("/api/v1/exports", json={"year": 2025}, headers=keys["province_admin"])
    assert r.status_code == 201, r.text
    assert c.post("/api/v1/exports", json={"year": 2025}, headers=keys["national_sync"]).status_code == 403
    inv = c.get("/api/v1/inventory/2025", headers=keys["national_sync"])
    assert inv.status_code == 200 and inv.headers["etag"] == f'"{r.json()["sha256"]}"'
    again = c.get("/api/v1/inventory/2025", headers={**keys["national_sync"], "If-None-Match": inv.headers["etag"]})
    assert again.status_code == 304
    assert c.get(f"/api/v1/exports/{r.json()['id']}", headers=keys["viewer"]).status_code == 403


def test_pilot_site_comparison_matches_the_scenario_module(env):
    with env["engine"].begin() as conn:
        conn.execute(text("INSERT INTO practice_package (code, crop, name, inputs, source) VALUES "
                          "('dl-coffee-conventional', 'coffee', 'x', '{}', 't'), "
                          "('dl-coffee-low-emission', 'coffee', 'y', '{}', 't') ON CONFLICT DO NOTHING"))
        conn.execute(text("UPDATE pilot_site SET baseline_package = 'dl-coffee-conventional', "
                          "project_package = 'dl-coffee-low-emission' WHERE site_code = 'PS-1'"))
        site = conn.execute(text("SELECT commune_code, area_ha FROM pilot_site WHERE site_code = 'PS-1'")).one()
    r = env["c"].get("/api/v1/pilot-sites/PS-1/comparison?year=2025")
    assert r.status_code == 200, r.text
    direct = package_scenario({"id": "PS-1", "commune_code": site.commune_code, "crop": "coffee", "year": 2025,
                               "area_ha": site.area_ha}, "dl-coffee-conventional", "dl-coffee-low-emission")
    assert r.json()["reduction_t_co2e"] == pytest.approx(direct.attrs["reduction_t_co2e"])
    assert env["c"].get("/api/v1/pilot-sites/NOPE/comparison").status_code == 404
    assert env["c"].get("/api/v1/pilot-sites/PS-2/comparison").status_code == 400  # no packages


def test_oversized_and_bad_uploads_are_problems(env):
    small = env["settings"].model_copy(update={"max_upload_mb": 1})
    big = b"x" * (2 * 2**20)
    with TestClient(create_app(small)) as c:
        r = c.post("/api/v1/uploads", headers=env["keys"]["gis_loader"], data={"layer": "crop_zones"},
                   files={"file": ("big.geojson", big, "application/geo+json")})
        assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
        assert "MB" in r.json()["detail"]
    c = env["c"]
    r = c.post("/api/v1/uploads", headers=env["keys"]["gis_loader"], data={"layer": "crop_zones"},
               files={"file": ("junk.geojson", b"{not geojson", "application/geo+json")})
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json", r.text
    r = c.post("/api/v1/uploads", headers=env["keys"]["gis_loader"], data={"layer": "nope"},
               files={"file": ("a.geojson", b"{}", "application/geo+json")})
    assert r.status_code == 400
    r = c.post("/api/v1/uploads", headers=env["keys"]["gis_loader"], data={"layer": "crop_zones"})
    assert r.status_code == 400  # no file


def test_review_geometry_errors_are_400(env):
    c, h = env["c"], env["keys"]["province_admin"]
    bad = [
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]},
        {"type": "Polygon", "coordinates": [[[500, 0], [501, 0], [501, 1], [500, 0]]]},
        {"type": "Point", "coordinates": [1, 2]},
    ]
    for g in bad:
        r = c.post("/api/v1/planning-reviews", headers=h, json={"commune_code": BMT, "proposed_geom": g})
        assert r.status_code == 400, (g, r.text)
    bowtie = {"type": "Polygon", "coordinates": [[[108, 12], [108.01, 12.01], [108.01, 12], [108, 12.01], [108, 12]]]}
    r = c.post("/api/v1/planning-reviews", headers=h, json={"commune_code": BMT, "proposed_geom": bowtie})
    assert r.status_code == 201 and r.json()["proposed_geom"]["type"] == "MultiPolygon"  # repaired
    assert c.post("/api/v1/planning-reviews", headers=h, json={"commune_code": "00000"}).status_code == 400


def test_cropmrv_serve_runs_the_app(fresh_db):
    """`cropmrv serve` is uvicorn with the app factory; it reads the same settings (env) as the CLI."""
    import os
    import subprocess
    import sys
    import time

    import httpx

    from .conftest import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cropmrv", "serve", "--port", str(port), "--log-level", "warning"],
                            env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError(proc.stdout.read1().decode() if proc.stdout else "no output")
        assert r.status_code == 200 and r.json()["status"] == "ok"
        assert httpx.head(f"http://127.0.0.1:{port}/collections", timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)
