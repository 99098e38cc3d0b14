"""Raster registration and zonal statistics (slope classes from a DEM)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin
from sqlalchemy import text

from cropmrv.geo.zonal import metric_cell_size, slope_classes, slope_degrees, zonal_stats
from cropmrv.ingest.raster import ingest_raster
from cropmrv.ingest.report import IngestError

BMT = (447_000.0, 1_410_000.0)  # top-left of a DEM over Buôn Ma Thuột in EPSG:9218


def write_dem(path, origin=BMT, crs="EPSG:9218", nodata=-9999.0, size=(200, 300), res=30.0):
    rows, cols = size
    x = np.arange(cols) * res
    dem = np.tile(400 + x * 0.05, (rows, 1))  # 5 % grade eastwards (≈2.9°)
    dem[:, cols // 2:] = 400 + (x[cols // 2:] - x[cols // 2]) * 0.3 + x[cols // 2] * 0.05  # 30 % (≈16.7°)
    dem[0, 0] = nodata if nodata is not None else dem[0, 0]
    prof = {"driver": "GTiff", "height": rows, "width": cols, "count": 1, "dtype": "float32",
            "transform": from_origin(origin[0], origin[1], res, res)}
    if crs:
        prof["crs"] = crs
    if nodata is not None:
        prof["nodata"] = nodata
    with rasterio.open(path, "w", **prof) as ds:
        ds.write(dem.astype("float32"), 1)
    return path


def test_register_dem_then_noop_then_other_kind(tmp_path, fresh_db, fresh_engine):
    dem = write_dem(tmp_path / "dem.tif")
    info = ingest_raster(dem, "dem", settings=fresh_db, engine=fresh_engine)
    assert info.status == "loaded" and info.crs == "EPSG:9218" and info.nodata == -9999.0
    assert (info.width, info.height, info.resolution) == (300, 200, 30.0)
    assert 0 < info.province_share < 0.01 and any("covers only" in n for n in info.notes)
    again = ingest_raster(dem, "dem", settings=fresh_db, engine=fresh_engine)
    assert again.status == "unchanged" and again.dataset_id == info.dataset_id
    lc = write_dem(tmp_path / "lc.tif")
    other = ingest_raster(lc, "landcover", settings=fresh_db, engine=fresh_engine)
    with fresh_engine.connect() as c:
        rows = c.execute(text("SELECT r.kind, d.status, d.variant, ST_Intersects(r.footprint, a.geom) FROM raster r "
                              "JOIN dataset d ON d.id = r.dataset_id JOIN admin_unit a ON a.code = '24133' "
                              "ORDER BY r.id")).all()
    assert rows == [("dem", "active", "dem", True), ("landcover", "active", "landcover", True)]
    assert other.dataset_id != info.dataset_id


def test_rasters_without_crs_or_outside_are_refused(tmp_path, fresh_db, fresh_engine):
    with pytest.raises(IngestError, match="no CRS"):
        ingest_raster(write_dem(tmp_path / "nocrs.tif", crs=None), "dem", settings=fresh_db, engine=fresh_engine)
    with pytest.raises(IngestError, match="outside province"):
        ingest_raster(write_dem(tmp_path / "far.tif", crs="EPSG:9210"), "dem", settings=fresh_db, engine=fresh_engine)
    with pytest.raises(IngestError, match="unsupported raster kind"):
        ingest_raster(write_dem(tmp_path / "x.tif"), "ndvi", settings=fresh_db, engine=fresh_engine)
    nond = ingest_raster(write_dem(tmp_path / "nond.tif", nodata=None), "dem", settings=fresh_db, engine=fresh_engine)
    assert any("no nodata" in n for n in nond.notes)
    with fresh_engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM raster")).scalar() == 1


def test_slope_classes_per_zone_from_a_dem(tmp_path):
    path = write_dem(tmp_path / "dem.tif")
    with rasterio.open(path) as ds:
        dem, b, nodata = ds.read(1), ds.bounds, ds.nodata
    slope = slope_degrees(dem, 30.0, 30.0, nodata)
    assert np.nanmedian(slope[:, 10:140]) == pytest.approx(np.degrees(np.arctan(0.05)), abs=1e-3)
    assert np.nanmedian(slope[:, 160:290]) == pytest.approx(np.degrees(np.arctan(0.3)), abs=1e-3)
    bounds = (b.left, b.bottom, b.right, b.top)
    west = shapely.box(b.left + 300, b.bottom + 300, b.left + 3000, b.top - 300)    # flat side
    east = shapely.box(b.left + 5000, b.bottom + 300, b.right - 300, b.top - 300)  # hill side
    both = shapely.box(b.left + 3000, b.bottom + 300, b.left + 6000, b.top - 300)
    out = slope_classes(slope, bounds, [west, east, both], ["flat", "hill", "mixed"], 9218)
    out = out.set_index("zone_id")
    assert out.loc["flat", "0-3"] == pytest.approx(1.0)
    assert out.loc["hill", "15-20"] == pytest.approx(1.0)
    assert 0.3 < out.loc["mixed", "0-3"] < 0.7 and out.loc["mixed", ["0-3", "3-8", "8-15", "15-20"]].sum() == \
        pytest.approx(1.0)
    stats = zonal_stats(dem, bounds, [west], ["w"], 9218, ops=("mean", "count"), nodata=nodata)
    assert stats.loc[0, "count"] == pytest.approx((2700 / 30) * ((b.top - b.bottom - 600) / 30), rel=1e-6)


def test_metric_cell_size_shrinks_with_latitude():
    dx, dy = metric_cell_size((108.0, 10.0, 108.1, 20.0), (10, 1))
    assert dx[0] < dx[-1]  # row 0 is the north
    assert dy == pytest.approx(110_600, rel=0.01)
