"""Project scenario (pilot sites take their project package) and the `cropmrv estimate` / `runs` commands."""

from __future__ import annotations

from sqlalchemy import text
from typer.testing import CliRunner

from cropmrv.cli.main import app
from cropmrv.mrv.runs import create_run, run_frame
from cropmrv.mrv.store import sync_packages

from .test_runs import BMT, SQUARE, act, dataset, seed_basic, zone


def _site(c, code: str, crop: str, base: str, proj: str, x: float, area: float) -> None:
    c.execute(text(
        "INSERT INTO pilot_site (province_code, site_code, name, crop, commune_code, baseline_package, "
        "project_package, start_year, area_ha, geom) VALUES ('66', :c, :c, :crop, :cc, :b, :p, 2025, :a, "
        "ST_GeomFromEWKT(:g))"),
        {"c": code, "crop": crop, "cc": BMT, "b": base, "p": proj, "a": area,
         "g": SQUARE.format(x=x, y=12.6, x2=x + 0.02, y2=12.62)})


def test_project_scenario_uses_pilot_packages_with_awd_coupling(fresh_db, fresh_engine):
    with fresh_engine.begin() as c:
        sync_packages(c)
        dz, da = dataset(c, "crop_zones"), dataset(c, "activity")
        # a rice zone inside the rice pilot site, measured under continuous flooding
        rz = zone(c, dz, "PR1", "rice", 3.0, season="dong_xuan", water_regime="continuously_flooded", i=50)
        act(c, da, "cultivation_days", 100, zone_code="PR1")
        _site(c, "PILOT-RICE", "rice", "dl-rice-continuous-flooding", "dl-rice-awd", 108.5 - 0.001, 3.0)
        # a sugarcane pilot site without crop zones: estimated from the site itself
        _site(c, "PILOT-CANE", "sugarcane", "dl-sugarcane-burning", "dl-sugarcane-no-burning", 109.0, 10.0)
    base = create_run(fresh_engine, fresh_db, 2025, "baseline", draws=0)
    proj = create_run(fresh_engine, fresh_db, 2025, "project", draws=0)
    assert base.run_digest != proj.run_digest and base.inputs_digest != proj.inputs_digest
    with fresh_engine.connect() as c:
        fb, fp = run_frame(c, base.run_id), run_frame(c, proj.run_id)

    def val(f, rid, cat, gas):
        return int(f[(f.record_id == rid) & (f.category == cat) & (f.gas == gas)].mass_g.sum())

    rid = f"z{rz}"
    ch4_b, ch4_p = val(fb, rid, "3.C", "CH4"), val(fp, rid, "3.C", "CH4")
    assert ch4_p == round(ch4_b * 0.55)  # SFw 1.00 → 0.55, measured days kept
    n2o_b, n2o_p = val(fb, rid, "3.D.a.1", "N2O"), val(fp, rid, "3.D.a.1", "N2O")
    assert n2o_p > n2o_b > 0  # EF1FR 0.003 → 0.005: the AWD coupling shows
    assert "from_norms" in fp[fp.record_id == rid]["flags"].iloc[0]
    # the site without zones: burning in the baseline, none in the project
    assert val(fb, "pPILOT-CANE", "3.F.4", "CH4") > 0
    assert val(fp, "pPILOT-CANE", "3.F.4", "CH4") == 0
    # outside pilot sites nothing changes
    assert set(fb.record_id) == set(fp.record_id)


def test_cli_estimate_and_runs(fresh_db, fresh_engine):
    seed_basic(fresh_engine)
    runner = CliRunner(env={"COLUMNS": "200"})
    r = runner.invoke(app, ["estimate", "--year", "2025", "--draws", "50"])
    assert r.exit_code == 0, r.output
    assert "3.C" in r.output and "run 1 written" in r.output and "unverified" in r.output
    again = runner.invoke(app, ["estimate", "--year", "2025", "--draws", "50"])
    assert again.exit_code == 0 and "already existed" in again.output
    ls = runner.invoke(app, ["runs", "list"])
    assert ls.exit_code == 0 and "ipcc2019-sea@1" in ls.output
    show = runner.invoke(app, ["runs", "show", "1"])
    assert show.exit_code == 0 and "Rice cultivation" in show.output
    missing = runner.invoke(app, ["runs", "show", "99"])
    assert missing.exit_code == 1 and "no estimate run 99" in missing.output
    bad = runner.invoke(app, ["estimate", "--year", "2025", "--factors", "nope"])
    assert bad.exit_code == 1 and "unknown factor set" in bad.output
