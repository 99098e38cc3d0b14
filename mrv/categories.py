"""Per-category block builders: which records each CRT category covers and which factors it picks.

Each builder reads the prepared record arrays (:class:`Prepared`) and a :class:`Lookup`, and appends
result blocks (see ``mrv.engine``). The equations themselves live in ``mrv.equations``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from cropmrv.mrv.engine import FLAGS, Block, Lookup, ne_block
from cropmrv.mrv.equations import biomass, carbonates, residues, rice, soils
from cropmrv.mrv.records import (
    CATEGORICAL,
    CROP_LIST,
    CROPS,
    PRE_SEASON,
    SEASONS,
    WATER_REGIMES,
    categorical_codes,
)

CATEGORIES = ["3.C", "3.D.a.1", "3.D.a.2", "3.D.a.4", "3.D.b.1", "3.D.b.2", "3.F.1.c", "3.F.1.d", "3.F.2",
              "3.F.3", "3.F.4", "3.F.5", "3.G.1", "3.G.2", "3.H", "4.B.1"]
RES_CLASSES = ["rice", "maize", "tubers", "pulses", "peanuts", "sugarcane", "generic"]
CF_CLASSES = ["rice", "maize", "sugarcane", "other"]
MB_CLASSES = ["rice", "maize", "sugarcane"]
PERENNIALS = [c for c, v in CROPS.items() if v[0] == "perennial"]
_W = {w: i for i, w in enumerate(WATER_REGIMES)}


def _crop_table(fn, default=-1) -> np.ndarray:
    return np.array([fn(c, v) for c, v in CROPS.items()] + [default])


RES_OF_CROP = _crop_table(lambda c, v: RES_CLASSES.index(v[1]) if v[1] else -1)
CF_OF_CROP = _crop_table(lambda c, v: CF_CLASSES.index(v[3]) if v[3] else -1)
MB_OF_CROP = _crop_table(lambda c, v: MB_CLASSES.index(v[4]) if v[4] else -1)
BURN_CAT_OF_CROP = _crop_table(lambda c, v: CATEGORIES.index(v[2]) if v[2] else -1)
PER_OF_CROP = _crop_table(lambda c, v: PERENNIALS.index(c) if v[0] == "perennial" else -1)


@dataclass
class Prepared:
    """Record columns as numpy arrays: categorical codes (-1 = null) and float64 (NaN = null)."""

    n: int
    crop: np.ndarray
    season: np.ndarray
    climate: np.ndarray
    water: np.ndarray
    pre: np.ndarray
    timing: np.ndarray
    num: dict[str, np.ndarray]
    from_norms: np.ndarray

    @property
    def is_rice(self) -> np.ndarray:
        return self.crop == CROP_LIST.index("rice")

    @property
    def is_annual(self) -> np.ndarray:
        return RES_OF_CROP[self.crop] >= 0

    @property
    def is_perennial(self) -> np.ndarray:
        return PER_OF_CROP[self.crop] >= 0

    @cached_property
    def base_flags(self) -> np.ndarray:
        """Flags every row of a record starts with; built once, gathered by each of the ~20 blocks."""
        return np.where(self.from_norms, FLAGS["from_norms"], 0).astype(np.int64)


def prepare(df: pd.DataFrame, default_climate: str) -> Prepared:
    from cropmrv.mrv.records import NUMERIC_FIELDS

    codes = {f: categorical_codes(df, f) for f in CATEGORICAL}
    climate = codes["climate"]
    climate = np.where(climate < 0, CATEGORICAL["climate"].index(default_climate), climate)
    fn = df["from_norms"].to_numpy(dtype=bool) if "from_norms" in df else np.zeros(len(df), dtype=bool)
    return Prepared(
        n=len(df), crop=codes["crop"], season=codes["season"], climate=climate, water=codes["water_regime"],
        pre=codes["pre_season_regime"], timing=codes["straw_timing"],
        num={f: df[f].to_numpy(dtype="float64") for f in NUMERIC_FIELDS}, from_norms=fn,
    )


def _base_flags(P: Prepared, r: np.ndarray) -> np.ndarray:
    return P.base_flags[r]


# ------------------------------------------------------------------------------------------- 3.C
def rice_ch4(P: Prepared, L: Lookup, out: list[Block]) -> None:
    """Eq 5.1-5.3 per season; seasonal Tier 2 EFs replace EFc where the set has them."""
    r = np.flatnonzero(P.is_rice)
    if not len(r):
        return
    a, fs, num = L.a, L.fs, P.num
    efc_keys = [f"rice.efc.{s}" if f"rice.efc.{s}" in fs else "rice.efc" for s in SEASONS] + ["rice.efc"]
    season = P.season[r]
    sc = np.where(season < 0, len(SEASONS), season)
    has_t2 = any(k != "rice.efc" for k in efc_keys)
    sfw_keys = [f"rice.sfw.{w}" for w in WATER_REGIMES]
    wc = P.water[r]
    pc = np.where(P.pre[r] < 0, len(PRE_SEASON), P.pre[r])
    sfp_keys = [f"rice.sfp.{p}" for p in PRE_SEASON] + ["rice.sfp.aggregated"]
    amounts = {f: np.nan_to_num(num[f][r]) for f in ("straw_t_dm_ha", "compost_t_ha", "manure_t_ha", "green_manure_t_ha")}
    tc = np.where(amounts["straw_t_dm_ha"] > 0, P.timing[r] + 1, 0)
    straw_keys = [None, "rice.cfoa.straw_lt30", "rice.cfoa.straw_gt30"]
    parts_am = {}
    for f, key in (("compost_t_ha", "rice.cfoa.compost"), ("manure_t_ha", "rice.cfoa.farmyard_manure"),
                   ("green_manure_t_ha", "rice.cfoa.green_manure")):
        parts_am[f] = ((amounts[f] > 0).astype(np.int64), [None, key])
    any_am = (tc > 0) | np.any([c for c, _ in parts_am.values()], axis=0)
    ec = any_am.astype(np.int64)
    days = num["cultivation_days"][r]
    dnull = np.isnan(days)
    dc = dnull.astype(np.int64)
    days_v = np.where(a(dnull), L.pick(dc, [None, "rice.days_default"]), a(np.nan_to_num(days)))
    sfo = rice.scaling_factor_organic(
        a(amounts["straw_t_dm_ha"]), L.pick(tc, straw_keys),
        a(amounts["compost_t_ha"]), L.pick(*parts_am["compost_t_ha"]),
        a(amounts["manure_t_ha"]), L.pick(*parts_am["manure_t_ha"]),
        a(amounts["green_manure_t_ha"]), L.pick(*parts_am["green_manure_t_ha"]),
        exponent=L.pick(ec, [None, "rice.sfo_exponent"]),
    )
    ef = rice.daily_emission_factor(L.pick(sc, efc_keys), L.pick(wc, sfw_keys), L.pick(pc, sfp_keys), sfo)
    mass = rice.ch4_kg(ef, days_v, a(num["area_ha"][r]))
    am_nr = np.zeros(len(r), dtype=bool)
    for f in amounts:
        am_nr |= np.isnan(num[f][r])
    flags = (_base_flags(P, r) | np.where(dnull, FLAGS["days_default"], 0)
             | np.where(P.pre[r] < 0, FLAGS["pre_season_default"], 0)
             | np.where(am_nr, FLAGS["amendments_not_reported"], 0)
             | np.where(has_t2 & (season < 0), FLAGS["season_unknown"], 0))
    parts = [(sc, efc_keys), (wc, sfw_keys), (pc, sfp_keys), (tc, straw_keys), *parts_am.values(),
             (ec, [None, "rice.sfo_exponent"]), (dc, [None, "rice.days_default"])]
    out.append(Block(r, "3.C", "CH4", mass, flags, parts))


# ------------------------------------------------------------------------------------------- 3.D
def _ef1_codes(P: Prepared, L: Lookup, r: np.ndarray, synthetic: bool) -> tuple[np.ndarray, list[str], np.ndarray]:
    """EF1 / EF1FR choice per record (2019 Table 11.1): flooded rice by water regime, else by climate."""
    keys = ["n2o.ef1.wet_synthetic" if synthetic else "n2o.ef1.wet_other", "n2o.ef1.dry",
            "n2o.ef1fr.continuously_flooded", "n2o.ef1fr.drained", "n2o.ef1fr.aggregated", "n2o.ef1.aggregated"]
    w = P.water[r]
    flooded = P.is_rice[r] & (w >= 0) & (w != _W["upland"])
    if L.fs.option("n2o_ef_disaggregation", True):
        upl = np.where(P.climate[r] == 0, 0, 1)
        fr = np.select([w == _W["continuously_flooded"],
                        (w == _W["single_drainage"]) | (w == _W["multiple_drainage_awd"])], [2, 3], 4)
        agg = flooded & (fr == 4)
    else:
        upl, fr, agg = np.full(len(r), 5), np.full(len(r), 4), np.zeros(len(r), dtype=bool)
    return np.where(flooded, fr, upl), keys, np.where(agg, FLAGS["aggregated_ef"], 0)


def residue_n(P: Prepared, L: Lookup) -> tuple[np.ndarray, np.ndarray, np.ndarray, list, np.ndarray]:
    """F_CR (kg N) for annual crops with yield and both residue fractions.

    Returns (records, F_CR kg N, AG DM t/ha, factor parts, records whose residue data are missing)."""
    num = P.num
    ann = P.is_annual
    known = ann & ~np.isnan(num["yield_t_ha"]) & ~np.isnan(num["residue_burned_fraction"]) \
        & ~np.isnan(num["residue_removed_fraction"])
    r = np.flatnonzero(known)
    a = L.a
    rc = RES_OF_CROP[P.crop[r]]
    p = {k: L.pick(rc, [f"residue.{c}.{k}" for c in RES_CLASSES]) for k in ("dry", "r_ag", "rs", "n_ag", "n_bg")}
    _, ag, bg = residues.residue_dry_matter(a(num["yield_t_ha"][r]), p["dry"], p["r_ag"], p["rs"])
    burned = num["residue_burned_fraction"][r]
    cfc = np.where(burned > 0, CF_OF_CROP[P.crop[r]] + 1, 0)
    cf_keys = [None] + [f"burn.cf.{c}" for c in CF_CLASSES]
    fcr_t_ha = residues.crop_residue_n(ag, bg, p["n_ag"], p["n_bg"], a(num["residue_removed_fraction"][r]),
                                       a(burned), L.pick(cfc, cf_keys))
    fcr = fcr_t_ha * 1000.0 * a(num["area_ha"][r])
    parts = [(rc, [f"residue.{c}.{k}" for c in RES_CLASSES]) for k in ("dry", "r_ag", "rs", "n_ag", "n_bg")]
    parts.append((cfc, cf_keys))
    return r, fcr, ag, parts, np.flatnonzero(ann & ~known)


def direct_n2o(P: Prepared, L: Lookup, out: list[Block], fcr) -> None:
    """Eq 11.1 by N source: 3.D.a.1 synthetic, 3.D.a.2 organic, 3.D.a.4 crop residues."""
    num, a = P.num, L.a
    for field, cat, synth in (("n_synthetic_kg", "3.D.a.1", True), ("n_organic_kg", "3.D.a.2", False)):
        v = num[field]
        r = np.flatnonzero(v > 0)
        codes, keys, agg = _ef1_codes(P, L, r, synth)
        mass = soils.n2o_n_to_n2o(soils.direct_n2o_n(a(v[r]), L.pick(codes, keys)))
        out.append(Block(r, cat, "N2O", mass, _base_flags(P, r) | agg, [(codes, keys)]))
        if not L.mc:
            ne = np.flatnonzero(np.isnan(v))
            out.append(ne_block(ne, cat, "N2O", _base_flags(P, ne)))
    r, f, _, parts, ne = fcr
    codes, keys, agg = _ef1_codes(P, L, r, False)
    mass = soils.n2o_n_to_n2o(soils.direct_n2o_n(f, L.pick(codes, keys)))
    out.append(Block(r, "3.D.a.4", "N2O", mass, _base_flags(P, r) | agg, [(codes, keys), *parts]))
    if not L.mc:
        out.append(ne_block(ne, "3.D.a.4", "N2O", _base_flags(P, ne)))


def indirect_n2o(P: Prepared, L: Lookup, out: list[Block], fcr) -> None:
    """Eq 11.9 (3.D.b.1 volatilisation → deposition) and Eq 11.10 (3.D.b.2 leaching and runoff)."""
    num, a, n = P.num, L.a, P.n
    syn, org = num["n_synthetic_kg"], num["n_organic_kg"]
    syn0, org0 = np.nan_to_num(syn), np.nan_to_num(org)
    urea_n = np.minimum(np.nan_to_num(num["urea_kg"]) * L.fs.value("urea.n_fraction"), syn0)
    partial = np.isnan(syn) | np.isnan(org)
    cl = P.climate
    disagg = L.fs.option("n2o_ef_disaggregation", True)
    ef4_keys = ["n2o.ef4.wet", "n2o.ef4.dry"] if disagg else ["n2o.ef4.aggregated"] * 2
    # 3.D.b.1
    has = ~(np.isnan(syn) & np.isnan(org))
    tot = syn0 + org0
    r = np.flatnonzero(has & (tot > 0))
    u, o, g = urea_n[r], syn0[r] - urea_n[r], org0[r]
    parts = [((u > 0).astype(np.int64), [None, "n2o.frac_gasf.urea"]),
             ((o > 0).astype(np.int64), [None, "n2o.frac_gasf.synthetic"]),
             ((g > 0).astype(np.int64), [None, "n2o.frac_gasm"]), (cl[r], ef4_keys)]
    vol = soils.volatilisation_n2o_n(a(u), a(o), a(g), L.pick(*parts[0]), L.pick(*parts[1]), L.pick(*parts[2]),
                                     L.pick(*parts[3]))
    flags = _base_flags(P, r) | np.where(partial[r], FLAGS["partly_not_reported"], 0)
    out.append(Block(r, "3.D.b.1", "N2O", soils.n2o_n_to_n2o(vol), flags, parts))
    if not L.mc:
        ne = np.flatnonzero(~has)
        out.append(ne_block(ne, "3.D.b.1", "N2O", _base_flags(P, ne)))
    # 3.D.b.2: all N inputs incl. F_CR
    rr, f, _, rparts, rne = fcr
    fcr_full = np.zeros((n, L.n_draws)) if L.mc else np.zeros(n)
    fcr_full[rr] = f
    has_fcr = np.zeros(n, dtype=bool)
    has_fcr[rr] = True
    no_res = np.zeros(n, dtype=bool)
    no_res[rne] = True
    has2 = has | has_fcr
    r = np.flatnonzero(has2 & ((tot > 0) | has_fcr))
    leach_keys = ["n2o.frac_leach.wet", "n2o.frac_leach.dry"]
    total_n = a(tot[r]) + fcr_full[r]
    mass = soils.n2o_n_to_n2o(soils.leaching_n2o_n(total_n, L.pick(cl[r], leach_keys), L.value("n2o.ef5")))
    flags = _base_flags(P, r) | np.where(partial[r] | no_res[r], FLAGS["partly_not_reported"], 0)
    rec_has_fcr = has_fcr[r].astype(np.int64)
    parts = [(cl[r], leach_keys), (None, ["n2o.ef5"])]
    if len(rr):  # residue keys only on rows that used F_CR
        pos = np.full(n, 0)
        pos[rr] = np.arange(len(rr))
        pr = pos[r]
        for codes, keys in rparts:
            parts.append((np.where(rec_has_fcr > 0, codes[pr] + 1, 0), [None, *keys]))
    out.append(Block(r, "3.D.b.2", "N2O", mass, flags, parts))
    if not L.mc:
        ne = np.flatnonzero(~has2)
        out.append(ne_block(ne, "3.D.b.2", "N2O", _base_flags(P, ne)))


# ------------------------------------------------------------------------------ 3.F, 3.G, 3.H, 4.B
def burning(P: Prepared, L: Lookup, out: list[Block]) -> None:
    """Eq 2.27, CH4 and N2O. Burnt mass = AG residue DM (from yield, Ch. 11) × burnt fraction; CO2 from
    annual residues is not a net emission and is not reported."""
    num, a = P.num, L.a
    burned = num["residue_burned_fraction"]
    cand = P.is_annual & (burned > 0)
    mbc = MB_OF_CROP[P.crop]
    from_yield = cand & ~np.isnan(num["yield_t_ha"])
    fallback = cand & np.isnan(num["yield_t_ha"]) & (mbc >= 0)
    r = np.flatnonzero(from_yield | fallback)
    fy = from_yield[r]
    rc = np.where(fy, RES_OF_CROP[P.crop[r]] + 1, 0)
    yparts = [(rc, [None, *[f"residue.{c}.{k}" for c in RES_CLASSES]]) for k in ("dry", "r_ag")]
    ag = a(np.nan_to_num(num["yield_t_ha"][r])) * L.pick(*yparts[0]) * L.pick(*yparts[1])
    mb_keys = [None] + [f"burn.mb.{c}" for c in MB_CLASSES]
    mb_code = np.where(fallback[r], mbc[r] + 1, 0)
    mass_dm = np.where(a(fy), ag, L.pick(mb_code, mb_keys)) * a(burned[r])
    cfc = CF_OF_CROP[P.crop[r]]
    cf_keys = [f"burn.cf.{c}" for c in CF_CLASSES]
    cat_codes = BURN_CAT_OF_CROP[P.crop[r]]
    flags = _base_flags(P, r) | np.where(fallback[r], FLAGS["fuel_load_default"], 0)
    # the per-category selections are the same for both gases: cut once
    cuts = []
    for cat in np.unique(cat_codes):
        sel = np.flatnonzero(cat_codes == cat)
        cuts.append((cat, sel, r[sel], flags[sel], [(cfc[sel], cf_keys), (mb_code[sel], mb_keys)]
                     + [(c[sel], k) for c, k in yparts]))
    for gas in ("CH4", "N2O"):
        key = f"burn.gef.{gas.lower()}"
        m = residues.burning_kg(a(num["area_ha"][r]), mass_dm, L.pick(cfc, cf_keys), L.value(key))
        for cat, sel, rs, fl, cut_parts in cuts:
            parts = [cut_parts[0], (None, [key]), *cut_parts[1:]]
            out.append(Block(rs, CATEGORIES[cat], gas, m[sel], fl, parts))
    if not L.mc:
        ne = np.flatnonzero(P.is_annual & np.isnan(burned))
        ne_cat = BURN_CAT_OF_CROP[P.crop[ne]]
        for cat in np.unique(ne_cat):
            sel = ne[ne_cat == cat]
            out.append(ne_block(sel, CATEGORIES[cat], "CH4", _base_flags(P, sel)))


def carbonates_co2(P: Prepared, L: Lookup, out: list[Block]) -> None:
    """Eq 11.13 urea (3.H) and Eq 11.12 liming (3.G.1 limestone, 3.G.2 dolomite)."""
    num, a = P.num, L.a
    for field, cat, key, fn in (("urea_kg", "3.H", "co2.urea_c", carbonates.urea_co2_kg),
                                ("limestone_kg", "3.G.1", "co2.limestone_c", carbonates.liming_co2_kg),
                                ("dolomite_kg", "3.G.2", "co2.dolomite_c", carbonates.liming_co2_kg)):
        v = num[field]
        r = np.flatnonzero(v > 0)
        out.append(Block(r, cat, "CO2", fn(a(v[r]), L.value(key)), _base_flags(P, r), [(None, [key])]))
        if not L.mc:
            ne = np.flatnonzero(np.isnan(v))
            out.append(ne_block(ne, cat, "CO2", _base_flags(P, ne)))


def perennial_biomass(P: Prepared, L: Lookup, out: list[Block]) -> None:
    """Tier 1 gain-loss on perennial woody biomass (4.B.1): net CO2 = (loss − gain) × 44/12 (negative = removal)."""
    num, a = P.num, L.a
    per = P.is_perennial
    age = np.where(np.isnan(num["planted_year"]), num["age_years"], num["year"] - num["planted_year"])
    known_age = ~np.isnan(age)
    cleared = num["cleared_area_ha"]
    r = np.flatnonzero(per & (known_age | ~np.isnan(cleared)))
    pc = PER_OF_CROP[P.crop[r]]
    ka = known_age[r].astype(np.int64)
    g_keys = [None] + [f"biomass.{c}.g" for c in PERENNIALS]
    cy_keys = [None] + [f"biomass.{c}.cycle" for c in PERENNIALS]
    st_keys = [None] + [f"biomass.{c}.stock" for c in PERENNIALS]
    gc = np.where(ka > 0, pc + 1, 0)
    cl = np.nan_to_num(cleared[r])
    sc = np.where(cl > 0, pc + 1, 0)
    gain = biomass.biomass_gain_t_c(a(num["area_ha"][r]), L.pick(gc, g_keys), a(np.nan_to_num(age[r], nan=-1)),
                                    L.pick(gc, cy_keys))
    loss = biomass.biomass_loss_t_c(a(cl), L.pick(sc, st_keys))
    mass = biomass.carbon_to_co2(loss - gain) * 1000.0
    flags = _base_flags(P, r) | np.where(~known_age[r] | np.isnan(cleared[r]), FLAGS["partly_not_reported"], 0)
    out.append(Block(r, "4.B.1", "CO2", mass, flags, [(gc, g_keys), (gc, cy_keys), (sc, st_keys)]))
    if not L.mc:
        ne = np.flatnonzero(per & ~known_age & np.isnan(cleared))
        out.append(ne_block(ne, "4.B.1", "CO2", _base_flags(P, ne)))


def all_blocks(P: Prepared, L: Lookup) -> list[Block]:
    out: list[Block] = []
    rice_ch4(P, L, out)
    fcr = residue_n(P, L)
    direct_n2o(P, L, out, fcr)
    indirect_n2o(P, L, out, fcr)
    burning(P, L, out)
    carbonates_co2(P, L, out)
    perennial_biomass(P, L, out)
    return out
