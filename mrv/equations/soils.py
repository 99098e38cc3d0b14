"""N2O from managed soils, IPCC 2019 Vol. 4 Ch. 11 (CRT 3.D.a direct, 3.D.b indirect)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

N2O_N_TO_N2O = 44.0 / 28.0
"""Mass of N2O per mass of N2O-N (Eq 11.1 note)."""


def n2o_n_to_n2o(n2o_n: ArrayLike) -> np.ndarray:
    return np.asarray(n2o_n) * N2O_N_TO_N2O


def direct_n2o_n(n_kg: ArrayLike, ef1: ArrayLike) -> np.ndarray:
    """Eq 11.1, one N source: N × EF1 (or × EF1FR on flooded rice), kg N2O-N."""
    return np.asarray(n_kg) * ef1


def volatilisation_n2o_n(
    n_urea_kg: ArrayLike,
    n_other_synthetic_kg: ArrayLike,
    n_organic_kg: ArrayLike,
    frac_gasf_urea: ArrayLike,
    frac_gasf: ArrayLike,
    frac_gasm: ArrayLike,
    ef4: ArrayLike,
) -> np.ndarray:
    """Eq 11.9 (2019 disaggregated form): N2O(ATD)-N = [F_SN,urea·FracGASF,urea + F_SN,other·FracGASF
    + F_ON·FracGASM] × EF4, kg N2O-N. Pass the same FracGASF twice for the aggregated form."""
    volatilised = (np.asarray(n_urea_kg) * frac_gasf_urea + np.asarray(n_other_synthetic_kg) * frac_gasf
                   + np.asarray(n_organic_kg) * frac_gasm)
    return volatilised * ef4


def leaching_n2o_n(n_total_kg: ArrayLike, frac_leach: ArrayLike, ef5: ArrayLike) -> np.ndarray:
    """Eq 11.10: N2O(L)-N = (F_SN + F_ON + F_PRP + F_CR + F_SOM) × FracLEACH × EF5, kg N2O-N."""
    return np.asarray(n_total_kg) * frac_leach * ef5


def awd_n2o_coupling_factor(ef1fr_drained: ArrayLike, ef1fr_flooded: ArrayLike) -> np.ndarray:
    """VM0051 Eq 25 CF_N2O = (EF1FR,drained − EF1FR,flooded) × 44/28, kg N2O per kg N (0.00314).

    The extra N2O when a field moves from continuous flooding to drainage. Converted once only (the
    Streamlit 'Isometric' branch multiplies by 44/28 twice; DOMAIN.md §2.b)."""
    return (np.asarray(ef1fr_drained) - ef1fr_flooded) * N2O_N_TO_N2O
