"""Annual report: opens with openpyxl, totals equal the roll-up, Vietnamese and English, HTML too."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from cropmrv.mrv import report, rollup, submissions, targets
from cropmrv.settings import PACKAGE_DATA

from .reporting_data import make_run, sample_rows

SEED = PACKAGE_DATA / "provinces" / "66" / "plan_targets.csv"


@pytest.fixture
def province(conn):
    communes = [r[0] for r in conn.execute(text("SELECT code FROM admin_unit WHERE level='commune' ORDER BY code "
                                                "LIMIT 8"))]
    site_rows = lambda m: [{"record_id": "PILOT-CF-1:coffee", "commune_code": communes[0], "crop": "coffee",  # noqa: E731
                            "category": "3.D.a.1", "gas": "N2O", "mass_g": m, "area_ha": 50}]
    make_run(conn, 2020, sample_rows(communes, scale=3), scenario="project")
    make_run(conn, 2024, sample_rows(communes), scenario="project")
    base = make_run(conn, 2025, sample_rows(communes, scale=3) + site_rows(90_000), scenario="baseline",
                    uncertainty=[{"scope": "total", "mean_kg": 1e6, "low95_kg": 8e5, "high95_kg": 1.3e6}])
    proj = make_run(conn, 2025, sample_rows(communes, scale=2) + site_rows(60_000), scenario="project",
                    unverified=("rice.efc.central",),
                    uncertainty=[{"scope": "total", "mean_kg": 1e6, "low95_kg": 8e5, "high95_kg": 1.3e6},
                                 {"scope": "3.C", "approach": 2, "mean_kg": 5e5, "low95_kg": 3e5, "high95_kg": 7e5}])
    conn.execute(text("INSERT INTO practice_package (code, crop, name, inputs, source, illustrative) VALUES "
                      "('t-cf-conv', 'coffee', 'conventional', '{}', 'test', true), "
                      "('t-cf-low', 'coffee', 'low emission', '{}', 'test', true) ON CONFLICT DO NOTHING"))
    conn.execute(text("INSERT INTO pilot_site (province_code, site_code, name, crop, commune_code, baseline_package, "
                      "project_package, start_year, area_ha, geom) SELECT '66', 'PILOT-CF-1', 'Mô hình cà phê', "
                      "'coffee', code, 't-cf-conv', 't-cf-low', 2025, 50, ST_Multi(ST_Buffer(ST_PointOnSurface(geom), "
                      "0.001)) FROM admin_unit WHERE code = :c"), {"c": communes[0]})
    targets.load(conn, SEED, "66")
    admin = submissions.Actor("tinh", "province_admin")
    submissions.submit(conn, communes[0], 2025, admin)
    submissions.approve(conn, communes[0], 2025, admin)
    submissions.submit(conn, communes[1], 2025, admin)
    submissions.return_(conn, communes[1], 2025, admin, "Thiếu số liệu phân bón")
    return {"communes": communes, "baseline": base, "project": proj}


def _data(conn):
    return report.gather(conn, 2025, "66", "Đắk Lắk")


def test_gather_uses_the_rollup(conn, province):
    d = _data(conn)
    assert d["run"]["id"] == province["project"] and d["baseline_run_id"] == province["baseline"]
    proj = rollup.province_summary(conn, province["project"])
    base = rollup.province_summary(conn, province["baseline"])
    assert d["summary"]["co2e_g"] == proj["co2e_g"] == sum(c["co2e_g"] for c in d["communes"])
    assert d["summary"]["reduction_g"] == base["co2e_g"] - proj["co2e_g"] > 0
    assert sum(c["co2e_g"] for c in d["categories"]) == proj["co2e_g"]
    pilot = d["pilots"][0]
    assert (pilot["b_g"], pilot["p_g"]) == (90_000 * 265, 60_000 * 265) and pilot["reduction_pct"] == 33.3
    prog = {(t["indicator"], t["year"]): t for t in d["targets"]}
    assert prog[("low_emission_models", 2035)]["actual"] == 1.0
    red = prog[("ghg_reduction_vs_2020_pct", 2035)]
    assert red["actual"] is not None and red["actual"] > 0 and "2020 run" in red["basis"]
    assert prog[("farmers_trained", 2026)]["actual"] is None  # nothing measured: no guess
    assert d["submission_counts"]["approved"] == 1 and d["submission_counts"]["returned"] == 1
    assert "rice.efc.central" in [u["key"] for u in d["quality"]["unverified"] if u["used_by_run"]]
    assert d["quality"]["flags"]["unverified_factor"] > 0


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_xlsx_opens_and_totals_equal_rollup(conn, province, tmp_path, lang):
    d = _data(conn)
    path = report.write(d, tmp_path / f"report-{lang}.xlsx", lang=lang)
    wb = load_workbook(path)
    L = report.T[lang]
    assert wb.sheetnames == [L[k] for k in ("summary", "by_category", "by_commune", "pilots", "targets", "subs",
                                            "quality")]
    roll = rollup.province_summary(conn, province["project"])
    want = float(Decimal(roll["co2e_g"]) / 10**6)
    summary = {r[0]: r[1] for r in wb[L["summary"]].iter_rows(min_row=3, values_only=True) if r[0]}
    assert summary[L["total"]] == want
    assert summary[L["reduction"]] == float(Decimal(d["summary"]["reduction_g"]) / 10**6)
    communes = list(wb[L["by_commune"]].iter_rows(min_row=2, values_only=True))
    total_row = communes[-1]
    assert total_row[0] == "TOTAL" and total_row[2] == want
    assert len(communes) == 103 and sum(r[2] for r in communes[:-1]) == pytest.approx(want, abs=1e-6)
    cats = list(wb[L["by_category"]].iter_rows(min_row=2, values_only=True))
    assert sum(r[2] for r in cats) == pytest.approx(want, abs=1e-6)
    assert [r[0] for r in cats][:2] == ["3.C", "3.D.1.a"]
    for name in ("by_category", "by_commune", "pilots", "targets"):
        assert len(wb[L[name]]._charts) == 1, name
    states = {r[0]: r[2] for r in wb[L["subs"]].iter_rows(min_row=2, values_only=True)}
    assert states[province["communes"][1]] == L["states"]["returned"]


def test_html_is_self_contained(conn, province, tmp_path):
    d = _data(conn)
    html = report.write(d, tmp_path / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and 'lang="vi"' in html
    assert "Báo cáo phát thải khí nhà kính trong trồng trọt năm 2025" in html
    assert html.count("<svg") == 4 and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    want = f"{float(Decimal(d['summary']['co2e_g']) / 10**6):,.3f}"
    assert want in html  # the summary total and the commune total row
    en = report.write(d, tmp_path / "report-en.html", lang="en").read_text(encoding="utf-8")
    assert "Greenhouse-gas emissions from crop production, 2025" in en
    with pytest.raises(ValueError, match="unsupported"):
        report.write(d, tmp_path / "report.pdf")
    with pytest.raises(ValueError, match="language"):
        report.write(d, tmp_path / "report.xlsx", lang="fr")


def test_targets_load_and_replace(conn, tmp_path):
    n = targets.load(conn, SEED, "66")
    rows = targets.list_targets(conn, "66")
    assert n == len(rows) == 9
    red = next(r for r in rows if r["indicator"] == "ghg_reduction_vs_2020_pct")
    assert red["target_value"] == 15 and "4024" in red["source"]
    area = next(r for r in rows if r["indicator"] == "low_emission_area_ha")
    assert "ILLUSTRATIVE" in area["source"]
    edited = tmp_path / "t.csv"
    edited.write_text(SEED.read_text(encoding="utf-8").replace(",2030,21300,ha,", ",2030,30000,ha,"), encoding="utf-8")
    targets.load(conn, edited, "66")
    assert next(r for r in targets.list_targets(conn, "66") if r["indicator"] == "low_emission_area_ha")[
        "target_value"] == 30000
    assert conn.execute(text("SELECT count(*) FROM dataset WHERE layer='plan_targets' AND status='active'")).scalar() == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("indicator,year\nx,2030\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing columns"):
        targets.load(conn, bad, "66")
    assert Path(SEED).exists()
