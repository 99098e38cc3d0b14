"""The annual report (task V.4): emissions and reductions, pilots, targets, submissions, data quality.

:func:`gather` collects every figure once, from the roll-up functions (so the report's totals are
the roll-up's totals, to the gram), and the writers only lay them out: :func:`write_xlsx` here
(openpyxl, native charts) and ``mrv.report_html.render`` (self-contained HTML, inline SVG charts,
no CDN). Vietnamese by default, English on request (``lang='en'``). Masses are shown in tonnes
CO2e, converted from integer grams at the last step.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from cropmrv.mrv import crt, rollup, submissions, targets

T = {
    "vi": {"title": "Báo cáo phát thải khí nhà kính trong trồng trọt năm {year}", "province": "Tỉnh",
           "summary": "Tổng hợp", "by_category": "Theo hạng mục", "by_commune": "Theo xã",
           "pilots": "Mô hình thí điểm", "targets": "Mục tiêu kế hoạch", "subs": "Nộp báo cáo",
           "quality": "Chất lượng dữ liệu", "total": "Tổng phát thải ròng (t CO2e)",
           "agri": "Nông nghiệp (3.*) (t CO2e)", "lulucf": "Đất trồng trọt (4.B.1) (t CO2e)",
           "area": "Diện tích (ha)", "intensity": "Cường độ (kg CO2e/ha)", "prev": "Năm trước (t CO2e)",
           "change": "Thay đổi (%)", "baseline": "Kịch bản cơ sở (t CO2e)", "reduction": "Giảm phát thải (t CO2e)",
           "run": "Lượt tính", "factor_set": "Bộ hệ số", "code": "Mã", "name": "Tên", "category": "Hạng mục",
           "co2e": "t CO2e", "state": "Trạng thái", "late": "Trễ hạn", "comment": "Ghi chú", "site": "Mô hình",
           "crop": "Cây trồng", "project": "Dự án (t CO2e)", "indicator": "Chỉ tiêu", "year": "Năm",
           "target": "Mục tiêu", "unit": "Đơn vị", "actual": "Thực hiện", "achieved": "Đạt (%)",
           "basis": "Cách đo", "source": "Nguồn", "deadline": "Hạn nộp", "unverified": "Hệ số chưa kiểm chứng",
           "uncertainty": "Độ bất định (95 %)", "datasets": "Nguồn dữ liệu", "flags": "Cờ chất lượng",
           "tiers": "Bậc phương pháp", "submitted_at": "Ngày nộp", "approved_at": "Ngày duyệt", "none": "—",
           "states": {"missing": "Chưa nộp", "draft": "Nháp", "submitted": "Đã nộp", "late": "Trễ hạn",
                      "returned": "Trả lại", "approved": "Đã duyệt"}},
    "en": {"title": "Greenhouse-gas emissions from crop production, {year}", "province": "Province",
           "summary": "Summary", "by_category": "By category", "by_commune": "By commune",
           "pilots": "Pilot sites", "targets": "Plan targets", "subs": "Submissions", "quality": "Data quality",
           "total": "Net emissions (t CO2e)", "agri": "Agriculture (3.*) (t CO2e)",
           "lulucf": "Cropland (4.B.1) (t CO2e)", "area": "Area (ha)", "intensity": "Intensity (kg CO2e/ha)",
           "prev": "Previous year (t CO2e)", "change": "Change (%)", "baseline": "Baseline scenario (t CO2e)",
           "reduction": "Reduction (t CO2e)", "run": "Estimate run", "factor_set": "Factor set", "code": "Code",
           "name": "Name", "category": "Category", "co2e": "t CO2e", "state": "Status", "late": "Late",
           "comment": "Comment", "site": "Site", "crop": "Crop", "project": "Project (t CO2e)",
           "indicator": "Indicator", "year": "Year", "target": "Target", "unit": "Unit", "actual": "Actual",
           "achieved": "Achieved (%)", "basis": "Measured as", "source": "Source", "deadline": "Deadline",
           "unverified": "Unverified factors", "uncertainty": "Uncertainty (95 %)", "datasets": "Data sources",
           "flags": "Quality flags", "tiers": "Method tiers", "submitted_at": "Submitted", "approved_at": "Approved",
           "none": "—", "states": {"missing": "Missing", "draft": "Draft", "submitted": "Submitted", "late": "Late",
                                   "returned": "Returned", "approved": "Approved"}},
}


def tonnes(grams: int | None) -> float | None:
    return None if grams is None else float(Decimal(grams) / 10**6)


def _pilots(conn: Connection, province: str, project: int, baseline: int | None) -> list[dict[str, Any]]:
    """Each pilot site's CO2e under the baseline and the project run: estimate rows whose crop zone
    lies in the site (point on surface), or whose record id starts with the site code."""
    sql = text("""
        WITH zones AS (SELECT id, geom FROM crop_zone UNION ALL SELECT id, geom FROM crop_zone_history),
        site_zone AS (SELECT ps.site_code, z.id FROM pilot_site ps JOIN zones z
                      ON ST_Intersects(ps.geom, ST_PointOnSurface(z.geom)) WHERE ps.province_code = :p)
        SELECT ps.site_code, ps.name, ps.crop, ps.commune_code, ps.area_ha, ps.baseline_package,
               ps.project_package, ps.decision_ref,
               (SELECT sum(e.co2e_g) FROM estimate e WHERE e.run_id = :b AND (e.record_id LIKE ps.site_code || '%'
                 OR e.crop_zone_id IN (SELECT id FROM site_zone s WHERE s.site_code = ps.site_code)))::bigint AS b_g,
               (SELECT sum(e.co2e_g) FROM estimate e WHERE e.run_id = :r AND (e.record_id LIKE ps.site_code || '%'
                 OR e.crop_zone_id IN (SELECT id FROM site_zone s WHERE s.site_code = ps.site_code)))::bigint AS p_g
        FROM pilot_site ps WHERE ps.province_code = :p ORDER BY ps.site_code""")
    out = []
    for r in conn.execute(sql, {"p": province, "r": project, "b": baseline or -1}):
        d = dict(r._mapping)
        d["reduction_g"] = d["b_g"] - d["p_g"] if d["b_g"] is not None and d["p_g"] is not None else None
        d["reduction_pct"] = round(100 * d["reduction_g"] / d["b_g"], 1) if d["reduction_g"] is not None and d["b_g"] \
            else None
        out.append(d)
    return out


def _quality(conn: Connection, run: rollup.RunInfo) -> dict[str, Any]:
    flags = {r.flag: r.n for r in conn.execute(text(
        "SELECT f AS flag, count(*) AS n FROM estimate, unnest(flags) f WHERE run_id = :r GROUP BY f ORDER BY f"),
        {"r": run.id})}
    tiers = [dict(r._mapping) for r in conn.execute(text(
        "SELECT category, tier, count(*) AS records FROM estimate WHERE run_id = :r GROUP BY 1, 2 ORDER BY 1, 2"),
        {"r": run.id})]
    unverified = [dict(r._mapping) for r in conn.execute(text(
        "SELECT key, value, unit, status, source::text AS source FROM factor WHERE set_code = :c AND set_version = :v "
        "AND status <> 'verified' ORDER BY key"), {"c": run.factor_set_code, "v": run.factor_set_version})]
    listed = {u["key"] for u in unverified}
    unverified += [{"key": k, "value": None, "unit": None, "status": "unverified", "source": None}
                   for k in run.unverified_factors if k not in listed]
    used = set(run.unverified_factors)
    for u in unverified:
        u["used_by_run"] = u["key"] in used
    unc = [dict(r._mapping) for r in conn.execute(text(
        "SELECT scope, approach, mean_kg, low95_kg, high95_kg FROM estimate_uncertainty WHERE run_id = :r AND "
        "(scope = 'total' OR scope NOT LIKE 'commune:%') ORDER BY scope = 'total' DESC, scope, approach"),
        {"r": run.id})]
    datasets = [dict(r._mapping) for r in conn.execute(text(
        "SELECT layer, commune_code, source_name, sha256, feature_count, rejected_count, loaded_by, loaded_at "
        "FROM dataset WHERE province_code = :p AND status = 'active' ORDER BY layer, commune_code NULLS FIRST"),
        {"p": run.province_code})]
    return {"flags": flags, "tiers": tiers, "unverified": unverified, "uncertainty": unc, "datasets": datasets}


def gather(conn: Connection, year: int, province_code: str, province_name: str, *, run_id: int | None = None,
           deadline_setting: str = "11-10") -> dict[str, Any]:
    """Every figure of the report, from the roll-up (project run preferred, baseline for reductions)."""
    run = rollup.resolve_run(conn, year, province_code, run_id=run_id)
    prev = rollup.previous_run(conn, run)
    base = rollup.find_run(conn, year, province_code, "baseline") if run.scenario == "project" else None
    summary = rollup.province_summary(conn, run.id, prev.id if prev else None)
    communes = rollup.commune_totals(conn, run.id, prev.id if prev else None)
    base_c = {c["commune_code"]: c["co2e_g"] for c in rollup.commune_totals(conn, base.id)} if base else {}
    subs = {s["commune_code"]: s for s in submissions.status(conn, year, province_code, deadline_setting)}
    for c in communes:
        c["baseline_co2e_g"] = base_c.get(c["commune_code"]) if base else None
        c["reduction_g"] = c["baseline_co2e_g"] - c["co2e_g"] if c["baseline_co2e_g"] is not None else None
        c["submission"] = subs[c["commune_code"]]["state"] if c["commune_code"] in subs else "missing"

    def by_cat(rid: int) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for r in rollup.province_totals(conn, rid):
            d = out.setdefault(r["category"], {"co2e_g": 0})
            d["co2e_g"] += r["co2e_g"]
            d[f"{r['gas']}_g"] = d.get(f"{r['gas']}_g", 0) + r["mass_g"]
        return out

    cats, bcats = by_cat(run.id), (by_cat(base.id) if base else {})
    categories = []
    for code in sorted(set(cats) | set(bcats), key=lambda k: [c.crf for c in crt.CATEGORIES].index(crt.normalise(k))):
        meta = crt.by_crf()[crt.normalise(code)]
        d = cats.get(code, {"co2e_g": 0})
        b = bcats.get(code, {}).get("co2e_g") if base else None
        categories.append({"category": code, "crt": meta.crt, "label_vi": meta.label_vi, "label_en": meta.label_en,
                           **d, "baseline_co2e_g": b, "reduction_g": b - d["co2e_g"] if b is not None else None})
    baseline_total = rollup.province_summary(conn, base.id)["co2e_g"] if base else None
    return {
        "year": year, "province_code": province_code, "province_name": province_name, "run": run.as_dict(),
        "previous_run_id": prev.id if prev else None, "baseline_run_id": base.id if base else None,
        "summary": {**summary, "baseline_co2e_g": baseline_total,
                    "reduction_g": baseline_total - summary["co2e_g"] if baseline_total is not None else None},
        "communes": communes, "categories": categories, "pilots": _pilots(conn, province_code, run.id,
                                                                          base.id if base else None),
        "targets": targets.progress(conn, year, province_code, run.id),
        "submissions": list(subs.values()), "submission_counts": submissions.status_counts(list(subs.values())),
        "deadline": submissions.deadline(year, deadline_setting), "quality": _quality(conn, run),
    }


def write(data: dict[str, Any], path: Path, lang: str = "vi") -> Path:
    """Write the report; the format follows the suffix (.xlsx or .html)."""
    if lang not in T:
        raise ValueError(f"Ngôn ngữ '{lang}' không hỗ trợ / unsupported language '{lang}' (vi, en)")
    path = Path(path)
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".xlsx":
        from cropmrv.mrv.report_xlsx import write_xlsx

        write_xlsx(data, path, lang)
    elif suffix in (".html", ".htm"):
        from cropmrv.mrv.report_html import render

        path.write_text(render(data, lang), encoding="utf-8")
    else:
        raise ValueError(f"Định dạng báo cáo '{suffix}' không hỗ trợ (.xlsx, .html) / unsupported report format "
                         f"'{suffix}' (use .xlsx or .html)")
    return path
