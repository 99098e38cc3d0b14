"""CRS detection on the real VN-2000 shapefile (no .prj) and on data made in Đắk Lắk's zone."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pyproj
import pytest
import shapely

from cropmrv.geo.crs import (
    CANDIDATE_EPSG,
    VN2000_TO_WGS84_OPERATION,
    detect_crs,
    official_tm3_zone,
    reproject_to_wgs84,
    transformer_to_wgs84,
)

REPO = Path(__file__).resolve().parents[1]
BEN_TRE_BOX = shapely.box(106.0, 9.8, 106.8, 10.4)


@pytest.fixture(scope="module")
def dak_lak() -> shapely.Geometry:
    g = gpd.read_file(REPO / "cropmrv/data/provinces/66/dak_lak_wards_2025.gpkg", layer="xa_phuong_2025")
    return shapely.union_all(g.geometry.to_numpy())


@pytest.fixture(scope="module")
def hktb() -> gpd.GeoDataFrame:
    g = gpd.read_file(REPO / "tests/data/vn2000/hktb.shp")
    assert g.crs is None and not (REPO / "tests/data/vn2000/hktb.prj").exists()
    return g


@pytest.fixture(scope="module")
def dak_lak_points_9218(dak_lak) -> np.ndarray:
    """400 points spread over Đắk Lắk, in EPSG:9218 metres."""
    rng = np.random.default_rng(66)
    x0, y0, x1, y1 = dak_lak.bounds
    pts = np.column_stack([rng.uniform(x0, x1, 4000), rng.uniform(y0, y1, 4000)])
    pts = pts[shapely.contains_xy(dak_lak, pts[:, 0], pts[:, 1])][:400]
    t = pyproj.Transformer.from_crs(4326, 9218, always_xy=True)
    return np.column_stack(t.transform(pts[:, 0], pts[:, 1]))


def test_transformer_uses_the_published_vn2000_operation():
    assert VN2000_TO_WGS84_OPERATION == ("EPSG:6960", "VN-2000 to WGS 84 (2)")
    for epsg in (9218, 9210, 3405, 5898):
        t, desc = transformer_to_wgs84(epsg)
        assert "VN-2000 to WGS 84 (2)" in desc and "EPSG:6960" in desc
        assert "VN-2000 to WGS 84 (2)" in t.description
    # Buôn Ma Thuột: lon/lat order, and the datum shift is real (not a null transformation)
    t, _ = transformer_to_wgs84(9218)
    lon, lat = t.transform(450_000.0, 1_400_000.0)
    assert 108.0 < lon < 108.1 and 12.6 < lat < 12.7
    null = pyproj.Transformer.from_pipeline("+proj=pipeline +step +inv +proj=tmerc +lon_0=108.5 +k=0.9999 "
                                            "+x_0=500000 +ellps=WGS84 +step +proj=unitconvert +xy_in=rad +xy_out=deg")
    lon0, lat0 = null.transform(450_000.0, 1_400_000.0)
    shift_m = np.hypot((lon - lon0) * 108_600, (lat - lat0) * 110_600)
    assert 100 < shift_m < 400  # VN-2000 differs from WGS 84 by a few hundred metres
    assert transformer_to_wgs84(4326)[1].startswith("identity")


def test_hktb_fits_9210_in_ben_tre(hktb):
    d = detect_crs(hktb.geometry.to_numpy(), BEN_TRE_BOX)
    assert d.epsg == 9210 and d.source == "inferred" and d.accepted
    assert "EPSG:6960" in d.operation
    c = {c.epsg: c for c in d.candidates}[9210]
    assert c.share_inside == 1.0 and 106.4 < c.lon < 106.55 and 10.15 < c.lat < 10.3
    # the bbox is wide enough for the neighbouring meridians too: the official zone settles it
    assert official_tm3_zone(BEN_TRE_BOX) == 9210
    assert any("EPSG:9209" in w for w in d.warnings)
    # around where the commune really is, only 9210 fits
    tight = detect_crs(hktb.geometry.to_numpy(), shapely.box(106.35, 10.1, 106.6, 10.35), preferred_epsg=-1)
    assert tight.epsg == 9210 and not tight.warnings
    assert [c.epsg for c in tight.candidates if c.share_inside >= 0.95] == [9210]


def test_hktb_refused_in_dak_lak_naming_where_it_would_land(hktb, dak_lak):
    d = detect_crs(hktb.geometry.to_numpy(), dak_lak)
    assert d.epsg is None and d.source is None and not d.accepted
    assert "EPSG:9210" in d.message and "106.47" in d.message and "10.23" in d.message
    assert "no candidate" in d.message and "không hệ tọa độ nào" in d.message
    c9218 = {c.epsg: c for c in d.candidates}[9218]
    assert c9218.share_inside == 0 and c9218.km_from_region > 50  # Đắk Lắk's zone puts it in the sea
    assert {c.epsg for c in d.candidates} >= set(CANDIDATE_EPSG)


def test_hktb_with_user_crs(hktb, dak_lak):
    d = detect_crs(hktb.geometry.to_numpy(), dak_lak, user_epsg=9210)
    assert d.epsg == 9210 and d.source == "user"
    assert d.warnings and "outside the region" in d.warnings[0]
    ok = detect_crs(hktb.total_bounds.tolist(), BEN_TRE_BOX, user_epsg=9210)
    assert ok.source == "user" and not ok.warnings


def test_points_in_9218_detected_in_dak_lak(dak_lak_points_9218, dak_lak):
    d = detect_crs(dak_lak_points_9218, dak_lak)
    assert d.epsg == 9218 and d.source == "inferred"
    # spread over the whole province, only the right meridian keeps (nearly) every point inside
    unique = detect_crs(dak_lak_points_9218, dak_lak, preferred_epsg=-1)
    assert unique.epsg == 9218 and [c.epsg for c in unique.candidates if c.share_inside >= 0.95] == [9218]


def test_small_cluster_fits_several_zones_preferred_settles_it(dak_lak):
    # a few fields in the east (Sông Hinh): read in a zone further west they still land in Đắk Lắk
    t = pyproj.Transformer.from_crs(4326, 9218, always_xy=True)
    pts = np.column_stack(t.transform([108.98, 109.0, 109.01], [12.98, 13.0, 13.01]))
    refused = detect_crs(pts, dak_lak, preferred_epsg=-1)
    fits = [c.epsg for c in refused.candidates if c.share_inside >= 0.95]
    assert len(fits) > 1 and 9218 in fits
    assert refused.epsg is None and "EPSG:9218" in refused.message and "choose one" in refused.message
    assert official_tm3_zone(dak_lak) == 9218
    chosen = detect_crs(pts, dak_lak)  # default preferred: the official zone of the region
    assert chosen.epsg == 9218 and chosen.source == "inferred" and chosen.warnings


def test_lying_prj_is_overridden(dak_lak_points_9218, dak_lak):
    d = detect_crs(dak_lak_points_9218, dak_lak, prj_crs="EPSG:4326")
    assert d.epsg == 9218 and d.source == "inferred"
    assert d.warnings and "EPSG:4326" in d.warnings[0] and "ignored" in d.warnings[0]


def test_honest_prj_is_honoured(dak_lak):
    shp = REPO / "tests/data/legacy/communes_vni.shp"
    info = pyogrio.read_info(shp)
    geoms = pyogrio.read_dataframe(shp).geometry.to_numpy()
    d = detect_crs(geoms, dak_lak, prj_crs=(REPO / "tests/data/legacy/communes_vni.prj").read_text())
    assert info["crs"] == "EPSG:9218"
    assert d.epsg == 9218 and d.source == "prj" and not d.warnings
    # the same data without .prj is inferred
    noprj = pyogrio.read_dataframe(REPO / "tests/data/legacy/communes_tcvn3_noprj.shp").geometry.to_numpy()
    d2 = detect_crs(noprj, dak_lak)
    assert d2.epsg == 9218 and d2.source == "inferred"


def test_wgs84_data_is_wgs84(dak_lak_points_9218, dak_lak):
    lonlat = np.column_stack(transformer_to_wgs84(9218)[0].transform(*dak_lak_points_9218.T))
    d = detect_crs(lonlat, dak_lak)
    assert d.epsg == 4326 and d.source == "inferred"


def test_reproject_round_trip(dak_lak_points_9218, dak_lak):
    geoms = shapely.points(dak_lak_points_9218)
    wgs = reproject_to_wgs84(geoms, 9218)
    assert shapely.contains_xy(dak_lak, *shapely.get_coordinates(wgs).T).all()
