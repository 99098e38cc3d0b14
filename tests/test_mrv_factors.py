"""The factor register: loading, inheritance, immutability, digests, rows for the database."""

from __future__ import annotations

import dataclasses

import pytest

from cropmrv.mrv.factors import FactorError, list_factor_sets, load_factor_set, sha256_of
from cropmrv.mrv.gwp import load_gwp


def test_default_set_has_the_sea_values():
    fs = load_factor_set("ipcc2019-sea")
    assert fs.version == 1 and fs.gwp == "ar5"
    assert fs.value("rice.efc") == 1.22  # 2019 Table 5.11, South-East Asia
    assert (fs["rice.efc"].low, fs["rice.efc"].high) == (0.83, 1.81)
    assert fs.value("n2o.ef1.wet_synthetic") == 0.016  # 2019 Table 11.1 disaggregated
    assert fs.value("n2o.frac_leach.wet") == 0.24  # 2019 Table 11.3
    assert fs.option("default_climate") == "wet"


def test_every_factor_names_its_source_and_status():
    for code in ("ipcc2019-sea", "vn-central-t2"):
        for f in load_factor_set(code).factors.values():
            assert f.status in ("verified", "unverified")
            assert f.source.get("table"), f.key
            assert f.source.get("document"), f.key
            if f.evidence == "U":
                assert not f.verified, f"{f.key} is [U] in DOMAIN.md and must be unverified"


def test_regional_set_inherits_explicitly_and_marks_proxies():
    t2 = load_factor_set("vn-central-t2")
    assert t2.inherits == ("ipcc2019-sea", 1)
    assert t2["rice.efc"].origin == "ipcc2019-sea@1"
    assert t2["rice.efc.winter_spring"].origin == "vn-central-t2@1"
    assert t2.value("rice.efc.winter_spring") == 2.84  # Tariq et al. 2020, Central E
    assert t2.value("rice.efc.main") == 3.13  # Central M+L
    assert t2.proxies(["rice.efc.main", "rice.efc"]) == ["rice.efc.main"]
    assert t2["rice.efc.main"].tier == 2
    assert t2.digest != load_factor_set("ipcc2019-sea").digest


def test_set_is_immutable_and_digest_is_stable():
    fs = load_factor_set("ipcc2019-sea")
    with pytest.raises(dataclasses.FrozenInstanceError):
        fs.code = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        fs.factors["rice.efc"] = None  # type: ignore[index]
    with pytest.raises(TypeError):
        fs["rice.efc"].source["table"] = "x"  # type: ignore[index]
    assert fs.digest == sha256_of(fs.canonical())
    load_factor_set.cache_clear()
    assert load_factor_set("ipcc2019-sea").digest == fs.digest


def test_rows_for_the_database():
    rows = load_factor_set("ipcc2019-sea").to_rows()
    row = next(r for r in rows if r["key"] == "rice.sfw.multiple_drainage_awd")
    assert set(row) >= {"set_code", "set_version", "key", "value", "unit", "low", "high", "source", "status", "applicability"}
    assert row["value"] == 0.55 and row["source"]["table"].startswith("5.12")
    assert isinstance(row["applicability"], dict)


def test_aliases_are_unverified_copies():
    fs = load_factor_set()
    assert fs.value("biomass.coffee.g") == fs.value("biomass.tropical_moist.g") == 2.6  # 2006 Table 5.1 p.5.9
    assert not fs["biomass.coffee.g"].verified and fs["biomass.tropical_moist.g"].verified


def test_usage_tracks_unverified_keys():
    u = load_factor_set().usage()
    u.use("rice.efc", "rice.sfp.aggregated")
    assert u.unverified_keys_used == ["rice.sfp.aggregated"]
    with pytest.raises(FactorError, match="no factor 'nope'"):
        u.use("nope")


def test_unknown_set_and_gwp_are_clear_errors():
    with pytest.raises(FactorError, match="unknown factor set"):
        load_factor_set("nope")
    with pytest.raises(FactorError, match="unknown GWP set"):
        load_gwp("ar9")
    assert {r["code"] for r in list_factor_sets()} >= {"ipcc2019-sea", "vn-central-t2"}


def test_gwp_sets():
    assert dict(load_gwp("ar5").values) == {"CO2": 1.0, "CH4": 28.0, "N2O": 265.0}
    assert dict(load_gwp("ar6").values) == {"CO2": 1.0, "CH4": 27.0, "N2O": 273.0}
    assert load_gwp("ar6").source["table"] == "7.15"
