"""Practice packages: per-hectare input bundles with sources (extension norms, illustrative practices).

Why: a pilot site or a crop zone often has no measured inputs, only "it follows package X". The
package × area then stands in for the measurement, and every number it supplies is flagged
``from_norms`` so a report never passes a norm off as a measurement. Packages also define the
baseline and project practices of a scenario (``mrv.scenarios``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import yaml

from cropmrv.mrv.records import CATEGORICAL, CROP_LIST, FIELDS, normalize_records

PACKAGE_DIR = Path(__file__).resolve().parent / "packages"
PER_HA_FIELDS = ("n_synthetic_kg", "n_organic_kg", "urea_kg", "limestone_kg", "dolomite_kg")
PRACTICE_FIELDS = ("climate", "water_regime", "pre_season_regime", "cultivation_days", "straw_t_dm_ha", "straw_timing",
                   "compost_t_ha", "manure_t_ha", "green_manure_t_ha", "yield_t_ha", "residue_burned_fraction",
                   "residue_removed_fraction")


class PackageError(ValueError):
    """A package file is malformed, unknown, or does not fit the records (bilingual message)."""


@dataclass(frozen=True)
class Package:
    code: str
    crop: str
    name_vi: str
    name_en: str
    illustrative: bool
    source: Mapping[str, Any]
    per_ha: Mapping[str, float | None]
    practice: Mapping[str, Any]
    assumptions: tuple[str, ...]

    def to_record(self, area_ha: float, **fields: Any) -> dict[str, Any]:
        """An activity record for ``area_ha`` following this package (``fields`` add or override)."""
        rec: dict[str, Any] = {"crop": self.crop, "area_ha": area_ha, "practice_code": self.code, "from_norms": True}
        rec.update({k: (None if v is None else v * area_ha) for k, v in self.per_ha.items()})
        rec.update(self.practice)
        rec.update(fields)
        return rec

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "crop": self.crop, "name_vi": self.name_vi, "name_en": self.name_en,
                "illustrative": self.illustrative, "source": dict(self.source), "per_ha": dict(self.per_ha),
                "practice": dict(self.practice), "assumptions": list(self.assumptions)}


def _parse(path: Path) -> Package:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    where = path.name
    for k in ("code", "crop", "name_vi", "name_en", "illustrative", "source", "per_ha"):
        if k not in doc:
            raise PackageError(f"{where}: thiếu '{k}' / missing '{k}'")
    if doc["crop"] not in CROP_LIST:
        raise PackageError(f"{where}: cây trồng không hợp lệ / unknown crop '{doc['crop']}'")
    per_ha = doc["per_ha"] or {}
    practice = doc.get("practice") or {}
    bad = (set(per_ha) - set(PER_HA_FIELDS)) | (set(practice) - set(PRACTICE_FIELDS))
    if bad:
        raise PackageError(f"{where}: trường không hợp lệ / unknown fields {sorted(bad)}")
    for k, v in practice.items():
        if k in CATEGORICAL and v is not None and v not in CATEGORICAL[k]:
            raise PackageError(f"{where}: {k}: giá trị không hợp lệ / unknown value '{v}'")
    return Package(
        code=str(doc["code"]), crop=doc["crop"], name_vi=doc["name_vi"], name_en=doc["name_en"],
        illustrative=bool(doc["illustrative"]), source=MappingProxyType(dict(doc["source"])),
        per_ha=MappingProxyType({k: (None if v is None else float(v)) for k, v in per_ha.items()}),
        practice=MappingProxyType(dict(practice)), assumptions=tuple(doc.get("assumptions") or ()),
    )


@lru_cache
def load_packages() -> Mapping[str, Package]:
    """Every package in ``mrv/packages/*.yaml``, by code."""
    out = {}
    for path in sorted(PACKAGE_DIR.glob("*.yaml")):
        p = _parse(path)
        if p.code in out:
            raise PackageError(f"{path.name}: mã gói trùng / duplicate package code {p.code}")
        out[p.code] = p
    return MappingProxyType(out)


def get_package(code: str) -> Package:
    pk = load_packages()
    if code not in pk:
        raise PackageError(f"Không có gói kỹ thuật '{code}' / unknown practice package '{code}' "
                           f"(known: {', '.join(sorted(pk))})")
    return pk[code]


def apply_package(records: pd.DataFrame, packages: Mapping[str, Package] | None = None) -> pd.DataFrame:
    """Fill the inputs a record did not report from its ``practice_code`` package (× area for amounts).

    Only null fields are filled; measured values always win (urea only where synthetic N is not
    measured either, since urea N is part of it). Adds ``from_norms`` (bool) and
    ``norms_fields`` (comma-separated names of the fields filled) so results carry the flag. Vectorised:
    one masked assignment per package × field.
    """
    packages = load_packages() if packages is None else packages
    df, _ = normalize_records(records)
    extra = [c for c in records.columns if c not in df.columns] if isinstance(records, pd.DataFrame) else []
    for c in extra:
        df[c] = records[c].to_numpy()
    n = len(df)
    codes = df["practice_code"].astype(object).to_numpy()
    filled: dict[str, np.ndarray] = {}
    from_norms = df["from_norms"].to_numpy(dtype=bool) if "from_norms" in df else np.zeros(n, dtype=bool)
    crop = df["crop"].astype(object).to_numpy()
    area = df["area_ha"].to_numpy()
    # urea is part of synthetic N: take it from the package only where N is from the package too,
    # otherwise a measured N total and a norm urea amount could contradict each other
    n_syn_reported = df["n_synthetic_kg"].notna().to_numpy()
    for code in pd.unique(codes[pd.notna(codes)]):
        if code not in packages:
            raise PackageError(f"Không có gói kỹ thuật '{code}' / unknown practice package '{code}'")
        pkg = packages[code]
        m = codes == code
        wrong = m & (crop != pkg.crop)
        if wrong.any():
            ids = ", ".join(map(str, df["id"].to_numpy()[wrong][:5]))
            raise PackageError(f"Gói {code} dành cho {pkg.crop} / package {code} is for {pkg.crop}, not for records {ids}")
        for f, v in [*((f, None if v is None else v) for f, v in pkg.per_ha.items()), *pkg.practice.items()]:
            if v is None:
                continue
            col = df[f]
            null = m & col.isna().to_numpy()
            if f == "urea_kg":
                null &= ~n_syn_reported
            if not null.any():
                continue
            value = area[null] * v if f in PER_HA_FIELDS else v
            if isinstance(col.dtype, pd.CategoricalDtype):
                col = col.astype(object)
            col = col.to_numpy(copy=True)
            col[null] = value
            df[f] = pd.Categorical(col, categories=CATEGORICAL[f]) if f in CATEGORICAL else col
            filled.setdefault(f, np.zeros(n, dtype=bool))
            filled[f] |= null
    names = np.full(n, "", dtype=object)
    for f in FIELDS:
        if f in filled:
            names = np.where(filled[f], np.where(names == "", f, names + "," + f), names)
            from_norms |= filled[f]
    df["from_norms"] = from_norms
    df["norms_fields"] = names
    return df
