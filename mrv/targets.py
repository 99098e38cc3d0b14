"""Plan targets (``plan_target``) and the progress the report measures against them.

The province edits its targets as a CSV (indicator, label_vi, label_en, year, target_value, unit,
source) and loads it with ``cropmrv targets load FILE``; the packaged seed
(``cropmrv/data/provinces/<code>/plan_targets.csv``) holds the sourced national targets and marks
the one illustrative figure. A load is a ``dataset`` row (layer ``plan_targets``) like any other
load, and upserts by (province, indicator, year).

Progress (:func:`progress`) is measured only where the platform holds the evidence, and says how:
* ``ghg_reduction_vs_2020_pct`` — agriculture (3.*) CO2e of the year's run vs the 2020 run;
* ``low_emission_models`` — pilot sites with a project package;
* ``low_emission_area_ha``, ``low_emission_coffee_ha``, ``awd_rice_ha`` — crop zones of the year whose
  practice package is a low-emission one (or AWD rice); an ``activity`` row with that ``item`` wins;
* ``farmers_trained`` — ``activity`` rows with that ``item`` for the year;
  ``low_emission_area_share_pct`` — the low-emission area over the crop-zone area of the year.
The sample data's names (``emission_reduction_pct``, ``pilot_models``) are accepted as aliases.
Anything else is shown with no actual value rather than a guess.
"""

from __future__ import annotations

import csv
import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from cropmrv.mrv import rollup

COLUMNS = ("indicator", "label_vi", "label_en", "year", "target_value", "unit", "source")


def seed_path(province_dir: Path) -> Path:
    return Path(province_dir) / "plan_targets.csv"


def read_csv(path: Path) -> list[dict[str, Any]]:
    path = Path(path)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path.name}: thiếu cột {', '.join(missing)} / missing columns {', '.join(missing)}")
        rows = []
        for i, r in enumerate(reader, start=2):
            try:
                rows.append({**{k: (r[k] or "").strip() or None for k in COLUMNS},
                             "year": int(r["year"]), "target_value": float(r["target_value"])})
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{path.name} dòng {i}: năm hoặc giá trị không phải số / line {i}: year or "
                                 f"target_value is not a number ({exc})") from exc
            if not rows[-1]["indicator"] or not rows[-1]["unit"]:
                raise ValueError(f"{path.name} dòng {i}: thiếu indicator/unit / line {i}: indicator and unit required")
    return rows


def load(conn: Connection, path: Path, province_code: str, loaded_by: str | None = None) -> int:
    """Upsert the targets of ``path`` for the province; returns the number of rows."""
    rows = read_csv(path)
    sha = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    active = conn.execute(text("SELECT id, sha256 FROM dataset WHERE layer = 'plan_targets' AND province_code = :p "
                               "AND commune_code IS NULL AND status = 'active'"), {"p": province_code}).first()
    prev = active.id if active is not None else None
    if active is not None and active.sha256 == sha:
        return len(rows)  # the same file again: a no-op, like every other load
    if prev is not None:
        conn.execute(text("UPDATE dataset SET status = 'superseded' WHERE id = :i"), {"i": prev})
    conn.execute(text("INSERT INTO dataset (layer, province_code, source_name, source_path, sha256, feature_count, "
                      "supersedes, loaded_by) VALUES ('plan_targets', :p, :n, :sp, :s, :c, :prev, "
                      "coalesce(:u, current_user))"),
                 {"p": province_code, "n": Path(path).name, "sp": str(path), "s": sha, "c": len(rows),
                  "prev": prev, "u": loaded_by})
    conn.execute(text(
        "INSERT INTO plan_target (province_code, indicator, label_vi, label_en, year, target_value, unit, source) "
        "VALUES (:p, :indicator, :label_vi, :label_en, :year, :target_value, :unit, :source) "
        "ON CONFLICT (province_code, indicator, year) DO UPDATE SET label_vi = EXCLUDED.label_vi, "
        "label_en = EXCLUDED.label_en, target_value = EXCLUDED.target_value, unit = EXCLUDED.unit, "
        "source = EXCLUDED.source"), [{**r, "p": province_code} for r in rows])
    return len(rows)


def list_targets(conn: Connection, province_code: str) -> list[dict[str, Any]]:
    rows = conn.execute(text("SELECT id, indicator, label_vi, label_en, year, target_value, unit, source FROM "
                             "plan_target WHERE province_code = :p ORDER BY indicator, year"), {"p": province_code})
    return [dict(r._mapping) for r in rows]


# Which crop zones count as "low-emission": the practice package names the practice (see
# mrv/packages: dl-coffee-low-emission, dl-rice-awd, dl-sugarcane-no-burning), or the rice water regime.
_LOW = "(practice_code ~* '(low.?emission|awd|no.?burn|phat.?thai.?thap)')"
_AWD = "(water_regime ~* '(awd|multiple)' OR irrigation_method = 'awd' OR practice_code ~* 'awd')"


def _activity_sum(conn: Connection, item: str, year: int, province_code: str) -> float | None:
    return conn.execute(text("SELECT sum(amount) FROM activity a JOIN dataset d ON d.id = a.dataset_id "
                             "WHERE a.item = :i AND a.year = :y AND a.province_code = :p AND d.status = 'active'"),
                        {"i": item, "y": year, "p": province_code}).scalar()


def actuals(conn: Connection, year: int, province_code: str, run_id: int | None = None) -> dict[str, dict[str, Any]]:
    """What the platform can measure for ``year``: {indicator: {value, basis}}."""
    out: dict[str, dict[str, Any]] = {}
    run = rollup.get_run(conn, run_id) if run_id else rollup.find_run(conn, year, province_code)
    base = rollup.find_run(conn, 2020, province_code, run.scenario) if run else None
    if run and base:  # also reported under the sample data's name, emission_reduction_pct
        now = rollup.province_summary(conn, run.id)["agriculture_co2e_g"]
        then = rollup.province_summary(conn, base.id)["agriculture_co2e_g"]
        if then:
            out["ghg_reduction_vs_2020_pct"] = out["emission_reduction_pct"] = {
                "value": float((Decimal(then - now) * 100 / Decimal(then)).quantize(Decimal("0.01"))),
                "basis": f"agriculture CO2e, run {run.id} vs 2020 run {base.id}"}
    models = conn.execute(text("SELECT count(*) FROM pilot_site WHERE province_code = :p AND project_package IS NOT "
                               "NULL AND (start_year IS NULL OR start_year <= :y)"),
                          {"p": province_code, "y": year}).scalar()
    out["low_emission_models"] = {"value": float(models), "basis": "pilot_site rows with a project package"}
    out["pilot_models"] = out["low_emission_models"]
    zones = conn.execute(text(f"""
        SELECT sum(area_ha) FILTER (WHERE crop = 'rice' AND {_AWD}) AS awd_rice_ha,
               sum(area_ha) FILTER (WHERE crop = 'coffee' AND {_LOW}) AS low_emission_coffee_ha,
               sum(area_ha) FILTER (WHERE {_LOW} OR (crop = 'rice' AND {_AWD})) AS low_emission_area_ha
        FROM crop_zone WHERE province_code = :p AND (year = :y OR year IS NULL)"""),
        {"p": province_code, "y": year}).first()
    for k, v in zones._mapping.items():
        if v is not None:
            out[k] = {"value": round(float(v), 2), "basis": "crop zones following a low-emission package "
                      "(practice code: low-emission / AWD / no-burning; rice water regime AWD)"}
    for item in ("farmers_trained", "low_emission_area_ha", "awd_rice_ha", "low_emission_coffee_ha"):
        v = _activity_sum(conn, item, year, province_code)
        if v is not None:
            out[item] = {"value": float(v), "basis": f"activity item '{item}', {year}"}
    area = conn.execute(text("SELECT sum(area_ha) FROM crop_zone WHERE province_code = :p AND (year = :y OR "
                             "year IS NULL)"), {"p": province_code, "y": year}).scalar()
    if "low_emission_area_ha" in out and area:
        out["low_emission_area_share_pct"] = {"value": round(100 * out["low_emission_area_ha"]["value"] / area, 2),
                                              "basis": "low_emission_area_ha / crop-zone area"}
    return out


def progress(conn: Connection, year: int, province_code: str, run_id: int | None = None) -> list[dict[str, Any]]:
    """Each target with the year's actual value (None where not measured) and the percent achieved
    (for reductions, areas and counts: actual / target). Targets of every year are listed so the
    report shows the path; ``due`` tells whether the target year has come."""
    act = actuals(conn, year, province_code, run_id)
    out = []
    for t in list_targets(conn, province_code):
        a = act.get(t["indicator"]) if t["year"] >= year else None
        if t["indicator"] == "farmers_trained" and t["year"] != year:
            a = None  # a yearly target: only this year's figure counts
        value = a["value"] if a else None
        out.append({**t, "actual": value, "basis": a["basis"] if a else None, "due": t["year"] <= year,
                    "achieved_pct": round(100 * value / t["target_value"], 1) if value is not None and t["target_value"]
                    else None})
    return out
