"""geo/wkb.py against shapely: the same coordinates, areas and bytes, and refusal of what it does not handle."""

from __future__ import annotations

import numpy as np
import pyproj
import shapely

from cropmrv.geo import wkb


def _shapes() -> np.ndarray:
    rng = np.random.default_rng(7)
    square = shapely.box(500000, 1400000, 500100, 1400100)
    holed = shapely.Polygon(shapely.get_coordinates(shapely.box(0, 0, 50, 50)) + [501000, 1401000],
                            [shapely.get_coordinates(shapely.box(10, 10, 20, 20)) + [501000, 1401000],
                             shapely.get_coordinates(shapely.box(30, 30, 40, 40)) + [501000, 1401000]])
    multi = shapely.MultiPolygon([square, holed, shapely.box(502000, 1402000, 502010, 1402030)])
    jitter = shapely.Polygon(np.column_stack([503000 + 40 * np.cos(np.linspace(0, 6.2, 30)) + rng.random(30),
                                              1403000 + 40 * np.sin(np.linspace(0, 6.2, 30))]))
    return np.array([square, holed, multi, jitter, shapely.MultiPolygon([jitter])], dtype=object)


def test_coordinates_and_areas_match_shapely():
    g = _shapes()
    p = wkb.parse(shapely.to_wkb(g, byte_order=1))
    assert p.ok.all()
    assert list(p.type_id) == [3, 3, 6, 3, 6]
    np.testing.assert_array_equal(wkb.coordinates(p), shapely.get_coordinates(g))
    np.testing.assert_allclose(wkb.planar_areas(p), shapely.area(g), rtol=1e-12)


def test_transform_in_place_equals_shapely_transform():
    g = _shapes()
    t = pyproj.Transformer.from_crs(9218, 4326, always_xy=True)
    p = wkb.parse(shapely.to_wkb(g, byte_order=1))
    wkb.transform(p, t.transform)
    got = shapely.from_wkb(wkb.geometry_bytes(p, promote=False))
    want = shapely.transform(g, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
    assert all(shapely.equals_exact(got, want, tolerance=0))


def test_promotion_is_st_multi():
    g = _shapes()
    out = shapely.from_wkb(wkb.geometry_bytes(wkb.parse(shapely.to_wkb(g, byte_order=1))))
    assert set(shapely.get_type_id(out)) == {6}
    assert all(shapely.equals_exact(out, shapely.multipolygons(shapely.get_parts(g), indices=np.repeat(
        np.arange(len(g)), shapely.get_num_geometries(g))), tolerance=0))


def test_what_it_does_not_handle_is_left_alone():
    sq = shapely.box(0, 0, 1, 1)
    items = [
        shapely.to_wkb(sq, byte_order=0),  # big-endian
        shapely.to_wkb(shapely.force_3d(sq), byte_order=1),  # Z
        shapely.to_wkb(shapely.Point(1, 2), byte_order=1),  # other type
        shapely.to_wkb(shapely.from_wkt("POLYGON EMPTY"), byte_order=1),
        shapely.to_wkb(sq, byte_order=1)[:-5],  # truncated
        None,
        b"",
        shapely.to_wkb(sq, byte_order=1) + b"\x00",  # trailing garbage
        shapely.to_wkb(sq, byte_order=1),  # the one good one
    ]
    p = wkb.parse(items)
    assert list(p.ok) == [False] * 8 + [True]
    before = [bytes(b) if b is not None else b"" for b in items]
    wkb.transform(p, lambda x, y: (x + 1, y + 1))
    out = wkb.geometry_bytes(p)
    assert list(out[:8]) == before[:8]  # untouched, not promoted
    assert shapely.equals_exact(shapely.from_wkb(out[8]), shapely.MultiPolygon([shapely.box(1, 1, 2, 2)]), 0)
    assert np.isnan(wkb.planar_areas(p)[:8]).all()


def test_too_many_parts_go_to_shapely():
    many = shapely.MultiPolygon([shapely.box(i * 2, 0, i * 2 + 1, 1) for i in range(wkb.MAX_PARTS + 1)])
    assert not wkb.parse([shapely.to_wkb(many, byte_order=1)]).ok[0]


def test_arrow_input_with_nulls_and_offset():
    import pyarrow as pa

    g = _shapes()
    arr = pa.array([None, *shapely.to_wkb(g, byte_order=1), None], type=pa.binary()).slice(1, len(g) + 1)
    p = wkb.parse(arr)
    assert list(p.ok) == [True] * len(g) + [False]
    np.testing.assert_array_equal(wkb.coordinates(p), shapely.get_coordinates(g))


def test_revalidate_repairs_what_reprojection_broke():
    from cropmrv.ingest.checks import revalidate

    bowtie = shapely.from_wkt("MULTIPOLYGON (((0 0, 1 1, 1 0, 0 1, 0 0)))")
    ok = shapely.box(0, 0, 1, 1)
    g, st, why = revalidate(np.array([ok, bowtie, None], dtype=object), "polygon")
    assert list(st) == ["ok", "repaired", "ok"]
    assert shapely.is_valid(g[1]) and shapely.get_type_id(g[1]) == 6
    assert why[1].startswith("invalid after reprojection to EPSG:4326 (Self-intersection")
    g, st, _ = revalidate(np.array([shapely.from_wkt("LINESTRING (0 0, 0 0)")], dtype=object), None)
    assert list(st) == ["rejected"] and g[0] is None


def test_attributes_json_arrow_path_matches_the_json_writer():
    """The kept columns' JSON built by Arrow kernels parses to what pandas' JSON writer gives."""
    import json

    import pandas as pd

    from cropmrv.ingest.staging import _attributes_json_pandas, attributes_json

    df = pd.DataFrame({
        "a0": ['Nguyễn Văn "Hòa"', None, "C:\\\\thua\\\\1", "", "Y Ksơr"],
        "a1": pd.array([1, None, 3, 4, 5], dtype="Int64"),
        "a2": [True, False, True, True, False],
        "flags": [None, "{area_mismatch,crosses_communes}", None, None, "{unknown_land_use}"],
    })
    extra = ["TenChu", "So Nha", "Có/Không"]
    fast = [json.loads(x) for x in attributes_json(df, extra).to_pylist()]
    ref = [json.loads(x) for x in _attributes_json_pandas(df, extra).to_pylist()]
    assert fast == ref and fast[1] == {"TenChu": None, "So Nha": None, "Có/Không": False,
                                       "_flags": ["area_mismatch", "crosses_communes"]}
    assert [json.loads(x) for x in attributes_json(df[["flags"]], []).to_pylist()][1] == \
        {"_flags": ["area_mismatch", "crosses_communes"]}
    for odd in ([1.5, 2.0, None, 3.25, 4.0], ["a\nb", "tab\there", "\x01", "x", None]):  # the writer's path
        d = df.assign(a0=odd)
        assert [json.loads(x) for x in attributes_json(d, extra).to_pylist()] == \
            [json.loads(x) for x in _attributes_json_pandas(d, extra).to_pylist()]
