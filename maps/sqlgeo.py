"""GeoJSON for the page, made in the database.

Why in SQL: PostGIS simplifies (``ST_SimplifyPreserveTopology`` at the tolerance of the zoom the
page opens at), rounds coordinates (``ST_AsGeoJSON`` precision) and aggregates the features in one
statement, so a map of 102 communes or a few thousand crop zones stays a light page and Python
never loops over vertices.
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


def feature_collection(conn: Connection, sql: str, params: dict[str, Any] | None = None, *,
                       tolerance: float = 0.0, precision: int | None = None, id_col: str = "id"
                       ) -> dict[str, Any]:
    """Run ``sql`` (rows with a ``geom`` column and ``id_col``) and return a FeatureCollection.

    Every other column becomes a property (``to_jsonb(row) - 'geom'``). ``precision`` (decimal
    places) defaults to :func:`precision_for` the tolerance.
    """
    if precision is None:
        precision = precision_for(tolerance)
    wrapped = f"""
        SELECT coalesce(json_agg(json_build_object(
                   'type', 'Feature', 'id', q.{id_col},
                   'geometry', ST_AsGeoJSON(CASE WHEN :tol > 0 THEN ST_SimplifyPreserveTopology(q.geom, :tol)
                                                 ELSE q.geom END, :prec)::json,
                   'properties', to_jsonb(q) - 'geom')), '[]'::json)
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
