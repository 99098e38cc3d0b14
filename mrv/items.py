"""The activity item vocabulary: what a row of the ``activity`` table may say, in which units.

One place for everyone who writes or reads ``activity`` (the CSV/XLSX ingest, the sample generator,
the estimate run). The ``activity`` table is long: one row per (commune, zone, year, season, crop,
item) with ``amount`` (a number) or ``value_text`` (a code), and ``unit``. The estimate run pivots it
into one activity record per crop zone and season (``cropmrv.mrv.records`` fields) with
:func:`convert_amounts`.

How rows become records (``mrv.inputs``):

* ``zone_code`` set → the row belongs to the crop zone with that ``zone_code`` in the same year; when
  ``season`` is set it must match the zone's season. Zone columns (crop, area, practice, water
  regime, planted year) fill the record; activity items override them.
* ``zone_code`` null → commune-level statistics without geometry: one record per
  (commune, crop, season); the item ``area_ha`` is then required.
* ``old_commune_code`` set (a pre-1 July 2025 GSO code from ``admin_unit_old``) → the record is
  carried to the new communes through ``admin_lineage.area_share`` (area and totals × share; rates
  per ha unchanged), so the sum over the new communes equals the old record.

Units: every item has a canonical unit (the record field's unit). Other units listed in ``units``
are converted; per-hectare units of total amounts are multiplied by the record's area. A unit not
listed is an error, never a guess. A blank unit means the canonical one.

Nulls: an item that is absent, or present with a null amount, is *not reported* (NaN), never zero.
Write 0 for "none applied".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["total", "rate", "count", "fraction", "code"]

# factor → multiply; "per_ha" → multiply by area too; "by_area" → divide by area (total → rate)


@dataclass(frozen=True)
class Item:
    """One activity item: its record field, canonical unit, accepted units and meaning."""

    name: str
    kind: Kind
    unit: str
    units: dict[str, tuple[float, str]]  # unit → (factor, how: "" | "per_ha" | "by_area")
    vi: str
    en: str


_MASS_TOTAL = {"kg": (1.0, ""), "t": (1000.0, ""), "tấn": (1000.0, ""), "kg/ha": (1.0, "per_ha"),
               "t/ha": (1000.0, "per_ha")}
_RATE_T_HA = {"t/ha": (1.0, ""), "tấn/ha": (1.0, ""), "kg/ha": (0.001, ""), "t": (1.0, "by_area"),
              "kg": (0.001, "by_area")}
_FRACTION = {"1": (1.0, ""), "fraction": (1.0, ""), "%": (0.01, "")}
_AREA = {"ha": (1.0, ""), "m2": (1e-4, ""), "m²": (1e-4, "")}

ITEMS: dict[str, Item] = {i.name: i for i in [
    Item("area_ha", "total", "ha", _AREA, "diện tích gieo trồng/thu hoạch", "sown/harvested area"),
    Item("n_synthetic_kg", "total", "kg", _MASS_TOTAL, "N từ phân vô cơ (kể cả N trong urê)",
         "synthetic fertiliser N (including urea N)"),
    Item("n_organic_kg", "total", "kg", _MASS_TOTAL, "N từ phân hữu cơ", "organic fertiliser N"),
    Item("urea_kg", "total", "kg", _MASS_TOTAL, "khối lượng urê bón", "urea applied (product mass)"),
    Item("limestone_kg", "total", "kg", _MASS_TOTAL, "vôi đá CaCO3", "limestone CaCO3"),
    Item("dolomite_kg", "total", "kg", _MASS_TOTAL, "đôlômit CaMg(CO3)2", "dolomite CaMg(CO3)2"),
    Item("straw_t_dm_ha", "rate", "t/ha", _RATE_T_HA, "rơm vùi (chất khô)", "straw incorporated (dry matter)"),
    Item("compost_t_ha", "rate", "t/ha", _RATE_T_HA, "phân ủ (tươi)", "compost (fresh weight)"),
    Item("manure_t_ha", "rate", "t/ha", _RATE_T_HA, "phân chuồng (tươi)", "farmyard manure (fresh weight)"),
    Item("green_manure_t_ha", "rate", "t/ha", _RATE_T_HA, "phân xanh (tươi)", "green manure (fresh weight)"),
    Item("yield_t_ha", "rate", "t/ha", _RATE_T_HA, "năng suất (tươi)", "yield (fresh weight)"),
    Item("cultivation_days", "count", "d", {"d": (1.0, ""), "ngày": (1.0, ""), "days": (1.0, "")},
         "thời gian canh tác (ngày)", "cultivation period (days)"),
    Item("residue_burned_fraction", "fraction", "1", _FRACTION, "tỷ lệ phụ phẩm bị đốt",
         "share of residues burnt"),
    Item("residue_removed_fraction", "fraction", "1", _FRACTION, "tỷ lệ phụ phẩm thu gom",
         "share of residues removed"),
    Item("planted_year", "count", "year", {"year": (1.0, ""), "năm": (1.0, "")}, "năm trồng", "planting year"),
    Item("age_years", "count", "year", {"year": (1.0, ""), "năm": (1.0, "")}, "tuổi vườn cây", "stand age"),
    Item("cleared_area_ha", "total", "ha", _AREA, "diện tích phá bỏ/tái canh", "area cleared (replanting)"),
    Item("water_regime", "code", "", {}, "chế độ nước trong vụ", "water regime during cultivation"),
    Item("pre_season_regime", "code", "", {}, "chế độ nước trước vụ", "pre-season water regime"),
    Item("straw_timing", "code", "", {}, "thời điểm vùi rơm (lt30|gt30)", "straw incorporation timing"),
    Item("climate", "code", "", {}, "khí hậu (wet|dry)", "climate (wet|dry)"),
    Item("practice_code", "code", "", {}, "mã gói kỹ thuật", "practice package code"),
]}

NUMERIC_ITEMS = [n for n, i in ITEMS.items() if i.kind != "code"]
CODE_ITEMS = [n for n, i in ITEMS.items() if i.kind == "code"]
ADDITIVE_ITEMS = frozenset(n for n, i in ITEMS.items() if i.kind == "total")
"""Items whose duplicate rows for one record add up (two urea applications); others must agree."""

# crop_zone columns → record vocabulary (the schema's crop and season lists are the GIS side's).
CROP_FROM_ZONE = {
    "coffee": "coffee", "pepper": "pepper", "durian": "durian", "rice": "rice", "sugarcane": "sugarcane",
    "cassava": "cassava", "maize": "maize", "cashew": "cashew", "rubber": "rubber", "tea": "other_perennial",
    "fruit_other": "other_perennial", "vegetables": "other_annual", "other_annual": "other_annual",
    "other_perennial": "other_perennial",
}
SEASON_FROM_ZONE = {
    "dong_xuan": "winter_spring", "he_thu": "summer_autumn", "thu_dong": "autumn_winter", "mua": "main",
    "annual": "annual", "perennial": None,
    # the record vocabulary itself is accepted too
    "winter_spring": "winter_spring", "summer_autumn": "summer_autumn", "autumn_winter": "autumn_winter",
    "main": "main",
}
WATER_REGIME_FROM_IRRIGATION = {"awd": "multiple_drainage_awd", "continuous_flooding": "continuously_flooded"}


def unit_rule(item: str, unit: str | None) -> tuple[float, str] | None:
    """(factor, how) to bring ``unit`` to the item's canonical unit; None if the unit is not accepted."""
    it = ITEMS[item]
    u = (unit or "").strip()
    if u == "" or u == it.unit:
        return (1.0, "")
    return it.units.get(u) or it.units.get(u.lower())


def describe() -> list[dict[str, str]]:
    """The vocabulary as a table (for docs, the ingest template and `cropmrv` help)."""
    return [{"item": i.name, "kind": i.kind, "unit": i.unit, "accepted_units": ", ".join(i.units),
             "vi": i.vi, "en": i.en} for i in ITEMS.values()]
