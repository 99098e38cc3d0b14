"""Roll-up: province totals are exactly the sum of the communes, and lineage conserves every gram."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from cropmrv.mrv import crt, rollup

from .reporting_data import ENGINE_CATEGORIES, gas_of, make_run, sample_rows


def _communes(conn) -> list[str]:
    return [r[0] for r in conn.execute(text("SELECT code FROM admin_unit WHERE level='commune' ORDER BY code"))]


def _split_old_codes(conn) -> list[str]:
    """Pre-2025 codes that are not current communes and were split between several new ones."""
    return [r[0] for r in conn.execute(text(
        "SELECT old_code FROM admin_lineage WHERE old_code NOT IN (SELECT code FROM admin_unit) "
        "GROUP BY old_code HAVING count(*) > 1 ORDER BY old_code"))]


def test_crt_table_codes_exist_in_climate_categories():
    assert crt.check_codes() == []
    for code in ENGINE_CATEGORIES:
        assert crt.normalise(code) == code
    assert crt.normalise("3.D.1.a") == "3.D.a.1"
    assert crt.by_crf()["3.D.b.2"].crt == "3.D.2.b"
    with pytest.raises(ValueError, match="1.A"):
        crt.normalise("1.A.1")


def test_small_province_totals(conn):
    communes = _communes(conn)[:5]
    run = make_run(conn, 2025, sample_rows(communes))
    rows = rollup.commune_rows(conn, run)
    tot = {(r["category"], r["gas"]): r for r in rollup.province_totals(conn, run)}
    assert tot[("3.C", "CH4")]["mass_g"] == sum(120_000_000 + 1_000_003 * i for i in range(5))
    assert tot[("3.C", "CH4")]["co2e_g"] == 28 * tot[("3.C", "CH4")]["mass_g"]
    assert tot[("3.C", "CH4")]["area_ha"] == Decimal(50 + 51 + 52 + 53 + 54)
    assert tot[("3.F.4", "N2O")]["communes"] == 3
    assert {r["commune_code"] for r in rows} == set(communes)
    ct = {c["commune_code"]: c for c in rollup.commune_totals(conn, run)}
    assert len(ct) == 102 and sum(c["has_data"] for c in ct.values()) == 5
    first = ct[communes[0]]
    # 3.H and 3.D and 4.B.1 share the coffee zone: physical area counts it once (50 + 200 + 30)
    assert first["area_ha"] == Decimal(280)
    assert first["lulucf_co2e_g"] == -90_000_000
    s = rollup.province_summary(conn, run)
    assert s["co2e_g"] == sum(r["co2e_g"] for r in rows)
    assert s["co2e_g"] == s["agriculture_co2e_g"] + s["lulucf_co2e_g"]


def test_change_from_previous_year(conn):
    communes = _communes(conn)[:3]
    prev = make_run(conn, 2024, sample_rows(communes))
    cur = make_run(conn, 2025, sample_rows(communes, scale=2))
    run = rollup.resolve_run(conn, 2025, "66")
    assert run.id == cur and rollup.previous_run(conn, run).id == prev
    ct = {c["commune_code"]: c for c in rollup.commune_totals(conn, cur, prev)}
    c0 = ct[communes[0]]
    assert c0["change_g"] == c0["co2e_g"] - c0["previous_co2e_g"] == c0["previous_co2e_g"]
    assert c0["change_pct"] == Decimal("100.00")
    assert ct[_communes(conn)[50]]["previous_co2e_g"] is None
    s = rollup.province_summary(conn, cur, prev)
    assert s["change_g"] == s["previous_co2e_g"]


def test_resolve_run_prefers_project_and_explains_missing(conn):
    b = make_run(conn, 2023, [], scenario="baseline")
    assert rollup.resolve_run(conn, 2023, "66").id == b
    p = make_run(conn, 2023, [], scenario="project")
    assert rollup.resolve_run(conn, 2023, "66").id == p
    assert rollup.resolve_run(conn, 2023, "66", scenario="baseline").id == b
    with pytest.raises(rollup.RollupError, match="cropmrv estimate --year 1999"):
        rollup.resolve_run(conn, 1999, "66")
    with pytest.raises(rollup.RollupError, match="belongs to"):
        rollup.resolve_run(conn, 2024, "66", run_id=p)


def test_old_codes_follow_lineage_and_conserve_grams(conn):
    old = _split_old_codes(conn)[0]
    news = [r[0] for r in conn.execute(text("SELECT new_code FROM admin_lineage WHERE old_code=:o ORDER BY 1"),
                                       {"o": old})]
    run = make_run(conn, 2025, [{"commune_code": old, "category": "3.C", "gas": "CH4", "mass_g": 1_000_000_001,
                                 "area_ha": 10}])
    rows = rollup.commune_rows(conn, run)
    assert sorted(r["commune_code"] for r in rows) == news
    assert sum(r["mass_g"] for r in rows) == 1_000_000_001
    assert max(r["mass_g"] for r in rows) - min(r["mass_g"] for r in rows) <= 1
    assert sum(r["area_ha"] for r in rows) == pytest.approx(Decimal(10), abs=Decimal("0.00001"))


def test_unknown_code_is_refused(conn):
    run = make_run(conn, 2025, [{"commune_code": "99999", "category": "3.C", "gas": "CH4", "mass_g": 5}])
    with pytest.raises(rollup.RollupError, match="99999"):
        rollup.commune_rows(conn, run)


_row = st.fixed_dictionaries({
    "commune": st.integers(0, 10_000),
    "category": st.sampled_from(ENGINE_CATEGORIES),
    "mass_g": st.integers(-10**12, 10**13),
    "area_ha": st.one_of(st.none(), st.decimals(0, 5000, places=4)),
    "record": st.integers(0, 30),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.lists(_row, min_size=0, max_size=60))
def test_province_is_exact_sum_of_communes(conn, data):
    """Generated runs mixing current and split pre-2025 codes: every (category, gas) province
    total equals the sum of the commune rows and the sum of the raw estimate rows, to the gram."""
    pool = _communes(conn)[:20] + _split_old_codes(conn)[:10]
    rows = []
    for d in data:
        for gas in gas_of(d["category"]):
            rows.append({"commune_code": pool[d["commune"] % len(pool)], "category": d["category"], "gas": gas,
                         "mass_g": d["mass_g"], "record_id": f"r{d['record']}",
                         "area_ha": float(d["area_ha"]) if d["area_ha"] is not None else None})
    with conn.begin_nested() as sp:
        run = make_run(conn, 2030, rows)
        raw_m, raw_c = Counter(), Counter()
        for r in rows:
            raw_m[(r["category"], r["gas"])] += r["mass_g"]
            raw_c[(r["category"], r["gas"])] += r["mass_g"] * {"CO2": 1, "CH4": 28, "N2O": 265}[r["gas"]]
        com_m, com_c = defaultdict(int), defaultdict(int)
        for r in rollup.commune_rows(conn, run):
            com_m[(r["category"], r["gas"])] += r["mass_g"]
            com_c[(r["category"], r["gas"])] += r["co2e_g"]
        prov = {(r["category"], r["gas"]): r for r in rollup.province_totals(conn, run)}
        assert set(prov) == set(raw_m)
        for k, p in prov.items():
            assert p["mass_g"] == com_m[k] == raw_m[k]
            assert p["co2e_g"] == com_c[k] == raw_c[k]
        summary = rollup.province_summary(conn, run)
        assert summary["co2e_g"] == sum(raw_c.values())
        assert summary["co2e_g"] == sum(c["co2e_g"] for c in rollup.commune_totals(conn, run))
        sp.rollback()
