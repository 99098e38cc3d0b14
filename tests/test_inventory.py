"""National inventory export: schema, canonical bytes and SHA-256, notation keys, snapshots, files."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from decimal import Decimal

import jsonschema
import pytest
import sqlalchemy.exc
from openpyxl import load_workbook
from sqlalchemy import text

from cropmrv.mrv import inventory, inventory_files, rollup

from .reporting_data import make_run, sample_rows


def _communes(conn, n=6):
    return [r[0] for r in conn.execute(text(f"SELECT code FROM admin_unit WHERE level='commune' ORDER BY code LIMIT {n}"))]


def _export(conn, **kw):
    return inventory.create_export(conn, 2025, "66", "Đắk Lắk", **kw)


def _rec(doc, crt_code, measure, gas):
    hits = [r for r in doc["records"] if r["crt_category"] == crt_code and r["measure"] == measure and r["gas"] == gas]
    assert len(hits) == 1, (crt_code, measure, gas, hits)
    return hits[0]


@pytest.fixture
def run(conn):
    unc = [{"scope": "3.C", "approach": 1, "mean_kg": 17e6, "low95_kg": 9e6, "high95_kg": 25e6},
           {"scope": "total", "approach": 2, "mean_kg": 30e6, "low95_kg": 20e6, "high95_kg": 41e6}]
    return make_run(conn, 2025, sample_rows(_communes(conn)), unverified=("soil.ef1.wet",), uncertainty=unc)


def test_export_validates_and_matches_rollup(conn, run):
    info = _export(conn)
    doc = info.document()
    jsonschema.Draft202012Validator(inventory.schema()).validate(doc)
    inventory.validate(doc)
    tot = {(r["category"], r["gas"]): r for r in rollup.province_totals(conn, run)}
    ch4 = _rec(doc, "3.C", "Emissions", "CH4")
    assert Decimal(ch4["value"]) * 10**9 == tot[("3.C", "CH4")]["mass_g"]
    assert not ch4["is_calculated"] and ch4["method"] == ["T1"] and ch4["ef_type"] == "D"
    co2e = _rec(doc, "3.C", "Emissions CO2 equivalent", "CH4")
    assert Decimal(co2e["value"]) == Decimal(tot[("3.C", "CH4")]["mass_g"]) * 28 / 10**9
    assert co2e["gwp_metric"] == "AR5GWP100" and co2e["unit"] == "kt CO2e"
    # the soils category is reported under its CRT number, with the CRF code beside it
    d1a = _rec(doc, "3.D.1.a", "Emissions", "N2O")
    assert d1a["crf2013_category"] == "3.D.a.1" and d1a["ipcc2006_category"] == "3.C.4"
    ad = _rec(doc, "3.D.1.a", "Activity data", None)
    assert ad["value"] == "1215.0000" and ad["unit"] == "ha"
    ief = _rec(doc, "3.D.1.a", "Implied emission factor", "N2O")
    assert Decimal(ief["value"]) == (Decimal(d1a["value"]) * 10**6 / Decimal(ad["value"])).quantize(Decimal("1e-6"))
    # removals are negative, and the totals add up
    assert Decimal(_rec(doc, "4.B.1", "Emissions", "CO2")["value"]) < 0
    t = doc["totals"]
    assert Decimal(t["net_co2e_kt"]) == Decimal(t["agriculture_co2e_kt"]) + Decimal(t["lulucf_co2e_kt"])
    assert Decimal(t["net_co2e_kt"]) * 10**9 == rollup.province_summary(conn, run)["co2e_g"]
    assert t["uncertainty"][0]["approach"] == 2 and t["uncertainty"][0]["low95"] == "20.000000"
    cat = {c["crt_category"]: c for c in doc["categories"]}
    assert cat["3.C"]["uncertainty"][0]["high95_pct"] == "47.06"
    assert cat["3.H"]["unverified_factor_records"] == 2
    assert doc["dataset"]["run"]["id"] == run and doc["dataset"]["factor_set"]["code"] == "ipcc2019-sea"
    assert doc["dataset"]["unverified_factors"] == ["soil.ef1.wet"]


def test_notation_keys(conn, run):
    doc = _export(conn).document()
    # rice is reported at 3.C: the water-regime rows are "included elsewhere"
    awd = _rec(doc, "3.C.1.b.ii", "Emissions", "CH4")
    assert awd["value"] is None and awd["notation_key"] == "IE" and awd["notation_key_bits"] == 32
    assert "3.C" in awd["nk_explanation"]
    assert _rec(doc, "3.F.1.a", "Emissions", "N2O")["notation_key"] == "NO"          # wheat
    assert _rec(doc, "3.G.1", "Emissions", "CO2")["notation_key"] == "NE"            # no liming data
    assert _rec(doc, "3.D.1.c", "Emissions", "N2O")["notation_key"] == "NE"          # grazing animals
    na = _rec(doc, "3.F.4", "Emissions", "CO2")
    assert na["notation_key"] == "NA" and na["notation_key_bits"] == 256
    cereals = _rec(doc, "3.F.1", "Emissions", "CH4")
    assert cereals["notation_key"] == "NO,NE" and cereals["notation_key_bits"] == 2048 + 1024
    assert _rec(doc, "3.F", "Emissions", "CH4")["is_calculated"] is True
    for r in doc["records"]:
        assert (r["value"] is None) == (r["notation_key"] is not None)


def test_ne_flagged_rows_give_ne(conn):
    c = _communes(conn, 1)[0]
    make_run(conn, 2025, [{"commune_code": c, "category": "3.G.1", "gas": "CO2", "mass_g": 0, "flags": ["NE"]},
                          {"commune_code": c, "category": "3.H", "gas": "CO2", "mass_g": 7, "area_ha": 1}])
    doc = _export(conn).document()
    lime = _rec(doc, "3.G.1", "Emissions", "CO2")
    assert lime["notation_key"] == "NE" and "not reported" in lime["nk_explanation"]
    assert _rec(doc, "3.H", "Emissions", "CO2")["value"] == "0.000000007"


def test_canonical_bytes_and_sha(conn, run):
    info = _export(conn)
    assert hashlib.sha256(info.payload).hexdigest() == info.sha256
    doc = json.loads(info.payload)
    assert inventory.canonical_bytes(doc) == info.payload
    assert all(re.fullmatch(r"-?[0-9]+\.[0-9]+", r["value"]) for r in doc["records"] if r["value"] is not None)
    assert json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() == info.payload
    assert not any(isinstance(v, float) for r in doc["records"] for v in r.values())
    again = _export(conn)
    assert again.reused and again.id == info.id
    assert info.idempotency_key() == f"cropmrv-66-2025-{info.sha256}"


def test_snapshot_never_changes(conn, run):
    first = _export(conn)
    c = _communes(conn, 1)[0]
    conn.execute(text("INSERT INTO estimate (run_id, province_code, record_id, commune_code, category, gas, mass_g, "
                      "co2e_g, area_ha, tier) VALUES (:r, '66', 'late', :c, '3.H', 'CO2', 1000, 1000, 1, '1')"),
                 {"r": run, "c": c})
    second = _export(conn)
    assert second.id != first.id and second.sha256 != first.sha256
    stored = inventory.get_export(conn, first.id)
    assert stored.payload == first.payload and hashlib.sha256(stored.payload).hexdigest() == first.sha256
    assert inventory.latest_export(conn, 2025, "66").id == second.id
    for stmt in ("UPDATE inventory_export SET sha256 = 'x' WHERE id = :i",
                 "DELETE FROM inventory_export WHERE id = :i"):
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="immutable"), conn.begin_nested():
            conn.execute(text(stmt), {"i": first.id})


def test_invalid_payload_is_refused(conn, run):
    doc = _export(conn).document()
    doc["records"][0]["crf2013_category"] = "3.Z.9"
    doc["records"][1]["value"] = "1e-9"
    with pytest.raises(inventory.InventoryError) as e:
        inventory.validate(doc)
    assert "3.Z.9" in str(e.value) and "records/1/value" in str(e.value)


def test_files_json_csv_xlsx(conn, run, tmp_path):
    info = _export(conn)
    m = inventory_files.write_export(info, tmp_path / "inv.json")
    assert (tmp_path / "inv.json").read_bytes() == info.payload
    assert m["payload_sha256"] == info.sha256 == m["files"][0]["sha256"]
    assert (tmp_path / "inv.json.sha256").read_text() == f"{info.sha256}  inv.json\n"
    inventory_files.write_export(info, tmp_path / "inv.csv")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "inv.csv").read_text(encoding="utf-8"))))
    assert len(rows) == len(info.document()["records"])
    r = next(r for r in rows if r["crt_category"] == "3.C" and r["measure"] == "Emissions")
    assert r["value"] == _rec(info.document(), "3.C", "Emissions", "CH4")["value"]
    m = inventory_files.write_export(info, tmp_path / "inv.xlsx")
    assert json.loads((tmp_path / "inv.xlsx.manifest.json").read_text())["files"][0]["sha256"] == \
        hashlib.sha256((tmp_path / "inv.xlsx").read_bytes()).hexdigest()
    wb = load_workbook(tmp_path / "inv.xlsx")
    assert wb.sheetnames == ["data", "categories", "metadata"]
    meta = {r[0]: r[1] for r in wb["metadata"].iter_rows(values_only=True)}
    assert meta["snapshot.sha256"] == info.sha256 and meta["dataset.reporting_entity.code"] == "66"
    with pytest.raises(ValueError, match="unknown format"):
        inventory_files.write_export(info, tmp_path / "inv.pdf")
