"""Validation/repair on hand-made broken geometries, geodesic areas, and majority overlap."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from cropmrv.geo.geometry import (
    STATUSES,
    area_ha_geodesic,
    majority_overlap,
    validate_and_repair,
)

REPO = Path(__file__).resolve().parents[1]
W = shapely.from_wkt

BOW_TIE = W("POLYGON ((0 0, 2 2, 2 0, 0 2, 0 0))")
SELF_TOUCHING = W("POLYGON ((0 0, 4 0, 2 2, 4 4, 0 4, 2 2, 0 0))")  # ring touches itself at (2 2)
BACKTRACK = W("POLYGON ((0 0, 4 0, 4 4, 2 4, 2 0, 0 0))")  # ring runs back along its first edge
DUPLICATES_VALID = W("POLYGON ((0 0, 1 0, 1 0, 1 1, 0 1, 0 1, 0 0))")
DUPLICATES_COLLAPSED = W("POLYGON ((0 0, 1 0, 1 0, 0 0))")
SQUARE = W("POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))")


@pytest.fixture(scope="module")
def wards() -> gpd.GeoDataFrame:
    return gpd.read_file(REPO / "cropmrv/data/provinces/66/dak_lak_wards_2025.gpkg", layer="xa_phuong_2025")


def test_bow_tie_is_split_into_two_triangles():
    r = validate_and_repair([BOW_TIE])
    assert r.status[0] == "repaired"
    g = r.geoms[0]
    assert g.geom_type == "MultiPolygon" and g.is_valid and len(g.geoms) == 2
    assert g.area == pytest.approx(2.0)
    assert r.parts_before[0] == 1 and r.parts_after[0] == 2
    assert np.isnan(r.area_change_pct[0])  # the signed area of a bow-tie is 0
    assert "Self-intersection" in r.notes[0] and "parts 1 -> 2" in r.notes[0]


def test_self_touching_ring_keeps_its_area():
    r = validate_and_repair([SELF_TOUCHING])
    assert r.status[0] == "repaired" and r.geoms[0].is_valid
    assert r.geoms[0].area == pytest.approx(SELF_TOUCHING.area)
    assert r.area_change_pct[0] == pytest.approx(0.0)
    assert "Ring Self-intersection" in r.notes[0]


def test_backtracking_ring_records_area_change():
    r = validate_and_repair([BACKTRACK])
    assert r.status[0] == "repaired" and r.geoms[0].is_valid
    assert np.isfinite(r.area_change_pct[0])
    assert r.geoms[0].area == pytest.approx(BACKTRACK.area * (1 + r.area_change_pct[0] / 100))


def test_duplicate_points():
    r = validate_and_repair([DUPLICATES_VALID, DUPLICATES_COLLAPSED])
    assert list(r.status) == ["ok", "rejected_empty"]
    assert r.geoms[0].geom_type == "MultiPolygon" and r.geoms[0].area == pytest.approx(1.0)
    assert r.geoms[1] is None and "no polygon left after repair" in r.notes[1]


def test_3d_input_is_flattened_and_noted():
    z = shapely.force_3d(SQUARE, 7.0)
    r = validate_and_repair([z, SQUARE])
    assert list(r.status) == ["ok", "ok"] and list(r.dropped_z) == [True, False]
    assert not shapely.has_z(r.geoms[0]) and r.notes[0] == "Z dropped"
    m = W("POLYGON M ((0 0 1, 1 0 1, 1 1 1, 0 0 1))")
    rm = validate_and_repair([m])
    assert rm.dropped_m[0] and not shapely.has_m(rm.geoms[0]) and "M dropped" in rm.notes[0]


def test_mixed_types_and_collections():
    inputs = [
        SQUARE,
        W("MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5)))"),
        W("LINESTRING (0 0, 1 1)"),
        W("POINT (1 1)"),
        W("GEOMETRYCOLLECTION (POINT (0 0), POLYGON ((0 0, 1 0, 1 1, 0 0)), LINESTRING (0 0, 1 1))"),
        W("GEOMETRYCOLLECTION (POINT (0 0), LINESTRING (0 0, 1 1))"),
        W("POLYGON EMPTY"),
        None,
    ]
    r = validate_and_repair(np.array(inputs, dtype=object), "polygon")
    assert list(r.status) == [
        "ok", "ok", "rejected_wrong_type", "rejected_wrong_type", "ok", "rejected_wrong_type",
        "rejected_empty", "rejected_null",
    ]  # fmt: skip
    assert list(r.kept) == [True, True, False, False, True, False, False, False]
    assert all(g.geom_type == "MultiPolygon" for g in r.geoms[r.kept])
    assert r.extracted[4] and "GeometryCollection" in r.notes[4]
    assert r.promoted[0] and not r.promoted[1]
    assert "LineString is not a polygon" in r.notes[2]
    assert r.counts() == {"ok": 3, "repaired": 0, "rejected_null": 1, "rejected_empty": 1, "rejected_wrong_type": 3}
    assert set(r.to_frame()["status"]) <= set(STATUSES)


def test_lines_and_points():
    lines = validate_and_repair(
        [W("LINESTRING (0 0, 1 1)"), W("LINEARRING (0 0, 1 0, 1 1, 0 0)"), SQUARE, W("LINESTRING (0 0, 0 0)")],
        "line",
    )
    assert list(lines.status) == ["ok", "ok", "rejected_wrong_type", "rejected_empty"]
    assert lines.geoms[0].geom_type == lines.geoms[1].geom_type == "MultiLineString"
    assert "no line left after repair" in lines.notes[3]
    pts = validate_and_repair([W("POINT (1 2)"), W("MULTIPOINT ((1 2), (3 4))"), SQUARE], "point")
    assert list(pts.status) == ["ok", "ok", "rejected_wrong_type"]
    assert pts.geoms[0].geom_type == "MultiPoint"
    with pytest.raises(ValueError):
        validate_and_repair([SQUARE], "raster")


def test_real_vn2000_parcels(tmp_path):
    hktb = gpd.read_file(REPO / "tests/data/vn2000/hktb.shp")
    r = validate_and_repair(hktb.geometry)
    counts = r.counts()
    assert counts["repaired"] == 24 and counts["ok"] == 3950 - 24  # the provenance says 24 are invalid
    reversed_rings = np.char.find(r.notes.astype(str), "linework") >= 0
    assert reversed_rings.sum() == 22
    assert all(shapely.is_valid(r.geoms[r.kept]))
    changed = np.abs(r.area_change_pct[r.status == "repaired"])
    assert np.nanmedian(changed) < 1.0


def test_area_ha_geodesic_matches_geod(wards):
    geoms = wards.geometry.to_numpy()
    fast = area_ha_geodesic(geoms)
    exact = area_ha_geodesic(geoms[:10], method="geod")
    np.testing.assert_allclose(fast[:10], exact, rtol=1e-5)
    # against the published km² (PROVENANCE: "differs by up to 8.7 %"): no bias, same total
    published = wards["dien_tich_km2"].to_numpy()
    rel = (fast / 100 - published) / published
    assert abs(np.median(rel)) < 0.0005 and np.abs(rel).max() < 0.09
    assert fast.sum() / 100 == pytest.approx(published.sum(), rel=0.001)
    one_ha = shapely.box(108.0, 12.7, 108.0 + 100 / 108_600, 12.7 + 100 / 110_400)
    assert area_ha_geodesic([one_ha, None])[0] == pytest.approx(1.0, rel=0.01)
    assert np.isnan(area_ha_geodesic([None])[0])


def test_majority_overlap(wards):
    regions = wards.geometry.to_numpy()
    ids = wards["ma_xa"].to_numpy()
    inner = shapely.point_on_surface(regions[:20]).tolist()
    inner_parcels = [p.buffer(0.0005) for p in inner]
    # a parcel straddling the border of two neighbours, mostly in the first
    a, b = 0, next(i for i in range(1, len(regions)) if regions[0].touches(regions[i]) or regions[0].intersects(regions[i]))
    border = shapely.intersection(regions[a].boundary, regions[b].boundary)
    c = shapely.get_coordinates(border)[len(shapely.get_coordinates(border)) // 2]
    straddle = shapely.Point(c).buffer(0.003)
    outside = shapely.box(100.0, 10.0, 100.01, 10.01)
    res = majority_overlap(inner_parcels + [straddle, outside, inner[0]], regions, ids)
    assert list(res.region_id[:20]) == list(ids[:20])
    assert np.all(res.share[:20] > 0.999) and not res.crosses[:20].any()
    assert res.crosses[20] and res.n_regions[20] >= 2 and res.region_id[20] in (ids[a], ids[b])
    assert 0.3 < res.share[20] < 1.0
    assert res.region_id[21] is None and res.share[21] == 0 and res.n_regions[21] == 0
    assert res.region_id[22] == ids[0] and res.share[22] == 1.0
