"""The UNFCCC reporting categories that crop production in a province touches, as data.

Why a hand-kept table: ``climate-categories`` has no CRT categorisation (INVENTORY_FORMAT.md §2.2,
§5.5 item 4), so the export validates every row's CRF-2013 code against ``CRF2013_2023`` and its
IPCC 2006 code against ``IPCC2006`` (see :func:`check_codes`), and keeps the CRT printed code beside
them. The CRT renumbers agricultural soils 3.D.a/3.D.b → 3.D.1/3.D.2 (PRIMAP's CRT reader maps
"3.D.1.a" back to "3.D.a.1"; INVENTORY_FORMAT.md §1.4); every other code here is the same in both.

The engine writes CRF-style keys in ``estimate.category`` (3.C…, 3.D.a.1, 3.F.x, 3.G.1, 3.H, 4.B.1;
issue 4). :func:`normalise` also accepts CRT-style spellings so either works.

Default notation keys (used when a leaf has no number in a run) follow one rule: ``NO`` where the
platform's activity data describe every occurrence (rice water regimes are recorded for all rice
zones; wheat and barley are not grown), ``NE`` where absence in the data does not prove absence in
the fields (burning, liming, urea, organic soils, mineralisation), and ``NA`` for a gas that the
category never emits under IPCC rules (CO2 from residue burning is biogenic).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

NOTATION_BITS = {  # CRT Data Exchange JSON bitmask (INVENTORY_FORMAT.md §1.3, from S2 [S])
    "C": 1, "CS": 4, "D": 8, "IE": 32, "NA": 256, "NE": 1024, "NO": 2048,
    "T1": 131072, "T2": 2097152, "T3": 4194304,
}


@dataclass(frozen=True)
class Category:
    crf: str                 # CRF2013_2023 code; the internal key
    crt: str                 # CRT printed code
    label_en: str
    label_vi: str
    ipcc2006: str
    gases: tuple[str, ...]
    parent: str | None
    default_nk: str = "NE"
    activity: str = "Area"   # what the activity-data row measures (always hectares here)

    @property
    def crt_label(self) -> str:
        return f"{self.crt}. {self.label_en}"

    @property
    def sector(self) -> str:
        return self.crf.split(".")[0]


def _c(crf, crt, en, vi, ipcc, gases, parent, nk="NE"):
    return Category(crf, crt, en, vi, ipcc, tuple(gases.split()), parent, nk)


_RICE, _SOIL, _BURN = "CH4", "N2O", "CH4 N2O"
CATEGORIES: tuple[Category, ...] = (
    _c("3.C", "3.C", "Rice cultivation", "Canh tác lúa nước", "3.C.7", _RICE, None),
    _c("3.C.1", "3.C.1", "Irrigated", "Lúa được tưới", "3.C.7", _RICE, "3.C"),
    _c("3.C.1.a", "3.C.1.a", "Continuously flooded", "Ngập liên tục", "3.C.7", _RICE, "3.C.1", "NO"),
    _c("3.C.1.b", "3.C.1.b", "Intermittently flooded", "Ngập gián đoạn", "3.C.7", _RICE, "3.C.1"),
    _c("3.C.1.b.i", "3.C.1.b.i", "Single aeration", "Rút nước một lần", "3.C.7", _RICE, "3.C.1.b", "NO"),
    _c("3.C.1.b.ii", "3.C.1.b.ii", "Multiple aeration", "Rút nước nhiều lần (AWD)", "3.C.7", _RICE,
       "3.C.1.b", "NO"),
    _c("3.C.2", "3.C.2", "Rain-fed", "Lúa nhờ nước trời", "3.C.7", _RICE, "3.C"),
    _c("3.C.2.a", "3.C.2.a", "Flood-prone", "Dễ ngập", "3.C.7", _RICE, "3.C.2", "NO"),
    _c("3.C.2.b", "3.C.2.b", "Drought-prone", "Dễ hạn", "3.C.7", _RICE, "3.C.2", "NO"),
    _c("3.C.3", "3.C.3", "Deep water", "Nước sâu", "3.C.7", _RICE, "3.C", "NO"),
    _c("3.C.4", "3.C.4", "Other (upland rice)", "Khác (lúa rẫy)", "3.C.7", _RICE, "3.C", "NO"),
    _c("3.D", "3.D", "Agricultural soils", "Đất nông nghiệp", "3.C.4", _SOIL, None),
    _c("3.D.a", "3.D.1", "Direct N2O emissions from managed soils", "N2O trực tiếp từ đất canh tác",
       "3.C.4", _SOIL, "3.D"),
    _c("3.D.a.1", "3.D.1.a", "Inorganic N fertilizers", "Phân đạm vô cơ", "3.C.4", _SOIL, "3.D.a"),
    _c("3.D.a.2", "3.D.1.b", "Organic N fertilizers", "Phân đạm hữu cơ", "3.C.4", _SOIL, "3.D.a"),
    _c("3.D.a.3", "3.D.1.c", "Urine and dung deposited by grazing animals",
       "Chất thải gia súc chăn thả", "3.C.4", _SOIL, "3.D.a"),
    _c("3.D.a.4", "3.D.1.d", "Crop residues", "Phụ phẩm cây trồng", "3.C.4", _SOIL, "3.D.a"),
    _c("3.D.a.5", "3.D.1.e", "Mineralization/immobilization associated with loss/gain of soil organic matter",
       "Khoáng hoá do mất/tăng chất hữu cơ đất", "3.C.4", _SOIL, "3.D.a"),
    _c("3.D.a.6", "3.D.1.f", "Cultivation of organic soils (i.e. histosols)", "Canh tác đất hữu cơ",
       "3.C.4", _SOIL, "3.D.a"),
    _c("3.D.a.7", "3.D.1.g", "Other", "Khác", "3.C.4", _SOIL, "3.D.a"),
    _c("3.D.b", "3.D.2", "Indirect N2O emissions from managed soils", "N2O gián tiếp từ đất canh tác",
       "3.C.5", _SOIL, "3.D"),
    _c("3.D.b.1", "3.D.2.a", "Atmospheric deposition", "Lắng đọng từ khí quyển", "3.C.5", _SOIL, "3.D.b"),
    _c("3.D.b.2", "3.D.2.b", "Nitrogen leaching and run-off", "Rửa trôi và chảy tràn đạm", "3.C.5", _SOIL,
       "3.D.b"),
    _c("3.F", "3.F", "Field burning of agricultural residues", "Đốt phụ phẩm trên đồng ruộng", "3.C.1.b",
       _BURN, None),
    _c("3.F.1", "3.F.1", "Cereals", "Ngũ cốc", "3.C.1.b", _BURN, "3.F"),
    _c("3.F.1.a", "3.F.1.a", "Wheat", "Lúa mì", "3.C.1.b", _BURN, "3.F.1", "NO"),
    _c("3.F.1.b", "3.F.1.b", "Barley", "Lúa mạch", "3.C.1.b", _BURN, "3.F.1", "NO"),
    _c("3.F.1.c", "3.F.1.c", "Maize", "Ngô", "3.C.1.b", _BURN, "3.F.1"),
    _c("3.F.1.d", "3.F.1.d", "Other (rice)", "Khác (lúa)", "3.C.1.b", _BURN, "3.F.1"),
    _c("3.F.2", "3.F.2", "Pulses", "Cây họ đậu", "3.C.1.b", _BURN, "3.F"),
    _c("3.F.3", "3.F.3", "Tubers and roots", "Cây lấy củ (sắn)", "3.C.1.b", _BURN, "3.F"),
    _c("3.F.4", "3.F.4", "Sugar cane", "Mía", "3.C.1.b", _BURN, "3.F"),
    _c("3.F.5", "3.F.5", "Other", "Khác", "3.C.1.b", _BURN, "3.F"),
    _c("3.G", "3.G", "Liming", "Bón vôi", "3.C.2", "CO2", None),
    _c("3.G.1", "3.G.1", "Limestone CaCO3", "Đá vôi CaCO3", "3.C.2", "CO2", "3.G"),
    _c("3.G.2", "3.G.2", "Dolomite CaMg(CO3)2", "Dolomit CaMg(CO3)2", "3.C.2", "CO2", "3.G"),
    _c("3.H", "3.H", "Urea application", "Bón urê", "3.C.3", "CO2", None),
    _c("4.B.1", "4.B.1", "Cropland remaining cropland", "Đất trồng trọt giữ nguyên", "3.B.2.a", "CO2", None),
)

NA_GASES = {"3.F": ("CO2",)}   # reported as NA on every 3.F row: biogenic CO2 (2006 Vol. 4 §2.4)

NK_REASON = {
    "NO": ("Không có trong dữ liệu hoạt động của tỉnh năm báo cáo",
           "Does not occur in the province's activity data for the reporting year"),
    "NE": ("Chưa ước tính: nền tảng chưa có dữ liệu hoạt động cho hạng mục này",
           "Not estimated: the platform holds no activity data for this category"),
    "IE": ("Đã tính trong hạng mục cha {parent} (dữ liệu không tách được)",
           "Included in the parent category {parent} (the activity data do not separate it)"),
    "NA": ("Không áp dụng: CO2 từ đốt sinh khối là CO2 sinh học", "Not applicable: biogenic CO2"),
}


@lru_cache
def by_crf() -> dict[str, Category]:
    return {c.crf: c for c in CATEGORIES}


@lru_cache
def by_crt() -> dict[str, Category]:
    return {c.crt: c for c in CATEGORIES}


def children(code: str) -> list[Category]:
    return [c for c in CATEGORIES if c.parent == code]


def is_leaf(code: str) -> bool:
    return not children(code)


def normalise(code: str) -> str:
    """Map an engine category (CRF or CRT spelling, any case, optional trailing dot) to a table code.

    A code deeper than the table (e.g. ``3.F.1.d.rice``) goes to its nearest ancestor in the table.
    Raises ValueError for a code outside the crop-production categories."""
    parts = code.strip().rstrip(".").split(".")
    key = ".".join([*(p.upper() for p in parts[:2]), *(p.lower() for p in parts[2:])])
    while key:
        if key in by_crf():
            return key
        if key in by_crt():
            return by_crt()[key].crf
        key = key.rpartition(".")[0]
    raise ValueError(f"Hạng mục '{code}' không thuộc danh mục báo cáo trồng trọt / category '{code}' is not a "
                     f"crop-production reporting category (known: {', '.join(c.crf for c in CATEGORIES)})")


def ancestors(code: str) -> list[str]:
    out, cur = [], by_crf()[code].parent
    while cur:
        out.append(cur)
        cur = by_crf()[cur].parent
    return out


def check_codes() -> list[str]:
    """Problems found when checking every table code against climate-categories (empty = all good)."""
    import climate_categories as cc

    problems = []
    for c in CATEGORIES:
        if c.crf not in cc.CRF2013_2023:
            problems.append(f"{c.crf}: not in climate_categories.CRF2013_2023")
        if c.ipcc2006 not in cc.IPCC2006:
            problems.append(f"{c.crf}: IPCC 2006 code {c.ipcc2006} not in climate_categories.IPCC2006")
        if c.parent and c.parent not in by_crf():
            problems.append(f"{c.crf}: parent {c.parent} missing")
    return problems
