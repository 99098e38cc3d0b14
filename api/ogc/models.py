"""Response documents of the OGC endpoints, for the OpenAPI description (clients, schemathesis).

Bodies are built as text in the database for speed; these models only *describe* them.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field


class _PrebuiltJSON(JSONResponse):
    """JSON built elsewhere (in the database): the body is passed through as it is. Subclassing
    JSONResponse makes FastAPI document the response model."""

    def render(self, content: Any) -> bytes:
        if isinstance(content, bytes):
            return content
        if isinstance(content, str):
            return content.encode()
        return super().render(content)


class GeoJSONResponse(_PrebuiltJSON):
    media_type = "application/geo+json"


class SchemaJSONResponse(_PrebuiltJSON):
    media_type = "application/schema+json"


class MVTResponse(Response):
    media_type = "application/vnd.mapbox-vector-tile"


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Link(_Open):
    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class LandingPage(_Open):
    title: str
    description: str
    links: list[Link]


class Conformance(_Open):
    conformsTo: list[str]


class Extent(_Open):
    spatial: dict[str, Any]
    temporal: dict[str, Any] | None = None


class CollectionInfo(_Open):
    id: str
    title: str
    description: str | None = None
    links: list[Link]
    extent: Extent | None = None
    itemType: str = "feature"
    crs: list[str]
    storageCrs: str | None = None


class Collections(_Open):
    links: list[Link]
    collections: list[CollectionInfo]


class Feature(_Open):
    type: str = Field(pattern="^Feature$")
    id: int | str
    geometry: dict[str, Any] | None
    properties: dict[str, Any] | None


class FeatureCollection(_Open):
    type: str = Field(pattern="^FeatureCollection$")
    features: list[Feature]
    numberMatched: int
    numberReturned: int
    links: list[Link]
    timeStamp: str | None = None


class Queryables(_Open):
    type: str = "object"
    properties: dict[str, Any]


class TileSets(_Open):
    tilesets: list[dict[str, Any]]


class TileJSON(_Open):
    tilejson: str
    tiles: list[str]
    minzoom: int
    maxzoom: int
