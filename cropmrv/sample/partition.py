"""Pure geometry for the sample: split a commune into cells, and a zone into cadastral parcels.

Two shapes of partition, both exact (the pieces cover their parent with no gap and no overlap, up to
floating-point noise), both vectorised with shapely 2:

* :func:`voronoi_cells`: random seeds inside a polygon, their Voronoi diagram clipped to it. Crop
  zones, planning zones and map sheets are such cells: irregular, like land shaped by terrain.
* :func:`brick_parcels`: a rotated "brick" grid (rows of random height, each split into plots of random
  width, like strips along a track) intersected with the zones. Pieces of one zone tile that zone,
  which is what a cadastral map does to a crop area.

All coordinates are metres (EPSG:9218).
"""

from __future__ import annotations

import numpy as np
import shapely


def random_points_in(poly: shapely.Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniformly random points inside ``poly`` (rejection sampling over its bounding box)."""
    if n <= 0:
        return np.empty(0, dtype=object)
    xmin, ymin, xmax, ymax = shapely.bounds(poly)
    fill = max(shapely.area(poly) / max((xmax - xmin) * (ymax - ymin), 1e-9), 0.02)
    shapely.prepare(poly)
    out: list[np.ndarray] = []
    have = 0
    while have < n:
        m = int((n - have) / fill * 1.3) + 16
        pts = shapely.points(rng.uniform(xmin, xmax, m), rng.uniform(ymin, ymax, m))
        pts = pts[shapely.contains(poly, pts)]
        out.append(pts)
        have += len(pts)
    return np.concatenate(out)[:n]


def voronoi_cells(poly: shapely.Geometry, seeds: np.ndarray) -> np.ndarray:
    """Voronoi cells of ``seeds`` clipped to ``poly``; one polygonal geometry per seed, in seed order.

    Cells that the clip leaves empty (seeds are inside ``poly``, so this is rare) come back empty.
    """
    if len(seeds) == 1:
        return np.array([poly], dtype=object)
    xmin, ymin, xmax, ymax = shapely.bounds(poly)
    pad = max(xmax - xmin, ymax - ymin)
    env = shapely.box(xmin - pad, ymin - pad, xmax + pad, ymax + pad)
    diagram = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=env)
    cells = np.asarray(shapely.get_parts(diagram))
    # voronoi_polygons does not return cells in seed order: match each cell to the seed inside it.
    tree = shapely.STRtree(cells)
    seed_idx, cell_idx = tree.query(seeds, predicate="intersects")
    order = np.full(len(seeds), -1)
    first = np.unique(seed_idx, return_index=True)
    order[first[0]] = cell_idx[first[1]]
    out = np.empty(len(seeds), dtype=object)
    ok = order >= 0
    shapely.prepare(poly)
    mine = cells[order[ok]]
    inside = shapely.contains(poly, mine)  # most cells: no clipping needed (prepared test is fast)
    clipped = mine.copy()
    clipped[~inside] = polygonal(shapely.intersection(mine[~inside], poly))
    out[ok] = clipped
    out[~ok] = shapely.Polygon()
    return out


def polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygonal part of each geometry (intersections may add slivers of lines/points)."""
    geoms = np.asarray(geoms, dtype=object)
    kind = shapely.get_type_id(geoms)
    out = geoms.copy()
    mixed = np.flatnonzero(kind == 7)  # GeometryCollection
    for i in mixed:  # rare: only where a clip touches along an edge
        parts = shapely.get_parts(geoms[i])
        parts = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
        out[i] = shapely.union_all(parts) if len(parts) else shapely.Polygon()
    lines = np.isin(kind, (0, 1, 2, 4, 5))
    out[lines] = shapely.Polygon()
    return out


def brick_parcels(zones: np.ndarray, parcel_m2: float, rng: np.random.Generator,
                  angle_deg: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``zones`` into parcels of about ``parcel_m2`` with a rotated brick grid.

    Returns ``(parcels, zone_index)``: each parcel's polygon and the index of the zone it belongs to.
    Every zone is covered exactly by its parcels; edge pieces are smaller, as on real cadastral maps.
    """
    zones = np.asarray(zones, dtype=object)
    keep = ~shapely.is_empty(zones)
    if not keep.any():
        return np.empty(0, dtype=object), np.empty(0, dtype=int)
    xmin, ymin, xmax, ymax = shapely.total_bounds(zones[keep])
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    a = np.deg2rad(angle_deg)
    # the grid is laid out axis-aligned in a frame rotated by -a, then turned into place, so the
    # zones' own boundaries are never moved (their parcels meet them exactly)
    frame = shapely.transform(shapely.box(xmin, ymin, xmax, ymax), _rotation(-a, cx, cy))
    bx0, by0, bx1, by1 = shapely.bounds(frame)
    side = np.sqrt(parcel_m2)
    heights = rng.uniform(0.7, 1.3, int((by1 - by0) / (0.7 * side)) + 2) * side * 1.25
    ys = by0 - 1 + np.concatenate([[0.0], np.cumsum(heights)])
    ys = ys[: np.searchsorted(ys, by1 + 1) + 1]
    rects = []
    for y0, y1 in zip(ys[:-1], ys[1:], strict=True):
        w = rng.uniform(0.5, 1.5, int((bx1 - bx0) / (0.5 * side * 0.8)) + 2) * side * 0.8
        xs = bx0 - 1 + np.concatenate([[0.0], np.cumsum(w)])
        xs = xs[: np.searchsorted(xs, bx1 + 1) + 1]
        rects.append(shapely.box(xs[:-1], y0, xs[1:], y1))
    grid = shapely.transform(np.concatenate(rects), _rotation(a, cx, cy))
    tree = shapely.STRtree(grid)
    zi, gi = tree.query(zones, predicate="intersects")
    pieces = polygonal(shapely.intersection(grid[gi], zones[zi]))
    ok = ~shapely.is_empty(pieces) & (shapely.area(pieces) > 0.01)
    return pieces[ok], zi[ok]


def _rotation(a: float, cx: float, cy: float):
    c, s = np.cos(a), np.sin(a)

    def f(xy: np.ndarray) -> np.ndarray:
        x, y = xy[:, 0] - cx, xy[:, 1] - cy
        return np.column_stack([c * x - s * y + cx, s * x + c * y + cy])

    return f
