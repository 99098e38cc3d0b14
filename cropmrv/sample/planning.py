"""Land-use planning zones (provincial land-use plan 2021–2030), with deliberate conflicts.

Each commune is cut into coarser Voronoi cells than the crop zones. A planning zone's code follows
the land it covers (area-weighted majority of the land cells whose centroid falls in it): perennials
→ CLN, paddies → LUC, annual crops → HNK, unfarmed land → production forest RSX (or residential
ODT/ONT near the commune centre). Crop zones that differ from the plan then conflict naturally along
the edges; on top of that a share of planning zones is given a deliberately contradicting code
(for example annual land planned for perennials, paddies planned for urban land) so the planning
review map has real work to show. The deliberate conflicts are listed in the manifest as the
answer key.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from .config import PLAN_PERIOD, Scale, rng_for
from .partition import random_points_in, voronoi_cells

CATEGORY = {"coffee": "CLN", "pepper": "CLN", "durian": "CLN", "rice": "LUC", "sugarcane": "HNK",
            "cassava": "HNK"}
# what a deliberate conflict turns each planned code into
CONFLICT = {"CLN": ("HNK", "RSX"), "LUC": ("CLN", "ODT"), "HNK": ("CLN", "RSX"), "RSX": ("CLN",)}
CONFLICT_SHARE = 0.08


def planning_zones(communes, cells: pd.DataFrame, scale: Scale, seed: int) -> tuple[pd.DataFrame, list[str]]:
    """Return (planning zones with ``zone_code, ma_xa, land_use_code, geometry`` in EPSG:9218,
    codes of the deliberately conflicting zones)."""
    out = []
    conflicts: list[str] = []
    for i, geom in enumerate(communes.geometry.values):
        rng = rng_for(seed, "planning", i)
        sub = cells[cells["commune"] == i]
        n = max(2, int(round(len(sub) / scale.planning_cells)))
        zones = voronoi_cells(geom, random_points_in(geom, n, rng))
        zones = zones[~shapely.is_empty(zones)]
        tree = shapely.STRtree(zones)
        pts = shapely.points(sub["x"].to_numpy(), sub["y"].to_numpy())
        ci, zi = tree.query(pts, predicate="within")
        cat = np.array([CATEGORY.get(c, "") for c in sub["crop"].to_numpy()], dtype=object)
        area = sub["area_ha"].to_numpy()
        codes = []
        centre = shapely.centroid(geom)
        d_centre = shapely.distance(shapely.centroid(zones), centre)
        urban = communes["loai"].iat[i] == "Phường"
        for z in range(len(zones)):
            mine = ci[zi == z]
            tally: dict[str, float] = {}
            for c, a in zip(cat[mine], area[mine], strict=True):
                tally[c or "none"] = tally.get(c or "none", 0.0) + a
            best = max(tally.items(), key=lambda kv: kv[1])[0] if tally else "none"
            if best == "none":
                best = ("ODT" if urban else "ONT") if d_centre[z] == d_centre.min() else "RSX"
            codes.append(best)
        codes = np.asarray(codes, dtype=object)
        ma_xa = communes["ma_xa"].iat[i]
        zcodes = [f"QH-{ma_xa}-{k + 1:03d}" for k in range(len(zones))]
        flip = np.flatnonzero((rng.random(len(zones)) < CONFLICT_SHARE) & np.isin(codes, list(CONFLICT)))
        for k in flip:
            options = CONFLICT[codes[k]]
            codes[k] = options[rng.integers(len(options))]
            conflicts.append(zcodes[k])
        out.append(pd.DataFrame({"zone_code": zcodes, "ma_xa": ma_xa, "land_use_code": codes,
                                 "plan_period": PLAN_PERIOD, "geometry": zones}))
    return pd.concat(out, ignore_index=True), conflicts
