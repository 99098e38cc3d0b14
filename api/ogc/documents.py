"""The JSON documents of the OGC API: landing page, conformance, collection descriptions, links."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection, text

from cropmrv.api.ogc.collections import JSON_TYPES, Collection
from cropmrv.api.ogc.params import CRS84, SUPPORTED_CRS

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/collections",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/arithmetic",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
]

GEOJSON = "application/geo+json"
JSON = "application/json"


def link(href: str, rel: str, type_: str | None = None, title: str | None = None, **kw: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"href": href, "rel": rel}
    if type_:
        d["type"] = type_
    if title:
        d["title"] = title
    d.update(kw)
    return d


def landing(base: str, title: str) -> dict[str, Any]:
    return {
        "title": title,
        "description": "Lớp dữ liệu và kết quả phát thải khí nhà kính trồng trọt (OGC API – Features, "
                       "vector tiles) / crop GHG MRV layers and results.",
        "links": [
            link(f"{base}/", "self", JSON, "this document"),
            link(f"{base}/openapi.json", "service-desc", "application/vnd.oai.openapi+json;version=3.0", "OpenAPI"),
            link(f"{base}/docs", "service-doc", "text/html", "API documentation"),
            link(f"{base}/conformance", "conformance", JSON, "conformance classes"),
            link(f"{base}/collections", "data", JSON, "collections"),
        ],
    }


class ExtentCache:
    """Collection extents per data version (ST_Extent over 100k rows is not free)."""

    def __init__(self) -> None:
        self._d: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def get(self, conn: Connection, coll: Collection, version: str) -> dict[str, Any]:
        key = (coll.id, version)
        with self._lock:
            hit = self._d.get(key)
        if hit is not None:
            return hit
        tcols = ", min(t._t0) AS t0, max(t._t1) AS t1" if coll.time else ""
        row = conn.execute(text(
            f"SELECT ST_XMin(e) AS x1, ST_YMin(e) AS y1, ST_XMax(e) AS x2, ST_YMax(e) AS y2{', t0, t1' if coll.time else ''} "
            f"FROM (SELECT ST_Extent(t._geom) AS e{tcols} FROM ({coll.source()}) t) s"), dict(coll.params)).one()
        bbox = [row.x1, row.y1, row.x2, row.y2] if row.x1 is not None else [-180.0, -90.0, 180.0, 90.0]
        ext: dict[str, Any] = {"spatial": {"bbox": [bbox], "crs": CRS84}}
        if coll.time:
            iso = [t.isoformat().replace("+00:00", "Z") if t else None for t in (row.t0, row.t1)]
            ext["temporal"] = {"interval": [iso], "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
        with self._lock:
            self._d = {k: v for k, v in self._d.items() if k[0] != coll.id}
            self._d[key] = ext
        return ext


def collection_doc(base: str, coll: Collection, extent: dict[str, Any]) -> dict[str, Any]:
    u = f"{base}/collections/{coll.id}"
    return {
        "id": coll.id, "title": coll.title, "description": coll.description,
        "links": [
            link(u, "self", JSON, coll.title),
            link(f"{u}/items", "items", GEOJSON, "features"),
            link(f"{u}/queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables", "application/schema+json",
                 "queryables"),
            link(f"{u}/tiles", "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", JSON, "vector tiles"),
        ],
        "extent": extent, "itemType": "feature", "crs": list(SUPPORTED_CRS), "storageCrs": CRS84,
    }


def queryables(base: str, coll: Collection) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for p in coll.props:
        d: dict[str, Any] = {"title": p.title or p.name, "type": JSON_TYPES[p.type]}
        if p.type == "date":
            d["format"] = "date"
        elif p.type == "timestamptz":
            d["format"] = "date-time"
        props[p.name] = d
    props["geometry"] = {"$ref": f"https://geojson.org/schema/{coll.geometry_type}.json"
                         if coll.geometry_type != "Geometry" else "https://geojson.org/schema/Geometry.json"}
    return {"$schema": "https://json-schema.org/draft/2019-09/schema",
            "$id": f"{base}/collections/{coll.id}/queryables", "type": "object", "title": coll.title,
            "properties": props, "additionalProperties": False}


def page_links(base: str, coll_id: str, query: list[tuple[str, str]], offset: int, limit: int, returned: int,
               matched: int) -> list[dict[str, Any]]:
    u = f"{base}/collections/{coll_id}/items"
    keep = [(k, v) for k, v in query if k not in ("offset", "limit")]

    def at(off: int) -> str:
        return f"{u}?{urlencode(keep + [('limit', str(limit)), ('offset', str(off))])}"

    links = [link(at(offset), "self", GEOJSON, "this page"),
             link(f"{base}/collections/{coll_id}", "collection", JSON, "the collection")]
    if offset + returned < matched:
        links.append(link(at(offset + limit), "next", GEOJSON, "next page"))
    if offset > 0:
        links.append(link(at(max(0, offset - limit)), "prev", GEOJSON, "previous page"))
    return links


# Vector tile property types (TileJSON / tileset metadata).
JSON_TYPES_T = JSON_TYPES
