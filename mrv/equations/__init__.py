"""IPCC 2019 equations as pure, vectorised functions.

Every function takes numbers or numpy arrays (any broadcastable shapes) and returns the same, with
no I/O and no lookups: factor values are arguments. That keeps each equation checkable against the
printed one, lets the calculator run a million records in one numpy pass, and lets the Monte Carlo
pass arrays of factor draws through the very same code.
"""

from cropmrv.mrv.equations.biomass import C_TO_CO2
from cropmrv.mrv.equations.soils import N2O_N_TO_N2O

__all__ = ["C_TO_CO2", "N2O_N_TO_N2O"]
