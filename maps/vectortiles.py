"""Parcels and other large layers drawn from the API's Mapbox vector tiles (Leaflet.VectorGrid).

Why tiles: a commune has thousands of cadastral parcels; embedding them as GeoJSON would make a
multi-megabyte page. The browser instead asks the API for ``/collections/{id}/tiles/WebMercatorQuad
/{z}/{x}/{y}`` only for the tiles in view, and only from ``min_zoom`` on.
"""

from __future__ import annotations

from typing import Any

from folium.map import Layer
from jinja2 import Template


def tile_url(api_base: str, collection: str) -> str:
    return f"{api_base.rstrip('/')}/collections/{collection}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}"


class VectorTiles(Layer):
    """A ``L.vectorGrid.protobuf`` layer; needs the map built with ``new_map(vectorgrid=True)``."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.vectorGrid.protobuf({{ this.url|tojson }}, {
            vectorTileLayerStyles: {{ this.styles|tojson }},
            minZoom: {{ this.min_zoom }}, maxNativeZoom: {{ this.max_native_zoom }}, maxZoom: 22,
            interactive: true, rendererFactory: L.canvas.tile,
            getFeatureId: function (f) { return f.id; }
        });
        {{ this.get_name() }}.on('click', function (e) {
            var p = e.layer.properties || {};
            L.popup().setLatLng(e.latlng).setContent(
                '<div class="cmrv-popup">' + {{ this.popup_fields|tojson }}.map(function (k) {
                    return '<b>' + k[1] + '</b>: ' + (p[k[0]] === undefined ? '' : String(p[k[0]])
                        .replace(/[&<>"]/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; }));
                }).join('<br>') + '</div>').openOn({{ this._parent.get_name() }});
        });
        {% endmacro %}""")

    def __init__(self, url: str, layer_id: str, style: dict[str, Any], name: str, *, min_zoom: int = 15,
                 max_native_zoom: int = 20, popup_fields: list[tuple[str, str]] | None = None, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "VectorTiles"
        self.url = url
        self.styles = {layer_id: style}
        self.min_zoom = int(min_zoom)
        self.max_native_zoom = int(max_native_zoom)
        self.popup_fields = [list(p) for p in (popup_fields or [])]
