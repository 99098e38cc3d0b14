"""The annual report as an Excel workbook (openpyxl, with native bar charts).

One sheet per part of the report; the commune sheet ends with a total row that is the province
total of the roll-up, so a reader can check the sum in Excel itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from cropmrv.mrv.report import T, tonnes

HEAD = PatternFill("solid", fgColor="DDEBDD")
BOLD = Font(bold=True)


def _table(ws, header: list[str], rows: list[list[Any]], start_row: int = 1) -> int:
    for j, h in enumerate(header, start=1):
        c = ws.cell(row=start_row, column=j, value=h)
        c.font, c.fill = BOLD, HEAD
        c.alignment = Alignment(wrap_text=True, vertical="top")
    for i, row in enumerate(rows, start=start_row + 1):
        for j, v in enumerate(row, start=1):
            ws.cell(row=i, column=j, value=v)
    for j in range(1, len(header) + 1):
        ws.column_dimensions[get_column_letter(j)].width = 16 if j > 2 else 22
    ws.freeze_panes = ws.cell(row=start_row + 1, column=1)
    return start_row + len(rows)


def _bar(ws, title: str, cats: tuple[int, int, int], data_cols: list[int], first: int, last: int, anchor: str,
         y_title: str, horizontal: bool = False) -> None:
    if last < first:
        return
    ch = BarChart()
    ch.type = "bar" if horizontal else "col"
    ch.title, ch.y_axis.title = title, y_title
    ch.height, ch.width = 9, 18
    for col in data_cols:
        ch.add_data(Reference(ws, min_col=col, min_row=first - 1, max_row=last), titles_from_data=True)
    ch.set_categories(Reference(ws, min_col=cats[0], min_row=first, max_row=last))
    ws.add_chart(ch, anchor)


def write_xlsx(data: dict[str, Any], path: Path, lang: str = "vi") -> None:
    L = T[lang]
    s, run = data["summary"], data["run"]
    wb = Workbook()
    ws = wb.active
    ws.title = L["summary"]
    ws["A1"] = L["title"].format(year=data["year"])
    ws["A1"].font = Font(bold=True, size=14)
    rows = [
        [L["province"], f"{data['province_name']} ({data['province_code']})"],
        [L["run"], f"#{run['id']} ({run['scenario']}), {run['run_digest'][:12]}"],
        [L["factor_set"], f"{run['factor_set_code']} v{run['factor_set_version']}, GWP {run['gwp_set']}"],
        [L["total"], tonnes(s["co2e_g"])], [L["agri"], tonnes(s["agriculture_co2e_g"])],
        [L["lulucf"], tonnes(s["lulucf_co2e_g"])],
        ["CH4 (t)", tonnes(s["CH4_g"])], ["N2O (t)", tonnes(s["N2O_g"])], ["CO2 (t)", tonnes(s["CO2_g"])],
        [L["area"], float(s["area_ha"])],
        [L["intensity"], float(s["intensity_kg_ha"]) if s["intensity_kg_ha"] is not None else None],
        [L["prev"], tonnes(s["previous_co2e_g"])],
        [L["change"], float(s["change_pct"]) if s["change_pct"] is not None else None],
        [L["baseline"], tonnes(s["baseline_co2e_g"])], [L["reduction"], tonnes(s["reduction_g"])],
        [L["deadline"], data["deadline"].isoformat()],
    ] + [[f"{L['subs']}: {L['states'][k]}", v] for k, v in data["submission_counts"].items()]
    for i, (k, v) in enumerate(rows, start=3):
        ws.cell(row=i, column=1, value=k).font = BOLD
        ws.cell(row=i, column=2, value=v)
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 38, 40

    # by category, with the chart a person would rather look at
    cs = wb.create_sheet(L["by_category"])
    name = "label_vi" if lang == "vi" else "label_en"
    crows = [[c["crt"], c[name], tonnes(c["co2e_g"]), tonnes(c.get("CH4_g")), tonnes(c.get("N2O_g")),
              tonnes(c.get("CO2_g")), tonnes(c["baseline_co2e_g"]), tonnes(c["reduction_g"])] for c in data["categories"]]
    last = _table(cs, [L["category"], L["name"], L["co2e"], "CH4 (t)", "N2O (t)", "CO2 (t)", L["baseline"],
                       L["reduction"]], crows)
    _bar(cs, L["by_category"], (1, 2, last), [3], 2, last, "J2", L["co2e"])

    # by commune, ending with the province total
    ms = wb.create_sheet(L["by_commune"])
    mrows = [[c["commune_code"], c["commune_name"], tonnes(c["co2e_g"]), tonnes(c["agriculture_co2e_g"]),
              tonnes(c["lulucf_co2e_g"]), tonnes(c["CH4_g"]), tonnes(c["N2O_g"]), tonnes(c["CO2_g"]),
              float(c["area_ha"]), float(c["intensity_kg_ha"]) if c["intensity_kg_ha"] is not None else None,
              tonnes(c["previous_co2e_g"]), float(c["change_pct"]) if c["change_pct"] is not None else None,
              tonnes(c["baseline_co2e_g"]), tonnes(c["reduction_g"]), L["states"][c["submission"]]]
             for c in sorted(data["communes"], key=lambda c: -c["co2e_g"])]
    header = [L["code"], L["name"], L["total"], L["agri"], L["lulucf"], "CH4 (t)", "N2O (t)", "CO2 (t)", L["area"],
              L["intensity"], L["prev"], L["change"], L["baseline"], L["reduction"], L["state"]]
    last = _table(ms, header, mrows)
    total = ["TOTAL", data["province_name"], tonnes(s["co2e_g"]), tonnes(s["agriculture_co2e_g"]),
             tonnes(s["lulucf_co2e_g"]), tonnes(s["CH4_g"]), tonnes(s["N2O_g"]), tonnes(s["CO2_g"]),
             float(s["area_ha"])]
    for j, v in enumerate(total, start=1):
        ms.cell(row=last + 1, column=j, value=v).font = BOLD
    top = min(last, 16)
    _bar(ms, L["by_commune"] + " (top 15)", (2, 2, top), [3], 2, top, "Q2", L["co2e"], horizontal=True)

    ps = wb.create_sheet(L["pilots"])
    prow = [[p["site_code"], p["name"], p["crop"], p["commune_code"], p["area_ha"], tonnes(p["b_g"]), tonnes(p["p_g"]),
             tonnes(p["reduction_g"]), p["reduction_pct"], p["baseline_package"], p["project_package"]]
            for p in data["pilots"]]
    last = _table(ps, [L["code"], L["site"], L["crop"], L["by_commune"], L["area"], L["baseline"], L["project"],
                       L["reduction"], "%", "baseline package", "project package"], prow)
    _bar(ps, L["pilots"], (2, 2, last), [6, 7], 2, last, "M2", L["co2e"])

    ts = wb.create_sheet(L["targets"])
    lab = "label_vi" if lang == "vi" else "label_en"
    trow = [[t[lab] or t["indicator"], t["year"], t["target_value"], t["unit"], t["actual"], t["achieved_pct"],
             t["basis"], t["source"]] for t in data["targets"]]
    last = _table(ts, [L["indicator"], L["year"], L["target"], L["unit"], L["actual"], L["achieved"], L["basis"],
                       L["source"]], trow)
    _bar(ts, L["achieved"], (1, 2, last), [6], 2, last, "J2", "%", horizontal=True)

    ss = wb.create_sheet(L["subs"])
    srow = [[r["commune_code"], r["commune_name"], L["states"][r["state"]], r["status"], "x" if r["late"] else "",
             r["submitted_at"].replace(tzinfo=None) if r["submitted_at"] else None,
             r["approved_at"].replace(tzinfo=None) if r["approved_at"] else None, r["comment"]]
            for r in data["submissions"]]
    _table(ss, [L["code"], L["name"], L["state"], "status", L["late"], L["submitted_at"], L["approved_at"],
                L["comment"]], srow)

    qs = wb.create_sheet(L["quality"])
    q = data["quality"]
    r = _table(qs, [L["unverified"], "value", "unit", "status", "used_by_run", L["source"]],
               [[u["key"], u["value"], u["unit"], u["status"], "x" if u["used_by_run"] else "", u["source"]]
                for u in q["unverified"]])
    r = _table(qs, [L["flags"], "records"], [[k, v] for k, v in q["flags"].items()], start_row=r + 2)
    r = _table(qs, [L["tiers"], "tier", "records"], [[t["category"], t["tier"], t["records"]] for t in q["tiers"]],
               start_row=r + 2)
    r = _table(qs, [L["uncertainty"], "approach", "mean t", "low95 t", "high95 t"],
               [[u["scope"], u["approach"], u["mean_kg"] / 1000, u["low95_kg"] / 1000, u["high95_kg"] / 1000]
                for u in q["uncertainty"]], start_row=r + 2)
    _table(qs, [L["datasets"], "commune", "source", "sha256", "features", "rejected", "by", "at"],
           [[d["layer"], d["commune_code"], d["source_name"], d["sha256"][:16], d["feature_count"],
             d["rejected_count"], d["loaded_by"], d["loaded_at"].replace(tzinfo=None)] for d in q["datasets"]],
           start_row=r + 2)
    qs.freeze_panes = None
    wb.properties.title = L["title"].format(year=data["year"])
    wb.properties.keywords = json.dumps({"run_id": run["id"], "co2e_g": s["co2e_g"]})
    wb.save(path)
