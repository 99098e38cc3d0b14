"""The annual report as one self-contained HTML page (inline CSS and SVG charts, no CDN).

Why hand-made SVG: a horizontal bar chart is thirty lines of markup, prints well, needs no
JavaScript and no network — the report must open on an office PC without internet — and avoids a
plotting dependency for three charts. Print it to PDF from any browser (or ``chromium --headless
--print-to-pdf``).
"""

from __future__ import annotations

from html import escape
from typing import Any

from cropmrv.mrv.report import T, tonnes

CSS = """body{font-family:system-ui,'Segoe UI',Roboto,Arial,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.5em}h2{border-bottom:2px solid #5a8f5a;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}th,td{border:1px solid #ccc;padding:.25em .5em}
th{background:#ddebdd;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.total td{font-weight:bold;border-top:2px solid #333}.kv td:first-child{font-weight:bold}
svg text{font-size:11px;font-family:inherit}.note{color:#666;font-size:.85em}
@media print{h2{page-break-before:auto}table{page-break-inside:auto}}"""


def _n(v: Any, places: int = 3) -> str:
    if v is None:
        return "—"
    return f"{v:,.{places}f}"


def _cell(v: Any, places: int = 3) -> str:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return f'<td class="n">{_n(v, places)}</td>'
    return f"<td>{escape('—' if v is None else str(v))}</td>"


def table(header: list[str], rows: list[list[Any]], total: list[Any] | None = None) -> str:
    out = ["<table><thead><tr>", *(f"<th>{escape(h)}</th>" for h in header), "</tr></thead><tbody>"]
    for r in rows:
        out.append("<tr>" + "".join(_cell(v) for v in r) + "</tr>")
    if total:
        out.append('<tr class="total">' + "".join(_cell(v) for v in total) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def bars(items: list[tuple[str, float | None]], unit: str, colour: str = "#5a8f5a",
         second: list[float | None] | None = None, colour2: str = "#c9a227",
         names: tuple[str, str] | None = None) -> str:
    """Horizontal bar chart as inline SVG; negative values (removals) extend left of the axis."""
    vals = [v or 0 for _, v in items] + [v or 0 for v in (second or [])]
    if not items:
        return ""
    lo, hi = min(0.0, *vals), max(0.0, *vals)
    span = (hi - lo) or 1.0
    label_w, plot_w, row_h = 220, 520, 22 if second is None else 30
    top = 20 if second is not None and names else 0
    h = row_h * len(items) + 30 + top
    zero = label_w + plot_w * (0 - lo) / span
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + plot_w + 120}" height="{h}" role="img">']
    if top:
        for k, (nm, col) in enumerate(zip(names, (colour, colour2), strict=True)):
            out.append(f'<rect x="{label_w + 160 * k}" y="2" width="12" height="12" fill="{col}"/>'
                       f'<text x="{label_w + 160 * k + 16}" y="12">{escape(nm)}</text>')
    for i, (label, v) in enumerate(items):
        y = 10 + top + i * row_h
        out.append(f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end">{escape(label[:34])}</text>')
        series = [(v, colour)] + ([(second[i], colour2)] if second is not None else [])
        for k, (val, col) in enumerate(series):
            val = val or 0
            x0 = min(zero, zero + plot_w * val / span)
            w = abs(plot_w * val / span)
            yy = y + k * 12
            bh = 16 if second is None else 11
            out.append(f'<rect x="{x0:.1f}" y="{yy}" width="{max(w, .5):.1f}" height="{bh}" fill="{col}"/>')
            out.append(f'<text x="{max(x0 + w, zero) + 4:.1f}" y="{yy + bh - 3}">{_n(val, 1)} {escape(unit)}</text>')
    out.append(f'<line x1="{zero:.1f}" y1="5" x2="{zero:.1f}" y2="{h - 15}" stroke="#333"/></svg>')
    return "".join(out)


def render(data: dict[str, Any], lang: str = "vi") -> str:
    L = T[lang]
    s, run, q = data["summary"], data["run"], data["quality"]
    name = "label_vi" if lang == "vi" else "label_en"
    p: list[str] = [f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>'
                    f'{escape(L["title"].format(year=data["year"]))}</title><style>{CSS}</style></head><body>',
                    f'<h1>{escape(L["title"].format(year=data["year"]))}</h1>']
    kv = [(L["province"], f"{data['province_name']} ({data['province_code']})"),
          (L["run"], f"#{run['id']} ({run['scenario']}) {run['run_digest'][:12]}"),
          (L["factor_set"], f"{run['factor_set_code']} v{run['factor_set_version']}, GWP {run['gwp_set']}"),
          (L["total"], tonnes(s["co2e_g"])), (L["agri"], tonnes(s["agriculture_co2e_g"])),
          (L["lulucf"], tonnes(s["lulucf_co2e_g"])), (L["area"], float(s["area_ha"])),
          (L["intensity"], float(s["intensity_kg_ha"]) if s["intensity_kg_ha"] is not None else None),
          (L["prev"], tonnes(s["previous_co2e_g"])),
          (L["change"], float(s["change_pct"]) if s["change_pct"] is not None else None),
          (L["baseline"], tonnes(s["baseline_co2e_g"])), (L["reduction"], tonnes(s["reduction_g"])),
          (L["deadline"], data["deadline"].isoformat())]
    p.append(f'<h2>{escape(L["summary"])}</h2><table class="kv" id="summary">'
             + "".join(f"<tr><td>{escape(k)}</td>{_cell(v)}</tr>" for k, v in kv) + "</table>")

    p.append(f'<h2>{escape(L["by_category"])}</h2>')
    p.append(bars([(f"{c['crt']} {c[name]}", tonnes(c["co2e_g"])) for c in data["categories"]], "t CO2e",
                  second=[tonnes(c["baseline_co2e_g"]) for c in data["categories"]]
                  if data["baseline_run_id"] else None, names=(L["project"], L["baseline"])))
    p.append(table([L["category"], L["name"], L["co2e"], L["baseline"], L["reduction"]],
                   [[c["crt"], c[name], tonnes(c["co2e_g"]), tonnes(c["baseline_co2e_g"]), tonnes(c["reduction_g"])]
                    for c in data["categories"]]))

    communes = sorted(data["communes"], key=lambda c: -c["co2e_g"])
    p.append(f'<h2>{escape(L["by_commune"])}</h2>')
    p.append(bars([(c["commune_name"], tonnes(c["co2e_g"])) for c in communes[:15]], "t CO2e"))
    p.append(table([L["code"], L["name"], L["total"], L["area"], L["intensity"], L["change"], L["reduction"],
                    L["state"]],
                   [[c["commune_code"], c["commune_name"], tonnes(c["co2e_g"]), float(c["area_ha"]),
                     float(c["intensity_kg_ha"]) if c["intensity_kg_ha"] is not None else None,
                     float(c["change_pct"]) if c["change_pct"] is not None else None, tonnes(c["reduction_g"]),
                     L["states"][c["submission"]]] for c in communes],
                   total=["TOTAL", data["province_name"], tonnes(s["co2e_g"]), float(s["area_ha"]), None, None,
                          tonnes(s["reduction_g"]), None]))

    p.append(f'<h2>{escape(L["pilots"])}</h2>')
    p.append(bars([(pl["name"], tonnes(pl["b_g"])) for pl in data["pilots"]], "t CO2e",
                  second=[tonnes(pl["p_g"]) for pl in data["pilots"]], names=(L["baseline"], L["project"])))
    p.append(table([L["code"], L["site"], L["crop"], L["baseline"], L["project"], L["reduction"], "%"],
                   [[pl["site_code"], pl["name"], pl["crop"], tonnes(pl["b_g"]), tonnes(pl["p_g"]),
                     tonnes(pl["reduction_g"]), pl["reduction_pct"]] for pl in data["pilots"]]))

    p.append(f'<h2>{escape(L["targets"])}</h2>')
    p.append(bars([(f"{t[name] or t['indicator']} {t['year']}", t["achieved_pct"]) for t in data["targets"]], "%"))
    p.append(table([L["indicator"], L["year"], L["target"], L["unit"], L["actual"], L["achieved"], L["source"]],
                   [[t[name] or t["indicator"], str(t["year"]), t["target_value"], t["unit"], t["actual"],
                     t["achieved_pct"], t["source"]] for t in data["targets"]]))

    p.append(f'<h2>{escape(L["subs"])}</h2>')
    p.append(table([L["state"], "n"], [[L["states"][k], v] for k, v in data["submission_counts"].items()]))
    p.append(table([L["code"], L["name"], L["state"], L["comment"]],
                   [[r["commune_code"], r["commune_name"], L["states"][r["state"]], r["comment"]]
                    for r in data["submissions"] if r["state"] != "approved"]))

    p.append(f'<h2>{escape(L["quality"])}</h2>')
    p.append(table([L["unverified"], "status", "used_by_run", L["source"]],
                   [[u["key"], u["status"], "x" if u["used_by_run"] else "", u["source"]] for u in q["unverified"]]))
    p.append(table([L["flags"], "records"], [[k, v] for k, v in q["flags"].items()]))
    p.append(table([L["uncertainty"], "approach", "mean t", "low95 t", "high95 t"],
                   [[u["scope"], str(u["approach"]), u["mean_kg"] / 1000, u["low95_kg"] / 1000, u["high95_kg"] / 1000]
                    for u in q["uncertainty"]]))
    p.append(table([L["datasets"], "source", "features", "at"],
                   [[d["layer"], d["source_name"], d["feature_count"], d["loaded_at"].isoformat(timespec="minutes")]
                    for d in q["datasets"]]))
    p.append(f'<p class="note">cropmrv · run {run["id"]} · {escape(run["inputs_digest"][:16])}</p></body></html>')
    return "".join(p)
