"""Roles × writing endpoints × own and another commune, plus the checks that live in the SQL itself."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from cropmrv.api.app import create_app
from cropmrv.api.auth import ANONYMOUS, ROLES, Principal, add_user, new_key
from cropmrv.api.errors import Forbidden
from cropmrv.api.routes.reviews import ReviewIn, ReviewUpdate, create_review, update_review
from cropmrv.db.engine import make_engine

from .api_helpers import module_database, seed

OWN, OTHER = "own", "other"


@pytest.fixture(scope="module")
def env(pg_cluster):
    with module_database(pg_cluster, "auth") as s:
        eng = make_engine(s)
        seed(eng, zones=20)
        with eng.connect() as c:
            a, b = c.execute(text("SELECT code FROM admin_unit WHERE level = 'commune' ORDER BY code LIMIT 2")).scalars()
            lon, lat = c.execute(text("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM admin_unit "
                                      "WHERE code = :a) s"), {"a": a}).one()
        keys = {}
        for role in ROLES:
            add_user(eng, role, role, a if role == "commune_officer" else None)
            keys[role] = new_key(eng, role)
        with TestClient(create_app(s)) as client:
            yield {"client": client, "engine": eng, "keys": keys, "communes": {OWN: a, OTHER: b},
                   "point": (lon, lat), "settings": s}
        eng.dispose()


def review_id(env, commune: str) -> int:
    with env["engine"].begin() as c:
        return c.execute(text("INSERT INTO planning_review (province_code, commune_code, reviewer, status) "
                              "VALUES ('66', :c, 'fixture', 'open') RETURNING id"), {"c": commune}).scalar_one()


def square(lon: float, lat: float, d: float = 0.0005) -> dict:
    return {"type": "Polygon", "coordinates": [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d],
                                                [lon, lat]]]}


def geojson_file(lon: float, lat: float) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"crop": "coffee", "zone_code": "UP1"},
         "geometry": {"type": "MultiPolygon", "coordinates": [square(lon - 0.001, lat - 0.001)["coordinates"]]}}]}).encode()


# endpoint → (roles allowed anywhere, roles allowed in their own commune only)
WRITES = {
    "review.create": ({"province_admin", "land_reviewer", "irrigation_reviewer"}, {"commune_officer"}),
    "review.update": ({"province_admin", "land_reviewer", "irrigation_reviewer"}, {"commune_officer"}),
    "upload": ({"province_admin", "gis_loader"}, {"commune_officer"}),
    "submission.submit": ({"province_admin"}, {"commune_officer"}),
    "submission.approve": ({"province_admin"}, set()),
    "run.create": ({"province_admin"}, set()),
    "export.create": ({"province_admin"}, set()),
}


def call(env, endpoint: str, commune: str, headers: dict):
    c = env["client"]
    lon, lat = env["point"]
    if endpoint == "review.create":
        return c.post("/api/v1/planning-reviews", headers=headers, json={
            "commune_code": commune, "status": "conflict", "finding": "matrix", "proposed_geom": square(lon, lat)})
    if endpoint == "review.update":
        return c.patch(f"/api/v1/planning-reviews/{review_id(env, commune)}", headers=headers,
                       json={"status": "resolved", "decision": "matrix"})
    if endpoint == "upload":
        return c.post("/api/v1/uploads", headers=headers, data={"layer": "crop_zones", "commune_code": commune,
                                                                 "dry_run": "true"},
                      files={"file": ("zones.geojson", geojson_file(lon, lat), "application/geo+json")})
    if endpoint == "submission.submit":
        return c.post(f"/api/v1/submissions/2024/{commune}/submit", headers=headers, json={"comment": "matrix"})
    if endpoint == "submission.approve":
        return c.post(f"/api/v1/submissions/2023/{commune}/approve", headers=headers, json={})
    if endpoint == "run.create":
        return c.post("/api/v1/runs", headers=headers, json={"year": 2024})
    if endpoint == "export.create":
        return c.post("/api/v1/exports", headers=headers, json={"year": 2024})
    raise AssertionError(endpoint)


@pytest.mark.parametrize("where", [OWN, OTHER])
@pytest.mark.parametrize("endpoint", sorted(WRITES))
@pytest.mark.parametrize("role", [*ROLES, "anonymous"])
def test_write_matrix(env, role, endpoint, where):
    anywhere, own_only = WRITES[endpoint]
    headers = {} if role == "anonymous" else {"X-API-Key": env["keys"][role]}
    r = call(env, endpoint, env["communes"][where], headers)
    allowed = role in anywhere or (role in own_only and where == OWN)
    if role == "anonymous":
        assert r.status_code == 401, r.text
    elif allowed:
        assert r.status_code not in (401, 403), r.text
        assert r.status_code < 500, r.text
    else:
        assert r.status_code == 403, r.text
    assert r.headers["content-type"] in ("application/json", "application/problem+json")


def test_allowed_writes_do_their_work_and_are_audited(env):
    h = {"Authorization": f"Bearer {env['keys']['commune_officer']}"}
    c, own = env["client"], env["communes"][OWN]
    lon, lat = env["point"]
    r = c.post("/api/v1/planning-reviews", headers=h, json={"commune_code": own, "status": "conflict",
                                                             "proposed_geom": square(lon, lat)})
    assert r.status_code == 201 and r.json()["reviewer"] == "commune_officer"
    assert r.json()["proposed_geom"]["type"] == "MultiPolygon"
    rid = r.json()["id"]
    r = c.patch(f"/api/v1/planning-reviews/{rid}", headers=h, json={"status": "resolved", "decision": "ok"})
    assert r.json()["status"] == "resolved" and r.json()["decision"] == "ok"
    r = c.post("/api/v1/uploads", headers={"X-API-Key": env["keys"]["gis_loader"]},
               data={"layer": "crop_zones", "commune_code": own},
               files={"file": ("zones.geojson", geojson_file(lon, lat), "application/geo+json")})
    assert r.status_code == 201 and r.json()["status"] == "loaded", r.text
    with env["engine"].connect() as conn:
        actions = {(a, act) for a, act in conn.execute(text("SELECT actor, action FROM audit_log"))}
    assert {("commune_officer", "planning_review.create"), ("commune_officer", "planning_review.update"),
            ("gis_loader", "upload")} <= actions
    doc = c.get("/collections/planning_reviews/items/" + str(rid)).json()
    assert doc["properties"]["status"] == "resolved"


def test_scope_is_enforced_by_the_sql_not_only_the_route(env):
    """Call the data functions directly, skipping the route check: the statements still refuse."""
    officer = Principal("officer", "commune_officer", env["communes"][OWN])
    other = env["communes"][OTHER]
    rid = review_id(env, other)
    with env["engine"].begin() as c:
        with pytest.raises(Forbidden):
            update_review(c, officer, rid, ReviewUpdate(status="resolved"))
        with pytest.raises(Forbidden):
            create_review(c, officer, "66", ReviewIn(commune_code=other))
        assert c.execute(text("SELECT status FROM planning_review WHERE id = :i"), {"i": rid}).scalar() == "open"
    admin = Principal("admin", "province_admin")
    with env["engine"].begin() as c:
        assert update_review(c, admin, rid, ReviewUpdate(status="resolved")).status == "resolved"


def test_keys_are_hashed_wrong_keys_are_401_and_reads_can_be_closed(env):
    with env["engine"].connect() as c:
        stored = c.execute(text("SELECT key_hash FROM api_key")).scalars().all()
    assert env["keys"]["viewer"] not in stored and all(len(h) == 64 for h in stored)
    r = env["client"].get("/collections", headers={"X-API-Key": "cmrv_nope"})
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    closed = env["settings"].model_copy(update={"public_read": False})
    with TestClient(create_app(closed)) as c:
        assert c.get("/collections/crop_zones/items").status_code == 401
        assert c.get("/collections/crop_zones/items", headers={"X-API-Key": env["keys"]["viewer"]}).status_code == 200


def test_exports_are_read_by_national_sync_only(env):
    c, keys = env["client"], env["keys"]
    for role in ROLES:
        r = c.get("/api/v1/exports", headers={"X-API-Key": keys[role]})
        assert r.status_code == (200 if role in ("national_sync", "province_admin") else 403), role
    assert c.get("/api/v1/exports").status_code == 401
    assert ANONYMOUS.scope is None


def test_cli_user_add_and_key(env, monkeypatch):
    from typer.testing import CliRunner

    from cropmrv.cli.main import app
    from cropmrv.settings import get_settings

    s = env["settings"]
    monkeypatch.setenv("CROPMRV_HOME", str(s.home))
    monkeypatch.setenv("CROPMRV_PG_PORT", str(s.pg_port))
    monkeypatch.setenv("CROPMRV_PG_DATABASE", s.pg_database)
    get_settings.cache_clear()
    try:
        run = CliRunner().invoke
        r = run(app, ["user", "add", "nam", "--role", "commune_officer", "--commune", env["communes"][OTHER]])
        assert r.exit_code == 0, r.output
        r = run(app, ["user", "add", "x", "--role", "commune_officer"])
        assert r.exit_code == 1 and "--commune" in r.output
        r = run(app, ["user", "key", "nam"])
        assert r.exit_code == 0
        key = r.output.strip()
        assert key.startswith("cmrv_")
        resp = env["client"].post(f"/api/v1/submissions/2022/{env['communes'][OTHER]}/draft",
                                  headers={"X-API-Key": key}, json={})
        assert resp.status_code == 200, resp.text
        assert run(app, ["user", "key", "nobody"]).exit_code == 1
    finally:
        get_settings.cache_clear()
