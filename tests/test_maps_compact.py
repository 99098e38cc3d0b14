"""The compact layer format (maps.compact): what the page receives and what PostGIS encodes.

The browser side (maps.js ``cmrvTwkb``/``cmrvDecode``) is checked against PostGIS in
test_maps_browser.py; here the packing rules and the SQL that feeds them."""

from __future__ import annotations

import base64
import json

from sqlalchemy import text

from cropmrv.maps import compact, sqlgeo


def test_pack_shares_outlines_and_dictionary_encodes_repeated_text():
    rows = [(1, "AAA", {"status": "open", "zone": "Z1", "ha": 1.5}),
            (2, "AAA", {"status": "open", "zone": "Z2", "ha": 2.0}),
            (3, "BBB", {"status": "conflict", "zone": "Z3", "ha": None}),
            (4, None, {"status": None, "zone": "Z4", "ha": 0.0})]
    p = compact.pack(rows, ["status", "zone", "ha"])
    assert p["k"] == ["status", "zone", "ha"]
    # the second row names the first row's geometry; the missing one stays null
    assert [r[1] for r in p["f"]] == ["AAA", 0, "BBB", None]
    # status repeats (2 values in 4 rows): indexes; zone codes are all different: sent as they are
    assert p["d"] == {"0": ["conflict", "open"]}
    assert [r[2] for r in p["f"]] == [1, 1, 0, None]
    assert [r[3] for r in p["f"]] == ["Z1", "Z2", "Z3", "Z4"]
    assert [r[4] for r in p["f"]] == [1.5, 2.0, None, 0.0]
    assert compact.pack([], ["a"]) == {"k": ["a"], "f": []}


def test_to_js_is_safe_inside_a_script_element():
    s = compact.to_js({"name": "</script><b>Hồ & đập</b>", "x": "\u2028"})
    assert "</" not in s and "<" not in s and "&" not in s and "\u2028" not in s
    assert json.loads(s) == {"name": "</script><b>Hồ & đập</b>", "x": "\u2028"}
    assert "Hồ" in s  # Vietnamese stays readable (and short)


def test_encoded_geometries_are_simplified_twkb_with_properties(conn):
    sql = "SELECT code AS id, name, geom FROM admin_unit WHERE level = 'commune' ORDER BY code LIMIT 3"
    full = sqlgeo.encoded_geometries(conn, sql, precision=6)
    coarse = sqlgeo.encoded_geometries(conn, sql, tolerance=sqlgeo.tolerance_for_zoom(9))
    assert [r[0] for r in full] == [r[0] for r in coarse] and len(full) == 3
    assert all(set(p) == {"id", "name"} for _, _, p in full)  # every column but the geometry
    assert sum(len(g) for _, g, _ in coarse) < sum(len(g) for _, g, _ in full) / 5
    # PostGIS reads back what was sent: a valid multipolygon of the commune, to the rounding
    for code, g, _ in coarse:
        ok = conn.execute(text(
            "SELECT ST_HausdorffDistance(ST_GeomFromTWKB(decode(:g, 'base64')), geom) < 0.01 "
            "FROM admin_unit WHERE code = :c"), {"g": g, "c": code}).scalar_one()
        assert ok, code
        assert base64.b64decode(g)[0] & 15 in (3, 6)  # TWKB type: polygon or multipolygon
    assert sqlgeo.encoded_geometries(conn, sql, props=False)[0][2] == {}
