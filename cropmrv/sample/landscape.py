"""The real landscape the sample is drawn on: communes, their former districts, and terrain proxies.

Everything here is real data shipped with the repo (``cropmrv/data/provinces/66``): the 102 commune
boundaries, the old → new crosswalk (which tells us each new commune's former district, and so which
crops the district is known for), the province outline and the OSM main roads.

No DEM is available offline (none was found under an open licence in the stored sources), so "low flat
land" cannot be computed. Two documented proxies stand in for it:

* distance to the main roads (OSM trunk/primary/secondary): valleys and plains carry the roads, and
  farmland clusters along them;
* distance to the coast, taken as the eastern edge of the province outline (the South China Sea
  shore of former Phú Yên): the Tuy Hòa delta rice lies on the coastal plain.

Work is done in VN-2000 / TM-3 108°30' (EPSG:9218), the province's official metric CRS, so that areas
in m² are what a cadastral officer would measure.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

METRIC_EPSG = 9218
HERE = Path(__file__).resolve().parent
SUITABILITY_CSV = HERE / "suitability.csv"
CROPS = ("coffee", "pepper", "durian", "rice", "sugarcane", "cassava")


@dataclass(frozen=True)
class Landscape:
    """The communes (EPSG:9218, sorted by code) with region, former district and suitability weights."""

    communes: gpd.GeoDataFrame      # ma_xa, ten, ten_day_du, loai, region, district, farm_share, w_<crop>, geometry
    roads: np.ndarray               # shapely LineStrings in EPSG:9218
    coast: shapely.Geometry         # coast proxy line in EPSG:9218
    to_wgs84: pyproj.Transformer
    to_metric: pyproj.Transformer


def load_landscape(province_dir: Path) -> Landscape:
    """Read the real communes, crosswalk, outline and roads from ``province_dir``."""
    wards = gpd.read_file(next(province_dir.glob("*wards*.gpkg")), engine="pyogrio")
    wards = wards.sort_values("ma_xa").reset_index(drop=True)
    to_metric = pyproj.Transformer.from_crs(4326, METRIC_EPSG, always_xy=True)
    to_wgs84 = pyproj.Transformer.from_crs(METRIC_EPSG, 4326, always_xy=True)
    geom = shapely.transform(wards.geometry.values, lambda xy: np.column_stack(to_metric.transform(xy[:, 0], xy[:, 1])))
    # A 1 m inset keeps generated features inside their commune after the VN-2000 <-> WGS 84 round trip.
    geom = shapely.make_valid(shapely.buffer(geom, -1.0))

    district = _main_district(next(province_dir.glob("*old_to_new*.csv")))
    suit = pd.read_csv(SUITABILITY_CSV)
    suit = suit.set_index("old_district")
    df = pd.DataFrame({"ma_xa": wards["ma_xa"].astype(str), "ten": wards["ten"], "ten_day_du": wards["ten_day_du"],
                       "loai": wards["loai"], "dan_so": wards.get("dan_so")})
    df["region"] = np.where(df["ma_xa"].str.startswith("22"), "PY", "DL")
    df["district"] = df["ma_xa"].map(district)
    missing = df.loc[~df["district"].isin(suit.index), "ma_xa"].tolist()
    if missing:
        raise ValueError(f"suitability.csv has no row for the former district of communes {missing}")
    for col in [*(c for c in CROPS), "farm_share"]:
        df[f"w_{col}" if col in CROPS else col] = df["district"].map(suit[col]).astype(float)
    communes = gpd.GeoDataFrame(df, geometry=geom, crs=METRIC_EPSG)

    roads_gdf = gpd.read_file(next(province_dir.glob("*roads*.geojson")), engine="pyogrio")
    roads = shapely.transform(roads_gdf.geometry.values,
                              lambda xy: np.column_stack(to_metric.transform(xy[:, 0], xy[:, 1])))
    outline = gpd.read_file(next(province_dir.glob("*province*.geojson")), engine="pyogrio").geometry.values
    coast = _coast_proxy(outline, to_metric)
    return Landscape(communes, roads, coast, to_wgs84, to_metric)


def _main_district(crosswalk: Path) -> dict[str, str]:
    """Each new commune's main former district: the one most of its pre-2025 communes came from."""
    rows = list(csv.DictReader(crosswalk.open(encoding="utf-8")))
    counts: dict[str, dict[str, int]] = {}
    for r in rows:
        d = counts.setdefault(r["ma_xa_moi"], {})
        d[r["ten_huyen_cu"]] = d.get(r["ten_huyen_cu"], 0) + 1
    return {code: sorted(d.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] for code, d in counts.items()}


def _coast_proxy(outline: np.ndarray, to_metric: pyproj.Transformer) -> shapely.Geometry:
    """The shore of former Phú Yên: the province outline's edge east of 109.2°E between 12.6°N and 13.7°N."""
    boundary = shapely.boundary(shapely.union_all(outline))
    box = shapely.box(109.2, 12.6, 110.0, 13.7)
    shore = shapely.intersection(boundary, box)
    return shapely.transform(shore, lambda xy: np.column_stack(to_metric.transform(xy[:, 0], xy[:, 1])))


def distance_to(points: np.ndarray, lines: np.ndarray | shapely.Geometry) -> np.ndarray:
    """Distance in metres from each point to the nearest of ``lines`` (vectorised through an STRtree)."""
    lines = np.atleast_1d(np.asarray(lines, dtype=object))
    tree = shapely.STRtree(lines)
    idx, dist = tree.query_nearest(points, return_distance=True, all_matches=False)
    out = np.full(len(points), np.inf)
    out[idx[0]] = dist
    return out


def smooth_field(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, wavelength_m: float = 12_000.0,
                 waves: int = 16) -> np.ndarray:
    """A smooth random field in [-1, 1]: a sum of plane waves with random directions and phases.

    Used to make crops form contiguous patches instead of salt-and-pepper; a cheap stand-in for a
    Gaussian random field that needs no extra library and is vectorised over millions of points.
    """
    theta = rng.uniform(0, 2 * np.pi, waves)
    k = 2 * np.pi / (wavelength_m * rng.uniform(0.6, 1.6, waves))
    phase = rng.uniform(0, 2 * np.pi, waves)
    proj = np.outer(x, np.cos(theta) * k) + np.outer(y, np.sin(theta) * k) + phase
    return np.cos(proj).sum(axis=1) / np.sqrt(waves / 2) / 2.5
