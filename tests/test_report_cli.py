"""The reporting commands end to end through the `cropmrv` Typer app, on a committed database."""

from __future__ import annotations

import hashlib
import json

from openpyxl import load_workbook
from sqlalchemy import text
from typer.testing import CliRunner

from cropmrv.cli.main import app
from cropmrv.mrv import rollup

from .national_standin import NationalStandin
from .reporting_data import make_run, sample_rows

runner = CliRunner()


def _ok(*args):
    r = runner.invoke(app, list(args))
    assert r.exit_code == 0, r.output + repr(r.exception)
    return r.output


def test_cli_reporting_flow(fresh_engine, tmp_path):
    with fresh_engine.begin() as c:
        communes = [r[0] for r in c.execute(text("SELECT code FROM admin_unit WHERE level='commune' LIMIT 4"))]
        make_run(c, 2025, sample_rows(communes, scale=2), scenario="baseline")
        run = make_run(c, 2025, sample_rows(communes), scenario="project")
    out = json.loads(_ok("rollup", "--year", "2025", "--json"))
    with fresh_engine.connect() as c:
        assert out["province"]["co2e_g"] == rollup.province_summary(c, run)["co2e_g"]
    assert "TOTAL" in _ok("rollup", "--year", "2025")

    _ok("submission", "submit", communes[0], "--year", "2025", "--by", "xa")
    r = runner.invoke(app, ["submission", "return", communes[0], "--year", "2025"])
    assert r.exit_code != 0  # the comment is required
    _ok("submission", "approve", communes[0], "--year", "2025")
    r = runner.invoke(app, ["submission", "submit", communes[0], "--year", "2025"])
    assert r.exit_code == 1 and "approved" in r.output
    status = json.loads(_ok("status", "--year", "2025", "--json"))
    assert status["counts"]["approved"] == 1

    assert "9 mục tiêu" in _ok("targets", "load")
    assert "2035" in _ok("targets", "list", "--year", "2025")

    inv = tmp_path / "inv.json"
    _ok("export", "inventory", "--year", "2025", "-o", str(inv))
    body = inv.read_bytes()
    assert (tmp_path / "inv.json.sha256").read_text().split()[0] == hashlib.sha256(body).hexdigest()
    assert json.loads(body)["dataset"]["run"]["id"] == run
    again = _ok("export", "inventory", "--year", "2025", "-o", str(tmp_path / "inv.csv"))
    assert "existing snapshot" in again
    _ok("export", "inventory", "--year", "2025", "--format", "xlsx", "-o", str(tmp_path / "inv.xlsx"))
    assert load_workbook(tmp_path / "inv.xlsx").sheetnames[0] == "data"

    _ok("export", "report", "--year", "2025", "-o", str(tmp_path / "r.xlsx"))
    _ok("export", "report", "--year", "2025", "-o", str(tmp_path / "r.html"), "--lang", "en")
    assert load_workbook(tmp_path / "r.xlsx").sheetnames[0] == "Tổng hợp"

    with NationalStandin(["drop_after_store"]) as server:
        out = _ok("sync", "--year", "2025", "--endpoint", server.url, "--timeout", "5")
        assert "duplicate" in out and len(server.stored) == 1
        assert "skipped" in _ok("sync", "--year", "2025", "--endpoint", server.url)
        assert len(server.requests) == 2

    r = runner.invoke(app, ["export", "report", "--year", "1999", "-o", str(tmp_path / "x.xlsx")])
    assert r.exit_code == 1 and "1999" in r.output
