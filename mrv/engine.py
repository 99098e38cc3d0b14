"""The calculator's machinery: factor lookups by integer code, result blocks, and their assembly.

Why this shape: the only way to run a million records well inside a second in Python is to never
loop over records. Each category is computed for all its records at once as a *block* (record index
array + mass array), factor choices are integer codes into small per-category key lists (so a
lookup is one fancy-index), and the per-row strings users need (flags, factor keys used) are built
once per distinct combination, not per row, then attached as pandas categoricals.

The same code serves the Monte Carlo: a :class:`Lookup` built with ``draws`` returns each factor as
an array of draws, record arrays gain a trailing axis, and numpy broadcasting does the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cropmrv.mrv.factors import FactorSet

FLAGS = {
    "NE": 1,                        # not estimated: the activity data were not reported
    "partly_not_reported": 2,       # some inputs of the row were not reported and are left out
    "days_default": 4,              # rice cultivation period from Table 5.11A
    "pre_season_default": 8,        # aggregated SFp (Table 5.13)
    "amendments_not_reported": 16,  # rice organic amendments not reported: SFo = 1
    "unverified_factor": 32,        # a factor of the row is registered as unverified
    "regional_proxy": 64,           # a factor of the row is a regional proxy
    "from_norms": 128,              # inputs taken from a practice package × area
    "aggregated_ef": 256,           # EF1FR aggregated: the water regime has no disaggregated value
    "fuel_load_default": 512,       # burnt mass from Table 2.4 (no yield given)
    "season_unknown": 1024,         # seasonal Tier 2 EF available but the season was not given
}
FLAG_NAMES = list(FLAGS)

Part = tuple[np.ndarray | None, Sequence[str | None]]


@dataclass
class Block:
    """One category × gas for a subset of records; ``mass`` is kg, (m,) or (m, draws)."""

    rec: np.ndarray
    category: str
    gas: str
    mass: np.ndarray
    flags: np.ndarray
    parts: list[Part] = field(default_factory=list)


class Lookup:
    """Factor values by key, as scalars or, for the Monte Carlo, as arrays of draws."""

    def __init__(self, factors: FactorSet, draws: Mapping[str, np.ndarray] | None = None, n_draws: int = 0):
        self.fs = factors
        self.draws = draws
        self.mc = draws is not None
        self.n_draws = n_draws
        self._tables: dict[tuple, np.ndarray] = {}

    def a(self, x: np.ndarray) -> np.ndarray:
        """A per-record array, shaped to broadcast against factor draws."""
        return x[:, None] if self.mc else x

    def value(self, key: str) -> float | np.ndarray:
        if self.mc:
            return self.draws[key] if key in self.draws else np.full(self.n_draws, self.fs.value(key))
        return self.fs.value(key)

    def table(self, keys: Sequence[str | None]) -> np.ndarray:
        tk = tuple(keys)
        if tk not in self._tables:
            zero = np.zeros(self.n_draws) if self.mc else 0.0
            # a key absent from the set is NaN: harmless unless a record picks it (the assembler raises)
            rows = [zero if k is None else self.value(k) if k in self.fs else zero * np.nan for k in keys]
            self._tables[tk] = np.asarray(rows, dtype=float)
        return self._tables[tk]

    def pick(self, codes: np.ndarray, keys: Sequence[str | None]) -> np.ndarray:
        """Factor value per record: ``keys[codes[i]]`` (None → 0)."""
        return self.table(keys)[codes]


def ne_block(rec: np.ndarray, category: str, gas: str, extra_flags: np.ndarray | int = 0) -> Block:
    return Block(rec, category, gas, np.full(len(rec), np.nan), np.asarray(FLAGS["NE"] | extra_flags, dtype=np.int64)
                 * np.ones(len(rec), dtype=np.int64))


class Assembler:
    """Turns blocks into the long result frame, pooling flag and factor-key strings."""

    def __init__(self, factors: FactorSet, usage=None):
        self.fs = factors
        self.usage = usage
        self.key_pool: dict[str, int] = {}

    def _key_tables(self, b: Block) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per distinct factor-key combination of the block's rows (mixed-radix code, O(m) bincount):
        the combination code of each row, the combinations present, and per combination the
        factor-key string id, the extra flags (unverified, regional proxy) and the tier."""
        m = len(b.rec)
        combo = np.zeros(m, dtype=np.int64)
        radix = 1
        varying = []
        for codes, keys in b.parts:
            if codes is not None and len(keys) > 1:
                combo += np.asarray(codes, dtype=np.int64) * radix
            varying.append((radix, keys))
            radix *= len(keys)
        present = np.flatnonzero(np.bincount(combo, minlength=1)) if m else np.zeros(0, dtype=np.int64)
        kid = np.zeros(max(radix, 1), dtype=np.int32)
        extra = np.zeros(max(radix, 1), dtype=np.int32)
        tier = np.ones(max(radix, 1), dtype=np.int8)
        for c in present:
            names = sorted({keys[(c // r) % len(keys)] for r, keys in varying} - {None})
            if self.usage is not None:
                self.usage.use(*names)
            factors = [self.fs[k] for k in names]  # a picked key the set lacks raises a clear error
            kid[c] = self.key_pool.setdefault(",".join(names), len(self.key_pool))
            extra[c] = (FLAGS["unverified_factor"] * any(not f.verified for f in factors)
                        | FLAGS["regional_proxy"] * any(f.proxy for f in factors))
            tier[c] = max([f.tier for f in factors], default=1)
        return combo, present, kid, extra, tier

    def frame(self, blocks: list[Block], ids: np.ndarray, gwp: Mapping[str, float], categories: list[str]) -> pd.DataFrame:
        blocks = [b for b in blocks if len(b.rec)]
        if not blocks:
            return empty_results(categories)
        gases = ["CH4", "N2O", "CO2"]
        gwp_arr = np.array([gwp[g] for g in gases])
        # the long columns are filled in place, block by block, and a per-combination value is
        # gathered only when the block has more than one combination: lists of per-block arrays,
        # concatenated and copied again by the DataFrame, cost more than the equations
        tables = [self._key_tables(b) for b in blocks]  # first, so the key pool's final size is known
        total = sum(len(b.rec) for b in blocks)
        rec = np.empty(total, dtype=np.int32)
        mass = np.empty(total)
        co2e = np.empty(total)
        cat_codes = np.empty(total, dtype=_code_dtype(len(categories)))
        gas_codes = np.empty(total, dtype=np.int8)
        tiers = np.empty(total, dtype=np.int8)
        flag_codes = np.empty(total, dtype=np.int16)  # 11 flags: < 2**15
        # codes in the width pandas keeps for the categoricals, so it never copies them again
        keys = np.empty(total, dtype=_code_dtype(len(self.key_pool)))
        at = 0
        for b, (combo, present, kid, extra, tier) in zip(blocks, tables, strict=True):
            m = len(b.rec)
            s = slice(at, at + m)
            at += m
            g = gases.index(b.gas)
            rec[s] = b.rec
            mass[s] = b.mass
            np.multiply(b.mass, gwp_arr[g], out=co2e[s])
            cat_codes[s] = categories.index(b.category)
            gas_codes[s] = g
            if len(present) == 1:
                c = present[0]
                keys[s] = kid[c]
                tiers[s] = tier[c]
                np.bitwise_or(b.flags, extra[c], out=flag_codes[s], casting="unsafe")
            else:
                np.take(kid.astype(keys.dtype), combo, out=keys[s])
                np.take(tier, combo, out=tiers[s])
                np.bitwise_or(b.flags, np.take(extra, combo), out=flag_codes[s], casting="unsafe")
            tiers[s][np.isnan(b.mass)] = 0
        present = np.flatnonzero(np.bincount(flag_codes))
        flag_remap = np.zeros(present.max() + 1 if len(present) else 1, dtype=_code_dtype(len(present)))
        flag_strings = []
        for i, c in enumerate(present):
            flag_remap[c] = i
            flag_strings.append(",".join(n for n in FLAG_NAMES if c & FLAGS[n]))
        pool = sorted(self.key_pool, key=self.key_pool.get)
        # every code below is built in range here, so pandas' per-column range check is skipped
        return pd.DataFrame({
            "record_id": pd.Categorical.from_codes(rec, dtype=pd.CategoricalDtype(pd.Index(ids)), validate=False),
            "category": pd.Categorical.from_codes(cat_codes, categories=categories, validate=False),
            "gas": pd.Categorical.from_codes(gas_codes, categories=gases, validate=False),
            "mass_kg": mass,
            "co2e_kg": co2e,
            "tier": tiers,
            "flags": pd.Categorical.from_codes(np.take(flag_remap, flag_codes), categories=flag_strings, validate=False),
            "factor_keys": pd.Categorical.from_codes(keys, categories=pool, validate=False),
        }, copy=False)


def _code_dtype(n_categories: int) -> type:
    """The integer width pandas uses for the codes of ``n_categories`` categories."""
    for t in (np.int8, np.int16, np.int32):
        if n_categories < np.iinfo(t).max:
            return t
    return np.int64


def empty_results(categories: list[str]) -> pd.DataFrame:
    return pd.DataFrame({
        "record_id": pd.Categorical([]), "category": pd.Categorical([], categories=categories),
        "gas": pd.Categorical([], categories=["CH4", "N2O", "CO2"]), "mass_kg": np.zeros(0),
        "co2e_kg": np.zeros(0), "tier": np.zeros(0, dtype=np.int8), "flags": pd.Categorical([]),
        "factor_keys": pd.Categorical([]),
    })
