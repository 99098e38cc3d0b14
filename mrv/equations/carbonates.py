"""CO2 from urea and liming, IPCC 2019 Vol. 4 Ch. 11 §11.3-11.4 (CRT 3.H, 3.G.1, 3.G.2)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from cropmrv.mrv.equations.biomass import C_TO_CO2


def urea_co2_kg(urea_kg: ArrayLike, ef_c: ArrayLike = 0.20) -> np.ndarray:
    """Eq 11.13: CO2 = M_urea × 0.20 × 44/12. Urea's N is counted separately under 3.D."""
    return np.asarray(urea_kg) * ef_c * C_TO_CO2


def liming_co2_kg(mass_kg: ArrayLike, ef_c: ArrayLike) -> np.ndarray:
    """Eq 11.12, one carbonate: CO2 = M × EF × 44/12 (limestone 0.12, dolomite 0.13 t C/t)."""
    return np.asarray(mass_kg) * ef_c * C_TO_CO2
