"""GeoJSON for the page, made in the database.

Why in SQL: PostGIS simplifies (at the tolerance of the zoom the page opens at), rounds coordinates
and encodes the features in one statement, so a map of 102 communes or a few thousand crop zones
stays a light page and Python never loops over vertices.

Simplification is ``ST_Simplify(geom, tol, true)`` (Douglas–Peucker per ring, collapsed rings kept),
not ``ST_SimplifyPreserveTopology``: for drawing at one pixel the result looks the same, and GEOS's
topology-preserving simplifier cost 40–100× more (the 102 communes: 0.69 s vs 0.016 s; the sample's
1,508 planning zones: 1.2 s vs 0.013 s). A ring that self-touches after simplification is never
seen at the pixel it was simplified for, and nothing here is used for measurement.

Two encodings: :func:`feature_collection` (plain GeoJSON, for callers and tests that read
features) and :func:`encoded_geometries` (TWKB, see ``maps.compact``, for the page).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, text


def tolerance_for_zoom(zoom: float) -> float:
    """One screen pixel in degrees at ``zoom`` (Web Mercator, near the equator): simplifying by less
    cannot be seen, simplifying by more shows."""
    return 360.0 / (256 * 2**zoom)


def fit_zoom(bounds: list[list[float]] | None, width: int = 1100, height: int = 750, lo: int = 7,
             hi: int = 16) -> int:
    """The zoom at which ``[[south, west], [north, east]]`` fits a ``width`` × ``height`` map (what
    Leaflet's fitBounds will pick), so the page's geometry is simplified for the zoom it opens at."""
    import math

    if not bounds:
        return lo
    dx = max(bounds[1][1] - bounds[0][1], 1e-6)
    lat0, lat1 = (math.radians(max(min(v, 85.0), -85.0)) for v in (bounds[0][0], bounds[1][0]))
    merc = abs(math.log(math.tan(math.pi / 4 + lat1 / 2)) - math.log(math.tan(math.pi / 4 + lat0 / 2)))
    zx = math.log2(width * 360.0 / (256 * dx))
    zy = math.log2(height * 2 * math.pi / (256 * max(merc, 1e-9)))
    return max(lo, min(hi, math.floor(min(zx, zy))))


def precision_for(tolerance: float) -> int:
    """Decimal places of coordinates: 4 (about 11 m) when a pixel is coarser than 30 m, else 5."""
    return 4 if tolerance >= 0.0003 else 5


SIMPLIFIED = "CASE WHEN :tol > 0 THEN ST_Simplify({g}, :tol, true) ELSE {g} END"
_COLUMNS: dict[str, list[str]] = {}


def _props_sql(conn: Connection, sql: str, params: dict[str, Any] | None) -> str:
    """``jsonb_build_object`` of every column of ``sql`` but ``geom``.

    Why not ``to_jsonb(q) - 'geom'``: that first writes the whole geometry as JSON and then drops it
    — 10 MB of text for the 102 communes, 0.2 s of a 0.25 s query. The column names come from the
    statement's description (``LIMIT 0``: planned, not run) and are kept per statement text.
    """
    if sql not in _COLUMNS:
        cols = list(conn.execute(text(f"SELECT * FROM ({sql}) q LIMIT 0"), params or {}).keys())
        _COLUMNS[sql] = [c for c in cols if c != "geom"]
    pairs = ", ".join(f"'{c}', q.\"{c}\"" for c in _COLUMNS[sql])
    return f"jsonb_build_object({pairs})" if pairs else "'{}'::jsonb"


def feature_collection(conn: Connection, sql: str, params: dict[str, Any] | None = None, *,
                       tolerance: float = 0.0, precision: int | None = None, id_col: str = "id"
                       ) -> dict[str, Any]:
    """Run ``sql`` (rows with a ``geom`` column and ``id_col``) and return a FeatureCollection.

    Every other column becomes a property. ``precision`` (decimal
    places) defaults to :func:`precision_for` the tolerance.
    """
    if precision is None:
        precision = precision_for(tolerance)
    wrapped = f"""
        SELECT coalesce(json_agg(json_build_object(
                   'type', 'Feature', 'id', q.{id_col},
                   'geometry', ST_AsGeoJSON({SIMPLIFIED.format(g="q.geom")}, :prec)::json,
                   'properties', {_props_sql(conn, sql, params)})), '[]'::json)
        FROM ({sql}) q WHERE q.geom IS NOT NULL"""
    p = {**(params or {}), "tol": float(tolerance), "prec": int(precision)}
    feats = conn.execute(text(wrapped), p).scalar_one()
    if isinstance(feats, str):
        feats = json.loads(feats)
    return {"type": "FeatureCollection", "features": feats}


def bounds(conn: Connection, sql: str, params: dict[str, Any] | None = None) -> list[list[float]] | None:
    """[[south, west], [north, east]] of the rows' ``geom`` (for ``fit_bounds``), None when empty."""
    row = conn.execute(text(f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                            f"(SELECT ST_Extent(q.geom) AS e FROM ({sql}) q) s"), params or {}).first()
    if row is None or row[0] is None:
        return None
    return [[row[1], row[0]], [row[3], row[2]]]


def encoded_geometries(conn: Connection, sql: str, params: dict[str, Any] | None = None, *, tolerance: float = 0.0,
                       precision: int | None = None, id_col: str = "id", props: bool = True
                       ) -> list[tuple[Any, str | None, dict[str, Any]]]:
    """Run ``sql`` (rows with ``geom`` and ``id_col``) and return ``(id, geometry, properties)`` rows,
    the geometry simplified to ``tolerance`` and encoded as base64 TWKB (``ST_AsTWKB``: coordinates
    rounded to ``precision`` decimals and delta-encoded as varints — about 3 characters a vertex
    where GeoJSON takes 20); ``maps.compact`` packs them and ``static/cropmrv/maps.js`` decodes."""
    if precision is None:
        precision = precision_for(tolerance)
    wrapped = f"""
        SELECT q.{id_col} AS _id,
               translate(encode(ST_AsTWKB({SIMPLIFIED.format(g="q.geom")}, :prec), 'base64'), E'\\n', '') AS _g,
               {_props_sql(conn, sql, params) if props else "NULL::jsonb"} AS _p
        FROM ({sql}) q WHERE q.geom IS NOT NULL"""
    p = {**(params or {}), "tol": float(tolerance), "prec": int(precision)}
    return [(r._id, r._g, r._p or {}) for r in conn.execute(text(wrapped), p)]
