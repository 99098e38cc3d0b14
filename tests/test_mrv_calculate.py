"""The calculator end to end: JSON schemas, the CLI, reproducibility, Tier 2 set, AWD coupling."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cropmrv.cli.main import app
from cropmrv.mrv.calculate import RESULT_COLUMNS, calculate, calculate_json, totals

SCHEMAS = Path(__file__).resolve().parents[1] / "mrv" / "schemas"
EXAMPLE = json.loads((SCHEMAS / "example-input.json").read_text(encoding="utf-8"))
RICE = {"id": "r", "commune_code": "24133", "crop": "rice", "season": "winter_spring", "year": 2024, "area_ha": 1.0,
        "water_regime": "continuously_flooded", "pre_season_regime": "non_flooded_lt180", "cultivation_days": 102,
        "straw_t_dm_ha": 0, "compost_t_ha": 0, "manure_t_ha": 0, "green_manure_t_ha": 0, "n_synthetic_kg": 100,
        "n_organic_kg": 0, "urea_kg": 0, "limestone_kg": 0, "dolomite_kg": 0}


def schema(name):
    return jsonschema.Draft202012Validator(json.loads((SCHEMAS / name).read_text(encoding="utf-8")))


def test_example_validates_against_both_schemas():
    schema("calc-input.schema.json").validate(EXAMPLE)
    out = calculate_json(EXAMPLE)
    schema("calc-output.schema.json").validate(out)
    assert all(r["status"] == "ok" for r in out["records"])
    assert "biomass.coffee.g" in out["unverified_factors_used"]


def test_schema_vocabularies_match_the_code():
    from cropmrv.mrv.categories import CATEGORIES
    from cropmrv.mrv.records import CROP_LIST, WATER_REGIMES

    props = json.loads((SCHEMAS / "calc-input.schema.json").read_text())["$defs"]["record"]["properties"]
    assert props["crop"]["enum"][:-1] == CROP_LIST and props["water_regime"]["enum"][:-1] == WATER_REGIMES
    out = json.loads((SCHEMAS / "calc-output.schema.json").read_text())
    assert out["$defs"]["row"]["properties"]["category"]["enum"] == CATEGORIES


def test_results_frame_shape_and_case_1():
    res = calculate(pd.DataFrame([RICE]))
    assert list(res.columns) == RESULT_COLUMNS
    ch4 = res[res.category == "3.C"].iloc[0]
    assert ch4.gas == "CH4" and ch4.mass_kg == pytest.approx(124.44) and ch4.co2e_kg == pytest.approx(3484.32)
    assert ch4.tier == 1 and ch4["flags"] == ""
    assert res.attrs["factor_set"]["code"] == "ipcc2019-sea"
    n2o = res[res.category == "3.D.a.1"].iloc[0]
    assert n2o.mass_kg == pytest.approx(0.471429, rel=1e-6)  # DOMAIN §4 case 9, EF1FR continuous
    assert n2o.factor_keys == "n2o.ef1fr.continuously_flooded"


def test_awd_coupling_in_the_calculator():
    cf = calculate(pd.DataFrame([RICE]))
    awd = calculate(pd.DataFrame([{**RICE, "water_regime": "multiple_drainage_awd"}]))
    get = lambda r, c: r[r.category == c].mass_kg.sum()  # noqa: E731
    assert get(awd, "3.C") == pytest.approx(68.442)  # case 2
    assert get(awd, "3.D.a.1") - get(cf, "3.D.a.1") == pytest.approx(0.314286, rel=1e-5)  # case 9


def test_vn_central_tier2_set():
    res = calculate(pd.DataFrame([RICE]), "vn-central-t2")
    ch4 = res[res.category == "3.C"].iloc[0]
    assert ch4.mass_kg == pytest.approx(289.68)  # case 14
    assert ch4.tier == 2 and "regional_proxy" in ch4["flags"]
    assert res.attrs["regional_proxy_factors_used"] == ["rice.efc.winter_spring"]
    no_season = calculate(pd.DataFrame([{**RICE, "season": None}]), "vn-central-t2")
    row = no_season[no_season.category == "3.C"].iloc[0]
    assert row.tier == 1 and "season_unknown" in row["flags"] and row.mass_kg == pytest.approx(124.44)


def test_gwp_is_applied_last():
    a5 = calculate(pd.DataFrame([RICE]), gwp="ar5")
    a6 = calculate(pd.DataFrame([RICE]), gwp="ar6")
    np.testing.assert_array_equal(a5.mass_kg, a6.mass_kg)
    assert a6[a6.category == "3.C"].co2e_kg.iloc[0] == pytest.approx(3359.88)
    assert a5.attrs["run_digest"] != a6.attrs["run_digest"]
    assert a5.attrs["inputs_digest"] == a6.attrs["inputs_digest"]


def test_same_inputs_same_digest_and_numbers():
    one = calculate_json(EXAMPLE)
    two = calculate_json(json.loads(json.dumps(EXAMPLE)))
    assert one == two
    changed = json.loads(json.dumps(EXAMPLE))
    changed[0]["area_ha"] = 12.6
    assert calculate_json(changed)["inputs_digest"] != one["inputs_digest"]


def test_burning_and_unverified_flags_on_sugarcane():
    out = calculate_json(EXAMPLE)
    cane = next(r for r in out["records"] if r["id"] == "sonhoa-cane-burnt")
    burn = [x for x in cane["results"] if x["category"] == "3.F.4"]
    assert {x["gas"] for x in burn} == {"CH4", "N2O"}
    assert all("unverified_factor" in x["flags"] for x in burn)
    # 63 t/ha × 0.275 DRY × 1.0 R_AG × 1.0 burnt × 0.80 Cf × 2.7 g/kg × 20 ha
    ch4 = next(x for x in burn if x["gas"] == "CH4")
    assert ch4["mass_kg"] == pytest.approx(63 * 0.275 * 0.8 * 2.7 * 20)


def test_perennial_biomass_is_a_removal():
    out = calculate_json(EXAMPLE)
    coffee = next(r for r in out["records"] if r["id"] == "bmt-coffee-1")
    b = next(x for x in coffee["results"] if x["category"] == "4.B.1")
    assert b["mass_kg"] == pytest.approx(-3.0 * 2.6 * 44 / 12 * 1000)  # 2006 Table 5.1 tropical moist, age 5 < 8
    pepper = next(r for r in out["records"] if r["id"] == "pepper-no-inputs-reported")
    ne = {x["category"] for x in pepper["results"] if "NE" in x["flags"]}
    assert {"3.D.a.1", "3.D.a.2", "3.H", "3.G.1"} <= ne


def test_json_reports_bad_records_without_failing_the_rest():
    recs = [*EXAMPLE, {"id": "bad", "commune_code": "24133", "crop": "rice", "year": 2024, "area_ha": -1, "nitrogen": 5}]
    out = calculate_json(recs)
    bad = next(r for r in out["records"] if r["id"] == "bad")
    assert bad["status"] == "error" and bad["results"] == []
    assert {e["field"] for e in bad["errors"]} >= {"area_ha", "water_regime"}
    assert any(w["code"] == "unknown_field" and w["field"] == "nitrogen" for w in bad["warnings"])
    assert sum(r["status"] == "ok" for r in out["records"]) == len(EXAMPLE)


def test_totals_equal_the_sum_of_rows():
    res = calculate(pd.DataFrame(EXAMPLE))
    t = totals(res)
    assert t.co2e_kg.sum() == pytest.approx(np.nansum(res.co2e_kg))
    out = calculate_json(EXAMPLE)
    assert sum(r["total_co2e_kg"] for r in out["records"]) == pytest.approx(out["total_co2e_kg"])


def test_cli_calc(tmp_path):
    src = tmp_path / "in.json"
    src.write_text(json.dumps(EXAMPLE), encoding="utf-8")
    runner = CliRunner()
    r = runner.invoke(app, ["calc", str(src), "--gwp", "ar6", "--factors", "vn-central-t2"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    schema("calc-output.schema.json").validate(out)
    assert out["gwp"]["code"] == "ar6" and out["factor_set"]["code"] == "vn-central-t2"
    bad = tmp_path / "bad.json"
    bad.write_text("[{", encoding="utf-8")
    r = runner.invoke(app, ["calc", str(bad)])
    assert r.exit_code == 1 and "invalid JSON" in r.output
    r = runner.invoke(app, ["calc", str(src), "--factors", "nope"])
    assert r.exit_code == 1 and "unknown factor set" in r.output
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps([{"id": "x", "commune_code": "24133", "crop": "kiwi", "year": 2024, "area_ha": 1}]))
    assert runner.invoke(app, ["calc", str(strict), "--strict"]).exit_code == 1
