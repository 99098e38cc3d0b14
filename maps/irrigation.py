"""Irrigation map for the irrigation sub-department (task III.1): works by kind, the areas they
serve, and where water management can cut emissions.

* AWD candidates: rice that is continuously flooded (or flood-irrigated) and lies inside an
  irrigation service area (at least half of the zone) or is linked to a work in
  ``irrigation_service`` — where water can be controlled, alternate wetting and drying is possible
  and cuts CH4.
* Coffee without efficient irrigation: coffee zones whose method is not drip or sprinkler.
"""

from __future__ import annotations

from typing import Any

import folium
from sqlalchemy import Connection, text

from cropmrv.maps import basemap, compact, page, sqlgeo, styles
from cropmrv.maps.commune import add_assets
from cropmrv.maps.i18n import ASSET_KINDS, IRRIGATION, crop, fmt, t
from cropmrv.maps.page import MapOptions

_SCOPE = "province_code = :province AND (CAST(:commune AS text) IS NULL OR commune_code = :commune)"
ASSETS_SQL = f"SELECT id, asset_code, kind, name, design_area_ha, status, geom FROM irrigation_asset WHERE {_SCOPE}"
SERVICE_SQL = f"SELECT id, asset_code, commune_code, geom FROM irrigation_service_area WHERE {_SCOPE}"
AWD_SQL = f"""
    SELECT z.id, z.zone_code, z.commune_code, z.crop, z.area_ha, z.irrigation_method, z.water_regime, z.geom
    FROM crop_zone z
    WHERE z.{_SCOPE.replace(" commune_code", " z.commune_code")} AND z.crop = 'rice'
      AND (z.irrigation_method IN ('continuous_flooding', 'flood')
           OR lower(coalesce(z.water_regime, '')) LIKE 'continuous%')
      AND (EXISTS (SELECT 1 FROM irrigation_service s WHERE s.zone_code = z.zone_code)
           OR EXISTS (SELECT 1 FROM irrigation_service_area a
                      WHERE a.geom && z.geom AND ST_Intersects(a.geom, z.geom)
                        AND (ST_CoveredBy(z.geom, a.geom)
                             OR ST_Area(ST_Intersection(a.geom, z.geom)) >= 0.5 * ST_Area(z.geom))))"""
COFFEE_SQL = f"""
    SELECT z.id, z.zone_code, z.commune_code, z.crop, z.area_ha, z.irrigation_method, z.geom
    FROM crop_zone z
    WHERE z.{_SCOPE.replace(" commune_code", " z.commune_code")} AND z.crop = 'coffee'
      AND coalesce(z.irrigation_method, 'other') NOT IN ('drip', 'sprinkler')"""


ZONE_COLUMNS = ["zone_code", "commune_code", "crop_txt", "irr_txt", "area_txt"]


def irrigation_map(conn: Connection, settings: Any, commune: str | None = None,
                   opts: MapOptions | None = None) -> folium.Map:
    opts = opts or MapOptions()
    lang = opts.lang
    if commune is not None:
        from cropmrv.maps.commune import commune_row

        commune_row(conn, commune)
    params = {"province": settings.province_code, "commune": commune}
    # each kind of candidate is selected once (AWD needs the overlay with the service areas); the
    # view holds the works, the areas they serve and both kinds of candidates
    cands = {key: [dict(r._mapping) for r in conn.execute(text(
        f"SELECT c.id, c.area_ha, ST_XMin(c.geom) AS x0, ST_YMin(c.geom) AS y0, ST_XMax(c.geom) AS x1, "
        f"ST_YMax(c.geom) AS y1 FROM ({sql}) c ORDER BY c.id"), params)]
        for key, sql in (("coffee_no_efficient", COFFEE_SQL), ("awd_candidates", AWD_SQL))}
    b = sqlgeo.bounds(conn, f"SELECT geom FROM irrigation_service_area WHERE {_SCOPE} UNION ALL "
                            f"SELECT geom FROM irrigation_asset WHERE {_SCOPE}", params)
    boxes = [[[r["y0"], r["x0"]], [r["y1"], r["x1"]]] for rows in cands.values() for r in rows] + ([b] if b else [])
    b = ([[min(x[0][0] for x in boxes), min(x[0][1] for x in boxes)],
          [max(x[1][0] for x in boxes), max(x[1][1] for x in boxes)]] if boxes
         else sqlgeo.bounds(conn, "SELECT geom FROM admin_unit WHERE code = :province", params))
    zoom = sqlgeo.fit_zoom(b)
    m = page.start_map(opts, b, zoom=zoom)
    bbox = (b[0][1] - 0.05, b[0][0] - 0.05, b[1][1] + 0.05, b[1][0] + 0.05)
    basemap.add_base(m, conn, settings, opts, zoom=zoom, bbox=bbox)
    tol = sqlgeo.tolerance_for_zoom(zoom + 1)

    compact.CompactGeoJson(
        compact.pack(sqlgeo.encoded_geometries(conn, SERVICE_SQL, params, tolerance=tol), ["asset_code", "commune_code"]),
        t("service_areas", lang),
        style={"color": styles.SERVICE_AREA, "weight": 1.5, "fillColor": styles.SERVICE_AREA, "fillOpacity": 0.12},
        tooltip=[("asset_code", t("asset", lang)), ("commune_code", t("commune", lang))]).add_to(m)

    totals = {}
    for key, color in (("coffee_no_efficient", styles.COFFEE_NOT_EFFICIENT), ("awd_candidates", styles.AWD_CANDIDATE)):
        rows = sqlgeo.encoded_geometries(
            conn, "SELECT id, zone_code, commune_code, crop, area_ha, irrigation_method, geom FROM crop_zone "
                  "WHERE id = ANY(:ids) ORDER BY id", {"ids": [r["id"] for r in cands[key]]}, tolerance=tol)
        for _, _, p in rows:
            p["crop_txt"] = crop(p["crop"], lang)
            p["irr_txt"] = IRRIGATION[lang].get(p["irrigation_method"], p["irrigation_method"])
            p["area_txt"] = fmt(p["area_ha"], lang, 2)
        totals[key] = (len(cands[key]), sum(r["area_ha"] or 0 for r in cands[key]))
        compact.CompactGeoJson(
            compact.pack(rows, ZONE_COLUMNS), t(key, lang),
            style={"color": "#222", "weight": 0.8, "fillColor": color, "fillOpacity": 0.85},
            tooltip=list(zip(ZONE_COLUMNS, [t("zone", lang), t("commune", lang), t("crop", lang),
                                            t("irrigation", lang), t("area_ha", lang)], strict=True))).add_to(m)

    kinds = add_assets(m, conn, ASSETS_SQL, params, opts, tol)
    basemap.add_top(m, conn, settings, opts, zoom=zoom, bbox=bbox, labels_show=commune is not None)
    items = [(styles.ASSET_COLORS[k], ASSET_KINDS[lang][k]) for k in kinds]
    items += [(styles.SERVICE_AREA, t("service_areas", lang))]
    items += [(styles.AWD_CANDIDATE, f'{t("awd_candidates", lang)}: {totals["awd_candidates"][0]} '
                                     f'({fmt(totals["awd_candidates"][1], lang, 1)} ha)'),
              (styles.COFFEE_NOT_EFFICIENT, f'{t("coffee_no_efficient", lang)}: {totals["coffee_no_efficient"][0]} '
                                            f'({fmt(totals["coffee_no_efficient"][1], lang, 1)} ha)')]
    page.legend(m, t("legend", lang), items)
    page.title_panel(m, opts, t("irrigation_map", lang),
                     settings.province_name + (f" · {commune}" if commune else ""))
    return m
