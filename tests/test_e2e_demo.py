"""The whole demo at `small` scale on a fresh database: the numbers agree everywhere, and a second run is a no-op.

Runs `cropmrv demo --no-serve` (the real command: database, GENERATED sample, every file through
`cropmrv ingest`, baseline and project estimates, roll-up, inventory export, annual report), then
reads the same year back through the roll-up library, the inventory JSON, the report workbook and
the HTTP API served in-process, and checks that they state the same CO2e to the gram.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from cropmrv.cli.main import app
from cropmrv.db.engine import make_engine

YEAR = 2025
COUNTED = ("dataset", "estimate_run", "estimate", "inventory_export", "crop_zone", "parcel", "activity")


def _counts(engine) -> dict[str, int]:
    with engine.connect() as c:
        return {t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in COUNTED}


def _demo(work: Path) -> str:
    res = CliRunner().invoke(app, ["demo", "--no-serve", "--scale", "small", "--seed", "2025", "--year", str(YEAR),
                                   "--workdir", str(work)])
    assert res.exit_code == 0, res.output + repr(res.exception)
    return res.output


def _report_total_t(path: Path) -> Decimal:
    wb = openpyxl.load_workbook(path, read_only=True)
    ws = wb.worksheets[0]
    for row in ws.iter_rows(values_only=True):
        if row and isinstance(row[0], str) and row[0].startswith(("Tổng phát thải ròng", "Net emissions")):
            return Decimal(str(row[1]))
    raise AssertionError(f"no net total in {path}")


def test_demo_end_to_end_numbers_agree_and_second_run_is_a_no_op(fresh_db, tmp_path):
    out1 = _demo(tmp_path)
    assert "7/7 done" in out1 and "/maps/" in out1 and "GENERATED" in out1
    assert "not loaded" not in out1  # every file of the sample has an ingest command (links included)
    out = tmp_path / "out"
    eng = make_engine(fresh_db)
    try:
        with eng.connect() as c:
            runs = c.execute(text("SELECT id, scenario FROM estimate_run WHERE year = :y ORDER BY id"),
                             {"y": YEAR}).all()
            assert [r.scenario for r in runs] == ["baseline", "project"]
            project = runs[-1].id
            from cropmrv.mrv import rollup

            prov = rollup.province_summary(c, project)
            communes = c.execute(text("SELECT coalesce(sum(co2e_g), 0) FROM estimate WHERE run_id = :r"),
                                 {"r": project}).scalar()
            loaded = dict(c.execute(text("SELECT layer, count(*) FROM dataset WHERE status = 'active' "
                                         "GROUP BY layer")).all())
        total_g = prov["co2e_g"]
        assert total_g == communes and total_g > 0
        for layer in ("parcels", "crop_zones", "planning_zones", "irrigation_assets", "irrigation_service_areas",
                      "irrigation_service", "pilot_sites", "activity", "plan_targets"):
            assert loaded.get(layer), layer
        assert loaded["parcels"] >= 90

        # the inventory export (kt, exact decimal strings) and the report (t) say the same, to the gram
        inv = json.loads((out / f"inventory_{YEAR}.json").read_text(encoding="utf-8"))
        assert inv["dataset"]["run"]["id"] == project
        assert Decimal(inv["totals"]["net_co2e_kt"]) * 10**9 == total_g
        assert _report_total_t(out / f"bao_cao_{YEAR}.xlsx") * 10**6 == total_g
        for name in (f"inventory_{YEAR}.xlsx", f"inventory_{YEAR}.csv", f"bao_cao_{YEAR}.html"):
            assert (out / name).stat().st_size > 0

        # … and so does the API, served in-process
        from cropmrv.api.app import create_app

        with TestClient(create_app()) as client:
            r = client.get(f"/api/v1/rollup/{YEAR}", params={"scenario": "project"})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["run_id"] == project and int(body["province"]["co2e_g"]) == total_g
            assert sum(int(x["co2e_g"]) for x in body["communes"]) == total_g
            # the national side pulls with its own key (issued through the CLI, as an admin would)
            assert CliRunner().invoke(app, ["user", "add", "national", "--role", "national_sync"]).exit_code == 0
            issued = CliRunner().invoke(app, ["user", "key", "national"])
            key = re.search(r"cmrv_\S+", issued.output).group(0)
            inv_api = client.get(f"/api/v1/inventory/{YEAR}", headers={"X-API-Key": key})
            assert inv_api.status_code == 200, inv_api.text
            assert Decimal(inv_api.json()["totals"]["net_co2e_kt"]) * 10**9 == total_g
            assert client.get("/collections").status_code == 200
            assert client.get("/maps/").status_code == 200

        # second run: the sample is reused, every file is unchanged, no new run, dataset or snapshot
        before = _counts(eng)
        report_bytes = (out / f"inventory_{YEAR}.json").read_bytes()
        out2 = _demo(tmp_path)
        assert "reused" in out2
        ingest_part = out2.split("3/7")[1].split("4/7")[0]
        statuses = re.findall(r"file\(s\)\s+([^;]+);", ingest_part)
        assert statuses and all(set(re.findall(r"[a-z_]+", st)) == {"unchanged"} for st in statuses), statuses
        assert _counts(eng) == before
        assert (out / f"inventory_{YEAR}.json").read_bytes() == report_bytes
    finally:
        eng.dispose()
