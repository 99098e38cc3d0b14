"""Compact vector layers for the page: TWKB geometries and column-wise properties, decoded in the browser.

Why: folium embeds GeoJSON — about 20 characters a vertex and every property name repeated in every
feature. The planning-review page of the generated sample province was 0.94 MB, nine tenths of it
GeoJSON. Here each layer is one JSON object::

    {"k": ["zone_code", "crop", ...],            # property names, once
     "f": [[id, geometry, "Z-01", "rice", ...],  # one row a feature, values in the order of "k"
           [id, 0, ...]]}                        # a geometry already sent is named by its row index

``geometry`` is base64 TWKB from PostGIS (``sqlgeo.encoded_geometries``), or null. Crop zones of
the two rice seasons share one outline, so the second names the first. A text column with few
distinct values (status, crop, land-use code, plan name…) is sent as a dictionary ``"d": {"column
position": [values]}`` and its cells as indexes into it. ``cmrvDecode`` in
``static/cropmrv/maps.js`` turns this back into a GeoJSON FeatureCollection, so Leaflet, the
popups and the tests see ordinary features with ordinary properties.

Styles are given once for the layer (``style``), optionally with per-value overrides of one property
(``style_by``), instead of a ``style`` object in every feature.
"""

from __future__ import annotations

import json
from typing import Any

from folium.map import Layer
from jinja2 import Template


def pack(rows: list[tuple[Any, str | None, dict[str, Any]]], columns: list[str] | None = None) -> dict[str, Any]:
    """``(id, twkb, properties)`` rows → the compact layer object above. ``columns`` picks and orders
    the properties (default: every key of the first row, sorted)."""
    keys = list(columns) if columns is not None else (sorted(rows[0][2]) if rows else [])
    seen: dict[str, int] = {}
    out = []
    for i, (fid, geom, props) in enumerate(rows):
        g: str | int | None = geom
        if geom is not None:
            if geom in seen:
                g = seen[geom]
            else:
                seen[geom] = i
        out.append([fid, g, *(props.get(k) for k in keys)])
    packed: dict[str, Any] = {"k": keys, "f": out}
    dicts = {}
    for j in range(len(keys)):
        col = [r[j + 2] for r in out]
        values = sorted({v for v in col if v is not None}, key=str)
        if col and all(isinstance(v, str) for v in values) and len(values) <= len(col) // 2:
            index = {v: i for i, v in enumerate(values)}
            for r in out:
                r[j + 2] = None if r[j + 2] is None else index[r[j + 2]]
            dicts[str(j)] = values
    if dicts:
        packed["d"] = dicts
    return packed


def to_js(obj: Any) -> str:
    """Compact JSON safe inside a <script> element (no ``</script>``, no HTML-significant characters)."""
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


class CompactGeoJson(Layer):
    """A ``L.geoJson`` layer built by ``cmrvLayer`` (maps.js) from a :func:`pack`-ed object.

    ``tooltip``: (property, label) rows shown on hover; ``on_each``: the name of a global JS function
    ``(feature, layer)`` run for each feature (e.g. ``cmrvConflict``); ``radius``: points are drawn
    as circle markers of that radius; ``style_by``: ``(property, {value: style})``.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = cmrvLayer({{ this.data_js }}, {{ this.options_js }});
        {% endmacro %}""")

    def __init__(self, data: dict[str, Any], name: str, *, style: dict[str, Any] | None = None,
                 style_by: tuple[str, dict[str, dict[str, Any]]] | None = None,
                 tooltip: list[tuple[str, str]] | None = None, on_each: str | None = None,
                 radius: float | None = None, interactive: bool = True, show: bool = True,
                 control: bool = True):
        super().__init__(name=name, overlay=True, control=control, show=show)
        self._name = "CompactGeoJson"
        self.data = data
        self.data_js = to_js(data)
        opts: dict[str, Any] = {"style": style or {}, "interactive": interactive}
        if style_by is not None:
            opts["styleBy"] = [style_by[0], style_by[1]]
        if tooltip:
            opts["tooltip"] = [list(t) for t in tooltip]
        if on_each:
            opts["onEach"] = on_each
        if radius is not None:
            opts["radius"] = radius
        self.options_js = to_js(opts)
