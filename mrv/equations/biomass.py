"""Perennial woody biomass carbon, Tier 1 gain-loss (2006 Vol. 4 Ch. 5 §5.2.1.1; Eq 2.7) (CRT 4.B.1).

Tier 1 rules (2006 §5.2.1.1): woody perennials accumulate carbon at rate G for the nominal
harvest/maturity cycle and are at steady state after it; all carbon in biomass removed is emitted in
the year of removal (loss = area removed × stock at harvest). Below-ground change is assumed zero.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

C_TO_CO2 = 44.0 / 12.0
"""Mass of CO2 per mass of C."""


def growing(age_yr: ArrayLike, cycle_yr: ArrayLike) -> np.ndarray:
    """True while a stand accumulates: 0 ≤ age < cycle (age = inventory year − planting year)."""
    age = np.asarray(age_yr, dtype=float)
    return (age >= 0) & (age < cycle_yr)


def biomass_gain_t_c(area_ha: ArrayLike, g_t_c_ha_yr: ArrayLike, age_yr: ArrayLike, cycle_yr: ArrayLike) -> np.ndarray:
    """ΔC_G = A × G for growing stands, else 0 (t C/yr)."""
    return np.where(growing(age_yr, cycle_yr), np.asarray(area_ha) * g_t_c_ha_yr, 0.0)


def biomass_loss_t_c(cleared_area_ha: ArrayLike, stock_t_c_ha: ArrayLike) -> np.ndarray:
    """ΔC_L = A_removed × C stock at harvest (t C/yr), emitted in the year of removal."""
    return np.asarray(cleared_area_ha) * stock_t_c_ha


def carbon_to_co2(t_c: ArrayLike) -> np.ndarray:
    return np.asarray(t_c) * C_TO_CO2
