"""Long activity rows → item × record columns, in the vocabulary's units (``cropmrv.mrv.items``).

Split from :mod:`cropmrv.mrv.inputs` (which reads the rows and builds the records): this module
holds the pure numpy/Arrow part — text columns as integer codes, unit conversion, duplicates summed
or refused — with no database in sight.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cropmrv.mrv.items import ADDITIVE_ITEMS, ITEMS, unit_rule


class InputError(ValueError):
    """Activity data that cannot be turned into records (bilingual message naming the rows)."""


def text_codes(arr: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list[Any]]:
    """Integer codes (-1 for null) and the distinct values of a text column, computed in Arrow (C++)."""
    enc = pc.dictionary_encode(arr)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks() if enc.num_chunks else pa.DictionaryArray.from_arrays(pa.array([], pa.int32()),
                                                                                          pa.array([], pa.string()))
    idx = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return idx, enc.dictionary.to_pylist()


def map_codes(idx: np.ndarray, uniq: list[Any], mapping: dict[str, Any], identity: frozenset[str] | set[str] = frozenset()) -> np.ndarray:
    """Map coded text through a small dict once per distinct value (unknown → kept as is, for
    validation); code -1 (null) gives None."""
    out = np.array([mapping.get(u, u if u in identity or u not in mapping else None) for u in uniq] + [None],
                   dtype=object)
    return out[idx]


def map_values(values: pd.Series, mapping: dict[str, Any], identity: set[str] | frozenset[str] = frozenset()) -> np.ndarray:
    """:func:`map_codes` over a pandas column (factorised here)."""
    idx, uniq = pd.factorize(values, use_na_sentinel=True)
    return map_codes(idx, list(uniq), mapping, identity)


def issue(code: str, vi: str, en: str, **detail: Any) -> dict[str, Any]:
    return {"code": code, "message_vi": vi, "message_en": en, **detail}


def pivot(act: pa.Table, rec: np.ndarray, n_rec: int, area_of: np.ndarray | None,
           warnings: list[dict[str, Any]], record_ids: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Item × record values: numbers (float64, NaN = not reported) and codes (object, None)."""
    item_codes, item_uniq = text_codes(act.column("item"))
    unknown = [u for u in item_uniq if u not in ITEMS]
    if unknown:
        counts = np.bincount(item_codes[item_codes >= 0], minlength=len(item_uniq))
        warnings.append(issue(
            "unknown_item", f"bỏ qua mục hoạt động không có trong danh mục: {', '.join(map(str, unknown))}",
            f"ignored activity items not in the vocabulary (cropmrv.mrv.items): {', '.join(map(str, unknown))}",
            items={str(u): int(counts[item_uniq.index(u)]) for u in unknown}))
    numbers: dict[str, np.ndarray] = {}
    codes: dict[str, np.ndarray] = {}
    amount = act.column("amount").to_numpy().astype(float) if act.num_rows else np.zeros(0)
    unit_codes, unit_uniq = text_codes(act.column("unit"))
    # area first: per-ha units of the other items need the record's area
    order = sorted(range(len(item_uniq)), key=lambda i: item_uniq[i] != "area_ha")
    for i in order:
        name = item_uniq[i]
        if name not in ITEMS:
            continue
        m = item_codes == i
        r = rec[m]
        if ITEMS[name].kind == "code":
            vals = act.column("value_text").filter(pa.array(m)).to_numpy(zero_copy_only=False)
            col = np.full(n_rec, None, dtype=object)
            s = pd.DataFrame({"r": r, "v": vals}).dropna()
            dup = s.groupby("r")["v"].nunique()
            bad = dup[dup > 1]
            if len(bad):
                raise InputError(
                    f"{name}: giá trị mâu thuẫn cho cùng một bản ghi / conflicting values for the same record: "
                    + ", ".join(map(str, record_ids[bad.index[:5]])))
            col[s["r"].to_numpy()] = s["v"].to_numpy()
            codes[name] = col
            continue
        v = amount[m].copy()
        ucodes = unit_codes[m]
        uuniq = [*unit_uniq, None]  # code -1 (null unit) indexes the last entry
        factor = np.full(len(uuniq), np.nan)
        how = np.full(len(uuniq), "", dtype=object)
        for j in np.unique(ucodes):
            uu = uuniq[j]
            rule = unit_rule(name, uu)
            if rule is None:
                raise InputError(
                    f"{name}: đơn vị '{uu}' không được chấp nhận (chấp nhận: {ITEMS[name].unit}, "
                    f"{', '.join(ITEMS[name].units)}) / unit '{uu}' is not accepted for {name} (accepted: "
                    f"{ITEMS[name].unit}, {', '.join(ITEMS[name].units)})")
            factor[j], how[j] = rule
        v = v * factor[ucodes]
        hw = how[ucodes]
        if (hw != "").any():
            if area_of is None and "area_ha" not in numbers:
                raise InputError(f"{name}: cần diện tích (mục area_ha) để đổi đơn vị theo ha / an area "
                                 f"(item area_ha) is needed to convert per-hectare units of {name}")
            if area_of is None:
                a = numbers["area_ha"]
            elif "area_ha" in numbers:
                a = np.where(np.isnan(numbers["area_ha"]), area_of, numbers["area_ha"])
            else:
                a = area_of
            with np.errstate(divide="ignore", invalid="ignore"):
                v = np.where(hw == "per_ha", v * a[r], np.where(hw == "by_area", v / a[r], v))
        col = np.full(n_rec, np.nan)
        flat_unique = not len(r) or np.bincount(r, minlength=n_rec).max() <= 1
        if flat_unique:
            col[r] = v
        else:
            s = pd.DataFrame({"r": r, "v": v})
            g = s.groupby("r")["v"]
            if name in ADDITIVE_ITEMS:
                agg = g.sum(min_count=1)  # all-null stays null: not reported is not zero
            else:
                lo, hi = g.min(), g.max()
                bad = lo.index[(hi - lo).abs().to_numpy() > 1e-9 * np.maximum(1.0, hi.abs().to_numpy())]
                if len(bad):
                    raise InputError(
                        f"{name}: giá trị mâu thuẫn cho cùng một bản ghi / conflicting values for the same "
                        f"record: " + ", ".join(map(str, record_ids[bad[:5]])))
                agg = lo
            col[agg.index.to_numpy()] = agg.to_numpy()
        numbers[name] = col
    return numbers, codes
