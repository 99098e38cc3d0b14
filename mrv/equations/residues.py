"""Crop residue N (F_CR, IPCC 2019 Eq 11.6/11.7 with Table 11.1a) and field burning (Vol. 4 Eq 2.27)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def residue_dry_matter(
    yield_fresh_t_ha: ArrayLike, dry: ArrayLike, r_ag: ArrayLike, rs: ArrayLike, frac_renew: ArrayLike = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Table 11.1a ratio form: returns (Yield_DM, AG_DM, BG_DM) in t DM/ha.

    Yield_DM = Yield_fresh × DRY; AG_DM = Yield_DM × R_AG; BG_DM = (Yield_DM + AG_DM) × RS × FracRenew.
    (The 2006 slope/intercept form of Table 11.2 is not mixed in.)"""
    y_dm = np.asarray(yield_fresh_t_ha) * dry
    ag = y_dm * r_ag
    bg = (y_dm + ag) * rs * frac_renew
    return y_dm, ag, bg


def crop_residue_n(
    ag_dm: ArrayLike,
    bg_dm: ArrayLike,
    n_ag: ArrayLike,
    n_bg: ArrayLike,
    frac_remove: ArrayLike,
    frac_burnt: ArrayLike,
    cf: ArrayLike,
) -> np.ndarray:
    """F_CR per ha (t N/ha when inputs are t DM/ha): AG·N_AG·(1 − FracRemove − FracBurnt·Cf) + BG·N_BG.

    The burnt share enters scaled by the combustion factor: what does not burn stays on the field."""
    return np.asarray(ag_dm) * n_ag * (1.0 - np.asarray(frac_remove) - np.asarray(frac_burnt) * cf) + \
        np.asarray(bg_dm) * n_bg


def burning_kg(area_ha: ArrayLike, mb_t_dm_ha: ArrayLike, cf: ArrayLike, gef_g_kg: ArrayLike) -> np.ndarray:
    """Eq 2.27 in kg of gas: A × M_B × C_f × G_ef (t DM × g/kg = kg; × 10⁻³ gives the printed tonnes)."""
    return np.asarray(area_ha) * mb_t_dm_ha * cf * gef_g_kg
