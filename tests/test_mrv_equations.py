"""DOMAIN.md §4 oracles, worked by hand from the printed tables, against the pure equations.

Factor values are read from the register (so a wrong register entry fails here too); the expected
numbers are the hand-worked ones of DOMAIN.md §4, with rel. tolerance 1e-6 unless stated.
"""

from __future__ import annotations

import numpy as np
import pytest

from cropmrv.mrv.equations import biomass, carbonates, residues, rice, soils
from cropmrv.mrv.factors import load_factor_set
from cropmrv.mrv.gwp import load_gwp

FS = load_factor_set("ipcc2019-sea")
T2 = load_factor_set("vn-central-t2")
AR5, AR6 = load_gwp("ar5"), load_gwp("ar6")
approx = lambda x, rel=1e-6: pytest.approx(x, rel=rel)  # noqa: E731


def ch4(sfw=1.0, sfp=1.0, sfo=1.0, efc=None, days=None):
    efc = FS.value("rice.efc") if efc is None else efc
    days = FS.value("rice.days_default") if days is None else days
    return float(rice.ch4_kg(rice.daily_emission_factor(efc, sfw, sfp, sfo), days, 1.0))


def test_oracle_1_rice_sea_baseline():
    # Eq 5.1/5.2; Table 5.11 SE Asia EFc 1.22; Table 5.11A 102 d; SFw = SFp = SFo = 1
    assert ch4() == approx(124.44)
    assert ch4() * AR5["CH4"] == approx(3484.32)
    assert ch4() * AR6["CH4"] == approx(3359.88)


def test_oracle_2_awd_and_single_drainage():
    # Table 5.12 disaggregated: multiple drainage (AWD) 0.55, single drainage 0.71
    awd = ch4(sfw=FS.value("rice.sfw.multiple_drainage_awd"))
    assert awd == approx(68.442)
    assert ch4() - awd == approx(55.998)
    assert awd * AR5["CH4"] == approx(1916.376)
    assert ch4(sfw=FS.value("rice.sfw.single_drainage")) == approx(88.3524)


def test_oracle_3_straw_timing():
    # Eq 5.3; Table 5.14 straw < 30 d 1.00, > 30 d 0.19; 5 t dry weight/ha
    e = FS.value("rice.sfo_exponent")
    early = rice.scaling_factor_organic(5.0, FS.value("rice.cfoa.straw_lt30"), exponent=e)
    late = rice.scaling_factor_organic(5.0, FS.value("rice.cfoa.straw_gt30"), exponent=e)
    assert early == approx(2.878122) and ch4(sfo=early) == approx(358.1535)
    assert late == approx(1.482929) and ch4(sfo=late) == approx(184.5357)


def test_oracle_4_pre_season_regime():
    # Table 5.13 disaggregated
    assert ch4(sfp=FS.value("rice.sfp.flooded_gt30")) == approx(299.9004)
    assert ch4(sfp=FS.value("rice.sfp.non_flooded_gt180")) == approx(110.7516)
    assert ch4(sfp=FS.value("rice.sfp.non_flooded_gt365")) == approx(73.4196)


def test_oracle_5_world_default_climateview():
    # Table 5.11 world 1.19, Table 5.11A world 113 d; × 27 (AR6) = ClimateView's 3,630,690 g CO2e/ha
    assert ch4(efc=1.19, days=113) == approx(134.47)
    assert ch4(efc=1.19, days=113) * AR6["CH4"] == approx(3630.69)


def test_oracle_6_compost_and_manure_fresh_weight():
    # Eq 5.3; Table 5.14 compost 0.17, FYM 0.21; 10 t fresh weight/ha
    e = FS.value("rice.sfo_exponent")
    comp = rice.scaling_factor_organic(0, 0, compost_t_ha=10, cfoa_compost=FS.value("rice.cfoa.compost"), exponent=e)
    fym = rice.scaling_factor_organic(0, 0, manure_t_ha=10, cfoa_manure=FS.value("rice.cfoa.farmyard_manure"), exponent=e)
    assert comp == approx(1.796820) and fym == approx(1.949411)


def test_oracle_7_direct_n2o_coffee_wet_tropics():
    # Eq 11.1; 2019 Table 11.1 wet synthetic 0.016, aggregated 0.010, wet other N 0.006
    n2o = soils.n2o_n_to_n2o(soils.direct_n2o_n(100, FS.value("n2o.ef1.wet_synthetic")))
    assert soils.direct_n2o_n(100, 0.016) == approx(1.6)
    assert n2o == approx(2.514286) and n2o * AR5["N2O"] == approx(666.2857)
    assert soils.n2o_n_to_n2o(soils.direct_n2o_n(100, FS.value("n2o.ef1.aggregated"))) == approx(1.571429)
    assert soils.n2o_n_to_n2o(soils.direct_n2o_n(100, FS.value("n2o.ef1.wet_other"))) == approx(0.942857)


def test_oracle_8_indirect_n2o():
    # 2019 Table 11.3 aggregated: FracGASF 0.11, EF4 0.010, FracLEACH 0.24, EF5 0.011
    vol = soils.volatilisation_n2o_n(0, 100, 0, 0.15, FS.value("n2o.frac_gasf.synthetic"), 0.21, FS.value("n2o.ef4.aggregated"))
    assert vol == approx(0.11)
    assert soils.volatilisation_n2o_n(0, 100, 0, 0.15, 0.11, 0.21, FS.value("n2o.ef4.wet")) == approx(0.154)
    leach = soils.leaching_n2o_n(100, FS.value("n2o.frac_leach.wet"), FS.value("n2o.ef5"))
    assert leach == approx(0.264)
    assert soils.n2o_n_to_n2o(vol + leach) == approx(0.587714)
    # whep test oracle: (EF1 + FracGASF·EF4 + FracLEACH·EF5) × 44/28 × 1000 kg N × 273 (AR6)
    per_t = (soils.direct_n2o_n(1000, 0.010) + soils.volatilisation_n2o_n(0, 1000, 0, 0, 0.11, 0, 0.010)
             + soils.leaching_n2o_n(1000, 0.24, 0.011))
    assert soils.n2o_n_to_n2o(per_t) * AR6["N2O"] == approx(5894.46)


def test_oracle_9_flooded_rice_n2o_and_awd_coupling():
    # 2019 Table 11.1 EF1FR continuous 0.003, drained 0.005; VM0051 Eq 25 CF_N2O 0.00314
    cf = soils.n2o_n_to_n2o(soils.direct_n2o_n(100, FS.value("n2o.ef1fr.continuously_flooded")))
    awd = soils.n2o_n_to_n2o(soils.direct_n2o_n(100, FS.value("n2o.ef1fr.drained")))
    assert cf == approx(0.471429) and awd == approx(0.785714)
    assert awd - cf == approx(0.314286)
    assert soils.awd_n2o_coupling_factor(0.005, 0.003) == approx(0.0031429, rel=1e-4)
    # ClimateView: EF1FR 0.004 × 44/28 × 273 × 1e6 g = 1,716,000 g CO2e/t N; EF1 0.010 → 4,290,000
    assert soils.n2o_n_to_n2o(FS.value("n2o.ef1fr.aggregated")) * AR6["N2O"] * 1e6 == approx(1_716_000)
    assert soils.n2o_n_to_n2o(0.010) * AR6["N2O"] * 1e6 == approx(4_290_000)


def test_oracle_10_urea():
    # Eq 11.13, 0.20 t C/t urea
    assert carbonates.urea_co2_kg(1000, FS.value("co2.urea_c")) == approx(733.3333)
    urea = 100 / FS.value("urea.n_fraction")
    assert urea == approx(214.5, rel=1e-3)  # exact stoichiometry 28.0134/60.06
    # DOMAIN.md's 217.3913 kg uses 46 % N: 100/0.46 → 159.4203 kg CO2
    assert carbonates.urea_co2_kg(100 / 0.46, 0.20) == approx(159.4203)


def test_oracle_11_liming():
    # Eq 11.12: limestone 0.12, dolomite 0.13 t C/t; ClimateView 440,000 and 476,667 g/t
    assert carbonates.liming_co2_kg(1000, FS.value("co2.limestone_c")) == approx(440.0)
    assert carbonates.liming_co2_kg(1000, FS.value("co2.dolomite_c")) == approx(476.6667)


def test_oracle_12_residue_burning():
    # Eq 2.27; Table 2.5 CH4 2.7, N2O 0.07, CO2 1515 g/kg DM; Table 2.6 Cf other 0.85, rice 0.80
    g = {gas: float(residues.burning_kg(1, 1, FS.value("burn.cf.other"), FS.value(f"burn.gef.{gas.lower()}")))
         for gas in ("CO2", "CH4", "N2O")}
    assert sum(g[k] * AR6[k] for k in g) == approx(1365.9585)  # ClimateView, CO2 included
    ch4_kg = residues.burning_kg(1, 5, FS.value("burn.cf.rice"), FS.value("burn.gef.ch4"))
    n2o_kg = residues.burning_kg(1, 5, FS.value("burn.cf.rice"), FS.value("burn.gef.n2o"))
    assert ch4_kg == approx(10.8) and n2o_kg == approx(0.28)
    assert ch4_kg * AR5["CH4"] + n2o_kg * AR5["N2O"] == approx(376.6)


def test_oracle_13_rice_residue_n():
    # FLINT form of Eq 11.6; 2019 Table 11.1a rice: DRY 0.89, R_AG 1.4, RS 0.16, N_AG 0.007, N_BG 0.009
    p = {k: FS.value(f"residue.rice.{k}") for k in ("dry", "r_ag", "rs", "n_ag", "n_bg")}
    y, ag, bg = residues.residue_dry_matter(6.0, p["dry"], p["r_ag"], p["rs"])
    assert (y, ag, bg) == (approx(5.34), approx(7.476), approx(2.05056))
    fcr = residues.crop_residue_n(ag, bg, p["n_ag"], p["n_bg"], 0.0, 0.0, 0.8)
    assert fcr == approx(0.070787, rel=1e-5)
    assert soils.direct_n2o_n(fcr * 1000, FS.value("n2o.ef1fr.aggregated")) == approx(0.283148, rel=1e-5)
    assert soils.n2o_n_to_n2o(fcr * 1000 * 0.004) == approx(0.444947, rel=1e-5)
    assert residues.crop_residue_n(ag, bg, p["n_ag"], p["n_bg"], 0.0, 0.5, FS.value("burn.cf.rice")) == approx(0.049854, rel=1e-5)


def test_oracle_14_viet_nam_tier2():
    # Tariq et al. 2020, Central early season 2.84 kg/ha/d × 102 d
    t2 = ch4(efc=T2.value("rice.efc.winter_spring"))
    assert t2 == approx(289.68)
    assert t2 / ch4() == approx(2.327869, rel=1e-5)


def test_perennial_biomass_gain_loss():
    # 2006 Table 5.1 p.5.9 tropical moist: G 2.6 t C/ha/yr for 8 yr, stock 21 t C/ha
    g = biomass.biomass_gain_t_c(np.array([1.0, 1.0, 1.0, 1.0]), 2.6, np.array([0, 7, 8, -1]), 8)
    assert g.tolist() == [2.6, 2.6, 0.0, 0.0]
    assert biomass.carbon_to_co2(biomass.biomass_loss_t_c(2.0, 21.0)) == approx(154.0)


def test_equations_are_vectorised():
    area = np.linspace(0.5, 5, 7)
    out = rice.ch4_kg(rice.daily_emission_factor(1.22, 0.55, 1.0, 1.0), 102, area)
    assert out.shape == (7,)
    np.testing.assert_allclose(out, 68.442 * area)
