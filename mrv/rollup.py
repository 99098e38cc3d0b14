"""Commune → province roll-up of an estimate run, in set-based SQL.

One query shape feeds the API, the national export and the annual report, so the numbers agree
everywhere. Why integers: ``estimate.mass_g``/``co2e_g`` are integer grams, and every sum here is
an integer (or exact ``numeric``) sum, so the province total is *exactly* the sum of its communes —
no float drift between a report table and the export.

Pre-2025 commune codes: rows keyed to a code that is no longer a commune (``admin_unit_old``) are
carried to the new communes through ``admin_lineage`` shares (normalised to sum to 1 per old code).
Integer grams are split by the largest-remainder method, so the split conserves every gram: the
sum over the new communes equals the old row exactly. A code that is a current commune is used as
it is, even if it also appears in the lineage (GSO codes were reused by the reform).

Areas: a category's activity area counts each record once (the gases of one record share an area);
a commune's physical area counts each crop zone once (``crop_zone_id``, else ``record_id``), so
intensity per hectare is not inflated by double cropping or by the number of categories.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

SCENARIO_PREFERENCE = ("project", "baseline")


class RollupError(ValueError):
    """A roll-up cannot be made (message in Vietnamese and English)."""


@dataclass(frozen=True)
class RunInfo:
    id: int
    province_code: str
    year: int
    scenario: str
    factor_set_code: str
    factor_set_version: int
    gwp_set: str
    run_digest: str
    inputs_digest: str
    code_version: str
    unverified_factors: tuple[str, ...]
    finished_at: Any

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["unverified_factors"] = list(self.unverified_factors)
        d["finished_at"] = self.finished_at.isoformat() if self.finished_at else None
        return d


_RUN_COLS = ("id, province_code, year, scenario, factor_set_code, factor_set_version, gwp_set, run_digest, "
             "inputs_digest, code_version, unverified_factors, finished_at")


def _run(row) -> RunInfo:
    m = dict(row._mapping)
    m["unverified_factors"] = tuple(m["unverified_factors"] or ())
    return RunInfo(**m)


def get_run(conn: Connection, run_id: int) -> RunInfo:
    row = conn.execute(text(f"SELECT {_RUN_COLS} FROM estimate_run WHERE id = :i"), {"i": run_id}).first()
    if row is None:
        raise RollupError(f"Không có lượt tính {run_id} / estimate run {run_id} does not exist")
    return _run(row)


def find_run(conn: Connection, year: int, province_code: str, scenario: str | None = None) -> RunInfo | None:
    """The latest finished run of ``year`` for the province; ``scenario=None`` prefers project runs
    (the practices actually recorded) and falls back to baseline."""
    for sc in (scenario,) if scenario else SCENARIO_PREFERENCE:
        row = conn.execute(text(
            f"SELECT {_RUN_COLS} FROM estimate_run WHERE province_code = :p AND year = :y AND scenario = :s "
            "AND finished_at IS NOT NULL ORDER BY id DESC LIMIT 1"), {"p": province_code, "y": year, "s": sc}).first()
        if row is not None:
            return _run(row)
    return None


def resolve_run(conn: Connection, year: int, province_code: str, *, scenario: str | None = None,
                run_id: int | None = None) -> RunInfo:
    """``run_id`` if given (checked against province and year), else :func:`find_run`; raises if none."""
    if run_id is not None:
        run = get_run(conn, run_id)
        if run.year != year or run.province_code != province_code:
            raise RollupError(f"Lượt tính {run_id} là của tỉnh {run.province_code} năm {run.year}, không phải "
                              f"{province_code}/{year} / run {run_id} belongs to {run.province_code}/{run.year}")
        return run
    run = find_run(conn, year, province_code, scenario)
    if run is None:
        raise RollupError(f"Chưa có lượt tính nào cho năm {year} (tỉnh {province_code}) — chạy `cropmrv estimate "
                          f"--year {year}` / no finished estimate run for {year}: run `cropmrv estimate --year {year}`")
    return run


def previous_run(conn: Connection, run: RunInfo) -> RunInfo | None:
    """The run of the year before, same province and scenario (for year-on-year change)."""
    return find_run(conn, run.year - 1, run.province_code, run.scenario)


# ---------------------------------------------------------------------------------------------
# The shared CTEs: codes of the run mapped to current communes with weights summing to 1.
_MAP = """
WITH codes AS (SELECT DISTINCT commune_code AS src FROM estimate WHERE run_id = :run_id),
current_c AS (SELECT code FROM admin_unit WHERE level = 'commune'),
map AS (
    SELECT c.src, c.src AS new_code, 1::numeric AS w FROM codes c JOIN current_c u ON u.code = c.src
    UNION ALL
    SELECT l.old_code, l.new_code,
           l.area_share::numeric / sum(l.area_share::numeric) OVER (PARTITION BY l.old_code)
    FROM admin_lineage l JOIN codes c ON c.src = l.old_code
    WHERE l.old_code NOT IN (SELECT code FROM current_c)
)"""

# Largest-remainder split of integer totals: floor of each share, then one more gram to the
# shares with the largest fractional parts until the total is reached.
_CATEGORY_SQL = _MAP + """,
src AS (
    SELECT commune_code AS src, category, gas, sum(mass_g)::numeric AS tm, sum(co2e_g)::numeric AS tc
    FROM estimate WHERE run_id = :run_id GROUP BY 1, 2, 3
),
src_area AS (
    SELECT src, category, sum(a) AS area FROM (
        SELECT commune_code AS src, category, record_id, max(area_ha)::numeric AS a
        FROM estimate WHERE run_id = :run_id GROUP BY 1, 2, 3) r GROUP BY 1, 2
),
split AS (
    SELECT s.src, m.new_code, s.category, s.gas, s.tm, s.tc, s.tm * m.w AS rm, s.tc * m.w AS rc,
           floor(s.tm * m.w) AS bm, floor(s.tc * m.w) AS bc, round(coalesce(a.area, 0) * m.w, 6) AS area
    FROM src s JOIN map m ON m.src = s.src
    LEFT JOIN src_area a ON a.src = s.src AND a.category = s.category
),
ranked AS (
    SELECT *, tm - sum(bm) OVER k AS rem_m, tc - sum(bc) OVER k AS rem_c,
           row_number() OVER (PARTITION BY src, category, gas ORDER BY rm - bm DESC, new_code) AS rn_m,
           row_number() OVER (PARTITION BY src, category, gas ORDER BY rc - bc DESC, new_code) AS rn_c
    FROM split WINDOW k AS (PARTITION BY src, category, gas)
),
commune_cat AS (
    SELECT new_code AS commune_code, category, gas,
           sum(bm + CASE WHEN rn_m <= rem_m THEN 1 ELSE 0 END)::bigint AS mass_g,
           sum(bc + CASE WHEN rn_c <= rem_c THEN 1 ELSE 0 END)::bigint AS co2e_g,
           sum(area) AS area_ha
    FROM ranked GROUP BY 1, 2, 3
)"""

_ZONE_AREA_SQL = _MAP + """,
zones AS (
    SELECT commune_code AS src, coalesce(crop_zone_id::text, record_id) AS zone, max(area_ha)::numeric AS a
    FROM estimate WHERE run_id = :run_id GROUP BY 1, 2
)
SELECT m.new_code AS commune_code, round(sum(coalesce(z.a, 0) * m.w), 6) AS area_ha
FROM zones z JOIN map m ON m.src = z.src GROUP BY 1"""


def check_codes(conn: Connection, run_id: int) -> list[str]:
    """Commune codes of the run that are neither current communes nor pre-2025 codes with lineage."""
    rows = conn.execute(text(
        "SELECT DISTINCT e.commune_code FROM estimate e WHERE e.run_id = :r AND NOT EXISTS "
        "(SELECT 1 FROM admin_unit u WHERE u.code = e.commune_code AND u.level = 'commune') AND NOT EXISTS "
        "(SELECT 1 FROM admin_lineage l WHERE l.old_code = e.commune_code) ORDER BY 1"), {"r": run_id})
    return [r[0] for r in rows]


def _require_mapped(conn: Connection, run_id: int) -> None:
    bad = check_codes(conn, run_id)
    if bad:
        raise RollupError(f"Lượt tính {run_id} có mã xã không xác định (không có trong danh mục 2025 hay bảng "
                          f"chuyển đổi): {', '.join(bad[:20])} / run {run_id} has commune codes that are neither "
                          "2025 communes nor pre-2025 codes with lineage")


def commune_rows(conn: Connection, run_id: int) -> list[dict[str, Any]]:
    """One row per (commune, category, gas): ``mass_g`` and ``co2e_g`` (int grams), ``area_ha``
    (Decimal, activity area of the category), with the commune's name. Sorted by code, category, gas."""
    _require_mapped(conn, run_id)
    rows = conn.execute(text(_CATEGORY_SQL + """
        SELECT c.commune_code, u.name AS commune_name, c.category, c.gas, c.mass_g, c.co2e_g, c.area_ha
        FROM commune_cat c JOIN admin_unit u ON u.code = c.commune_code
        ORDER BY c.commune_code, c.category, c.gas"""), {"run_id": run_id})
    return [dict(r._mapping) for r in rows]


def province_totals(conn: Connection, run_id: int) -> list[dict[str, Any]]:
    """One row per (category, gas): the exact sums of :func:`commune_rows` (same CTE, summed in SQL)."""
    _require_mapped(conn, run_id)
    rows = conn.execute(text(_CATEGORY_SQL + """
        SELECT category, gas, sum(mass_g)::bigint AS mass_g, sum(co2e_g)::bigint AS co2e_g,
               sum(area_ha) AS area_ha, count(*) AS communes
        FROM commune_cat GROUP BY 1, 2 ORDER BY 1, 2"""), {"run_id": run_id})
    return [dict(r._mapping) for r in rows]


def commune_areas(conn: Connection, run_id: int) -> dict[str, Decimal]:
    """Physical area (ha) of the crop zones with estimates, per current commune."""
    _require_mapped(conn, run_id)
    return {r.commune_code: r.area_ha for r in conn.execute(text(_ZONE_AREA_SQL), {"run_id": run_id})}


def _sector(category: str) -> str:
    return "lulucf" if category.startswith("4") else "agriculture"


def commune_totals(conn: Connection, run_id: int, previous_run_id: int | None = None,
                   province_code: str | None = None) -> list[dict[str, Any]]:
    """One row per commune of the province (all of them, zero where no data): CO2e total (net),
    agriculture (3.*) and LULUCF (4.*) CO2e, mass by gas, physical area, intensity in kg CO2e/ha,
    and the change from ``previous_run_id`` (None where there is no previous value)."""
    run = get_run(conn, run_id)
    prov = province_code or run.province_code
    out: dict[str, dict[str, Any]] = {}
    for r in conn.execute(text("SELECT code, name FROM admin_unit WHERE level = 'commune' AND province_code = :p "
                               "ORDER BY code"), {"p": prov}):
        out[r.code] = {"commune_code": r.code, "commune_name": r.name, "co2e_g": 0, "agriculture_co2e_g": 0,
                       "lulucf_co2e_g": 0, "CO2_g": 0, "CH4_g": 0, "N2O_g": 0, "area_ha": Decimal(0),
                       "has_data": False}
    for r in commune_rows(conn, run_id):
        t = out.setdefault(r["commune_code"], {"commune_code": r["commune_code"], "commune_name": r["commune_name"],
                                               "co2e_g": 0, "agriculture_co2e_g": 0, "lulucf_co2e_g": 0,
                                               "CO2_g": 0, "CH4_g": 0, "N2O_g": 0, "area_ha": Decimal(0)})
        t["co2e_g"] += r["co2e_g"]
        t[f"{_sector(r['category'])}_co2e_g"] += r["co2e_g"]
        t[f"{r['gas']}_g"] += r["mass_g"]
        t["has_data"] = True
    for code, area in commune_areas(conn, run_id).items():
        out[code]["area_ha"] = area
    prev = {}
    if previous_run_id is not None:
        prev = {c["commune_code"]: c for c in commune_totals(conn, previous_run_id, None, prov)}
    for t in out.values():
        t["intensity_kg_ha"] = (Decimal(t["co2e_g"]) / 1000 / t["area_ha"]).quantize(Decimal("0.001")) \
            if t["area_ha"] else None
        p = prev.get(t["commune_code"])
        t["previous_co2e_g"] = p["co2e_g"] if p and p["has_data"] else None
        t["change_g"] = t["co2e_g"] - t["previous_co2e_g"] if t["previous_co2e_g"] is not None else None
        t["change_pct"] = (Decimal(100 * t["change_g"]) / abs(t["previous_co2e_g"])).quantize(Decimal("0.01")) \
            if t["previous_co2e_g"] else None
    return list(out.values())


def province_summary(conn: Connection, run_id: int, previous_run_id: int | None = None) -> dict[str, Any]:
    """Province totals in one dict: CO2e (net, agriculture, LULUCF), mass by gas, area, intensity and
    change — every figure the sum of :func:`commune_totals`."""
    rows = commune_totals(conn, run_id, previous_run_id)
    s: dict[str, Any] = {k: sum(r[k] for r in rows) for k in
                         ("co2e_g", "agriculture_co2e_g", "lulucf_co2e_g", "CO2_g", "CH4_g", "N2O_g", "area_ha")}
    s["run_id"] = run_id
    s["communes_with_data"] = sum(1 for r in rows if r["has_data"])
    s["intensity_kg_ha"] = (Decimal(s["co2e_g"]) / 1000 / s["area_ha"]).quantize(Decimal("0.001")) \
        if s["area_ha"] else None
    s["previous_run_id"] = previous_run_id
    if previous_run_id is not None:
        s["previous_co2e_g"] = province_summary(conn, previous_run_id)["co2e_g"]
        s["change_g"] = s["co2e_g"] - s["previous_co2e_g"]
        s["change_pct"] = (Decimal(100 * s["change_g"]) / abs(s["previous_co2e_g"])).quantize(Decimal("0.01")) \
            if s["previous_co2e_g"] else None
    else:
        s["previous_co2e_g"] = s["change_g"] = s["change_pct"] = None
    return s
