"""Activity records (one per crop zone and season) and their vectorised validation.

One record says what was grown where and with which inputs. The calculator reads a DataFrame of
them; this module defines the columns and vocabularies and checks a million rows with boolean masks
(no per-row Python), returning every problem as a bilingual message tied to the record id and field.

Policy on missing values, decided here once:
- ``id, commune_code, crop, year, area_ha`` are required; rice also needs ``water_regime``.
- A missing amount (N, urea, lime) means *not reported*: it never becomes zero. The category is
  reported as NE (not estimated, a UNFCCC notation key) with ``mass_kg`` = NaN, so the gap is visible
  and a practice package can fill it (``mrv.packages.apply_package``). An explicit 0 means none.
- A missing rice cultivation period falls back to the regional default (Table 5.11A) and a missing
  pre-season regime to the aggregated SFp (Table 5.13), each with a WARNING and a row flag.
- Missing organic amendments on rice mean "none reported" (SFo = 1), with a WARNING and a flag.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

# crop → (kind, Table 11.1a residue class, CRT burning category, Table 2.6 Cf class, Table 2.4 MB class)
CROPS: dict[str, tuple[str, str | None, str | None, str | None, str | None]] = {
    "rice": ("rice", "rice", "3.F.1.d", "rice", "rice"),
    "maize": ("annual", "maize", "3.F.1.c", "maize", "maize"),
    "cassava": ("annual", "tubers", "3.F.3", "other", None),
    "sweet_potato": ("annual", "tubers", "3.F.3", "other", None),
    "beans": ("annual", "pulses", "3.F.2", "other", None),
    "peanut": ("annual", "peanuts", "3.F.5", "other", None),
    "sugarcane": ("annual", "sugarcane", "3.F.4", "sugarcane", "sugarcane"),
    "ramie": ("annual", "generic", "3.F.5", "other", None),
    "other_annual": ("annual", "generic", "3.F.5", "other", None),
    "coffee": ("perennial", None, None, None, None),
    "pepper": ("perennial", None, None, None, None),
    "durian": ("perennial", None, None, None, None),
    "rubber": ("perennial", None, None, None, None),
    "cashew": ("perennial", None, None, None, None),
    "macadamia": ("perennial", None, None, None, None),
    "other_perennial": ("perennial", None, None, None, None),
}
CROP_LIST = list(CROPS)
SEASONS = ["winter_spring", "summer_autumn", "autumn_winter", "main", "annual"]
WATER_REGIMES = [
    "continuously_flooded", "single_drainage", "multiple_drainage_awd", "rainfed_regular",
    "rainfed_drought_prone", "deep_water", "upland",
]
PRE_SEASON = ["non_flooded_lt180", "non_flooded_gt180", "flooded_gt30", "non_flooded_gt365"]
STRAW_TIMING = ["lt30", "gt30"]
CLIMATES = ["wet", "dry"]

# CRT rice sub-categories by water regime, for exporters (INVENTORY_FORMAT.md §1.4).
RICE_CRT_SUBCATEGORY = {
    "continuously_flooded": "3.C.1.a", "single_drainage": "3.C.1.b.i", "multiple_drainage_awd": "3.C.1.b.ii",
    "rainfed_regular": "3.C.2.a", "rainfed_drought_prone": "3.C.2.b", "deep_water": "3.C.3", "upland": "3.C.4",
}

TEXT_FIELDS = ["id", "commune_code", "crop", "season", "climate", "water_regime", "pre_season_regime",
               "straw_timing", "practice_code"]
NUMERIC_FIELDS = [
    "year", "area_ha", "cultivation_days", "straw_t_dm_ha", "compost_t_ha", "manure_t_ha",
    "green_manure_t_ha", "n_synthetic_kg", "n_organic_kg", "urea_kg", "limestone_kg", "dolomite_kg",
    "yield_t_ha", "residue_burned_fraction", "residue_removed_fraction", "planted_year", "age_years",
    "cleared_area_ha",
]
FIELDS = TEXT_FIELDS + NUMERIC_FIELDS
CATEGORICAL = {"crop": CROP_LIST, "season": SEASONS, "climate": CLIMATES, "water_regime": WATER_REGIMES,
               "pre_season_regime": PRE_SEASON, "straw_timing": STRAW_TIMING}
AMENDMENTS = ["straw_t_dm_ha", "compost_t_ha", "manure_t_ha", "green_manure_t_ha"]

# (field, low, high, per_ha): values outside [low, high] are absurd. Per-ha limits divide by area first.
LIMITS: list[tuple[str, float, float, bool]] = [
    ("year", 1990, 2100, False),
    ("area_ha", 0.0, 2_000_000.0, False),
    ("cultivation_days", 1, 365, False),
    ("straw_t_dm_ha", 0, 25, False),
    ("compost_t_ha", 0, 100, False),
    ("manure_t_ha", 0, 100, False),
    ("green_manure_t_ha", 0, 100, False),
    ("n_synthetic_kg", 0, 1500, True),
    ("n_organic_kg", 0, 1500, True),
    ("urea_kg", 0, 3000, True),
    ("limestone_kg", 0, 20_000, True),
    ("dolomite_kg", 0, 20_000, True),
    ("yield_t_ha", 0, 250, False),
    ("residue_burned_fraction", 0, 1, False),
    ("residue_removed_fraction", 0, 1, False),
    ("planted_year", 1900, 2100, False),
    ("age_years", 0, 150, False),
    ("cleared_area_ha", 0, 2_000_000.0, False),
]
UNITS = {"n_synthetic_kg": "kg N/ha", "n_organic_kg": "kg N/ha", "urea_kg": "kg/ha", "limestone_kg": "kg/ha",
         "dolomite_kg": "kg/ha", "cultivation_days": "d", "yield_t_ha": "t/ha"}

MESSAGES = {
    "required": ("thiếu giá trị bắt buộc", "required value is missing"),
    "not_a_number": ("không phải là số", "is not a number"),
    "unknown_value": ("giá trị không có trong danh mục", "unknown value (not in the vocabulary)"),
    "out_of_range": ("giá trị âm hoặc bất hợp lý", "negative or absurd value"),
    "area_not_positive": ("diện tích phải lớn hơn 0", "area must be greater than 0"),
    "duplicate_id": ("mã bản ghi bị trùng", "duplicate record id"),
    "bad_commune_code": ("mã xã phải gồm 5 chữ số", "commune code must be 5 digits"),
    "fractions_exceed_one": ("tỷ lệ đốt + tỷ lệ thu gom vượt quá 1", "burned + removed fractions exceed 1"),
    "urea_exceeds_n": ("N trong urê lớn hơn tổng N vô cơ", "urea N exceeds total synthetic N"),
    "straw_timing_required": ("có rơm vùi nhưng thiếu thời điểm vùi (lt30|gt30)",
                              "straw incorporated but its timing (lt30|gt30) is missing"),
    "water_regime_required": ("lúa cần chế độ nước", "rice needs a water regime"),
    "planted_after_year": ("năm trồng sau năm kiểm kê", "planted after the inventory year"),
    "cleared_exceeds_area": ("diện tích phá bỏ lớn hơn diện tích", "cleared area exceeds the area"),
    # warnings
    "unknown_field": ("trường không xác định, bị bỏ qua", "unknown field, ignored"),
    "days_default": ("thiếu thời gian canh tác: dùng mặc định vùng (Bảng 5.11A)",
                     "cultivation period missing: regional default used (Table 5.11A)"),
    "pre_season_default": ("thiếu chế độ nước trước vụ: dùng SFp tổng hợp (Bảng 5.13)",
                           "pre-season water regime missing: aggregated SFp used (Table 5.13)"),
    "amendments_not_reported": ("chưa báo cáo phụ phẩm/phân hữu cơ bón cho lúa: coi như không bón (SFo = 1)",
                                "rice organic amendments not reported: none assumed (SFo = 1)"),
    "straw_double_count": ("rơm vùi lớn hơn lượng rơm còn lại sau đốt/thu gom (tính trùng?)",
                           "incorporated straw exceeds the straw left after burning/removal (double count?)"),
}


@dataclass(frozen=True)
class Validation:
    """Outcome of :func:`validate_records`: the normalised frame, the per-record problems, and ``ok``."""

    records: pd.DataFrame
    errors: pd.DataFrame
    warnings: pd.DataFrame

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of records without errors."""
        ok = np.ones(len(self.records), dtype=bool)
        if len(self.errors):
            ok[self.errors["row"].to_numpy(dtype=int)] = False
        return ok


class RecordError(ValueError):
    """Raised when records fail validation; ``errors`` holds the bilingual per-record list."""

    def __init__(self, errors: pd.DataFrame):
        self.errors = errors
        head = "; ".join(f"{r.record_id}: {r.field}: {r.message_vi} / {r.message_en}" for r in errors.head(5).itertuples())
        more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"{len(errors)} lỗi dữ liệu hoạt động / activity-record errors: {head}{more}")


ISSUE_COLUMNS = ["record_id", "row", "field", "code", "value", "message_vi", "message_en"]


def _issues(df: pd.DataFrame, mask: np.ndarray, field: str, code: str, detail: str = "") -> pd.DataFrame:
    rows = np.flatnonzero(mask)
    if not len(rows):
        return pd.DataFrame(columns=ISSUE_COLUMNS)
    vi, en = MESSAGES[code]
    vals = df[field].to_numpy()[rows] if field in df else [None] * len(rows)
    return pd.DataFrame({
        "record_id": df["id"].to_numpy()[rows].astype(object), "row": rows, "field": field, "code": code,
        "value": [None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in vals],
        "message_vi": f"{field}: {vi}{detail}", "message_en": f"{field}: {en}{detail}",
    })


def normalize_records(records: pd.DataFrame | Iterable[Mapping[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Give ``records`` every field with the right dtype (text → categorical, numbers → float64).

    Returns (frame, type errors). A value that is present but not a number is an error, never NaN
    silently; unknown vocabulary values become errors in :func:`validate_records`.
    """
    df = records.copy() if isinstance(records, pd.DataFrame) else pd.DataFrame(list(records))
    df = df.reset_index(drop=True)
    errors = []
    n = len(df)
    for f in TEXT_FIELDS:
        if f not in df:
            df[f] = (pd.Categorical.from_codes(np.full(n, -1), categories=CATEGORICAL[f]) if f in CATEGORICAL
                     else pd.Series(np.full(n, None, dtype=object)))
    for f in ("id", "commune_code"):  # codes are text: 24133, never the number 24133.0
        col = df[f]
        if isinstance(col.dtype, pd.CategoricalDtype) or pd.api.types.infer_dtype(col, skipna=True) in ("string", "empty"):
            continue
        inv, uniq = pd.factorize(col, use_na_sentinel=True)
        text = np.array([str(int(u)) if isinstance(u, float) and u.is_integer() else str(u) for u in uniq] + [None],
                        dtype=object)
        df[f] = text[inv]
    for f in NUMERIC_FIELDS:
        if f not in df:
            df[f] = np.nan
            continue
        col = df[f]
        if col.dtype.kind in "fiub":
            df[f] = col.astype("float64")
            continue
        num = pd.to_numeric(col, errors="coerce").astype("float64")
        bad = num.isna().to_numpy() & col.notna().to_numpy()
        errors.append(_issues(df.assign(**{f: col}), bad, f, "not_a_number"))
        df[f] = num
    for f in ("practice_code",):
        df[f] = df[f].astype(object)
    return df, _concat(errors)


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=ISSUE_COLUMNS)
    out = pd.DataFrame({c: np.concatenate([p[c].to_numpy(dtype=object) for p in parts]) for c in ISSUE_COLUMNS})
    out["row"] = out["row"].astype(np.int64)
    return out


def categorical_codes(df: pd.DataFrame, field: str) -> np.ndarray:
    """Integer codes of ``field`` in its vocabulary (-1 for null or unknown)."""
    col = df[field]
    cats = CATEGORICAL[field]
    if isinstance(col.dtype, pd.CategoricalDtype) and list(col.cat.categories) == cats:
        return col.cat.codes.to_numpy()
    # factorize once, then map the few distinct values to vocabulary codes: the same codes as
    # ``pd.Categorical(col, categories=cats).codes`` at about half the cost on object columns
    inv, uniq = pd.factorize(col, use_na_sentinel=True)
    lookup = {c: i for i, c in enumerate(cats)}
    table = np.array([lookup.get(u, -1) for u in uniq] + [-1], dtype=np.int8 if len(cats) < 127 else np.int16)
    return table[inv]


def validate_records(records: pd.DataFrame | Iterable[Mapping[str, Any]]) -> Validation:
    """Check every record at once (boolean masks) and list errors and warnings, bilingual."""
    df, type_errors = normalize_records(records)
    errs = [type_errors]
    warns = []
    n = len(df)
    for f in ("id", "commune_code", "crop", "year", "area_ha"):
        errs.append(_issues(df, df[f].isna().to_numpy(), f, "required"))
    ids = df["id"]
    errs.append(_issues(df, (ids.duplicated(keep=False) & ids.notna()).to_numpy(), "id", "duplicate_id"))
    inv, uniq = pd.factorize(df["commune_code"], use_na_sentinel=True)
    bad_code = np.array([not (isinstance(u, str) and len(u) == 5 and u.isascii() and u.isdigit()) for u in uniq] + [False])
    errs.append(_issues(df, bad_code[inv], "commune_code", "bad_commune_code"))
    codes = {}
    for f, cats in CATEGORICAL.items():
        codes[f] = categorical_codes(df, f)
        unknown = (codes[f] < 0) & df[f].notna().to_numpy()
        errs.append(_issues(df, unknown, f, "unknown_value", f" ({', '.join(cats)})"))
    area = df["area_ha"].to_numpy()
    for f, lo, hi, per_ha in LIMITS:
        v = df[f].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            x = v / area if per_ha else v
            bad = ~np.isnan(v) & ((x < lo) | (x > hi))
        unit = UNITS.get(f, "")
        errs.append(_issues(df, bad, f, "out_of_range", f" [{lo:g}–{hi:g}{' ' + unit if unit else ''}]"))
    errs.append(_issues(df, area <= 0, "area_ha", "area_not_positive"))
    burned, removed = df["residue_burned_fraction"].to_numpy(), df["residue_removed_fraction"].to_numpy()
    errs.append(_issues(df, np.nan_to_num(burned) + np.nan_to_num(removed) > 1 + 1e-9,
                        "residue_burned_fraction", "fractions_exceed_one"))
    urea_n = df["urea_kg"].to_numpy() * 0.466201
    with np.errstate(invalid="ignore"):
        errs.append(_issues(df, urea_n > df["n_synthetic_kg"].to_numpy() * (1 + 1e-6) + 1e-9, "urea_kg",
                            "urea_exceeds_n"))
        errs.append(_issues(df, df["planted_year"].to_numpy() > df["year"].to_numpy(), "planted_year",
                            "planted_after_year"))
        errs.append(_issues(df, df["cleared_area_ha"].to_numpy() > area * (1 + 1e-9), "cleared_area_ha",
                            "cleared_exceeds_area"))
    is_rice = codes["crop"] == CROP_LIST.index("rice")
    errs.append(_issues(df, is_rice & (codes["water_regime"] < 0) & df["water_regime"].isna().to_numpy(),
                        "water_regime", "water_regime_required"))
    straw = df["straw_t_dm_ha"].to_numpy()
    errs.append(_issues(df, is_rice & (straw > 0) & (codes["straw_timing"] < 0), "straw_timing",
                        "straw_timing_required"))
    # warnings
    warns.append(_issues(df, is_rice & np.isnan(df["cultivation_days"].to_numpy()), "cultivation_days", "days_default"))
    warns.append(_issues(df, is_rice & (codes["pre_season_regime"] < 0) & df["pre_season_regime"].isna().to_numpy(),
                         "pre_season_regime", "pre_season_default"))
    amend_missing = np.zeros(n, dtype=bool)
    for f in AMENDMENTS:
        amend_missing |= np.isnan(df[f].to_numpy())
    warns.append(_issues(df, is_rice & amend_missing, "straw_t_dm_ha", "amendments_not_reported"))
    # Table 5.14 footnote: burnt or removed straw is not "applied"; rice AG residue = yield × 0.89 × 1.4
    left = df["yield_t_ha"].to_numpy() * 0.89 * 1.4 * (1 - np.nan_to_num(burned) - np.nan_to_num(removed))
    with np.errstate(invalid="ignore"):
        warns.append(_issues(df, is_rice & (straw > left * 1.05 + 1e-9), "straw_t_dm_ha", "straw_double_count"))
    # vocabulary columns with no unknown value are handed on as categoricals of the codes just found,
    # so the calculator and the digest read codes instead of hashing a million strings again
    for f, cats in CATEGORICAL.items():
        col = df[f]
        if not isinstance(col.dtype, pd.CategoricalDtype) and not ((codes[f] < 0) & col.notna().to_numpy()).any():
            df[f] = pd.Categorical.from_codes(codes[f], categories=cats)
    return Validation(records=df, errors=_concat(errs), warnings=_concat(warns))


def records_digest(df: pd.DataFrame) -> str:
    """SHA-256 over the normalised records, column by column in FIELDS order (fast, order-sensitive).

    Numbers hash as little-endian float64 (every NaN alike); vocabulary fields as their vocabulary
    codes (so categorical and plain-text columns give the same digest); other text as fixed-width
    UTF-32 arrays with nulls as U+0000. The same inputs give the same digest on any machine."""
    h = hashlib.sha256()
    n = len(df)
    for f in FIELDS:
        h.update(f.encode() + b"\x1e")
        col = df[f] if f in df else pd.Series(np.full(n, None, dtype=object))
        if f in NUMERIC_FIELDS:
            arr = col.to_numpy(dtype="float64", na_value=np.nan).copy()
            arr[np.isnan(arr)] = np.nan
            h.update(arr.astype("<f8").tobytes())
        elif f in CATEGORICAL:
            codes = categorical_codes(df, f) if f in df else np.full(n, -1)
            h.update(codes.astype("<i2").tobytes())
            odd = np.flatnonzero((codes < 0) & col.notna().to_numpy())  # unknown values (invalid records)
            h.update("\x1f".join(f"{i}={col.iloc[i]}" for i in odd).encode("utf-8"))
        else:
            if isinstance(col.dtype, pd.CategoricalDtype):
                cats = np.asarray(col.cat.categories.astype(str), dtype=str)
                arr = np.append(cats, "\x00")[col.cat.codes.to_numpy()] if len(cats) else np.full(n, "\x00")
            else:
                arr = col.astype(object).where(col.notna(), "\x00").to_numpy(dtype=str)
            arr = np.asarray(arr, dtype=str)
            h.update(f"{arr.dtype.itemsize}".encode() + arr.astype(arr.dtype.newbyteorder("<")).tobytes())
    return h.hexdigest()
