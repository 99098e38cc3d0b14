"""Polygon WKB handled as bytes: where the coordinates sit, transformed in place, promoted to Multi.

Why: the loader's hot path turns hundreds of thousands of source polygons into EPSG:4326 WKB for
COPY. Going through GEOS objects (``shapely.transform`` rebuilds every geometry, then ``to_wkb``
serialises it again) costs more than the reprojection itself. In a 2-D little-endian
Polygon/MultiPolygon WKB the coordinates are contiguous runs of doubles after small integer
headers, so numpy arithmetic over the headers finds every run for a whole chunk at once; pyproj
then transforms all coordinates in one call and they are written back into the same bytes.
Nothing here interprets geometry: validity, repair and everything else stay with shapely/GEOS.

Anything this does not handle — big-endian or EWKB/ISO Z/M headers, other geometry types, empty
or malformed bytes, more than :data:`MAX_PARTS` parts or rings — is marked not ``ok`` and left to
the caller's shapely path. No maintained library offers this (GeoArrow's C kernels do not
transform coordinates, and shapely's ragged-array round trip rebuilds GEOS objects), hence the
module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

#: Geometries with more parts or rings than this go to the shapely path (the header walk loops
#: once per part and ring index; real parcels have one or two).
MAX_PARTS = 64
#: What ST_Multi writes before a Polygon's own bytes: byte order, type 6, one part.
MULTI_PREFIX = np.frombuffer(b"\x01\x06\x00\x00\x00\x01\x00\x00\x00", dtype=np.uint8)
_PAD = 16  # zero bytes after the data, so header reads past a truncated geometry stay in range


@dataclass
class PolygonWkb:
    """Many WKB geometries as one byte buffer and where their rings' coordinates are.

    ``buf`` is a private, writable copy (padded); ``offsets[i]:offsets[i+1]`` are geometry i's
    bytes. Rings are listed in buffer order, for the ``ok`` geometries only.
    """

    buf: np.ndarray  # uint8
    offsets: np.ndarray  # int64, n + 1
    ok: np.ndarray  # bool, n
    type_id: np.ndarray  # int64, n: 3 Polygon, 6 MultiPolygon, -1 other/unreadable
    ring_start: np.ndarray  # int64: byte offset of a ring's first coordinate
    ring_len: np.ndarray  # int64: its number of points
    ring_geom: np.ndarray  # int64: the geometry it belongs to
    ring_outer: np.ndarray  # bool: the first ring of its polygon (the shell)
    _mask: np.ndarray | None = field(default=None, repr=False)  # see _coordinate_mask

    def __len__(self) -> int:
        return len(self.ok)


def _u32(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Little-endian uint32 at arbitrary (unaligned) byte offsets."""
    b = buf[pos[:, None] + np.arange(4)].astype(np.int64)
    return b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16) | (b[:, 3] << 24)


def _buffer(wkb: Sequence[bytes | None] | np.ndarray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(wkb, pa.ChunkedArray):
        wkb = wkb.combine_chunks()
    if isinstance(wkb, pa.Array):
        if pa.types.is_large_binary(wkb.type):
            off_t = np.int64
        elif pa.types.is_binary(wkb.type):
            off_t = np.int32
        else:
            raise TypeError(f"expected a binary Arrow array, got {wkb.type}")
        n = len(wkb)
        _, ob, db = wkb.buffers()
        offsets = np.frombuffer(ob, dtype=off_t)[wkb.offset:wkb.offset + n + 1].astype(np.int64)
        base = offsets[0]
        data = np.frombuffer(db, dtype=np.uint8)[base:offsets[-1]] if db is not None and n else np.empty(0, np.uint8)
        offsets = offsets - base
        if wkb.null_count:  # a null's slot may hold no bytes; make it zero-length for sure
            valid = np.asarray(wkb.is_valid())
            lens = np.where(valid, np.diff(offsets), 0)
            keep = np.repeat(valid, np.diff(offsets))
            data = data[keep]
            offsets = np.concatenate([[0], np.cumsum(lens)])
    else:
        items = [b if isinstance(b, bytes | bytearray | memoryview) else b"" for b in wkb]
        offsets = np.zeros(len(items) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, items), dtype=np.int64, count=len(items)), out=offsets[1:])
        data = np.frombuffer(b"".join(items), dtype=np.uint8)
    buf = np.zeros(len(data) + _PAD, dtype=np.uint8)
    buf[:len(data)] = data
    return buf, offsets


def parse(wkb: Sequence[bytes | None] | np.ndarray | pa.Array, max_parts: int = MAX_PARTS) -> PolygonWkb:
    """Walk the headers of many Polygon/MultiPolygon WKBs at once (vectorised over geometries)."""
    buf, offsets = _buffer(wkb)
    start, end = offsets[:-1], offsets[1:]
    ok = (end - start) >= 9
    head = np.where(ok, start, 0)
    ok &= buf[head] == 1
    gtype = _u32(buf, head + 1)
    ok &= (gtype == 3) | (gtype == 6)
    rings: list[tuple[np.ndarray, ...]] = []

    def polygons(pos: np.ndarray, geom: np.ndarray) -> np.ndarray:
        """Parse one polygon per entry (at byte ``pos`` of geometry ``geom``); its end, or -1."""
        bad = (buf[pos] != 1) | (_u32(buf, pos + 1) != 3)
        nr = _u32(buf, pos + 5)
        bad |= (nr < 1) | (nr > max_parts)
        cur = pos + 9
        for r in range(int(nr[~bad].max(initial=0))):
            act = np.flatnonzero(~bad & (nr > r))
            npts = _u32(buf, cur[act])
            after = cur[act] + 4 + 16 * npts
            broken = (npts < 4) | (after > end[geom[act]])
            bad[act[broken]] = True
            act, npts, after = act[~broken], npts[~broken], after[~broken]
            rings.append((cur[act] + 4, npts, geom[act], np.full(len(act), r == 0)))
            cur[act] = after
        return np.where(bad, -1, cur)

    poly = np.flatnonzero(ok & (gtype == 3))
    stop = polygons(start[poly], poly)
    ok[poly[stop != end[poly]]] = False
    multi = np.flatnonzero(ok & (gtype == 6))
    parts = _u32(buf, start[multi] + 5)
    good = (parts >= 1) & (parts <= max_parts)
    ok[multi[~good]] = False
    multi, parts = multi[good], parts[good]
    cur = start[multi] + 9
    for j in range(int(parts.max(initial=0))):
        act = np.flatnonzero((parts > j) & (cur >= 0))
        cur[act] = polygons(cur[act], multi[act])
    ok[multi[cur != end[multi]]] = False
    if rings:
        rs, rl, rg, ro = (np.concatenate(x) for x in zip(*rings, strict=True))
        keep = ok[rg]
        order = np.argsort(rs[keep], kind="stable")
        rs, rl, rg, ro = rs[keep][order], rl[keep][order], rg[keep][order], ro[keep][order]
    else:
        rs = rl = rg = np.empty(0, dtype=np.int64)
        ro = np.empty(0, dtype=bool)
    return PolygonWkb(buf, offsets, ok, np.where(ok, gtype, -1), rs, rl, rg, ro)


def _coordinate_mask(p: PolygonWkb) -> np.ndarray:
    """Boolean mask over the data bytes: True on the coordinates of the ``ok`` geometries (made once).

    Built as alternating runs (header bytes, a ring's coordinates, header bytes, …) by one
    ``np.repeat``: no per-byte arithmetic."""
    if p._mask is not None:
        return p._mask
    total = int(p.offsets[-1])
    ends = p.ring_start + 16 * p.ring_len
    gaps = np.diff(np.concatenate([[0], ends]))[: len(ends)] - 16 * p.ring_len  # header bytes before each ring
    lengths = np.empty(2 * len(ends) + 1, dtype=np.int64)
    lengths[0:-1:2] = gaps
    lengths[1::2] = 16 * p.ring_len
    lengths[-1] = total - (ends[-1] if len(ends) else 0)
    runs = np.zeros(len(lengths), dtype=bool)
    runs[1::2] = True
    p._mask = np.repeat(runs, lengths)
    return p._mask


def coordinates(p: PolygonWkb) -> np.ndarray:
    """All coordinates of the ``ok`` geometries, ring after ring in buffer order, as (N, 2)."""
    return p.buf[: len(_coordinate_mask(p))][_coordinate_mask(p)].view("<f8").reshape(-1, 2)


def transform(p: PolygonWkb, fn: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
              xy: np.ndarray | None = None) -> None:
    """Replace every coordinate of the ``ok`` geometries by ``fn(x, y)``, in place (``xy``: the
    coordinates if already read)."""
    xy = coordinates(p) if xy is None else xy
    if not len(xy):
        return
    # A ring's closing point repeats its first: transform it once and copy it (1/7 of a parcel's
    # points; bit-for-bit the same result). Rings that do not close are transformed whole.
    last = np.cumsum(p.ring_len) - 1
    first = last - p.ring_len + 1
    closed = (xy[first] == xy[last]).all(axis=1)
    todo = np.ones(len(xy), dtype=bool)
    todo[last[closed]] = False
    tx, ty = fn(np.ascontiguousarray(xy[todo, 0]), np.ascontiguousarray(xy[todo, 1]))
    x, y = np.empty(len(xy)), np.empty(len(xy))
    x[todo], y[todo] = tx, ty
    x[last[closed]], y[last[closed]] = x[first[closed]], y[first[closed]]
    mask = _coordinate_mask(p)
    p.buf[: len(mask)][mask] = np.column_stack([x, y]).astype("<f8", copy=False).view(np.uint8).ravel()


def planar_areas(p: PolygonWkb, xy: np.ndarray | None = None) -> np.ndarray:
    """Planar area of each geometry (shells minus holes; NaN where not ``ok``), by the shoelace
    formula over each ring relative to its first point (no cancellation at projected magnitudes)."""
    n = len(p)
    out = np.full(n, np.nan)
    if not len(p.ring_len):
        return out
    xy = coordinates(p) if xy is None else xy
    first = np.concatenate([[0], np.cumsum(p.ring_len)[:-1]])
    origin = np.repeat(xy[first], p.ring_len, axis=0)
    d = xy - origin
    cross = d[:-1, 0] * d[1:, 1] - d[1:, 0] * d[:-1, 1]
    cs = np.concatenate([[0.0], np.cumsum(cross)])
    ring = np.abs(cs[first + p.ring_len - 1] - cs[first]) / 2
    signed = np.where(p.ring_outer, ring, -ring)
    out[p.ok] = 0.0
    out += np.bincount(p.ring_geom, weights=signed, minlength=n)
    return out


def geometry_bytes(p: PolygonWkb, promote: bool = True) -> np.ndarray:
    """Each geometry's (possibly transformed) WKB as an object array of ``bytes``; with
    ``promote``, the ``ok`` Polygons prefixed to one-part MultiPolygons (what ST_Multi does)."""
    n = len(p)
    total = int(p.offsets[-1])
    lift = promote & (p.type_id == 3)
    starts = p.offsets[:-1][lift]
    k = len(MULTI_PREFIX)
    out = np.insert(p.buf[:total], np.repeat(starts, k), np.tile(MULTI_PREFIX, len(starts)))
    new_off = p.offsets + np.concatenate([[0], np.cumsum(np.where(lift, k, 0))])
    arr = pa.Array.from_buffers(pa.large_binary(), n, [None, pa.py_buffer(new_off), pa.py_buffer(out)])
    return arr.to_numpy(zero_copy_only=False)
