"""Column-mapping profiles: which source column feeds which layer column, and value spellings.

Why profiles and not a fixed schema: the same parcel number is ``SoThua`` in one commune's export,
``SOTHUTUTHU`` in famis output and ``SO_THUA`` in a QGIS template. Built-in profiles
(``ingest/profiles/<layer>.yaml``) list the names seen in practice; a user's small YAML file
overrides or extends them::

    columns:
      parcel_no: THUA_SO          # one name or a list
      land_use_code: [LOAI, MDSD]
    values:
      crop: {coffee: [cf, "cà phê vối"]}

Source columns that feed no layer column are never dropped: they go to the ``attributes`` JSON.
Matching ignores case, accents, spaces, ``_`` and ``-`` (``Dien_Tich`` = ``DIENTICH``).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"
DATA_DIR = Path(__file__).resolve().parent / "data"

#: Layer → its target columns, in table order (the geometry and bookkeeping columns excluded).
LAYER_COLUMNS: dict[str, tuple[str, ...]] = {
    "parcels": ("commune_code", "map_sheet", "parcel_no", "land_use_code", "area_m2"),
    "crop_zones": ("commune_code", "zone_code", "planting_code", "crop", "season", "year", "area_ha",
                   "practice_code", "planted_year", "irrigation_method", "water_regime"),
    "planning_zones": ("commune_code", "zone_code", "plan_name", "plan_period", "land_use_code"),
    "irrigation_assets": ("commune_code", "asset_code", "kind", "name", "design_area_ha", "status"),
    "irrigation_service_areas": ("asset_code", "commune_code"),
    "pilot_sites": ("site_code", "name", "crop", "decision_ref", "commune_code", "baseline_package",
                    "project_package", "start_year", "area_ha"),
}
NUMERIC = {"area_m2": float, "area_ha": float, "design_area_ha": float, "year": int, "planted_year": int,
           "start_year": int}
#: Columns that must be present (mapped or defaulted) for a layer to load at all.
REQUIRED = {"crop_zones": ("crop",), "planning_zones": ("land_use_code",), "irrigation_assets": ("kind",),
            "irrigation_service_areas": ("asset_code",), "pilot_sites": ("site_code", "name", "crop")}


def fold(name: str) -> str:
    """Case-, accent- and separator-insensitive key of a column name or a value."""
    s = unicodedata.normalize("NFD", str(name)).replace("đ", "d").replace("Đ", "D")
    s = "".join(ch for ch in s if unicodedata.category(ch) != "Mn")
    return re.sub(r"[\s_\-.]+", "", s).casefold()


@dataclass
class Profile:
    """Resolved mapping for one layer: aliases per target column and value spellings per column."""

    layer: str
    aliases: dict[str, list[str]]
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # column → folded spelling → code
    origin: list[str] = field(default_factory=list)

    def resolve(self, source_columns: list[str], empty: set[str] | frozenset = frozenset()) -> dict[str, str]:
        """Target column → the source column that feeds it: the first alias present wins, except that a
        column with no value at all (``empty``) yields to a later alias that has values (famis exports
        carry both ``SOTHUTUTHU`` and a DBF-truncated ``SOTHUTU001``, only one of them filled)."""
        by_key: dict[str, str] = {}
        for c in source_columns:
            by_key.setdefault(fold(c), c)
        out: dict[str, str] = {}
        used: set[str] = set()
        for target in LAYER_COLUMNS[self.layer]:
            found = [by_key[fold(a)] for a in self.aliases.get(target, []) if fold(a) in by_key]
            found = [c for c in dict.fromkeys(found) if c not in used]
            if found:
                src = next((c for c in found if c not in empty), found[0])
                out[target] = src
                used.add(src)
        return out

    def normalise_value(self, column: str, value: object) -> object:
        """Map a spelling ("Cà phê") to its code ("coffee"); unknown spellings are returned as they are."""
        table = self.values.get(column)
        if not table or value is None or not isinstance(value, str):
            return value
        return table.get(fold(value), value)


def _as_list(v: object) -> list[str]:
    if v is None:
        return []
    return [str(x) for x in v] if isinstance(v, list | tuple) else [str(v)]


def _merge(profile: Profile, spec: dict, origin: str, override: bool) -> None:
    unknown = set(spec) - {"layer", "columns", "values", "description"}
    if unknown:
        raise ValueError(f"{origin}: khóa không hợp lệ {sorted(unknown)} / unknown keys {sorted(unknown)} "
                         "(allowed: columns, values)")
    for target, names in (spec.get("columns") or {}).items():
        if target not in LAYER_COLUMNS[profile.layer]:
            raise ValueError(
                f"{origin}: cột '{target}' không có trong lớp {profile.layer} / column '{target}' is not a "
                f"{profile.layer} column (columns: {', '.join(LAYER_COLUMNS[profile.layer])})"
            )
        names = _as_list(names)
        # A user's mapping is tried first, so it wins over a built-in alias that also matches.
        profile.aliases[target] = names + ([] if override else profile.aliases.get(target, []))
        if override:
            profile.aliases[target] += [a for a in load_profile(profile.layer).aliases.get(target, [])
                                        if a not in names]
    for column, table in (spec.get("values") or {}).items():
        dest = profile.values.setdefault(column, {})
        for code, spellings in (table or {}).items():
            for sp in [*_as_list(spellings), str(code)]:
                dest[fold(sp)] = str(code)
    profile.origin.append(origin)


@lru_cache(maxsize=16)
def load_profile(layer: str) -> Profile:
    """The built-in profile of a layer."""
    if layer not in LAYER_COLUMNS:
        raise ValueError(f"lớp không hỗ trợ '{layer}' / unsupported layer '{layer}' "
                         f"(layers: {', '.join(LAYER_COLUMNS)})")
    prof = Profile(layer=layer, aliases={c: [c] for c in LAYER_COLUMNS[layer]})
    path = PROFILE_DIR / f"{layer}.yaml"
    if path.exists():
        spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for target, names in (spec.get("columns") or {}).items():
            prof.aliases[target] = _as_list(names)
        _merge(prof, {"values": spec.get("values")}, f"built-in {path.name}", override=False)
    return prof


def profile_for(layer: str, mapping: str | Path | dict | None = None) -> Profile:
    """The built-in profile of ``layer``, overridden by a user's YAML file (or dict) when given."""
    base = load_profile(layer)
    prof = Profile(layer=layer, aliases={k: list(v) for k, v in base.aliases.items()},
                   values={k: dict(v) for k, v in base.values.items()}, origin=list(base.origin))
    if mapping is None:
        return prof
    if isinstance(mapping, dict):
        spec, origin = mapping, "mapping"
    else:
        path = Path(mapping)
        if not path.exists():
            raise FileNotFoundError(f"{path}: không tìm thấy tệp ánh xạ cột / mapping file not found")
        try:
            spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"{path.name}: tệp YAML không hợp lệ / invalid YAML: {exc}") from exc
        origin = path.name
    if not isinstance(spec, dict):
        raise ValueError(f"{origin}: cần một bảng khóa: giá trị / expected a mapping at the top level")
    if "columns" not in spec and "values" not in spec:
        spec = {"columns": spec}  # the short form: just target: source
    _merge(prof, spec, origin, override=True)
    return prof


@lru_cache(maxsize=1)
def land_use_codes() -> dict[str, dict[str, str]]:
    """Land-use codes of Circular 08/2024/TT-BTNMT (and legacy 27/2018 codes), code → row."""
    with open(DATA_DIR / "land_use_codes.csv", encoding="utf-8", newline="") as fh:
        return {row["code"]: row for row in csv.DictReader(fh)}


_SPLIT = re.compile(r"[+,;/]")


def unknown_land_use(value: object) -> list[str]:
    """Parts of a land-use value that are not known codes (``ONT+CLN`` → checks ONT and CLN)."""
    if value is None or (isinstance(value, float) and value != value):
        return []
    codes = land_use_codes()
    return [p for p in (x.strip().upper() for x in _SPLIT.split(str(value))) if p and p not in codes]
