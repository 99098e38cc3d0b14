"""Vector tile routes: tileset list and metadata, TileJSON, and the tiles themselves."""


from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response

from cropmrv.api.auth import Reader
from cropmrv.api.errors import BadRequest, bilingual, error_responses
from cropmrv.api.ogc import documents, models, tiles
from cropmrv.api.ogc.features import CollectionId, base_url, find

TMS = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
TMS_CRS = "http://www.opengis.net/def/crs/EPSG/0/3857"
Tms = Annotated[str, Path(description="Tile matrix set (only WebMercatorQuad)", pattern="^WebMercatorQuad$")]
Z = Annotated[int, Path(ge=0, le=tiles.MAX_ZOOM, description="Zoom level (tile matrix)")]
XY = Annotated[int, Path(ge=0, le=2**tiles.MAX_ZOOM - 1)]


def _check_tms(tms: str) -> None:
    if tms != TMS:
        raise BadRequest(bilingual(f"Lưới ô '{tms}' không được hỗ trợ", f"unsupported tile matrix set '{tms}'")
                         + f" (only {TMS})")


def _tileset(base: str, cid: str, title: str) -> dict:
    u = f"{base}/collections/{cid}/tiles/{TMS}"
    return {
        "title": title, "dataType": "vector", "crs": TMS_CRS, "tileMatrixSetURI": TMS_URI,
        "links": [
            documents.link(u, "self", documents.JSON, "tileset metadata"),
            documents.link(f"{base}/tileMatrixSets/{TMS}", "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                           documents.JSON, "tile matrix set"),
            documents.link(u + "/{z}/{x}/{y}", "item", tiles.MVT, "Mapbox vector tiles (z/x/y)", templated=True),
            documents.link(f"{u}/tilejson.json", "describedby", documents.JSON, "TileJSON"),
        ],
    }


def make_router() -> APIRouter:
    r = APIRouter(tags=["Vector tiles"])
    errs = error_responses(400, 401, 404)

    @r.get("/tileMatrixSets", responses=errs, summary="Tile matrix sets")
    def tile_matrix_sets(request: Request, _: Reader) -> JSONResponse:
        base = base_url(request)
        return JSONResponse({"tileMatrixSets": [{
            "id": TMS, "title": "Google Maps Compatible for the World", "uri": TMS_URI,
            "links": [documents.link(f"{base}/tileMatrixSets/{TMS}", "self", documents.JSON)]}]})

    @r.get("/tileMatrixSets/{tileMatrixSetId}", responses=errs, summary="Tile matrix set definition")
    def tile_matrix_set(tileMatrixSetId: Tms, _: Reader) -> JSONResponse:
        _check_tms(tileMatrixSetId)
        import morecantile

        return JSONResponse(morecantile.tms.get(TMS).model_dump(mode="json", exclude_none=True))

    @r.get("/collections/{collectionId}/tiles", response_model=models.TileSets, responses=errs,
           summary="Vector tilesets of a collection")
    def tilesets(request: Request, collectionId: CollectionId, _: Reader) -> JSONResponse:
        with request.app.state.engine.connect() as c:
            coll = find(c, request, collectionId)
        return JSONResponse({"tilesets": [_tileset(base_url(request), coll.id, coll.title)]})

    @r.get("/collections/{collectionId}/tiles/{tileMatrixSetId}", responses=errs, summary="Tileset metadata")
    def tileset(request: Request, collectionId: CollectionId, tileMatrixSetId: Tms, _: Reader) -> JSONResponse:
        _check_tms(tileMatrixSetId)
        with request.app.state.engine.connect() as c:
            coll = find(c, request, collectionId)
        doc = _tileset(base_url(request), coll.id, coll.title)
        doc["layers"] = [{"id": coll.id, "dataType": "vector", "geometryType": coll.geometry_type.lower(),
                          "propertiesSchema": {"type": "object", "properties": {
                              p.name: {"type": documents.JSON_TYPES_T[p.type]} for p in coll.props if p.tile}}}]
        return JSONResponse(doc)

    @r.get("/collections/{collectionId}/tiles/{tileMatrixSetId}/tilejson.json", response_model=models.TileJSON,
           responses=errs, summary="TileJSON 3.0 for web maps")
    def tilejson(request: Request, collectionId: CollectionId, tileMatrixSetId: Tms, _: Reader) -> JSONResponse:
        _check_tms(tileMatrixSetId)
        base = base_url(request)
        with request.app.state.engine.connect() as c:
            coll = find(c, request, collectionId)
            ext = request.app.state.extents.get(c, coll, coll.version(c))
        return JSONResponse({
            "tilejson": "3.0.0", "name": coll.id, "description": coll.title,
            "tiles": [f"{base}/collections/{coll.id}/tiles/{TMS}/{{z}}/{{x}}/{{y}}"],
            "minzoom": 0, "maxzoom": tiles.MAX_ZOOM, "bounds": ext["spatial"]["bbox"][0],
            "vector_layers": [{"id": coll.id, "fields": {p.name: p.type for p in coll.props if p.tile}}],
        })

    @r.get("/collections/{collectionId}/tiles/{tileMatrixSetId}/{z}/{x}/{y}", response_class=models.MVTResponse,
           responses={200: {"content": {tiles.MVT: {"schema": {"type": "string", "format": "binary"}}},
                            "description": "Mapbox vector tile"}, 304: {"description": "Not modified"}, **errs},
           summary="A Mapbox vector tile")
    def tile(request: Request, collectionId: CollectionId, tileMatrixSetId: Tms, z: Z, x: XY, y: XY,
             _: Reader) -> Response:
        _check_tms(tileMatrixSetId)
        tiles.check_tile(z, x, y)
        cache: tiles.TileCache = request.app.state.tiles
        matches = {t.strip() for t in request.headers.get("if-none-match", "").split(",") if t.strip()}
        with request.app.state.engine.connect() as c:
            coll = find(c, request, collectionId)
            # The version this process last saw: if the client or the cache holds that version's
            # tile, the database only confirms the version; otherwise it renders in the same query.
            known = cache.latest(coll.id)
            holds = known is not None and (tiles.etag(coll, known, z, x, y) in matches
                                           or cache.get((coll.id, known, z, x, y)) is not None)
            version, body = tiles.version_and_tile(c, coll, z, x, y, known if holds else None)
        cache.seen(coll.id, version)
        tag = tiles.etag(coll, version, z, x, y)
        headers = {"ETag": tag, "Cache-Control": "public, no-cache"}
        if tag in matches:
            return Response(status_code=304, headers=headers)
        key = (coll.id, version, z, x, y)
        if body is None:
            body = cache.get(key)
        if body is None:  # evicted meanwhile: render now
            with request.app.state.engine.connect() as c:
                body = tiles.render(c, coll, z, x, y)
        cache.put(key, body)
        return models.MVTResponse(body, headers=headers)

    return r
