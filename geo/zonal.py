"""Zonal statistics per crop zone or commune (exactextract), and slope classes from a DEM.

Why exactextract: zones are small next to 30 m DEM cells on a crop zone's edge; counting whole
cells whose centre falls inside (rasterstats' default) biases small zones. exactextract weights
every cell by the exact fraction of it covered by the polygon.

Pure: arrays, bounds and geometries in, a DataFrame out; reading files is the caller's business.
Arrays are north-up: row 0 is the northern edge (``ymax``), as GDAL/rasterio deliver them.

Slope classes decide flat-land vs hill-land planting norms; the default breaks (3°, 8°, 15°, 20°,
25°) are the slope classes of Vietnamese land evaluation (TCVN 8409:2012, after FAO 1976).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyproj
import shapely

__all__ = ["SLOPE_BREAKS", "slope_classes", "slope_degrees", "zonal_stats"]

SLOPE_BREAKS: tuple[float, ...] = (3.0, 8.0, 15.0, 20.0, 25.0)


def _frame(geoms: Sequence, ids: Sequence, crs: object):
    import geopandas as gpd

    return gpd.GeoDataFrame({"zone_id": list(ids)}, geometry=list(geoms), crs=pyproj.CRS.from_user_input(crs))


def zonal_stats(
    values: np.ndarray,
    bounds: tuple[float, float, float, float],
    geoms: Sequence[shapely.Geometry],
    ids: Sequence,
    crs: object,
    ops: Sequence[str] = ("mean", "min", "max", "count"),
    nodata: float | None = None,
) -> pd.DataFrame:
    """``ops`` (exactextract operation names) of ``values`` over each geometry; one row per id.

    ``bounds`` is (xmin, ymin, xmax, ymax) of the array in ``crs``, the CRS of the geometries too.
    ``count`` is in covered cells (fractions summed); nodata cells are ignored.
    """
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource

    if values.ndim != 2:
        raise ValueError(f"values must be 2-D, got shape {values.shape}")
    wkt = pyproj.CRS.from_user_input(crs).to_wkt()
    src = NumPyRasterSource(np.asarray(values, dtype="float64"), *bounds, nodata=nodata, srs_wkt=wkt)
    res = exact_extract(src, _frame(geoms, ids, crs), list(ops), output="pandas")
    res = res.drop(columns=[c for c in res.columns if c == "zone_id"], errors="ignore")
    res.insert(0, "zone_id", list(ids))
    return res.reset_index(drop=True)


def slope_degrees(dem: np.ndarray, xres: float | np.ndarray, yres: float, nodata: float | None = None) -> np.ndarray:
    """Slope in degrees by Horn's 3×3 method (as gdaldem), NaN at the edges and next to nodata.

    ``xres``/``yres`` are cell sizes in metres; for a DEM in degrees pass per-row ``xres`` from
    :func:`metric_cell_size`.
    """
    z = np.asarray(dem, dtype="float64").copy()
    if nodata is not None:
        z[z == nodata] = np.nan
    p = np.pad(z, 1, constant_values=np.nan)
    a, b, c = p[:-2, :-2], p[:-2, 1:-1], p[:-2, 2:]
    d, f = p[1:-1, :-2], p[1:-1, 2:]
    g, h, i = p[2:, :-2], p[2:, 1:-1], p[2:, 2:]
    xr = np.asarray(xres, dtype="float64")
    xr = xr[:, None] if xr.ndim == 1 else xr
    dzdx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8 * xr)
    dzdy = ((g + 2 * h + i) - (a + 2 * b + c)) / (8 * yres)
    return np.degrees(np.arctan(np.hypot(dzdx, dzdy)))


def metric_cell_size(bounds: tuple[float, float, float, float], shape: tuple[int, int]) -> tuple[np.ndarray, float]:
    """Cell sizes in metres of a lon/lat grid: x per row (shrinks with latitude), y constant."""
    geod = pyproj.Geod(ellps="WGS84")
    xmin, ymin, xmax, ymax = bounds
    rows, cols = shape
    dx_deg, dy_deg = (xmax - xmin) / cols, (ymax - ymin) / rows
    lat = ymax - (np.arange(rows) + 0.5) * dy_deg
    _, _, dx = geod.inv(np.zeros(rows), lat, np.full(rows, dx_deg), lat)
    _, _, dy = geod.inv(0.0, float(np.mean(lat)) - dy_deg / 2, 0.0, float(np.mean(lat)) + dy_deg / 2)
    return np.asarray(dx), float(dy)


def slope_classes(
    slope: np.ndarray,
    bounds: tuple[float, float, float, float],
    geoms: Sequence[shapely.Geometry],
    ids: Sequence,
    crs: object,
    breaks: Sequence[float] = SLOPE_BREAKS,
) -> pd.DataFrame:
    """Share of each zone's area in each slope class, plus the mean slope.

    Columns: ``zone_id``, ``mean_slope``, then ``"0-3"``, ``"3-8"`` … ``">25"`` (shares summing to 1
    over the cells with data).
    """
    edges = [0.0, *breaks]
    labels = [f"{int(lo) if float(lo).is_integer() else lo}-{int(hi) if float(hi).is_integer() else hi}"
              for lo, hi in zip(edges[:-1], edges[1:], strict=True)] + [f">{int(breaks[-1])}"]
    cls = np.digitize(slope, breaks).astype("float64")
    cls[~np.isfinite(slope)] = -1
    frac = zonal_stats(cls, bounds, geoms, ids, crs, ops=("frac", "unique"), nodata=-1)
    mean = zonal_stats(np.where(np.isfinite(slope), slope, -9999.0), bounds, geoms, ids, crs, ops=("mean",),
                       nodata=-9999.0)
    out = pd.DataFrame({"zone_id": list(ids), "mean_slope": mean["mean"].to_numpy()})
    shares = np.zeros((len(out), len(labels)))
    for k, (u, f) in enumerate(zip(frac["unique"], frac["frac"], strict=True)):
        for val, share in zip(np.atleast_1d(u), np.atleast_1d(f), strict=True):
            if 0 <= int(val) < len(labels):
                shares[k, int(val)] += share
    for j, lab in enumerate(labels):
        out[lab] = shares[:, j]
    return out
