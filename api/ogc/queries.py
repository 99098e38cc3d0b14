"""SQL for items: the WHERE clause from the request, then one statement that pages and serialises.

Why the shape of the statement matters (PEERS.md): tipg puts ``ST_AsGeoJSON`` in the same SELECT
as ``ORDER BY id LIMIT n OFFSET k`` and PostgreSQL serialises every skipped row (358 ms at offset
50,000). Here the page is cut in a subquery that carries the geometry untouched, and only the
``limit`` rows of the page are serialised. For single-table layers the page is
cut on the primary key alone (an index-only scan) and joined back. The whole ``features`` array is
built as one text value
in the database, so Python only frames it. ``numberMatched`` is cached per (collection, data
version, filter) because counting 100,000 rows on every page costs more than the page itself.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from cropmrv.api.errors import BadRequest, bilingual
from cropmrv.api.ogc.collections import Collection, Prop
from cropmrv.api.ogc.params import Crs


@dataclass
class Where:
    clauses: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def sql(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "TRUE"

    def key(self) -> tuple:
        return (self.sql(), tuple(sorted((k, repr(v)) for k, v in self.params.items())))


def envelope_sql(srid: int, names: tuple[str, str, str, str]) -> str:
    env = f"ST_MakeEnvelope(:{names[0]}, :{names[1]}, :{names[2]}, :{names[3]}, {int(srid):d})"
    if srid == 4326:
        return env
    # densify so the edges of a projected box follow their true shape in lon/lat
    return f"ST_Transform(ST_Segmentize({env}, 100.0), 4326)"


def add_bbox(w: Where, bbox: tuple[float, float, float, float] | None, crs: Crs) -> None:
    if bbox is None:
        return
    names = ("bx1", "by1", "bx2", "by2")
    w.params.update(dict(zip(names, bbox, strict=True)))
    w.clauses.append(f"ST_Intersects(t._geom, {envelope_sql(crs.srid, names)})")


def add_datetime(w: Where, coll: Collection, interval: tuple[datetime | None, datetime | None] | None) -> None:
    if interval is None:
        return
    if coll.time is None:
        raise BadRequest(bilingual(f"Lớp '{coll.id}' không có thuộc tính thời gian", f"collection '{coll.id}' has no time"))
    start, end = interval
    if end is not None:
        w.clauses.append("t._t0 <= :dt1")
        w.params["dt1"] = end
    if start is not None:
        w.clauses.append("t._t1 >= :dt0")
        w.params["dt0"] = start


def _typed(p: Prop, raw: str) -> Any:
    try:
        if p.type == "int":
            return int(raw)
        if p.type == "float":
            return float(raw)
        if p.type == "bool":
            return {"true": True, "false": False}[raw.lower()]
        if p.type == "date":
            from datetime import date

            return date.fromisoformat(raw)
        if p.type == "timestamptz":
            return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except (ValueError, KeyError):
        raise BadRequest(bilingual(f"Giá trị '{raw}' không hợp lệ cho thuộc tính '{p.name}'",
                                   f"'{raw}' is not a valid {p.type} for property '{p.name}'")) from None
    return raw


def add_equals(w: Where, coll: Collection, filters: dict[str, str]) -> None:
    for i, (name, raw) in enumerate(sorted(filters.items())):
        p = coll.prop(name)
        if p is None:
            continue
        w.params[f"eq{i}"] = _typed(p, raw)
        w.clauses.append(f't."{p.name}" = :eq{i}')


def add_cql(w: Where, sql: str | None, params: dict[str, Any]) -> None:
    if sql:
        w.clauses.append(sql)
        w.params.update(params)


def geometry_sql(col: str, crs: Crs) -> str:
    g = col if crs.srid == 4326 else f"ST_Transform({col}, {crs.srid:d})"
    if crs.flip:
        g = f"ST_FlipCoordinates({g})"
    return f"ST_AsGeoJSON({g}, {crs.digits:d}, 0)"


def feature_sql(coll: Collection, crs: Crs, alias: str = "p") -> str:
    """One GeoJSON Feature as text. Property keys are literals from code; geometry is not re-parsed."""
    props = ", ".join(f"'{p.name}', {alias}.\"{p.name}\"" for p in coll.props)
    return ("'{\"type\":\"Feature\",\"id\":' || to_json(" + alias + "._fid)::text || ',\"geometry\":' || "
            f"coalesce({geometry_sql(alias + '._geom', crs)}, 'null') || ',\"properties\":' || "
            f"json_build_object({props})::text || '}}'")


def items_sql(coll: Collection, where: Where, crs: Crs) -> str:
    if coll.simple:
        # Cut the page on ids alone: with no filter this is an index-only scan of the primary key
        # (offset 50,000: ~5 ms instead of ~50 ms fetching every skipped row), then join back.
        page = (f"SELECT s.* FROM ({coll.source()}) s JOIN (SELECT t._fid FROM ({coll.source()}) t "
                f"WHERE {where.sql()} ORDER BY t._fid LIMIT :_limit OFFSET :_offset) k ON k._fid = s._fid")
    else:
        page = (f"SELECT * FROM ({coll.source()}) t WHERE {where.sql()} "
                "ORDER BY t._fid LIMIT :_limit OFFSET :_offset")
    return (f"SELECT ({coll.version_sql}) AS version, count(*) AS n, "
            f"coalesce(string_agg({feature_sql(coll, crs)}, ',' ORDER BY p._fid), '') AS features "
            f"FROM ({page}) p")


def count_sql(coll: Collection, where: Where) -> str:
    return f"SELECT count(*) FROM ({coll.source()}) t WHERE {where.sql()}"


def item_sql(coll: Collection, crs: Crs) -> str:
    return f"SELECT {feature_sql(coll, crs)} FROM ({coll.source()}) p WHERE p._fid = :fid"


class CountCache:
    """numberMatched per (collection, version, filter); bounded, thread-safe."""

    def __init__(self, size: int = 2048):
        self.size = size
        self._d: OrderedDict[tuple, int] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> int | None:
        with self._lock:
            v = self._d.get(key)
            if v is not None:
                self._d.move_to_end(key)
            return v

    def put(self, key: tuple, n: int) -> None:
        with self._lock:
            self._d[key] = n
            self._d.move_to_end(key)
            while len(self._d) > self.size:
                self._d.popitem(last=False)


def fetch_items(conn: Connection, coll: Collection, where: Where, crs: Crs, limit: int, offset: int,
                counts: CountCache) -> tuple[str, int, int]:
    """(features JSON array body without brackets, numberReturned, numberMatched)."""
    params = {**coll.params, **where.params, "_limit": limit, "_offset": offset}
    row = conn.execute(text(items_sql(coll, where, crs)), params).one()
    returned = int(row.n)
    if offset == 0 and returned < limit:
        matched = returned
    else:
        key = (coll.id, row.version, where.key())
        matched = counts.get(key)
        if matched is None:
            matched = int(conn.execute(text(count_sql(coll, where)), {**coll.params, **where.params}).scalar_one())
            counts.put(key, matched)
    return row.features, returned, matched
