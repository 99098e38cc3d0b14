"""OGC API – Features routes: landing page, conformance, collections, queryables, items, item."""


import json
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection
from sqlalchemy.exc import DataError, ProgrammingError

from cropmrv.api.auth import Reader
from cropmrv.api.errors import BadRequest, NotFound, bilingual, error_responses
from cropmrv.api.ogc import cql, documents, models, params, queries
from cropmrv.api.ogc.collections import Collection, all_collections, get_collection
from cropmrv.settings import Settings

RESERVED = {"limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "filter", "filter-lang", "filter-crs", "f",
            "sortby", "properties"}

CollectionId = Annotated[str, Path(description="Collection id, e.g. crop_zones", pattern=r"^[A-Za-z0-9_]{1,64}$")]


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def find(conn: Connection, request: Request, cid: str) -> Collection:
    coll = get_collection(conn, cid, request.app.state.settings.province_code)
    if coll is None:
        raise NotFound(bilingual(f"Không có lớp dữ liệu '{cid}'", f"no collection '{cid}'")
                       + " — GET /collections lists them.")
    return coll


def crs_header(crs: params.Crs) -> dict[str, str]:
    return {"Content-Crs": f"<{crs.uri}>"}


def make_router(settings: Settings) -> APIRouter:
    r = APIRouter(tags=["OGC API – Features"])
    errs = error_responses(400, 401, 404)

    @r.get("/", response_model=models.LandingPage, responses=errs, summary="Landing page")
    def landing_page(request: Request, _: Reader) -> JSONResponse:
        return JSONResponse(documents.landing(base_url(request), f"cropmrv — {settings.province_name}"))

    @r.get("/conformance", response_model=models.Conformance, responses=errs, summary="Conformance classes")
    def conformance(_: Reader) -> JSONResponse:
        return JSONResponse({"conformsTo": documents.CONFORMANCE})

    @r.get("/collections", response_model=models.Collections, responses=errs, summary="Collections")
    def collections(request: Request, _: Reader) -> JSONResponse:
        base = base_url(request)
        with request.app.state.engine.connect() as c:
            docs = []
            for coll in all_collections(c, settings.province_code):
                ext = request.app.state.extents.get(c, coll, coll.version(c))
                docs.append(documents.collection_doc(base, coll, ext))
        return JSONResponse({"links": [documents.link(f"{base}/collections", "self", documents.JSON)],
                             "collections": docs})

    @r.get("/collections/{collectionId}", response_model=models.CollectionInfo, responses=errs,
           summary="One collection")
    def collection(request: Request, collectionId: CollectionId, _: Reader) -> JSONResponse:
        with request.app.state.engine.connect() as c:
            coll = find(c, request, collectionId)
            ext = request.app.state.extents.get(c, coll, coll.version(c))
        return JSONResponse(documents.collection_doc(base_url(request), coll, ext))

    @r.get("/collections/{collectionId}/queryables", response_class=models.SchemaJSONResponse,
           response_model=models.Queryables, responses=errs, summary="Queryable properties (JSON Schema)")
    def queryables(request: Request, collectionId: CollectionId, _: Reader) -> models.SchemaJSONResponse:
        with request.app.state.engine.connect() as c:
            coll = find(c, request, collectionId)
        body = json.dumps(documents.queryables(base_url(request), coll))
        return models.SchemaJSONResponse(body)

    @r.get("/collections/{collectionId}/items", response_class=models.GeoJSONResponse,
           response_model=models.FeatureCollection, responses=errs, summary="Features of a collection")
    def items(
        request: Request,
        collectionId: CollectionId,
        _: Reader,
        limit: Annotated[int, Query(ge=1, le=settings.max_items_limit,
                                    description=f"Page size (default {settings.default_items_limit}, "
                                                f"maximum {settings.max_items_limit}).")] = settings.default_items_limit,
        offset: Annotated[int, Query(ge=0, le=2**31 - 1, description="Features to skip.")] = 0,
        bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy in bbox-crs (default CRS84).")] = None,
        bbox_crs: Annotated[str | None, Query(alias="bbox-crs", description="CRS of bbox.")] = None,
        crs: Annotated[str | None, Query(description="Output CRS: CRS84, EPSG:4326, 3857 or 9218 URIs.")] = None,
        datetime_: Annotated[str | None, Query(alias="datetime", description="RFC 3339 instant or interval.")] = None,
        filter_: Annotated[str | None, Query(alias="filter", description="CQL2 filter.")] = None,
        filter_lang: Annotated[str | None, Query(alias="filter-lang", pattern="^cql2-(text|json)$")] = None,
        filter_crs: Annotated[str | None, Query(alias="filter-crs")] = None,
    ) -> models.GeoJSONResponse:
        out_crs = params.parse_crs(crs, "crs")
        box = params.parse_bbox(bbox, params.parse_crs(bbox_crs, "bbox-crs"))
        interval = params.parse_datetime(datetime_)
        with request.app.state.engine.connect() as c:
            coll = find(c, request, collectionId)
            w = queries.Where()
            queries.add_bbox(w, box, params.parse_crs(bbox_crs, "bbox-crs"))
            queries.add_datetime(w, coll, interval)
            eq = {k: v for k, v in request.query_params.items() if k not in RESERVED}
            unknown = [k for k in eq if coll.prop(k) is None]
            if unknown:
                raise BadRequest(bilingual(f"Tham số không rõ: {', '.join(unknown)}", f"unknown parameters: "
                                           f"{', '.join(unknown)}") + " — see /collections/{id}/queryables")
            queries.add_equals(w, coll, eq)
            if filter_ is not None:
                ast = cql.parse(filter_, filter_lang)
                sql, p = cql.compile_filter(ast, coll.columns, "t._geom", params.parse_crs(filter_crs, "filter-crs"))
                queries.add_cql(w, sql, p)
            try:
                feats, returned, matched = queries.fetch_items(c, coll, w, out_crs, limit, offset,
                                                               request.app.state.counts)
            except (ProgrammingError, DataError) as exc:
                if filter_ is None:
                    raise
                raise BadRequest(bilingual("Bộ lọc không khớp kiểu dữ liệu của thuộc tính",
                                           "the filter does not match the property types")
                                 + f": {str(exc.orig).splitlines()[0][:200]}") from None
        links = documents.page_links(base_url(request), coll.id, list(request.query_params.multi_items()), offset,
                                     limit, returned, matched)
        head = json.dumps({"type": "FeatureCollection", "numberMatched": matched, "numberReturned": returned,
                           "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                           "links": links}, ensure_ascii=False)
        body = head[:-1] + ',"features":[' + feats + "]}"
        return models.GeoJSONResponse(body, headers=crs_header(out_crs))

    @r.get("/collections/{collectionId}/items/{featureId}", response_class=models.GeoJSONResponse,
           response_model=models.Feature, responses=errs, summary="One feature")
    def item(
        request: Request, collectionId: CollectionId,
        featureId: Annotated[str, Path(max_length=64)], _: Reader,
        crs: Annotated[str | None, Query(description="Output CRS.")] = None,
    ) -> models.GeoJSONResponse:
        out_crs = params.parse_crs(crs, "crs")
        with request.app.state.engine.connect() as c:
            coll = find(c, request, collectionId)
            fid: int | str = featureId
            if coll.id_type == "int":
                if not featureId.isdigit() or len(featureId) > 18:
                    raise NotFound(bilingual(f"Không có đối tượng '{featureId}'", f"no feature '{featureId}'"))
                fid = int(featureId)
            from sqlalchemy import text

            body = c.execute(text(queries.item_sql(coll, out_crs)), {**coll.params, "fid": fid}).scalar()
        if body is None:
            raise NotFound(bilingual(f"Không có đối tượng '{featureId}' trong '{coll.id}'",
                                     f"no feature '{featureId}' in '{coll.id}'"))
        base = base_url(request)
        links = json.dumps([documents.link(f"{base}/collections/{coll.id}/items/{featureId}", "self", documents.GEOJSON),
                            documents.link(f"{base}/collections/{coll.id}", "collection", documents.JSON)])
        return models.GeoJSONResponse(body[:-1] + ',"links":' + links + "}", headers=crs_header(out_crs))

    return r
