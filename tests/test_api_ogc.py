"""OGC API – Features and vector tiles, read by the real clients QGIS users rely on (GDAL, OWSLib)
and checked against the database."""

from __future__ import annotations

import json
import subprocess
from urllib.parse import quote

import mapbox_vector_tile
import pyogrio
import pytest
from owslib.ogcapi.features import Features
from sqlalchemy import text

from cropmrv.db.engine import make_engine

from .api_helpers import N_ZONES, get, module_database, seed, serve, tile_of

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
COLLECTIONS = {"communes", "parcels", "crop_zones", "planning_zones", "planning_reviews", "irrigation_assets",
               "irrigation_service_areas", "pilot_sites", "emissions_communes_2024", "emissions_crop_zones_2024"}


@pytest.fixture(scope="module")
def api(pg_cluster):
    with module_database(pg_cluster, "ogc") as s:
        eng = make_engine(s)
        ids = seed(eng)
        with serve(s) as base:
            yield {"base": base, "engine": eng, "ids": ids, "settings": s}
        eng.dispose()


def test_owslib_lists_collections_and_pages_through_all_items(api):
    w = Features(api["base"])
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in w.conformance()["conformsTo"]
    ids = {c["id"] for c in w.collections()["collections"]}
    assert ids >= COLLECTIONS
    assert w.collection("crop_zones")["itemType"] == "feature"
    assert "crop" in w.collection_queryables("crop_zones")["properties"]
    seen, offset = [], 0
    while True:
        page = w.collection_items("crop_zones", limit=70, offset=offset)
        assert page["numberMatched"] == N_ZONES
        seen += [f["id"] for f in page["features"]]
        if not any(link["rel"] == "next" for link in page["links"]):
            break
        offset += 70
    assert len(seen) == N_ZONES == len(set(seen))
    one = w.collection_item("crop_zones", str(seen[5]))
    assert one["id"] == seen[5] and one["geometry"]["type"] == "MultiPolygon"


def test_next_links_chain_to_the_end(api):
    url, n, pages = f"{api['base']}/collections/crop_zones/items?limit=128&crop=rice", 0, 0
    while url:
        doc = get(url).json()
        n += doc["numberReturned"]
        pages += 1
        url = next((link["href"] for link in doc["links"] if link["rel"] == "next"), None)
    with api["engine"].connect() as c:
        assert n == c.execute(text("SELECT count(*) FROM crop_zone WHERE crop = 'rice'")).scalar()
    prev = get(f"{api['base']}/collections/crop_zones/items?limit=10&offset=20").json()
    assert [link for link in prev["links"] if link["rel"] == "prev"][0]["href"].endswith("offset=10")


def test_ogr2ogr_copies_a_collection_with_the_database_values(api, tmp_path):
    out = tmp_path / "zones.gpkg"
    r = subprocess.run(["ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{api['base']}", "crop_zones",
                        "-oo", "PAGE_SIZE=1000"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "error" not in r.stderr.lower()
    df = pyogrio.read_dataframe(out).set_index("zone_code").sort_index()
    with api["engine"].connect() as c:
        db = {row.zone_code: row for row in c.execute(text(
            "SELECT zone_code, crop, season, year, area_ha, commune_code, irrigation_method, "
            "ST_Area(geom) AS area FROM crop_zone"))}
    assert len(df) == len(db) == N_ZONES
    for code, row in db.items():
        got = df.loc[code]
        assert (got["crop"], got["season"], int(got["year"]), got["commune_code"], got["irrigation_method"]) == (
            row.crop, row.season, row.year, row.commune_code, row.irrigation_method)
        assert got["area_ha"] == pytest.approx(row.area_ha)
        assert got.geometry.area == pytest.approx(row.area, rel=1e-3)  # 7 decimals ≈ 1 cm


def test_gdal_opens_every_collection_cleanly(api):
    r = subprocess.run(["ogrinfo", "-ro", "-so", "-al", f"OAPIF:{api['base']}"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert "error" not in r.stderr.lower(), r.stderr
    for cid in COLLECTIONS:
        assert f"Layer name: {cid}\n" in r.stdout


@pytest.mark.parametrize("cid", sorted(COLLECTIONS))
def test_every_collection_answers(api, cid):
    b = api["base"]
    assert get(f"{b}/collections/{cid}").json()["id"] == cid
    doc = get(f"{b}/collections/{cid}/items?limit=5").json()
    assert doc["numberReturned"] == len(doc["features"]) > 0
    fid = doc["features"][0]["id"]
    assert get(f"{b}/collections/{cid}/items/{fid}").json()["id"] == fid
    q = get(f"{b}/collections/{cid}/queryables")
    assert q.headers["content-type"].startswith("application/schema+json") and "properties" in q.json()
    assert get(f"{b}/collections/{cid}/tiles").json()["tilesets"][0]["dataType"] == "vector"


def test_emission_layers_sum_the_latest_baseline_run(api):
    with api["engine"].connect() as c:
        expected = dict(c.execute(text(
            "SELECT commune_code, sum(co2e_g) FROM estimate WHERE run_id = :r GROUP BY commune_code"),
            {"r": api["ids"]["run"]}).all())
    doc = get(f"{api['base']}/collections/emissions_communes_2024/items?limit=1000").json()
    got = {f["id"]: f["properties"]["co2e_kg"] for f in doc["features"]}
    assert got.keys() == expected.keys()
    for code, grams in expected.items():
        assert got[code] == pytest.approx(grams / 1000)


def test_crs_and_bbox_crs(api):
    b = api["base"]
    with api["engine"].connect() as c:
        zid, x, y, lon, lat = c.execute(text(
            "SELECT id, ST_X(p), ST_Y(p), ST_X(q), ST_Y(q) FROM (SELECT id, ST_StartPoint(ST_ExteriorRing("
            "ST_GeometryN(ST_Transform(geom, 9218), 1))) p, ST_StartPoint(ST_ExteriorRing(ST_GeometryN(geom, 1))) q "
            "FROM crop_zone ORDER BY id LIMIT 1) s")).one()
    r = get(f"{b}/collections/crop_zones/items/{zid}?crs={quote(EPSG + '9218')}")
    assert r.headers["content-crs"] == f"<{EPSG}9218>"
    assert r.json()["geometry"]["coordinates"][0][0][0] == pytest.approx([x, y], abs=0.01)
    r = get(f"{b}/collections/crop_zones/items/{zid}?crs={quote(EPSG + '4326')}")
    assert r.json()["geometry"]["coordinates"][0][0][0] == pytest.approx([lat, lon], abs=1e-6)  # lat/lon order
    d = 0.0001
    box84 = get(f"{b}/collections/crop_zones/items?bbox={lon - d},{lat - d},{lon + d},{lat + d}").json()
    box4326 = get(f"{b}/collections/crop_zones/items?bbox={lat - d},{lon - d},{lat + d},{lon + d}"
                  f"&bbox-crs={quote(EPSG + '4326')}").json()
    box9218 = get(f"{b}/collections/crop_zones/items?bbox={x - 10},{y - 10},{x + 10},{y + 10}"
                  f"&bbox-crs={quote(EPSG + '9218')}").json()
    ids = {f["id"] for f in box84["features"]}
    assert zid in ids and ids == {f["id"] for f in box4326["features"]} == {f["id"] for f in box9218["features"]}
    m = get(f"{b}/collections/crop_zones/items?limit=1&crs={quote(EPSG + '3857')}").json()
    assert abs(m["features"][0]["geometry"]["coordinates"][0][0][0][0]) > 1e6


def test_cql2_text_and_json_give_the_same_rows(api):
    b = api["base"]
    t = get(f"{b}/collections/crop_zones/items", params={"filter": "crop = 'rice' AND area_ha > 3", "limit": 1000})
    j = get(f"{b}/collections/crop_zones/items", params={
        "filter-lang": "cql2-json", "limit": 1000, "filter": json.dumps(
            {"op": "and", "args": [{"op": "=", "args": [{"property": "crop"}, "rice"]},
                                   {"op": ">", "args": [{"property": "area_ha"}, 3]}]})})
    with api["engine"].connect() as c:
        n = c.execute(text("SELECT count(*) FROM crop_zone WHERE crop = 'rice' AND area_ha > 3")).scalar()
    assert t.json()["numberMatched"] == j.json()["numberMatched"] == n > 0
    with api["engine"].connect() as c:
        lon, lat = c.execute(text("SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM crop_zone "
                                  "ORDER BY id LIMIT 1")).one()
    s = get(f"{b}/collections/crop_zones/items", params={
        "filter": f"S_INTERSECTS(geometry, POINT({lon} {lat})) AND crop IN ('coffee','pepper','durian','rice')"})
    assert s.status_code == 200 and s.json()["numberMatched"] >= 1
    dt = get(f"{b}/collections/crop_zones/items", params={"datetime": "2024-06-01T00:00:00Z", "limit": 1})
    with api["engine"].connect() as c:
        assert dt.json()["numberMatched"] == c.execute(text("SELECT count(*) FROM crop_zone WHERE year = 2024")).scalar()


def test_cql2_injection_is_inert(api):
    b = api["base"]
    r = get(f"{b}/collections/crop_zones/items", params={"filter": "crop = 'x''; DROP TABLE crop_zone; --'"})
    assert r.status_code == 200 and r.json()["numberMatched"] == 0
    r = get(f"{b}/collections/crop_zones/items", params={
        "filter-lang": "cql2-json", "filter": json.dumps({"op": "=", "args": [{"property": 'crop" = crop OR "1'}, 1]})})
    assert r.status_code == 400
    with api["engine"].connect() as c:
        assert c.execute(text("SELECT count(*) FROM crop_zone")).scalar() == N_ZONES


@pytest.mark.parametrize("query", [
    "bbox=1,2,3", "bbox=a,b,c,d", "bbox=10,10,0,0", "bbox=0,0,500,500", "bbox=", "crs=EPSG:1234",
    "bbox-crs=urn:foo&bbox=0,0,1,1", "limit=0", "limit=10001", "limit=abc", "offset=-1", "datetime=yesterday",
    "datetime=../..", "datetime=2025-01-01/2024-01-01", "filter=crop ==", "filter=nosuch = 1", "filter=crop = 5",
    "filter-lang=cql3&filter=a=1", "filter-lang=cql2-json&filter={bad json", "year=abc", "unknown_param=1",
    "filter=S_INTERSECTS(geometry, POINT(1))",
])
def test_bad_input_is_a_400_problem(api, query):
    r = get(f"{api['base']}/collections/crop_zones/items?{query}")
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert " / " in r.json()["detail"]  # Vietnamese / English


def test_unknown_things_are_404_problems(api):
    b = api["base"]
    for url in ("/collections/nope", "/collections/nope/items", "/collections/crop_zones/items/999999",
                "/collections/crop_zones/items/abc", "/collections/emissions_communes_1999/items", "/nowhere"):
        r = get(b + url)
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json", url


def test_head_is_answered_without_a_body(api):
    r = subprocess.run(["curl", "-sI", f"{api['base']}/collections/crop_zones/items?limit=3"], capture_output=True,
                       text=True, timeout=30)
    assert r.stdout.startswith("HTTP/1.1 200")
    assert "content-type: application/geo+json" in r.stdout.lower()


def test_tiles_decode_carry_properties_and_revalidate(api):
    b, eng = api["base"], api["engine"]
    with eng.connect() as c:
        lon, lat = c.execute(text("SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM crop_zone "
                                  "ORDER BY id LIMIT 1")).one()
    for zoom in (8, 12, 14):
        z, x, y = tile_of(lon, lat, zoom)
        r = get(f"{b}/collections/crop_zones/tiles/WebMercatorQuad/{z}/{x}/{y}")
        assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
        layer = mapbox_vector_tile.decode(r.content)["crop_zones"]
        assert layer["features"] and {"crop", "commune_code", "year"} <= set(layer["features"][0]["properties"])
    etag = r.headers["etag"]
    assert get(r.url, headers={"If-None-Match": etag}).status_code == 304
    # a reload of the layer (new dataset, new rows) changes the version: new ETag, new content
    before = len(layer["features"])
    with eng.begin() as c:
        ds = c.execute(text("INSERT INTO dataset (layer, province_code, commune_code, source_name, sha256) "
                            "VALUES ('crop_zones', '66', '99999', 'reload', :s) RETURNING id"), {"s": "b" * 64}).scalar()
        c.execute(text("INSERT INTO crop_zone (province_code, dataset_id, commune_code, crop, geom) SELECT '66', :d, "
                       "commune_code, 'tea', ST_Multi(ST_Buffer(ST_Centroid(geom), 0.0002)) FROM crop_zone "
                       "ORDER BY id LIMIT 1"), {"d": ds})
    try:
        r2 = get(r.url, headers={"If-None-Match": etag})
        assert r2.status_code == 200 and r2.headers["etag"] != etag
        assert len(mapbox_vector_tile.decode(r2.content)["crop_zones"]["features"]) == before + 1
    finally:
        with eng.begin() as c:
            c.execute(text("DELETE FROM crop_zone WHERE dataset_id = :d"), {"d": ds})
            c.execute(text("DELETE FROM dataset WHERE id = :d"), {"d": ds})


def test_tile_metadata_and_bad_tiles(api):
    b = api["base"]
    tj = get(f"{b}/collections/crop_zones/tiles/WebMercatorQuad/tilejson.json").json()
    assert tj["tiles"][0].endswith("/collections/crop_zones/tiles/WebMercatorQuad/{z}/{x}/{y}")
    meta = get(f"{b}/collections/crop_zones/tiles/WebMercatorQuad").json()
    assert meta["layers"][0]["id"] == "crop_zones"
    for link in meta["links"]:  # every advertised link answers (templated tile URLs aside)
        if not link.get("templated"):
            assert get(link["href"]).status_code == 200, link
    assert get(f"{b}/tileMatrixSets").json()["tileMatrixSets"][0]["id"] == "WebMercatorQuad"
    for bad in ("WebMercatorQuad/3/8/0", "WebMercatorQuad/99/0/0", "WorldCRS84Quad/1/0/0", "WebMercatorQuad/a/0/0"):
        r = get(f"{b}/collections/crop_zones/tiles/{bad}")
        assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json", bad
    empty = get(f"{b}/collections/crop_zones/tiles/WebMercatorQuad/14/0/0")
    assert empty.status_code == 200 and mapbox_vector_tile.decode(empty.content) == {}
