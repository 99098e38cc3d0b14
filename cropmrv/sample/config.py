"""What the sample is made of: scales, crops and their Vietnamese labels, targets, random streams."""

from __future__ import annotations

import csv
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GENERATOR_VERSION = "2"
HERE = Path(__file__).resolve().parent
TARGETS_CSV = HERE / "targets.csv"
DATA_YEAR = 2025           # activity data year of the sample
PLAN_PERIOD = "2021-2030"  # provincial land-use plan period


@dataclass(frozen=True)
class Scale:
    """Size knobs. ``cell_ha``: mean size of a land cell (a crop zone when farmed); ``parcel_m2``: mean
    cadastral parcel; ``sheet_m``: side of a cadastral map sheet; ``planning_cells``: land cells per
    planning zone."""

    name: str
    cell_ha: float
    parcel_m2: float
    sheet_m: float
    planning_cells: int
    small_reservoirs_per_100km2: float


SCALES = {
    "small": Scale("small", cell_ha=400.0, parcel_m2=1_500_000.0, sheet_m=10_000.0, planning_cells=3,
                   small_reservoirs_per_100km2=0.6),
    "province": Scale("province", cell_ha=16.0, parcel_m2=6_000.0, sheet_m=2_500.0, planning_cells=6,
                      small_reservoirs_per_100km2=4.0),
}

# crop → (Vietnamese name, zone-code abbreviation, cadastral land-use codes per Circular 08/2024/TT-BTNMT)
CROP_META = {
    "coffee": ("Cà phê", "CPH", ("CLN",)),
    "pepper": ("Hồ tiêu", "TIE", ("CLN",)),
    "durian": ("Sầu riêng", "SRI", ("CLN",)),
    "rice": ("Lúa", "LUA", ("LUC", "LUK")),
    "sugarcane": ("Mía", "MIA", ("HNK", "BHK")),
    "cassava": ("Sắn", "SAN", ("HNK", "BHK")),
}
LAND_USE_VI = {
    "CLN": "Đất trồng cây lâu năm", "LUC": "Đất chuyên trồng lúa", "LUK": "Đất trồng lúa còn lại",
    "HNK": "Đất trồng cây hằng năm khác", "BHK": "Đất bằng trồng cây hằng năm khác",
    "RSX": "Đất rừng sản xuất", "RPH": "Đất rừng phòng hộ", "ONT": "Đất ở tại nông thôn",
    "ODT": "Đất ở tại đô thị", "SKC": "Đất cơ sở sản xuất phi nông nghiệp", "DTL": "Đất công trình thủy lợi",
}
SEASON_VI = {"dong_xuan": "Đông Xuân", "he_thu": "Hè Thu", "mua": "Mùa", "perennial": "Lâu năm", "annual": "Cả năm"}
SEASON_SUFFIX = {"dong_xuan": "DX", "he_thu": "HT", "mua": "VM"}
# seasons carried by a physical zone of each allocation group, per region
GROUP_SEASONS = {
    ("rice_double", "DL"): ("dong_xuan", "mua"), ("rice_double", "PY"): ("dong_xuan", "he_thu"),
    ("rice_single", "DL"): ("mua",), ("rice_single", "PY"): ("he_thu",),
}
GROUP_CROP = {"rice_double": "rice", "rice_single": "rice"}
# served most-constrained first: small or regional groups before the big perennials
QUOTA_ORDER = ["durian:PY", "rice_double:PY", "rice_single:PY", "sugarcane:PY", "cassava:PY",
               "rice_double:DL", "rice_single:DL", "sugarcane:DL", "cassava:DL", "durian:DL", "pepper:DL",
               "coffee:DL"]


@dataclass(frozen=True)
class Target:
    crop: str
    region: str
    season: str
    group: str
    target_ha: float
    basis: str
    source: str


def load_targets(path: Path = TARGETS_CSV) -> list[Target]:
    with path.open(encoding="utf-8") as f:
        return [Target(r["crop"], r["region"], r["season"], r["group"], float(r["target_ha"]), r["basis"],
                       r["source"]) for r in csv.DictReader(f)]


def physical_quotas(targets: list[Target]) -> dict[tuple[str, str], float]:
    """Physical land per (group, region): the largest seasonal target of the group (paddies carry
    several seasons on the same land)."""
    out: dict[tuple[str, str], float] = {}
    for t in targets:
        k = (t.group, t.region)
        out[k] = max(out.get(k, 0.0), t.target_ha)
    return out


def rng_for(seed: int, stream: str, *keys: int) -> np.random.Generator:
    """An independent, stable random stream per purpose (and per commune), so adding a layer or a
    commune never changes the numbers drawn for another."""
    return np.random.default_rng([seed, zlib.crc32(stream.encode()), *keys])
