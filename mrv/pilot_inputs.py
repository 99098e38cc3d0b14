"""Pilot sites in an estimate run: which crop zones lie in a site, and which package they follow.

Baseline: zones in a pilot site that name no practice take the site's baseline package (filling only
what they did not report). Project: they take the project package *instead of* their practice — the
package's practice fields are the scenario (as in ``mrv.scenarios``) — and a site with no crop zone
inside is estimated from the site itself (package × site area).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from cropmrv.mrv.activity_pivot import issue
from cropmrv.mrv.packages import load_packages

_TEXT_PRACTICE = ("water_regime", "pre_season_regime", "straw_timing", "climate")


def pilot_sites(conn: Connection, province_code: str, year: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pilot sites, and the crop zones of the year lying mostly (> 50 % of their area) inside one."""
    sites = pd.DataFrame(conn.execute(text(
        "SELECT id, site_code, crop, commune_code, baseline_package, project_package, start_year, "
        "coalesce(area_ha, ST_Area(geom::geography) / 1e4) AS area_ha FROM pilot_site WHERE province_code = :p "
        "ORDER BY site_code"), {"p": province_code}).mappings().all(),
        columns=["id", "site_code", "crop", "commune_code", "baseline_package", "project_package", "start_year",
                 "area_ha"])
    if not len(sites):
        return sites, pd.DataFrame(columns=["crop_zone_id", "site_code"])
    inside = pd.DataFrame(conn.execute(text(
        "SELECT DISTINCT ON (z.id) z.id AS crop_zone_id, s.site_code FROM crop_zone z JOIN pilot_site s "
        "ON s.province_code = z.province_code AND ST_Intersects(z.geom, s.geom) "
        "WHERE z.province_code = :p AND (z.year = :y OR (z.year IS NULL AND coalesce(z.planted_year, 0) <= :y)) "
        "AND ST_Area(ST_Intersection(z.geom, s.geom)) > 0.5 * ST_Area(z.geom) ORDER BY z.id, s.site_code"),
        {"p": province_code, "y": year}).mappings().all(), columns=["crop_zone_id", "site_code"])
    return sites, inside


def apply_pilots(df: pd.DataFrame, sites: pd.DataFrame, inside: pd.DataFrame, scenario: str, year: int,
                  warnings: list[dict[str, Any]]) -> pd.DataFrame:
    packages = load_packages()
    col = "project_package" if scenario == "project" else "baseline_package"
    site_pkg = dict(zip(sites["site_code"], sites[col], strict=True))
    site_crop = dict(zip(sites["site_code"], sites["crop"], strict=True))
    zone_site = dict(zip(inside["crop_zone_id"], inside["site_code"], strict=True))
    if zone_site and "crop_zone_id" in df:
        czi = df["crop_zone_id"].to_numpy()
        site_of = pd.Series(czi).map(zone_site).to_numpy(dtype=object)
        site_of[pd.isna(site_of)] = None
        pkg_of = np.array([site_pkg.get(s) if s else None for s in site_of], dtype=object)
        crop = df["crop"].to_numpy(dtype=object)
        ok = np.array([p is not None and p in packages and packages[p].crop == c for p, c in zip(pkg_of, crop, strict=True)])
        idx = np.flatnonzero(ok)
        if len(idx):
            if scenario == "project":
                # the project practice replaces what the zone did: clear the package's fields first
                for code in sorted(set(pkg_of[idx])):
                    m = idx[pkg_of[idx] == code]
                    for f in (*packages[code].per_ha, *packages[code].practice):
                        df.loc[m, f] = None if f in _TEXT_PRACTICE else np.nan
                df.loc[idx, "practice_code"] = pkg_of[idx]
            else:
                no_code = idx[pd.isna(df["practice_code"].to_numpy(dtype=object)[idx])]
                df.loc[no_code, "practice_code"] = pkg_of[no_code]
            df.loc[idx, "pilot_site"] = site_of[idx]
    # a pilot site with no crop zone inside is estimated from the site itself (package × site area)
    covered = set(zone_site.values())
    extra = []
    for s in sites.itertuples(index=False):
        pkg = site_pkg.get(s.site_code)
        if s.site_code in covered or pkg is None or (s.start_year and s.start_year > year):
            continue
        if pkg not in packages or packages[pkg].crop != site_crop[s.site_code]:
            warnings.append(issue("pilot_package_mismatch", f"điểm trình diễn {s.site_code}: gói {pkg} không dùng được",
                                   f"pilot site {s.site_code}: package {pkg} is unknown or for another crop",
                                   site=s.site_code))
            continue
        extra.append({"id": f"p{s.site_code}", "commune_code": s.commune_code, "crop": packages[pkg].crop,
                      "area_ha": float(s.area_ha), "practice_code": pkg, "pilot_site": s.site_code})
    if extra:
        df = pd.concat([df, pd.DataFrame(extra)], ignore_index=True)
    return df
