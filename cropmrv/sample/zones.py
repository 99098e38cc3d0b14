"""Land cells for every commune, and the crop zones carved from them.

A commune is cut into Voronoi cells (:mod:`.partition`). Part of each commune is farmland (its former
district's ``farm_share``, taken along the roads first); the rest stays forest, built-up land or water
and gets no crop zone. Farmland cells are assigned to crops by :mod:`.allocate` so that province totals
meet ``targets.csv``. A farmed cell is one *physical* crop zone; paddies cropped twice carry one zone
row per season with the same geometry (so zones of one season never overlap).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from .allocate import Quota, allocate
from .config import GROUP_CROP, QUOTA_ORDER, Scale, physical_quotas, rng_for
from .landscape import CROPS, Landscape, distance_to, smooth_field
from .partition import random_points_in, voronoi_cells


def build_cells(land: Landscape, scale: Scale, seed: int) -> pd.DataFrame:
    """One row per land cell: commune index, geometry (EPSG:9218), area, centroid, terrain proxies."""
    parts = []
    for i, geom in enumerate(land.communes.geometry.values):
        rng = rng_for(seed, "cells", i)
        area_ha = shapely.area(geom) / 1e4
        n = max(3, int(round(area_ha / scale.cell_ha)))
        seeds = random_points_in(geom, n, rng)
        cells = voronoi_cells(geom, seeds)
        cells = cells[~shapely.is_empty(cells)]
        parts.append(pd.DataFrame({"commune": i, "geometry": cells}))
    df = pd.concat(parts, ignore_index=True)
    g = df["geometry"].to_numpy()
    df["area_ha"] = shapely.area(g) / 1e4
    c = shapely.centroid(g)
    df["x"], df["y"] = shapely.get_x(c), shapely.get_y(c)
    df["d_road"] = distance_to(c, land.roads)
    df["d_coast"] = distance_to(c, land.coast)
    return df


def assign_crops(cells: pd.DataFrame, land: Landscape, targets, seed: int) -> tuple[pd.DataFrame, dict]:
    """Mark farmland and allocate crops; adds ``farm`` (bool) and ``group`` ('' when not farmed)."""
    com = land.communes
    region = com["region"].to_numpy()[cells["commune"].to_numpy()]
    x, y = cells["x"].to_numpy(), cells["y"].to_numpy()
    d_road, d_coast = cells["d_road"].to_numpy(), cells["d_coast"].to_numpy()

    # farmland: in each commune, the cells closest to roads (with a smooth random twist) up to farm_share
    farm_field = smooth_field(x, y, rng_for(seed, "farm"), wavelength_m=6_000)
    farm_score = np.exp(-d_road / 4_000) * (1 + 0.8 * farm_field)
    farm = np.zeros(len(cells), dtype=bool)
    for i, sub in cells.groupby("commune").indices.items():
        order = sub[np.argsort(-farm_score[sub], kind="stable")]
        cum = np.cumsum(cells["area_ha"].to_numpy()[order])
        limit = com["farm_share"].iat[i] * cum[-1]
        farm[order[: max(1, int(np.searchsorted(cum, limit)) + 1)]] = True

    def w(crop: str) -> np.ndarray:
        return com[f"w_{crop}"].to_numpy()[cells["commune"].to_numpy()]

    def twist(name: str, wavelength: float = 9_000) -> np.ndarray:
        return np.clip(1 + 0.7 * smooth_field(x, y, rng_for(seed, "field", hash_name(name)), wavelength), 0.05, None)

    coast = np.where(region == "PY", 0.3 + np.exp(-d_coast / 15_000), 1.0)
    scores = {
        "rice_double": w("rice") * np.exp(-d_road / 3_000) * coast * twist("rice", 5_000),
        "rice_single": w("rice") * np.exp(-d_road / 8_000) * twist("rice_single", 5_000),
        "sugarcane": w("sugarcane") * np.exp(-d_road / 15_000) * twist("sugarcane"),
        "cassava": w("cassava") * np.exp(-d_road / 15_000) * twist("cassava"),
        "durian": w("durian") * np.exp(-d_road / 6_000) * twist("durian", 6_000),
        "pepper": w("pepper") * np.exp(-d_road / 8_000) * twist("pepper", 6_000),
        "coffee": w("coffee") * np.exp(-d_road / 10_000) * twist("coffee", 12_000),
    }
    phys = physical_quotas(targets)
    quotas = []
    for key in QUOTA_ORDER:
        group, reg = key.split(":")
        quotas.append(Quota(group, reg, phys.get((group, reg), 0.0)))
    group, achieved = allocate(cells["area_ha"].to_numpy(), region, farm, scores, quotas)
    out = cells.copy()
    out["farm"] = farm
    out["group"] = group
    out["region"] = region
    out["crop"] = [GROUP_CROP.get(g, g) for g in group]
    return out, achieved


def hash_name(name: str) -> int:
    import zlib

    return zlib.crc32(name.encode())


def number_zones(cells: pd.DataFrame, land: Landscape) -> pd.DataFrame:
    """Give each farmed cell its physical zone code ``<MaXa>-<crop>-<nnnn>``, numbered north to south."""
    from .config import CROP_META

    farmed = cells[cells["group"] != ""].copy()
    farmed["ma_xa"] = land.communes["ma_xa"].to_numpy()[farmed["commune"].to_numpy()]
    farmed = farmed.sort_values(["ma_xa", "crop", "y", "x"], ascending=[True, True, False, True])
    farmed["n"] = farmed.groupby(["ma_xa", "crop"]).cumcount() + 1
    abbr = farmed["crop"].map(lambda c: CROP_META[c][1])
    farmed["phys_code"] = farmed["ma_xa"] + "-" + abbr + "-" + farmed["n"].map("{:04d}".format)
    return farmed.sort_values(["ma_xa", "phys_code"]).reset_index(drop=True)


__all__ = ["CROPS", "assign_crops", "build_cells", "number_zones"]
