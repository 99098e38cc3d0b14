"""Activity records for one year, read from PostGIS: crop zones + the long ``activity`` table → records.

The estimate run needs one record per crop zone and season (``cropmrv.mrv.records`` fields). Here:

1. crop zones of the year are read with ``COPY … TO STDOUT`` (CSV parsed by pyarrow): a million
   zones in a few seconds, where row fetches through a cursor would take minutes;
2. ``activity`` rows are read the same way and pivoted with numpy (item × record matrix; duplicate
   rows of additive items are summed, conflicting duplicates of other items are an error);
3. units are converted with the vocabulary of ``cropmrv.mrv.items`` (an unknown item or unit is
   reported, never guessed);
4. records keyed to pre-2025 communes are split over the new communes by ``admin_lineage.area_share``;
5. practice packages fill what was not reported (``mrv.packages.apply_package``, flagged
   ``from_norms``); in the ``project`` scenario, zones inside a pilot site take the site's project
   package *instead of* their practice (the package's practice fields are the scenario, as in
   ``mrv.scenarios``), and pilot sites without crop zones are estimated from the site itself.

Records come out in a canonical order (zones by id, then commune records by id), so the inputs
digest depends only on the data, never on the order the database returned it in.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql
from sqlalchemy import Connection, text

from cropmrv.mrv.activity_pivot import InputError, issue, map_codes, map_values, pivot, text_codes
from cropmrv.mrv.arrow_io import copy_query, read_table
from cropmrv.mrv.items import (
    CROP_FROM_ZONE,
    SEASON_FROM_ZONE,
    WATER_REGIME_FROM_IRRIGATION,
)
from cropmrv.mrv.packages import PER_HA_FIELDS, apply_package, load_packages
from cropmrv.mrv.pilot_inputs import apply_pilots, pilot_sites
from cropmrv.mrv.records import CROPS, FIELDS, WATER_REGIMES

SCENARIOS = ("baseline", "project")


@dataclass
class Inputs:
    """Records ready for ``calculate`` plus what the reading noticed."""

    records: pd.DataFrame
    warnings: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


_ZONE_TYPES = {"id": pa.int64(), "zone_code": pa.string(), "commune_code": pa.string(), "crop": pa.string(),
               "season": pa.string(), "area_ha": pa.float64(), "practice_code": pa.string(),
               "planted_year": pa.float64(), "irrigation_method": pa.string(), "water_regime": pa.string()}
_ACT_TYPES = {"commune_code": pa.string(), "old_commune_code": pa.string(), "zone_code": pa.string(),
              "season": pa.string(), "crop": pa.string(), "item": pa.string(), "amount": pa.float64(),
              "value_text": pa.string(), "unit": pa.string()}


def read_zones(conn: Connection, year: int, province_code: str, arrow_url: str | None = None) -> pa.Table:
    """Crop zones that grow in ``year``: the year's seasons, and perennials without a year planted by then."""
    q = sql.SQL(
        "SELECT id, zone_code, commune_code, crop, season, area_ha, practice_code, planted_year, "
        "irrigation_method, water_regime FROM crop_zone WHERE province_code = {p} AND "
        "(year = {y} OR (year IS NULL AND coalesce(planted_year, 0) <= {y}))"
    ).format(p=sql.Literal(province_code), y=sql.Literal(int(year)))
    return read_table(conn, q, _ZONE_TYPES, arrow_url)


def read_activity(conn: Connection, year: int, province_code: str, arrow_url: str | None = None,
                  zones: bool | None = None) -> pa.Table:
    """Activity rows of the year: ``zones=True`` only rows keyed to a crop zone (without the commune
    and crop columns, which the zone gives — a third less to move for millions of rows),
    ``zones=False`` only commune-level rows, ``None`` all rows with every column."""
    cols = list(_ACT_TYPES) if zones is not True else ["zone_code", "season", "item", "amount", "value_text", "unit"]
    where = {True: " AND zone_code IS NOT NULL", False: " AND zone_code IS NULL", None: ""}[zones]
    q = sql.SQL("SELECT {cols} FROM activity WHERE province_code = {p} AND year = {y}" + where).format(
        cols=sql.SQL(", ").join(map(sql.Identifier, cols)), p=sql.Literal(province_code), y=sql.Literal(int(year)))
    return read_table(conn, q, {c: _ACT_TYPES[c] for c in cols}, arrow_url)


# ------------------------------------------------------------------------------------------ build
def _zone_records(zones_t: pa.Table, act: pa.Table, warnings: list[dict[str, Any]]) -> pd.DataFrame:
    """One record per crop zone (ordered by id), with the zone's activity rows pivoted onto it.

    Key matching runs in Arrow (dictionary encoding, hash lookups in C++): a million zones and
    several million activity rows in about a second, where pandas string categoricals take many."""
    zones_t = zones_t.sort_by("id")
    n = zones_t.num_rows
    ids = zones_t.column("id").to_numpy()
    record_ids = pc.binary_join_element_wise("z", pc.cast(zones_t.column("id"), pa.string()), "") \
        .to_numpy(zero_copy_only=False)
    crop_i, crop_u = text_codes(zones_t.column("crop"))
    sea_i, sea_u = text_codes(zones_t.column("season"))
    season = map_codes(sea_i, sea_u, SEASON_FROM_ZONE)
    df = pd.DataFrame({
        "id": record_ids, "crop_zone_id": ids,
        "commune_code": zones_t.column("commune_code").to_numpy(zero_copy_only=False),
        "crop": map_codes(crop_i, crop_u, CROP_FROM_ZONE, set(CROPS)),
        "season": season,
        "area_ha": zones_t.column("area_ha").to_numpy(zero_copy_only=False).astype(float),
        "practice_code": zones_t.column("practice_code").to_numpy(zero_copy_only=False),
        "planted_year": zones_t.column("planted_year").to_numpy(zero_copy_only=False).astype(float),
    })
    wr_i, wr_u = text_codes(zones_t.column("water_regime"))
    ir_i, ir_u = text_codes(zones_t.column("irrigation_method"))
    wr = np.array([u if u in WATER_REGIMES else None for u in wr_u] + [None], dtype=object)[wr_i]
    # an irrigation method that implies no water regime (drip, sprinkler, rainfed on upland crops) gives none
    from_irrigation = np.array([WATER_REGIME_FROM_IRRIGATION.get(u) for u in ir_u] + [None], dtype=object)[ir_i]
    df["water_regime"] = np.where(pd.notna(wr), wr, from_irrigation)
    if not act.num_rows:
        return df
    # match activity rows to zones: (zone_code, season) when the row has a season, else zone_code alone
    zenc = pc.dictionary_encode(zones_t.column("zone_code")).combine_chunks()
    zdict = zenc.dictionary
    zz = zenc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    az = pc.index_in(act.column("zone_code"), value_set=zdict).fill_null(-1).to_numpy(zero_copy_only=False) \
        .astype(np.int64)
    asi, asu = text_codes(act.column("season"))
    sea_cat = sorted({v for v in SEASON_FROM_ZONE.values() if v})
    s_code = {v: i for i, v in enumerate(sea_cat)}
    zs = np.array([s_code.get(v, -1) for v in [*(SEASON_FROM_ZONE.get(u) for u in sea_u), None]])[sea_i]
    as_ = np.array([s_code.get(SEASON_FROM_ZONE.get(u), -1) for u in asu] + [-1])[asi]
    nz = len(zdict)
    valid = zz >= 0
    cnt = np.bincount(zz[valid], minlength=nz)
    first = np.full(nz, -1, dtype=np.int64)
    first[zz[valid][::-1]] = np.flatnonzero(valid)[::-1]
    rec = np.full(act.num_rows, -1, dtype=np.int64)
    hit = az >= 0
    single = hit & (cnt[np.maximum(az, 0)] == 1)
    rec[single] = first[az[single]]
    # a season given on the row must agree with the zone's (a single zone of that code)
    clash = single & (as_ >= 0) & (zs[np.maximum(rec, 0)] != as_)
    rec[clash] = -1
    multi = hit & (cnt[np.maximum(az, 0)] > 1)
    ambiguous = multi & (as_ < 0)
    if multi.any():
        nseason = len(sea_cat) + 1
        key_z = np.where(valid, zz * nseason + (zs + 1), -1)
        kz = pd.Index(key_z)
        if not kz[valid].is_unique:
            dup = pd.Series(record_ids)[kz.duplicated(keep=False) & valid]
            raise InputError("Trùng mã vùng trồng và vụ trong cùng năm / the same zone_code and season appear on "
                             f"several crop zones this year: {', '.join(map(str, dup.head(5)))}")
        with_season = multi & (as_ >= 0)
        rec[with_season] = kz.get_indexer(az[with_season] * nseason + (as_[with_season] + 1))
        amb = int((multi & (as_ < 0)).sum())
        if amb:
            warnings.append(issue(
                "ambiguous_zone_activity",
                f"{amb} dòng hoạt động không ghi vụ nhưng mã vùng có nhiều vụ: bỏ qua",
                f"{amb} activity rows give no season but their zone_code has several seasons: ignored",
                rows=amb))
    unmatched = (rec < 0) & ~ambiguous
    if unmatched.any():
        codes = pc.unique(act.column("zone_code").filter(pa.array(unmatched))).to_pylist()
        warnings.append(issue(
            "unmatched_zone_activity",
            f"{int(unmatched.sum())} dòng hoạt động có mã vùng (và vụ) không khớp vùng trồng nào của năm: bỏ qua",
            f"{int(unmatched.sum())} activity rows name a zone_code (and season) with no crop zone this year: "
            "ignored", rows=int(unmatched.sum()), zone_codes=[str(c) for c in codes[:10]]))
    keep = rec >= 0
    act_k = act.filter(pa.array(keep)) if not keep.all() else act
    numbers, codes = pivot(act_k, rec[keep], n, df["area_ha"].to_numpy(), warnings, record_ids)
    for name, col in numbers.items():
        if name in df:
            df[name] = np.where(np.isnan(col), df[name].to_numpy(dtype=float), col)
        else:
            df[name] = col
    for name, col in codes.items():
        if name in df:
            df[name] = np.where(pd.isna(col), df[name].to_numpy(dtype=object), col)
        else:
            df[name] = col
    return df


def _commune_records(act_t: pa.Table, warnings: list[dict[str, Any]]) -> pd.DataFrame:
    """One record per (commune or pre-2025 commune, crop, season) of commune-level statistics."""
    if not act_t.num_rows:
        return pd.DataFrame({"id": pd.Series(dtype=object)})
    act = act_t.select(["commune_code", "old_commune_code", "crop", "season"]).to_pandas()
    season = map_values(act["season"], SEASON_FROM_ZONE)
    crop = map_values(act["crop"], CROP_FROM_ZONE, set(CROPS))
    key = pd.DataFrame({"commune_code": act["commune_code"].to_numpy(dtype=object),
                        "old_commune_code": act["old_commune_code"].to_numpy(dtype=object),
                        "crop": crop, "season": season})
    grp = key.groupby(list(key.columns), dropna=False, sort=False).ngroup().to_numpy()
    first = key.groupby(grp, sort=False).head(1).reset_index(drop=True)
    src = first["old_commune_code"].where(first["old_commune_code"].notna(), first["commune_code"])
    ids = ("c" + src.astype(str) + ":" + first["crop"].fillna("?").astype(str) + ":"
           + first["season"].fillna("-").astype(str)).to_numpy(dtype=object)
    df = first.assign(id=ids)
    numbers, codes = pivot(act_t, grp, len(df), None, warnings, ids)
    for name, col in {**numbers, **codes}.items():
        df[name] = col
    if "area_ha" not in df:
        df["area_ha"] = np.nan
    return df


def _lineage(conn: Connection, df: pd.DataFrame, warnings: list[dict[str, Any]]) -> pd.DataFrame:
    """Split records keyed to pre-2025 communes over the new ones by the lineage shares (normalised)."""
    if "old_commune_code" not in df or not df["old_commune_code"].notna().any():
        return df.drop(columns=["old_commune_code"], errors="ignore")
    old = df["old_commune_code"].notna().to_numpy()
    codes = sorted(set(df.loc[old, "old_commune_code"]))
    rows = conn.execute(text("SELECT old_code, new_code, area_share FROM admin_lineage WHERE old_code = ANY(:c) "
                             "ORDER BY old_code, new_code"), {"c": codes}).all()
    lin = pd.DataFrame(rows, columns=["old_commune_code", "new_code", "share"])
    missing = sorted(set(codes) - set(lin["old_commune_code"]))
    if missing:
        raise InputError(f"Mã xã cũ không có trong bảng kế thừa / pre-2025 codes without lineage: {', '.join(missing)}")
    lin["share"] = lin["share"] / lin.groupby("old_commune_code")["share"].transform("sum")
    keep, moved = df[~old], df[old].merge(lin, on="old_commune_code", how="left")
    s = moved["share"].to_numpy()
    for f in ("area_ha", *PER_HA_FIELDS, "cleared_area_ha"):
        if f in moved:
            moved[f] = moved[f].to_numpy(dtype=float) * s
    moved["id"] = moved["id"] + "@" + moved["new_code"]
    moved["commune_code"] = moved["new_code"]
    warnings.append(issue(
        "lineage_split", f"{int(old.sum())} bản ghi theo mã xã cũ được chia cho {len(moved)} xã mới theo tỷ lệ diện tích",
        f"{int(old.sum())} records keyed to pre-2025 communes were split over {len(moved)} new-commune records "
        "by admin_lineage.area_share", records=int(old.sum()), split_into=len(moved)))
    out = pd.concat([keep, moved.drop(columns=["new_code", "share"])], ignore_index=True)
    return out.drop(columns=["old_commune_code"])


# ------------------------------------------------------------------------------------------ main
def _with_packages(df: pd.DataFrame) -> pd.DataFrame:
    """``apply_package`` on the records that name a package only (it is row-wise), merged back in place."""
    df = df.assign(from_norms=False, norms_fields="")
    mask = df["practice_code"].notna().to_numpy()
    if not mask.any():
        return df
    sub = apply_package(df[mask].reset_index(drop=True))
    idx = np.flatnonzero(mask)
    for c in sub.columns:
        col = sub[c]
        vals = col.astype(object).to_numpy() if isinstance(col.dtype, pd.CategoricalDtype) else col.to_numpy()
        if c not in df:
            df[c] = None
        if df[c].dtype.kind == "f" and vals.dtype.kind == "f":
            arr = df[c].to_numpy(copy=True)
        else:
            arr = df[c].to_numpy(dtype=object, copy=True)
        arr[idx] = vals
        df[c] = arr
    return df


def read_inputs(conn: Connection, year: int, province_code: str, scenario: str = "baseline",
                arrow_url: str | None = None) -> Inputs:
    """All activity records of ``year`` for the province, in canonical order, packages applied.

    ``arrow_url``: read the two big tables through ADBC on a separate connection (committed data
    only; see :func:`read_table`); by default everything is read inside ``conn``'s transaction."""
    if scenario not in SCENARIOS:
        raise InputError(f"Kịch bản không hợp lệ '{scenario}' / unknown scenario '{scenario}' (baseline|project)")
    t0, c0 = time.perf_counter(), time.process_time()
    warnings: list[dict[str, Any]] = []
    if arrow_url is None:
        zones = read_zones(conn, year, province_code)
        zact = read_activity(conn, year, province_code, zones=True)
        cact = read_activity(conn, year, province_code, zones=False)
    else:  # separate connections: the server scans the tables on both cores while ADBC decodes
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(3) as ex:
            fz = ex.submit(read_zones, conn, year, province_code, arrow_url)
            fa = ex.submit(read_activity, conn, year, province_code, arrow_url, True)
            fc = ex.submit(read_activity, conn, year, province_code, arrow_url, False)
            zones, zact, cact = fz.result(), fa.result(), fc.result()
    t1, c1 = time.perf_counter(), time.process_time()
    zrec = _zone_records(zones, zact, warnings)
    crec = _commune_records(cact, warnings)
    crec = _lineage(conn, crec, warnings) if len(crec) else crec
    if len(crec):
        crec = crec.sort_values("id", kind="stable")
    df = pd.concat([zrec, crec], ignore_index=True) if len(crec) else zrec
    sites, inside = pilot_sites(conn, province_code, year)
    if len(sites):
        df = apply_pilots(df, sites, inside, scenario, year, warnings)
    df["year"] = float(year)
    for f in FIELDS:
        if f not in df:
            df[f] = np.nan if f not in ("id", "commune_code", "crop", "season", "climate", "water_regime",
                                        "pre_season_regime", "straw_timing", "practice_code") else None
    codes = df["practice_code"].to_numpy(dtype=object)
    known = load_packages()
    bad = sorted({c for c in pd.unique(codes[pd.notna(codes)]) if c not in known})
    if bad:
        n_bad = int(pd.Series(codes).isin(bad).sum())
        warnings.append(issue(
            "unknown_practice", f"{n_bad} bản ghi có mã gói kỹ thuật không có trong danh mục: {', '.join(bad)}",
            f"{n_bad} records name practice packages that are not in the catalogue: {', '.join(bad)}",
            codes=bad, records=n_bad))
        df["practice_code"] = np.where(pd.Series(codes).isin(bad).to_numpy(), None, codes)
    filled = _with_packages(df)
    t2 = time.perf_counter()
    n_norms = int(filled["from_norms"].sum())
    if n_norms:
        warnings.append(issue("from_norms", f"{n_norms} bản ghi lấy số liệu từ gói kỹ thuật (định mức)",
                               f"{n_norms} records take inputs from practice packages (from norms)", records=n_norms))
    return Inputs(filled, warnings,
                  {"read_s": t1 - t0, "pivot_s": t2 - t1, "read_cpu_s": c1 - c0, "pivot_cpu_s": time.process_time() - c1},
                  {"zones": zones.num_rows, "activity_rows": zact.num_rows + cact.num_rows, "records": len(filled)})


__all__ = ["Inputs", "InputError", "SCENARIOS", "read_inputs", "read_zones", "read_activity", "read_table", "copy_query"]
