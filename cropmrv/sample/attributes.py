"""Attributes of crop zones and cadastral parcels: practices, planting years, codes, land use.

Shares and year ranges are illustrative, chosen to look like the province (see the sample README);
they are not statistics. Every draw comes from a named random stream so results are reproducible.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from .config import CROP_META, DATA_YEAR, GROUP_SEASONS, LAND_USE_VI, SEASON_SUFFIX, rng_for

# practice package codes (illustrative Đắk Lắk packages; see cropmrv.mrv.packages)
PRACTICES = {
    "coffee": ("dl-coffee-conventional", "dl-coffee-low-emission"),
    "rice": ("dl-rice-continuous-flooding", "dl-rice-awd"),
    "sugarcane": ("dl-sugarcane-burning", "dl-sugarcane-no-burning"),
    # no package in the catalogue for these crops: their inputs must be reported
    "pepper": (None,),
    "durian": (None,),
    "cassava": (None,),
}
WATER_REGIME = {"continuous_flooding": "continuously_flooded", "awd": "multiple_drainage_awd",
                "rainfed": "rainfed_regular"}


def _choice(rng: np.random.Generator, options: list[str], p: list[float], n: int) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=n, p=p)]


def zone_attributes(zones: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Per physical zone: practice, planting year, irrigation method, planting-area code."""
    rng = rng_for(seed, "zone_attributes")
    n = len(zones)
    crop = zones["crop"].to_numpy()
    group = zones["group"].to_numpy()
    u = rng.random(n)
    practice = np.empty(n, dtype=object)
    irrigation = np.empty(n, dtype=object)
    planted = np.full(n, DATA_YEAR, dtype=int)

    m = crop == "coffee"
    low = m & (u < 0.12)
    practice[m] = np.where(low[m], PRACTICES["coffee"][1], PRACTICES["coffee"][0])
    irrigation[low] = _choice(rng, ["drip", "sprinkler"], [0.5, 0.5], int(low.sum()))
    conv = m & ~low
    irrigation[conv] = _choice(rng, ["sprinkler", "flood", "rainfed"], [0.55, 0.35, 0.10], int(conv.sum()))
    replanted = rng.random(n) < 0.30
    planted[m] = np.where(replanted[m], rng.integers(2012, DATA_YEAR, n)[m], rng.integers(1988, 2011, n)[m])

    m = crop == "pepper"
    practice[m] = PRACTICES["pepper"][0]
    irrigation[m] = _choice(rng, ["sprinkler", "drip", "flood"], [0.6, 0.25, 0.15], int(m.sum()))
    planted[m] = rng.integers(2005, 2021, n)[m]

    m = crop == "durian"
    practice[m] = PRACTICES["durian"][0]
    irrigation[m] = _choice(rng, ["sprinkler", "drip"], [0.5, 0.5], int(m.sum()))
    planted[m] = (2024 - np.floor(rng.beta(1.2, 3.0, n) * 14)).astype(int)[m]  # durian boom: mostly recent

    m = crop == "rice"
    awd = m & (group == "rice_double") & (u < 0.10)
    practice[m] = np.where(awd[m], PRACTICES["rice"][1], PRACTICES["rice"][0])
    irrigation[m] = np.where(group[m] == "rice_single", "rainfed", np.where(awd[m], "awd", "continuous_flooding"))

    m = crop == "sugarcane"
    burn = m & (u < 0.25)
    practice[m] = np.where(burn[m], PRACTICES["sugarcane"][0], PRACTICES["sugarcane"][1])
    irrigation[m] = _choice(rng, ["rainfed", "drip"], [0.85, 0.15], int(m.sum()))
    planted[m] = rng.integers(DATA_YEAR - 4, DATA_YEAR + 1, n)[m]  # ratoon cycle

    m = crop == "cassava"
    practice[m] = PRACTICES["cassava"][0]
    irrigation[m] = "rainfed"

    out = zones.copy()
    out["practice_code"] = practice
    out["irrigation_method"] = irrigation
    out["planted_year"] = planted
    dur = np.flatnonzero((crop == "durian") & (rng.random(n) < 0.6))
    code = np.full(n, None, dtype=object)
    code[dur] = [f"VN-DLOR-{k + 1:04d}" for k in range(len(dur))]
    out["planting_code"] = code
    return out


def zone_season_rows(zones: pd.DataFrame) -> pd.DataFrame:
    """One row per zone and season: paddies cropped twice give two rows with the same geometry."""
    rice = zones["crop"] == "rice"
    other = zones[~rice].copy()
    other["season"] = np.where(other["crop"].isin(["sugarcane", "cassava"]), "annual", "perennial")
    other["zone_code"] = other["phys_code"]
    rows = [other]
    for (group, region), seasons in GROUP_SEASONS.items():
        sub = zones[rice & (zones["group"] == group) & (zones["region"] == region)]
        for season in seasons:
            r = sub.copy()
            r["season"] = season
            r["zone_code"] = r["phys_code"] + "-" + SEASON_SUFFIX[season]
            rows.append(r)
    out = pd.concat(rows, ignore_index=True)
    out["water_regime"] = out["irrigation_method"].map(WATER_REGIME).where(out["crop"] == "rice")
    out["year"] = DATA_YEAR
    return out.sort_values(["ma_xa", "zone_code"]).reset_index(drop=True)


def parcel_attributes(parcels: np.ndarray, zone_idx: np.ndarray, zones: pd.DataFrame, sheet_m: float,
                      rng: np.random.Generator) -> pd.DataFrame:
    """Cadastral attributes for one commune's parcels: map sheet, parcel number, land use, stated area.

    Sheets are squares of ``sheet_m`` numbered row by row from the north-west, as on a cadastral map
    index; parcels are numbered within their sheet from the north-west too.
    """
    c = shapely.centroid(parcels)
    x, y = shapely.get_x(c), shapely.get_y(c)
    col = np.floor((x - x.min()) / sheet_m).astype(int)
    row = np.floor((y.max() - y) / sheet_m).astype(int)
    sheet_key = row * 10_000 + col
    _, sheet_no = np.unique(sheet_key, return_inverse=True)
    order = np.lexsort((x, -y, sheet_no))
    parcel_no = np.empty(len(parcels), dtype=int)
    counts = np.bincount(sheet_no)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ranks = np.arange(len(parcels)) - np.repeat(starts, counts)
    parcel_no[order] = ranks + 1
    crop = zones["crop"].to_numpy()[zone_idx]
    group = zones["group"].to_numpy()[zone_idx]
    luc = np.where(crop == "rice", np.where(group == "rice_double", "LUC", "LUK"),
                   np.where(np.isin(crop, ["sugarcane", "cassava"]),
                            np.where(rng.random(len(parcels)) < 0.3, "BHK", "HNK"), "CLN"))
    area = shapely.area(parcels)
    return pd.DataFrame({"so_to": sheet_no + 1, "so_thua": parcel_no, "loai_dat": luc,
                         "dien_tich": np.round(area, 1), "muc_dich": [LAND_USE_VI[v] for v in luc]})


def crop_label(crop: str) -> str:
    return CROP_META[crop][0]
