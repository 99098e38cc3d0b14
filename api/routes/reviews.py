"""Planning reviews: land (and irrigation) reviewers record findings and proposed adjustments.

The commune scope is part of every writing statement (``:scope``), so an officer of one commune
cannot create or change another commune's review even if a route check were missing; the route
check only gives the clearer message first.
"""

import json
from datetime import datetime
from typing import Annotated, Any, Literal

import shapely
from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from shapely.geometry import shape
from sqlalchemy import Connection, text

from cropmrv.api.auth import CurrentPrincipal, Principal, Reader, audit, commune_exists, out_of_scope, require
from cropmrv.api.errors import BadRequest, Forbidden, NotFound, bilingual, error_responses

router = APIRouter(tags=["planning reviews"])

Status = Literal["open", "conforming", "conflict", "adjustment_proposed", "resolved"]
CommuneCode = Annotated[str, Field(pattern=r"^[0-9]{5}$", description="5-digit GSO commune code")]


class PolygonGeoJSON(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[Any]


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    commune_code: CommuneCode
    status: Status = "open"
    planning_zone_id: int | None = Field(default=None, ge=1, le=2**62)
    crop_zone_id: int | None = Field(default=None, ge=1, le=2**62)
    finding: str | None = Field(default=None, max_length=10000)
    decision: str | None = Field(default=None, max_length=10000)
    proposed_geom: PolygonGeoJSON | None = None


class ReviewUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    status: Status | None = None
    finding: str | None = Field(default=None, max_length=10000)
    decision: str | None = Field(default=None, max_length=10000)
    proposed_geom: PolygonGeoJSON | None = None


class Review(BaseModel):
    id: int
    province_code: str
    commune_code: str
    planning_zone_id: int | None
    crop_zone_id: int | None
    reviewer: str
    reviewed_at: datetime
    updated_at: datetime
    status: str
    finding: str | None
    decision: str | None
    proposed_geom: dict[str, Any] | None


def geometry_wkb(g: PolygonGeoJSON | None) -> bytes | None:
    """A valid MultiPolygon in lon/lat, or a 400 that says what is wrong with the geometry."""
    if g is None:
        return None
    try:
        geom = shape(g.model_dump())
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise BadRequest(bilingual("Hình học GeoJSON không đọc được", "unreadable GeoJSON geometry")
                         + f": {str(exc)[:200]}") from None
    if geom.is_empty:
        raise BadRequest(bilingual("Hình học rỗng", "empty geometry"))
    minx, miny, maxx, maxy = geom.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise BadRequest(bilingual("Tọa độ phải là kinh độ/vĩ độ WGS 84", "coordinates must be WGS 84 lon/lat"))
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    polys, stack = [], [geom]
    while stack:
        g = stack.pop()
        if g.geom_type == "Polygon":
            polys.append(g)
        elif hasattr(g, "geoms"):
            stack.extend(g.geoms)
    if not polys:
        raise BadRequest(bilingual("Hình học không phải vùng", "the geometry has no polygon area"))
    return shapely.to_wkb(shapely.union_all(polys))  # valid Polygon/MultiPolygon; ST_Multi in SQL


_SELECT = ("SELECT id, province_code, commune_code, planning_zone_id, crop_zone_id, reviewer, reviewed_at, "
           "updated_at, status, finding, decision, ST_AsGeoJSON(proposed_geom, 7, 0) AS geom FROM planning_review")


def _row(r: Any) -> Review:
    d = dict(r._mapping)
    g = d.pop("geom")
    return Review(**d, proposed_geom=json.loads(g) if g else None)


def create_review(conn: Connection, p: Principal, province: str, data: ReviewIn) -> Review:
    """Insert a review; the statement itself refuses a commune outside the principal's scope."""
    commune_exists(conn, data.commune_code)
    row = conn.execute(text(
        "INSERT INTO planning_review (province_code, commune_code, planning_zone_id, crop_zone_id, reviewer, status, "
        "finding, decision, proposed_geom) "
        "SELECT :province, :commune, :pz, :cz, :reviewer, :status, :finding, :decision, "
        "ST_Multi(ST_SetSRID(ST_GeomFromWKB(:geom), 4326)) "
        "WHERE CAST(:scope AS text) IS NULL OR :commune = CAST(:scope AS text) RETURNING id"),
        {"province": province, "commune": data.commune_code, "pz": data.planning_zone_id, "cz": data.crop_zone_id,
         "reviewer": p.username, "status": data.status, "finding": data.finding, "decision": data.decision,
         "geom": geometry_wkb(data.proposed_geom), "scope": p.scope}).first()
    if row is None:
        raise Forbidden(out_of_scope(p, data.commune_code))
    audit(conn, p.username, "planning_review.create", "planning_review", row.id,
          data.model_dump(exclude={"proposed_geom"}) | {"has_geom": data.proposed_geom is not None})
    return get_review(conn, row.id)


def update_review(conn: Connection, p: Principal, review_id: int, data: ReviewUpdate) -> Review:
    fields = data.model_dump(exclude_unset=True)
    sets = [f"{k} = :{k}" for k in ("status", "finding", "decision") if k in fields]
    if "proposed_geom" in fields:
        sets.append("proposed_geom = ST_Multi(ST_SetSRID(ST_GeomFromWKB(:geom), 4326))")
    sets.append("updated_at = now()")
    row = conn.execute(text(
        f"UPDATE planning_review SET {', '.join(sets)} "
        "WHERE id = :id AND (CAST(:scope AS text) IS NULL OR commune_code = CAST(:scope AS text)) RETURNING id"),
        {"id": review_id, "scope": p.scope, "status": data.status, "finding": data.finding,
         "decision": data.decision, "geom": geometry_wkb(data.proposed_geom)}).first()
    if row is None:
        owner = conn.execute(text("SELECT commune_code FROM planning_review WHERE id = :id"), {"id": review_id}).scalar()
        if owner is None:
            raise NotFound(bilingual(f"Không có bản rà soát {review_id}", f"no planning review {review_id}"))
        raise Forbidden(out_of_scope(p, owner))
    audit(conn, p.username, "planning_review.update", "planning_review", review_id,
          {k: v for k, v in fields.items() if k != "proposed_geom"} | {"has_geom": "proposed_geom" in fields})
    return get_review(conn, review_id)


def get_review(conn: Connection, review_id: int) -> Review:
    r = conn.execute(text(_SELECT + " WHERE id = :id"), {"id": review_id}).first()
    if r is None:
        raise NotFound(bilingual(f"Không có bản rà soát {review_id}", f"no planning review {review_id}"))
    return _row(r)


ReviewId = Annotated[int, Path(ge=1, le=2**62)]


@router.get("/planning-reviews", response_model=list[Review], responses=error_responses(400, 401),
            summary="List planning reviews")
def list_reviews(request: Request, _: Reader,
                 commune_code: Annotated[str | None, Query(pattern=r"^[0-9]{5}$")] = None,
                 status: Status | None = None,
                 limit: Annotated[int, Query(ge=1, le=10000)] = 1000) -> list[Review]:
    with request.app.state.engine.connect() as c:
        rows = c.execute(text(_SELECT + " WHERE (CAST(:c AS text) IS NULL OR commune_code = :c) "
                              "AND (CAST(:s AS text) IS NULL OR status = :s) ORDER BY id LIMIT :n"),
                         {"c": commune_code, "s": status, "n": limit})
        return [_row(r) for r in rows]


@router.get("/planning-reviews/{review_id}", response_model=Review, responses=error_responses(400, 401, 404),
            summary="One planning review")
def read_review(request: Request, review_id: ReviewId, _: Reader) -> Review:
    with request.app.state.engine.connect() as c:
        return get_review(c, review_id)


@router.post("/planning-reviews", response_model=Review, status_code=201,
             responses=error_responses(400, 401, 403), summary="Record a planning review (GeoJSON geometry in)")
def post_review(request: Request, body: ReviewIn, p: CurrentPrincipal) -> Review:
    require(p, "review", body.commune_code)
    with request.app.state.engine.begin() as c:
        return create_review(c, p, request.app.state.settings.province_code, body)


@router.patch("/planning-reviews/{review_id}", response_model=Review,
              responses=error_responses(400, 401, 403, 404), summary="Update a planning review")
def patch_review(request: Request, review_id: ReviewId, body: ReviewUpdate, p: CurrentPrincipal) -> Review:
    require(p, "review")
    with request.app.state.engine.begin() as c:
        return update_review(c, p, review_id, body)
