"""A deterministic, realistic parcel shapefile for the ingest benchmark.

Parcels are jittered hexagon-like polygons on a grid laid over real Đắk Lắk communes, in the
province's VN-2000 zone (EPSG:9218) with a ``.prj`` and a ``.cpg``, and the attribute names a
commune cadastral office really uses (SHBANDO, SOTHUTUTHU, LOAIDAT, DIENTICH, MAXA, TENCHU).
The same seed always gives the same bytes, so timings compare like with like.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import Transformer

from cropmrv.settings import PACKAGE_DATA

WARDS = PACKAGE_DATA / "provinces" / "66" / "dak_lak_wards_2025.gpkg"
LAND_USE = np.array(["CLN", "LUC", "HNK", "ONT", "BHK", "NTS", "RSX", "LUK"])
SURNAMES = np.array(["Nguyễn Văn", "Trần Thị", "Lê Hoàng", "Phạm Minh", "Y Ksơr", "H'Hen Niê", "Đặng Thị"])
GIVEN = np.array(["An", "Bình", "Hòa", "Hương", "Lắk", "Thuột", "Đức", "Ửng"])


def make_parcels(path: Path, n: int = 200_000, seed: int = 20251101, cell_m: float = 45.0) -> Path:
    """Write ``n`` parcels to ``path`` (a .shp) and return it. Deterministic for a given seed."""
    rng = np.random.default_rng(seed)
    wards = gpd.read_file(WARDS).to_crs(9218)
    wards = wards.sort_values("ma_xa").reset_index(drop=True)
    # Grid over the central communes around Buôn Ma Thuột, enough cells to keep n of them.
    centre = wards.loc[wards["ten"].str.contains("Buôn Ma Thuột")].geometry.union_all().centroid
    side = int(np.ceil(np.sqrt(n * 1.6)))
    ix, iy = np.meshgrid(np.arange(side), np.arange(side))
    cx = centre.x + (ix.ravel() - side / 2) * cell_m
    cy = centre.y + (iy.ravel() - side / 2) * cell_m
    tree = shapely.STRtree(wards.geometry.values)
    pts = shapely.points(cx, cy)
    pi, wi = tree.query(pts, predicate="within")
    keep = np.full(len(pts), -1)
    keep[pi] = wi
    sel = np.flatnonzero(keep >= 0)[:n]
    if len(sel) < n:
        raise RuntimeError(f"only {len(sel)} grid cells fall inside communes")
    cx, cy, ward = cx[sel], cy[sel], keep[sel]
    # Six-vertex parcels, each vertex jittered: irregular like real cadastral shapes, never self-crossing.
    ang = np.linspace(0, 2 * np.pi, 7)[:-1] + np.pi / 6
    r = cell_m / 2 * (0.85 + 0.1 * rng.random((n, 6)))
    xs = cx[:, None] + r * np.cos(ang)
    ys = cy[:, None] + r * np.sin(ang) * 0.9
    rings = np.stack([np.concatenate([xs, xs[:, :1]], 1), np.concatenate([ys, ys[:, :1]], 1)], axis=2)
    geoms = shapely.polygons(shapely.linearrings(rings.reshape(-1, 2), indices=np.repeat(np.arange(n), 7)))
    area = shapely.area(geoms)
    sheet = (np.arange(n) // 400 + 1).astype(str)
    df = pd.DataFrame({
        "SHBANDO": sheet,
        "SOTHUTUTHU": (np.arange(n) % 400 + 1).astype(str),
        "LOAIDAT": LAND_USE[rng.integers(0, len(LAND_USE), n)],
        "DIENTICH": np.round(area * (1 + rng.normal(0, 0.01, n)), 1),
        "MAXA": wards["ma_xa"].to_numpy()[ward],
        "TENCHU": np.char.add(np.char.add(SURNAMES[rng.integers(0, 7, n)], " "), GIVEN[rng.integers(0, 8, n)]),
    })
    gdf = gpd.GeoDataFrame(df, geometry=geoms, crs=9218)
    path.parent.mkdir(parents=True, exist_ok=True)
    pyogrio.write_dataframe(gdf, path, encoding="UTF-8")
    return path


def wgs84_bounds(path: Path) -> tuple[float, ...]:
    b = pyogrio.read_info(path)["total_bounds"]
    t = Transformer.from_crs(9218, 4326, always_xy=True)
    return t.transform_bounds(*b)
