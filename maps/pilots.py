"""Pilot-site map for the extension centre (task IV.1): each site with its baseline vs project result.

The result is ``cropmrv.mrv.scenarios.package_scenario`` — the same calculator and the same call as
the API's ``/api/v1/pilot-sites/{code}/comparison`` — so the popup and the API agree. A site
without packages or area is drawn and says "not computed" instead of failing the page.
"""

from __future__ import annotations

from html import escape
from typing import Any

import folium
from folium.utilities import JsCode
from sqlalchemy import Connection, text

from cropmrv.maps import basemap, page, sqlgeo, styles
from cropmrv.maps.i18n import crop, fmt, t
from cropmrv.maps.page import MapOptions

ZOOM = 9
SITES_SQL = """
    SELECT s.id, s.site_code, s.name, s.crop, s.decision_ref, s.commune_code, u.name AS commune_name,
           s.baseline_package, s.project_package, s.start_year, s.area_ha, s.geom
    FROM pilot_site s JOIN admin_unit u ON u.code = s.commune_code
    WHERE s.province_code = :province ORDER BY s.site_code"""


def site_result(site: dict[str, Any], settings: Any) -> dict[str, Any] | None:
    """Baseline, project and reduction in t CO2e (and %), or None when the site cannot be computed."""
    from cropmrv.mrv.scenarios import package_scenario

    if not (site.get("baseline_package") and site.get("project_package") and site.get("area_ha")):
        return None
    place = {"id": site["site_code"], "commune_code": site["commune_code"], "crop": site["crop"],
             "year": site.get("start_year") or 2025, "area_ha": site["area_ha"]}
    try:
        df = package_scenario(place, site["baseline_package"], site["project_package"],
                              settings.default_factor_set, settings.default_gwp)
    except (ValueError, LookupError):
        return None
    tot = df[df["category"] == "total"].iloc[0]
    return {"baseline_t": float(tot["baseline_t_co2e"]), "project_t": float(tot["project_t_co2e"]),
            "reduction_t": float(df.attrs["reduction_t_co2e"]), "reduction_pct": df.attrs.get("reduction_pct"),
            "illustrative": bool(df.attrs.get("illustrative"))}


def pilot_map(conn: Connection, settings: Any, opts: MapOptions | None = None) -> folium.Map:
    opts = opts or MapOptions()
    lang = opts.lang
    params = {"province": settings.province_code}
    b = sqlgeo.bounds(conn, "SELECT geom FROM admin_unit WHERE code = :province", params)
    m = page.start_map(opts, b, zoom=ZOOM)
    basemap.add_base(m, conn, settings, opts, zoom=ZOOM)
    fc = sqlgeo.feature_collection(conn, SITES_SQL, params, tolerance=sqlgeo.tolerance_for_zoom(14))
    points = []
    for f in fc["features"]:
        p = f["properties"]
        r = site_result(p, settings)
        p["popup"] = _popup(p, r, lang)
        p["style"] = {"color": styles.PILOT, "weight": 2, "fillColor": styles.PILOT, "fillOpacity": 0.6}
        p["reduction_txt"] = (f'{fmt(r["reduction_t"], lang, 1)} {t("t_co2e_yr", lang)}'
                              if r else t("no_result", lang))
        points.append(p)
    bind = JsCode("function (feature, layer) { layer.bindPopup(feature.properties.popup, {maxWidth: 340}); }")
    folium.GeoJson(fc, name=t("site_areas", lang), on_each_feature=bind, tooltip=basemap.tooltip(
        fc, ["name", "commune_name", "reduction_txt"], [t("site", lang), t("commune", lang), t("reduction", lang)])
    ).add_to(m)
    # A marker per site so a few hectares stay visible at province zoom.
    rows = conn.execute(text("SELECT site_code, ST_Y(ST_PointOnSurface(geom)), ST_X(ST_PointOnSurface(geom)) "
                             "FROM pilot_site WHERE province_code = :province"), params).all()
    where = {r[0]: (r[1], r[2]) for r in rows}
    group = folium.FeatureGroup(name=t("pilot_map", lang))
    for p in points:
        lat, lon = where[p["site_code"]]
        folium.CircleMarker([lat, lon], radius=9, color="#ffffff", weight=2, fill=True, fill_color=styles.PILOT,
                            fill_opacity=1.0, popup=folium.Popup(p["popup"], max_width=340),
                            tooltip=escape(p["name"])).add_to(group)
    group.add_to(m)
    basemap.add_top(m, conn, settings, opts, zoom=ZOOM, labels_show=False)
    page.legend(m, t("legend", lang), [(styles.PILOT, t("pilot_map", lang))], shape="dot")
    page.title_panel(m, opts, t("pilot_map", lang), f'{len(points)} · {settings.province_name}')
    return m


def _popup(p: dict[str, Any], r: dict[str, Any] | None, lang: str) -> str:
    rows = [(t("site", lang), f'{p["name"]} ({p["site_code"]})'), (t("commune", lang), p["commune_name"]),
            (t("crop", lang), crop(p["crop"], lang)), (t("area_ha", lang), fmt(p["area_ha"], lang, 1)),
            (t("start_year", lang), p["start_year"] or "–"), (t("decision_ref", lang), p["decision_ref"] or "–"),
            (t("baseline", lang), p["baseline_package"] or "–"), (t("project", lang), p["project_package"] or "–")]
    if r:
        rows += [(f'{t("baseline", lang)} ({t("t_co2e_yr", lang)})', fmt(r["baseline_t"], lang, 1)),
                 (f'{t("project", lang)} ({t("t_co2e_yr", lang)})', fmt(r["project_t"], lang, 1)),
                 (t("reduction", lang), f'{fmt(r["reduction_t"], lang, 1)} {t("t_co2e_yr", lang)}'
                  + (f' ({fmt(r["reduction_pct"], lang, 1)} %)' if r["reduction_pct"] is not None else ""))]
        if r["illustrative"]:
            rows.append(("", t("illustrative", lang)))
    else:
        rows.append((t("reduction", lang), t("no_result", lang)))
    body = "".join(f"<tr><td><b>{escape(str(k))}</b></td><td>{escape(str(v))}</td></tr>" for k, v in rows)
    return f'<div class="cmrv-popup"><table>{body}</table></div>'
