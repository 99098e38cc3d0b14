"""The HTTP API (``cropmrv serve``; factory ``cropmrv.api.app:create_app``).

* ``/`` … ``/collections/{id}/items``: OGC API – Features Parts 1–3 (``api/ogc/``), GeoJSON built
  in PostGIS; ``/collections/{id}/tiles/WebMercatorQuad/{z}/{x}/{y}``: Mapbox vector tiles.
* ``/api/v1/``: calculate, runs, planning reviews, pilot sites, uploads, submissions, roll-up,
  exports/inventory, health (``api/routes/``; add a router with one line in ``app.ROUTERS``).
* ``/maps/`` and ``/static``: the web maps (``cropmrv.maps.web``), included when present.
* Auth: ``api/auth.py`` (API keys, roles, commune scope, audit); errors: ``api/errors.py``.
"""
