"""Land-use planning zones (provincial land-use plan 2021–2030), with deliberate conflicts.

Each commune is cut into coarser Voronoi areas than the crop zones; within an area the land cells of
one category dissolve into one planning zone, so plan boundaries follow field boundaries: perennials
→ CLN, paddies → LUC, annual crops → HNK, unfarmed land → production forest RSX (or residential
ODT/ONT near the commune centre). A share of planning zones is given a deliberately contradicting code
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
    codes of the deliberately conflicting zones).

    A real land-use plan is drawn over the land as it is used, so plan boundaries follow field
    boundaries: every land cell joins the coarse planning area its centroid falls in, and the cells of
    one area and one land-use category dissolve into one planning zone. A crop zone therefore lies in a
    single planning zone of its own category, and the only conflicts are the deliberate ones (the
    answer key in the manifest), as a reviewer would expect from a plan that mostly fits.
    """
    out = []
    conflicts: list[str] = []
    for i, geom in enumerate(communes.geometry.values):
        rng = rng_for(seed, "planning", i)
        sub = cells[cells["commune"] == i]
        if sub.empty:
            continue
        n = max(2, int(round(len(sub) / scale.planning_cells)))
        areas = voronoi_cells(geom, random_points_in(geom, n, rng))
        areas = areas[~shapely.is_empty(areas)]
        tree = shapely.STRtree(areas)
        pts = shapely.points(sub["x"].to_numpy(), sub["y"].to_numpy())
        cell_i, area_i = tree.query_nearest(pts, all_matches=False)
        area_of = np.empty(len(sub), dtype=int)
        area_of[cell_i] = area_i
        cat = np.array([CATEGORY.get(c, "") if isinstance(c, str) else "" for c in sub["crop"].to_numpy()],
                       dtype=object)
        # unfarmed land: residential near the commune centre, production forest elsewhere
        d_centre = shapely.distance(shapely.centroid(areas), shapely.centroid(geom))
        urban = communes["loai"].iat[i] == "Phường"
        none_code = np.where(area_of == int(np.argmin(d_centre)), "ODT" if urban else "ONT", "RSX")
        code = np.where(cat == "", none_code, cat)
        frame = pd.DataFrame({"area": area_of, "code": code, "geometry": sub["geometry"].to_numpy()})
        groups = sorted(frame.groupby(["area", "code"], sort=True), key=lambda kv: kv[0])
        zones = np.array([shapely.union_all(g["geometry"].to_numpy()) for _, g in groups], dtype=object)
        codes = np.array([key[1] for key, _ in groups], dtype=object)
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
