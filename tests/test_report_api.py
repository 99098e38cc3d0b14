"""Reporting over HTTP: the national side pulls the snapshot; category totals, reports, targets, sync log."""

from __future__ import annotations

import hashlib
import io
import json

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import text

from cropmrv.api.app import create_app
from cropmrv.api.auth import add_user, new_key
from cropmrv.mrv import rollup, targets
from cropmrv.settings import PACKAGE_DATA

from .reporting_data import make_run, sample_rows


def test_reporting_endpoints(fresh_db, fresh_engine):
    with fresh_engine.begin() as c:
        communes = [r[0] for r in c.execute(text("SELECT code FROM admin_unit WHERE level='commune' LIMIT 4"))]
        run = make_run(c, 2025, sample_rows(communes))
        targets.load(c, PACKAGE_DATA / "provinces" / "66" / "plan_targets.csv", "66")
    add_user(fresh_engine, "quocgia", "national_sync")
    add_user(fresh_engine, "tinh", "province_admin")
    add_user(fresh_engine, "xa", "commune_officer", communes[0])
    keys = {u: {"X-API-Key": new_key(fresh_engine, u)} for u in ("quocgia", "tinh", "xa")}
    with TestClient(create_app(fresh_db)) as client:
        r = client.get("/api/v1/rollup/2025/categories")
        assert r.status_code == 200
        cats = r.json()["categories"]
        with fresh_engine.connect() as c:
            assert sum(x["co2e_g"] for x in cats) == rollup.province_summary(c, run)["co2e_g"]
        assert {x["crt_category"] for x in cats} >= {"3.C", "3.D.1.a", "3.D.2.a", "4.B.1"}

        # the national side cannot pull before the province has made a snapshot; the commune cannot make one
        assert client.get("/api/v1/inventory/2025", headers=keys["quocgia"]).status_code == 404
        assert client.post("/api/v1/exports", json={"year": 2025}, headers=keys["xa"]).status_code == 403
        made = client.post("/api/v1/exports", json={"year": 2025}, headers=keys["tinh"])
        assert made.status_code == 201
        assert client.get("/api/v1/inventory/2025").status_code == 401
        assert client.get("/api/v1/inventory/2025", headers=keys["xa"]).status_code == 403
        pulled = client.get("/api/v1/inventory/2025", headers=keys["quocgia"])
        assert pulled.status_code == 200
        assert hashlib.sha256(pulled.content).hexdigest() == made.json()["sha256"]
        assert json.loads(pulled.content)["dataset"]["reporting_entity"]["code"] == "66"

        html = client.get("/api/v1/reports/2025")
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        assert "Báo cáo phát thải" in html.text
        xlsx = client.get("/api/v1/reports/2025", params={"format": "xlsx", "lang": "en"})
        assert xlsx.status_code == 200
        assert load_workbook(io.BytesIO(xlsx.content)).sheetnames[0] == "Summary"
        assert client.get("/api/v1/reports/1999").status_code == 400

        prog = client.get("/api/v1/targets", params={"year": 2025}).json()
        assert any(t["indicator"] == "ghg_reduction_vs_2020_pct" for t in prog)
        assert client.get("/api/v1/sync-log", headers=keys["quocgia"]).json() == []
        assert client.get("/api/v1/sync-log", headers=keys["xa"]).status_code == 403
