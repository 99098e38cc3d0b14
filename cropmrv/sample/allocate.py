"""Assign land cells to crops so that province-wide areas meet the published statistics.

Pure numpy. Each cell has an area, a region (former Đắk Lắk "DL" or former Phú Yên "PY") and a score
per crop (district suitability × terrain proxy × a smooth random field). Each crop *group* (a crop, or
double- vs single-season rice) has a target area per region. Groups are served one after another,
most constrained first; each takes the free cells of its region with the best scores until its
target is met, choosing at the end whichever of "stop before" or "stop after" the last cell lands
closer to the target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Quota:
    group: str
    region: str
    target_ha: float


def allocate(area_ha: np.ndarray, region: np.ndarray, available: np.ndarray, scores: dict[str, np.ndarray],
             quotas: list[Quota]) -> tuple[np.ndarray, dict[tuple[str, str], float]]:
    """Return ``(group_of_cell, achieved_ha)``: the group name per cell ('' = not farmed) and areas.

    ``scores[group]`` is the suitability of each cell for that group (≤ 0 = unsuitable); ``available``
    marks cells that may be farmed at all. Quotas are served in the order given.
    """
    n = len(area_ha)
    out = np.full(n, "", dtype=object)
    free = available.copy()
    achieved: dict[tuple[str, str], float] = {}
    for q in quotas:
        if q.target_ha <= 0:
            achieved[(q.group, q.region)] = 0.0
            continue
        s = scores[q.group]
        cand = np.flatnonzero(free & (region == q.region) & (s > 0))
        order = cand[np.argsort(-s[cand], kind="stable")]
        cum = np.cumsum(area_ha[order])
        k = int(np.searchsorted(cum, q.target_ha))  # cells order[:k+1] reach the target
        if k >= len(order):
            take = order
        else:
            before = cum[k - 1] if k > 0 else 0.0
            take = order[: k + 1] if cum[k] - q.target_ha < q.target_ha - before else order[:k]
        out[take] = q.group
        free[take] = False
        achieved[(q.group, q.region)] = float(area_ha[take].sum())
    return out, achieved
