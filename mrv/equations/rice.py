"""Rice cultivation CH4, IPCC 2019 Vol. 4 Ch. 5 §5.5, Equations 5.1-5.3 (CRT 3.C)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def scaling_factor_organic(
    straw_t_dm_ha: ArrayLike,
    cfoa_straw: ArrayLike,
    compost_t_ha: ArrayLike = 0.0,
    cfoa_compost: ArrayLike = 0.0,
    manure_t_ha: ArrayLike = 0.0,
    cfoa_manure: ArrayLike = 0.0,
    green_manure_t_ha: ArrayLike = 0.0,
    cfoa_green_manure: ArrayLike = 0.0,
    exponent: ArrayLike = 0.59,
) -> np.ndarray:
    """Eq 5.3: SFo = (1 + Σ ROA_i × CFOA_i)^0.59.

    ROA is t/ha: **dry** weight for straw, **fresh** weight for the other amendments (Table 5.14);
    the CFOA for straw depends on when it was incorporated (< or > 30 d before cultivation).
    """
    s = (np.asarray(straw_t_dm_ha) * cfoa_straw + np.asarray(compost_t_ha) * cfoa_compost
         + np.asarray(manure_t_ha) * cfoa_manure + np.asarray(green_manure_t_ha) * cfoa_green_manure)
    return np.power(1.0 + s, exponent)


def daily_emission_factor(efc: ArrayLike, sfw: ArrayLike, sfp: ArrayLike, sfo: ArrayLike) -> np.ndarray:
    """Eq 5.2 (Tier 1): EF_i = EFc × SFw × SFp × SFo, kg CH4/ha/d. SFs, SFr (Eq 5.2a) are Tier 2 only."""
    return np.asarray(efc) * sfw * sfp * sfo


def ch4_kg(ef_kg_ha_d: ArrayLike, days: ArrayLike, area_ha: ArrayLike) -> np.ndarray:
    """Eq 5.1 for one season, in kg CH4 (the Gg form is this × 10⁻⁶): EF × t × A."""
    return np.asarray(ef_kg_ha_d) * days * area_ha
