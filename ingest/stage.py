"""Geometry work done ahead of validation, in the reader's stage thread (:class:`~cropmrv.ingest.
readers.Prefetch`): the polygon fast path of :mod:`cropmrv.geo.wkb`.

Kept apart from :mod:`cropmrv.ingest.checks` (and free of pandas) so that it can start before the
rest of the loader is even imported: the CLI begins reading and reprojecting while Python is still
loading pandas and SQLAlchemy (:mod:`cropmrv.ingest.early`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyproj
import shapely

from cropmrv.geo import wkb
from cropmrv.geo.crs import transformer_to_wgs84

#: Layers that take any geometry kind (irrigation works: points, lines, polygons); every other
#: layer is polygons and takes the fast path here.
ANY_GEOMETRY_LAYERS = ("irrigation_assets",)


@dataclass
class PolygonStage:
    """The GIL-free part of polygon checking for one chunk (see :func:`stage_polygons`)."""

    epsg: int  # the source CRS it was computed for
    geoms: np.ndarray  # EPSG:4326 shapely geometries; None where not ``fast``
    wkb: np.ndarray  # MultiPolygon WKB (EPSG:4326) to COPY; the source bytes where not ``fast``
    area: np.ndarray | None  # planar area in the source CRS (metric CRS only); NaN where not parsed
    fast: np.ndarray  # parsed, transformed and valid in EPSG:4326


def stage_polygons(chunk, epsg: int, transform, metric: bool) -> PolygonStage:
    """Transform the chunk's WKB to EPSG:4326 in place, parse it once and check validity there.

    Pure and thread-safe (no report, no shared state; ``transform`` is this thread's own). What
    is checked is exactly what is stored: the EPSG:4326 bytes.
    """
    p = wkb.parse(chunk.wkb)
    xy = wkb.coordinates(p)
    area = wkb.planar_areas(p, xy) if metric else None
    if epsg != 4326:
        wkb.transform(p, transform, xy)
    out = wkb.geometry_bytes(p, promote=True)
    geoms = np.full(len(p), None, dtype=object)
    geoms[p.ok] = shapely.from_wkb(out[p.ok], on_invalid="ignore")  # unreadable (an open ring): slow path
    fast = p.ok.copy()
    fast[p.ok] = shapely.is_valid(geoms[p.ok])  # None → False
    return PolygonStage(epsg, geoms, out, area, fast)


def make_stager(layer: str, epsg: int | None) -> Callable | None:
    """``chunk → None`` setting ``chunk.stage`` for ``layer`` read in ``epsg`` (None: nothing to stage).

    The transformer is this stager's own (built from the recorded operation's pipeline), so the
    stage thread never shares a PROJ object with the main thread.
    """
    if layer in ANY_GEOMETRY_LAYERS or epsg is None:
        return None
    crs = pyproj.CRS.from_epsg(epsg)
    t = pyproj.Transformer.from_pipeline(transformer_to_wgs84(epsg)[0].definition) if epsg != 4326 else None
    metric = epsg != 4326 and crs.is_projected

    def prepare(chunk) -> None:
        chunk.stage = stage_polygons(chunk, epsg, t.transform if t else None, metric)
    return prepare
