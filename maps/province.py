"""Province map: a choropleth of emissions by commune (total t CO2e or kg CO2e per hectare).

The figures are the roll-up's (``cropmrv.mrv.rollup.commune_totals`` of the year's latest run), so
the map, the API and the annual report agree to the gram. Classes come from ``mapclassify``
(Fisher–Jenks natural breaks, at most five classes; fewer when there are fewer distinct values);
communes without data are grey and left out of the classification.
"""

from __future__ import annotations

import warnings
from html import escape
from typing import Any

import folium
import mapclassify
import numpy as np
from sqlalchemy import Connection, text

from cropmrv.maps import basemap, page, sqlgeo
from cropmrv.maps.i18n import fmt, t
from cropmrv.maps.page import MapOptions
from cropmrv.mrv import rollup

PALETTE = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")  # ColorBrewer YlOrRd-5
NO_DATA = "#d9d9d9"
FILL_OPACITY = 0.85
MEASURES = ("total", "per_ha")
ZOOM = 9


def years(conn: Connection, province: str) -> list[int]:
    """Years with a finished estimate run (any scenario), oldest first."""
    return [r[0] for r in conn.execute(text(
        "SELECT DISTINCT year FROM estimate_run WHERE province_code = :p AND finished_at IS NOT NULL ORDER BY 1"),
        {"p": province})]


def classify(values: np.ndarray, k: int = 5) -> tuple[np.ndarray, list[float]]:
    """Class index per value (NaN → -1) and the upper bounds of the classes."""
    idx = np.full(len(values), -1, dtype=int)
    ok = ~np.isnan(values)
    distinct = np.unique(values[ok])
    if len(distinct) == 0:
        return idx, []
    if len(distinct) <= k:
        bins = [float(v) for v in distinct]
    else:
        with warnings.catch_warnings():  # "Numba not installed": the pure-Python path is fast enough for 102 communes
            warnings.simplefilter("ignore", UserWarning)
            bins = [float(b) for b in mapclassify.FisherJenks(values[ok], k=k).bins]
    idx[ok] = np.searchsorted(np.asarray(bins), values[ok], side="left")
    return idx, bins


def class_colors(n: int) -> list[str]:
    """``n`` colours spread over the palette (so two classes are light and dark, not two yellows)."""
    if n <= 0:
        return []
    pos = np.linspace(0, len(PALETTE) - 1, n).round().astype(int) if n > 1 else [len(PALETTE) - 1]
    return [PALETTE[i] for i in pos]


def province_map(conn: Connection, settings: Any, year: int | None = None, measure: str = "total",
                 opts: MapOptions | None = None) -> folium.Map:
    """The choropleth for ``year`` (default: the latest year with a run) and ``measure`` (total | per_ha)."""
    opts = opts or MapOptions()
    lang = opts.lang
    if measure not in MEASURES:
        raise ValueError(f"Chỉ tiêu không hợp lệ '{measure}' / unknown measure '{measure}' ({', '.join(MEASURES)})")
    prov = settings.province_code
    all_years = years(conn, prov)
    if year is None and all_years:
        year = all_years[-1]
    run = rollup.find_run(conn, year, prov) if year is not None else None
    totals: dict[str, dict[str, Any]] = {}
    if run is not None:
        totals = {r["commune_code"]: r for r in rollup.commune_totals(conn, run.id, province_code=prov)}

    tol = sqlgeo.tolerance_for_zoom(ZOOM)
    fc = sqlgeo.feature_collection(conn, basemap.COMMUNES_SQL, {"province": prov, "bbox": None, "w": 0, "s": 0,
                                                                "e": 0, "n": 0}, tolerance=tol)
    codes = [f["properties"]["code"] for f in fc["features"]]
    total_t = np.array([_t(totals.get(c)) for c in codes], dtype=float)
    per_ha = np.array([_per_ha(totals.get(c)) for c in codes], dtype=float)
    values = total_t if measure == "total" else per_ha
    idx, bins = classify(values)
    colors = class_colors(len(bins))
    for f, i, tv, ph in zip(fc["features"], idx, total_t, per_ha, strict=True):
        p = f["properties"]
        area = totals.get(p["code"], {}).get("area_ha")
        p["total_txt"] = fmt(tv, lang, 1) if not np.isnan(tv) else t("no_data", lang)
        p["per_ha_txt"] = fmt(ph, lang, 0) if not np.isnan(ph) else "–"
        p["area_txt"] = fmt(area, lang, 1) if area else "–"
        fill = colors[i] if i >= 0 else NO_DATA
        p["style"] = {"color": "#555", "weight": 0.7, "fillColor": fill, "fillOpacity": FILL_OPACITY}

    bounds = sqlgeo.bounds(conn, "SELECT geom FROM admin_unit WHERE level = 'province' AND code = :p", {"p": prov})
    m = page.start_map(opts, bounds, zoom=ZOOM)
    basemap.add_base(m, conn, settings, opts, zoom=ZOOM, boundaries=False)
    unit = t("t_co2e", lang) if measure == "total" else t("kg_ha", lang)
    name = f'{t(measure, lang)} ({unit})'
    folium.GeoJson(fc, name=name, tooltip=basemap.tooltip(
        fc, ["name", "total_txt", "per_ha_txt", "area_txt"],
        [t("commune", lang), f'{t("total", lang)} ({t("t_co2e", lang)})',
         f'{t("per_ha", lang)} ({t("kg_ha", lang)})', t("area_ha", lang)])).add_to(m)
    basemap.add_top(m, conn, settings, opts, zoom=ZOOM, labels_show=False)

    legend_items = _legend_items(bins, colors, measure, lang)
    legend_items.append((NO_DATA, t("no_data", lang)))
    page.legend(m, f"{t(measure, lang)} {year or ''} ({unit})", legend_items,
                note=f"run #{run.id} · {run.scenario}" if run else "")
    page.title_panel(m, opts, f'{t("province_map", lang)} — {settings.province_name}',
                     f'{t("year", lang)} {year}' if year else "",
                     _controls(opts, all_years, year, measure, run is not None))
    return m


def _t(r: dict[str, Any] | None) -> float:
    return float(r["co2e_g"]) / 1e6 if r and r.get("has_data") else np.nan


def _per_ha(r: dict[str, Any] | None) -> float:
    return float(r["intensity_kg_ha"]) if r and r.get("intensity_kg_ha") is not None else np.nan


def _legend_items(bins: list[float], colors: list[str], measure: str, lang: str) -> list[tuple[str, str]]:
    d = 1 if measure == "total" else 0
    out, lo = [], None
    for b, c in zip(bins, colors, strict=True):
        out.append((c, f"≤ {fmt(b, lang, d)}" if lo is None else f"{fmt(lo, lang, d)} – {fmt(b, lang, d)}"))
        lo = b
    return out


def _controls(opts: MapOptions, all_years: list[int], year: int | None, measure: str, has_run: bool) -> str:
    lang = opts.lang
    parts = []
    if not has_run:
        parts.append(f'<div class="cmrv-warn">{escape(t("no_run", lang))} {year or ""}</div>')
    if opts.served:
        ys = " ".join(
            f'<a class="cmrv-year{" cmrv-on" if y == year else ""}" href="{escape(opts.link(year=y))}">{y}</a>'
            for y in all_years)
        ms = " ".join(
            f'<a class="cmrv-measure{" cmrv-on" if mm == measure else ""}" '
            f'href="{escape(opts.link(measure=mm))}">{escape(t(mm, lang))}</a>' for mm in MEASURES)
        parts.append(f'<div class="cmrv-row">{t("year", lang)}: {ys}</div>')
        parts.append(f'<div class="cmrv-row">{t("measure", lang)}: {ms}</div>')
    return "".join(parts)
