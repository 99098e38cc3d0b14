"""SQL of the per-year emission layers, kept in one module so it can be swapped for the roll-up
engine's own function later.

A layer shows the *latest baseline run* of a year (highest ``estimate_run.id``): re-running a year
replaces what the map shows, while older runs stay queryable through ``/api/v1/runs``. Sums are
over integer grams (exact), converted to kg/t only for display. ``:year`` and ``:province`` are
bound parameters.
"""

from __future__ import annotations

YEARS = ("SELECT DISTINCT year FROM estimate_run WHERE scenario = 'baseline' AND province_code = :province "
         "ORDER BY year")

LATEST_RUN = ("(SELECT r.id FROM estimate_run r WHERE r.year = :year AND r.scenario = 'baseline' "
              "AND r.province_code = :province ORDER BY r.id DESC LIMIT 1)")

VERSION = (f"SELECT concat_ws(':', {LATEST_RUN}, (SELECT max(finished_at) FROM estimate_run WHERE year = :year), "
           "(SELECT max(id) FROM dataset WHERE layer IN ('admin_units', 'crop_zones')))")

_GASES = ("SELECT e.{key} AS k, max(e.run_id) AS run_id, sum(e.co2e_g) AS co2e_g, "
          "sum(e.mass_g) FILTER (WHERE e.gas = 'CH4') AS ch4_g, "
          "sum(e.mass_g) FILTER (WHERE e.gas = 'N2O') AS n2o_g, "
          "sum(e.mass_g) FILTER (WHERE e.gas = 'CO2') AS co2_g{extra} "
          "FROM estimate e WHERE e.run_id = " + LATEST_RUN + "{where} GROUP BY e.{key}")

_MASS_PROPS = [
    ("run_id", "s.run_id", "int", True),
    ("co2e_t", "s.co2e_g / 1e6", "float", True),
    ("co2e_kg", "s.co2e_g / 1e3", "float", False),
    ("ch4_kg", "s.ch4_g / 1e3", "float", False),
    ("n2o_kg", "s.n2o_g / 1e3", "float", False),
    ("co2_kg", "s.co2_g / 1e3", "float", False),
]

COMMUNES = {
    "title": "Phát thải theo xã {year} — commune emissions {year}",
    "description": "Commune totals (t CO2e and kg per gas) of the latest baseline estimate run of {year}.",
    "from": "admin_unit b JOIN (" + _GASES.format(key="commune_code", extra="", where="")
            + ") s ON s.k = b.code WHERE b.level = 'commune'",
    "id": "b.code", "id_type": "text",
    "props": [("commune_code", "b.code", "text", True), ("name", "b.name", "text", True),
              ("year", "CAST(:year AS integer)", "int", False), *_MASS_PROPS],
}

# Crop-zone results may point at superseded zones (ids are never reused), hence the history union.
CROP_ZONES = {
    "title": "Phát thải theo vùng trồng {year} — crop-zone emissions {year}",
    "description": "Per crop zone results of the latest baseline estimate run of {year}.",
    "from": "(SELECT id, commune_code, crop, area_ha, geom FROM crop_zone UNION ALL "
            "SELECT id, commune_code, crop, area_ha, geom FROM crop_zone_history) b JOIN ("
            + _GASES.format(key="crop_zone_id", extra="", where=" AND e.crop_zone_id IS NOT NULL")
            + ") s ON s.k = b.id",
    "id": "b.id", "id_type": "int",
    "props": [("crop_zone_id", "b.id", "int", True), ("commune_code", "b.commune_code", "text", True),
              ("crop", "b.crop", "text", True), ("area_ha", "b.area_ha", "float", False),
              ("year", "CAST(:year AS integer)", "int", False), *_MASS_PROPS],
}
