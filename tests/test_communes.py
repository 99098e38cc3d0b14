"""Commune placement: the grid of cells held by one commune answers exactly what the exact test does."""

from __future__ import annotations

import numpy as np
import shapely

from cropmrv.ingest.communes import CellOwners, load_communes, place


def test_grid_placement_equals_the_exact_path(conn):
    communes = load_communes(conn, "66")
    rng = np.random.default_rng(3)
    # 3,000 parcel-sized squares over the province's extent: inside, on boundaries, outside
    x0, y0, x1, y1 = shapely.bounds(communes.province_geom)
    x = rng.uniform(x0, x1, 3000)
    y = rng.uniform(y0, y1, 3000)
    size = rng.uniform(0.0002, 0.004, 3000)  # 20 m – 400 m: one to several grid cells
    geoms = shapely.box(x, y, x + size, y + size)
    with_grid = place(geoms, communes)
    assert len(communes.grid.keys) > 0 and (communes.grid.owner >= 0).any()  # the grid was used
    exact = CellOwners()
    exact.place = lambda g, c: np.full(len(g), -1)  # every feature through the predicates
    communes.grid = exact
    without = place(geoms, communes)
    for field in ("code", "crosses", "crossing_codes"):
        assert (getattr(with_grid, field) == getattr(without, field)).all(), field
    np.testing.assert_allclose(with_grid.share, without.share, rtol=1e-9)
    assert (with_grid.code != None).sum() > 1000 and with_grid.crosses.any()  # noqa: E711
