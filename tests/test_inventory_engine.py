"""The export and the report on a run made by the real engine (mrv.runs.create_run)."""

from __future__ import annotations

from decimal import Decimal

from openpyxl import load_workbook

from cropmrv.mrv import inventory, report, rollup
from cropmrv.mrv.runs import create_run, get_run

from .test_runs import seed_basic


def test_export_of_an_engine_run(fresh_db, fresh_engine, tmp_path):
    seed_basic(fresh_engine)
    res = create_run(fresh_engine, fresh_db, 2025, "project", draws=100)
    with fresh_engine.begin() as c:
        run = get_run(c, res.run_id)
        info = inventory.create_export(c, 2025, "66", "Đắk Lắk")
        summary = rollup.province_summary(c, res.run_id)
        data = report.gather(c, 2025, "66", "Đắk Lắk")
    doc = info.document()
    inventory.validate(doc)
    assert doc["dataset"]["run"]["id"] == res.run_id
    assert summary["co2e_g"] == run["total_co2e_g"]
    rec = {(r["crt_category"], r["measure"], r["gas"]): r for r in doc["records"]}
    assert rec[("3.C", "Emissions", "CH4")]["value"] == "0.000124440"       # 124.44 kg CH4 (DOMAIN.md §4 oracle 1)
    assert rec[("3.G.1", "Emissions", "CO2")]["value"] == "0.000440000"     # 1 t limestone → 440 kg CO2
    assert rec[("3.C", "Emissions", "CH4")]["method"] == ["T1"]
    assert rec[("3.D.1.b", "Emissions", "N2O")]["notation_key"] == "NE"     # organic N not reported
    cat = {c["crt_category"]: c for c in doc["categories"]}
    assert any(u["approach"] == 2 for u in cat["3.C"]["uncertainty"])
    assert doc["totals"]["uncertainty"] and doc["dataset"]["unverified_factors"] == sorted(run["unverified_factors"])
    assert Decimal(doc["totals"]["net_co2e_kt"]) * 10**9 == summary["co2e_g"]  # the run is AR5
    path = report.write(data, tmp_path / "r.xlsx")
    ws = load_workbook(path)[report.T["vi"]["by_commune"]]
    total = [r for r in ws.iter_rows(values_only=True) if r[0] == "TOTAL"][0]
    assert total[2] == float(Decimal(summary["co2e_g"]) / 10**6)
