"""Activity data (per crop zone and season, and commune statistics) and the plan's targets.

Rates are drawn around the calibration ranges of ``cropmrv/data/stats/STATS.md`` §6 (coffee N
300–450 conventional / 200–280 low-emission; cane N ~180 vs 150–170; cane burned 20–30 % of area;
Phú Yên rice straw mostly baled) and the yields of §1. Where STATS.md found no figure (rice N per
season, durian and cassava fertiliser) the value is illustrative and says so in ``Nguon``.

About 30 % of the zones under a practice package report no measured inputs at all, as in real commune returns: the engine must
take those from the zone's practice package ("from norms").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import DATA_YEAR, rng_for

HEADER = ["MaXa", "MaVung", "Nam", "Vu", "CayTrong", "ChiTieu", "GiaTri", "DonVi", "NguonSoLieu"]
SRC_SURVEY = "Điều tra nông hộ (mẫu sinh tự động)"
SRC_ILLUS = "Minh họa: không có số liệu công bố (mẫu sinh tự động)"

UREA_SHARE = 0.5  # mean share of synthetic N applied as urea (the rest as NPK/SA); urea is 46 % N
# crop/practice → item → (mean, sd, unit, source); for urea_kg: the share of synthetic N given as urea
RATES: dict[str, dict[str, tuple[float, float, str, str]]] = {
    "dl-coffee-conventional": {"n_synthetic_kg": (330, 40, "kg/ha", SRC_SURVEY), "urea_kg": (UREA_SHARE, 0.1, "kg/ha", SRC_SURVEY),
                            "yield_t_ha": (2.55, 0.35, "t/ha", SRC_SURVEY)},
    "dl-coffee-low-emission": {"n_synthetic_kg": (240, 25, "kg/ha", SRC_SURVEY), "urea_kg": (UREA_SHARE, 0.1, "kg/ha", SRC_SURVEY),
                            "n_organic_kg": (60, 10, "kg/ha", SRC_SURVEY), "yield_t_ha": (2.7, 0.3, "t/ha", SRC_SURVEY)},
    "pepper": {"n_synthetic_kg": (184, 20, "kg/ha", SRC_SURVEY), "urea_kg": (UREA_SHARE, 0.1, "kg/ha", SRC_SURVEY),
                            "yield_t_ha": (3.2, 0.4, "t/ha", SRC_SURVEY)},
    "durian": {"n_synthetic_kg": (250, 40, "kg/ha", SRC_ILLUS), "urea_kg": (UREA_SHARE, 0.1, "kg/ha", SRC_ILLUS),
                            "yield_t_ha": (20, 5, "t/ha", SRC_SURVEY)},
    "dl-rice-continuous-flooding": {"n_synthetic_kg": (95, 15, "kg/ha", SRC_ILLUS), "urea_kg": (UREA_SHARE, 0.1, "kg/ha", SRC_ILLUS)},
    "dl-rice-awd": {"n_synthetic_kg": (85, 12, "kg/ha", SRC_ILLUS), "urea_kg": (UREA_SHARE, 0.1, "kg/ha", SRC_ILLUS)},
    "dl-sugarcane-burning": {"n_synthetic_kg": (184, 15, "kg/ha", SRC_SURVEY), "urea_kg": (UREA_SHARE, 0.1, "kg/ha", SRC_SURVEY),
                          "residue_burned_fraction": (90, 5, "%", SRC_SURVEY)},
    "dl-sugarcane-no-burning": {"n_synthetic_kg": (160, 12, "kg/ha", SRC_SURVEY), "urea_kg": (UREA_SHARE, 0.1, "kg/ha", SRC_SURVEY),
                             "residue_burned_fraction": (0, 0, "%", SRC_SURVEY)},
    "cassava": {"n_synthetic_kg": (80, 15, "kg/ha", SRC_ILLUS), "urea_kg": (UREA_SHARE, 0.1, "kg/ha", SRC_ILLUS),
                             "yield_t_ha": (22.5, 3, "t/ha", SRC_SURVEY)},
}
RICE_YIELD = {("PY", "dong_xuan"): 7.6, ("PY", "he_thu"): 6.5, ("DL", "dong_xuan"): 7.25, ("DL", "mua"): 6.2}
RICE_DAYS = {"dong_xuan": 110, "he_thu": 100, "mua": 105}
CANE_YIELD = {"PY": 63.0, "DL": 75.0}


def zone_activity(rows: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Long table, one line per zone-season and item, in the column names a commune return uses."""
    rng = rng_for(seed, "activity")
    n = len(rows)
    # a zone under a catalogue package may leave its inputs unreported (the package fills them);
    # crops without a package always report
    reported = (rng.random(n) >= 0.30) | rows["practice_code"].isna().to_numpy()
    out: list[pd.DataFrame] = []

    def add(mask: np.ndarray, item: str, values, unit: str, source: str) -> None:
        idx = np.flatnonzero(mask & reported)
        if not len(idx):
            return
        vals = np.broadcast_to(np.asarray(values, dtype=object), (n,))[idx]
        out.append(pd.DataFrame({"MaXa": rows["ma_xa"].to_numpy()[idx], "MaVung": rows["zone_code"].to_numpy()[idx],
                                 "Nam": DATA_YEAR, "Vu": rows["season"].to_numpy()[idx],
                                 "CayTrong": rows["crop"].to_numpy()[idx], "ChiTieu": item, "GiaTri": vals,
                                 "DonVi": unit, "NguonSoLieu": source, "_order": idx}))

    # rates by practice package, or by crop where the catalogue has no package
    key = rows["practice_code"].fillna(rows["crop"]).to_numpy()
    for code, items in RATES.items():
        m = key == code
        n_synth = np.zeros(n)
        for item, (mean, sd, unit, src) in items.items():
            v = np.clip(rng.normal(mean, sd, n), 0, None)
            if item == "n_synthetic_kg":
                n_synth = np.round(v, 1)
            if item == "urea_kg":  # urea carries part of the synthetic N, never more than all of it
                v = n_synth * np.clip(v, 0.1, 0.95) / 0.46
            v = np.round(v, 3 if unit == "t/ha" else 1)
            if item == "residue_burned_fraction":
                v = np.clip(v, 0, 100)
            add(m, item, v, unit, src)
    rice = rows["crop"].to_numpy() == "rice"
    region = rows["region"].to_numpy()
    season = rows["season"].to_numpy()
    y = np.array([RICE_YIELD.get((r, s), 6.5) for r, s in zip(region, season, strict=True)])
    add(rice, "yield_t_ha", np.round(y + rng.normal(0, 0.4, n), 2), "t/ha", SRC_SURVEY)
    days = np.array([RICE_DAYS.get(s, 105) for s in season]) + rng.integers(-5, 6, n)
    add(rice, "cultivation_days", days, "ngày", SRC_SURVEY)
    add(rice, "water_regime", rows["water_regime"].to_numpy(), "", SRC_SURVEY)
    add(rice, "pre_season_regime", np.where(season == "dong_xuan", "non_flooded_lt180", "non_flooded_lt180"),
        "", SRC_SURVEY)
    py = region == "PY"
    add(rice, "residue_burned_fraction", np.where(py, 5, 30), "%",
        "STATS.md §2c: rơm Phú Yên chủ yếu cuộn bán; tỷ lệ đốt minh họa")
    add(rice, "residue_removed_fraction", np.where(py, 60, 20), "%", SRC_ILLUS)
    cane = rows["crop"].to_numpy() == "sugarcane"
    add(cane, "yield_t_ha", np.round(np.array([CANE_YIELD[r] for r in region]) + rng.normal(0, 8, n), 1), "t/ha",
        SRC_SURVEY)
    lime = np.isin(rows["crop"].to_numpy(), ["coffee", "pepper"]) & (rng.random(n) < 0.3)
    add(lime, "limestone_kg", np.round(rng.uniform(300, 700, n), -1), "kg/ha", SRC_SURVEY)
    df = pd.concat(out, ignore_index=True).sort_values(["_order", "ChiTieu"], kind="stable")
    return df.drop(columns="_order").reset_index(drop=True)


def commune_statistics(communes, farm_ha: np.ndarray, seed: int) -> pd.DataFrame:
    """Commune statistics without geometry (rows with no ``MaVung``): Đông Xuân maize in former Đắk
    Lắk, 3,573 ha in all (DX 2020-21 cereals 48,206 ha minus DX rice 44,633 ha; baodaklak 5737931,
    STATS.md §1b; 20,666 t of maize → 5.8 t/ha)."""
    rng = rng_for(seed, "commune_stats")
    dl = (communes["region"] == "DL").to_numpy()
    w = farm_ha * (0.2 + communes["w_rice"].to_numpy()) * rng.uniform(0.5, 1.5, len(communes)) * dl
    area = np.round(3_573 * w / w.sum(), 1)
    keep = np.flatnonzero(area > 0)
    n = len(keep)
    src = "Thống kê xã (mẫu sinh tự động; tổng theo STATS.md §1b)"
    n_synth = np.round(rng.normal(150, 20, n), 1)
    items = [("area_ha", area[keep], "ha"), ("n_synthetic_kg", n_synth, "kg/ha"),
             ("urea_kg", np.round(n_synth * np.clip(rng.normal(0.6, 0.1, n), 0.1, 0.95) / 0.46, 1), "kg/ha"),
             ("yield_t_ha", np.round(rng.normal(5.8, 0.5, n), 2), "t/ha"),
             ("residue_burned_fraction", np.full(n, 20.0), "%")]
    parts = [pd.DataFrame({"MaXa": communes["ma_xa"].to_numpy()[keep], "MaVung": None, "Nam": DATA_YEAR,
                           "Vu": "dong_xuan", "CayTrong": "maize", "ChiTieu": item, "GiaTri": v, "DonVi": unit,
                           "NguonSoLieu": src}) for item, v, unit in items]
    return pd.concat(parts, ignore_index=True).sort_values(["MaXa", "ChiTieu"], kind="stable").reset_index(drop=True)


def plan_targets() -> pd.DataFrame:
    """Targets of the province's plan, with the indicator names ``cropmrv.mrv.targets`` measures.
    Decision 1273/QĐ-UBND's figures were not found: values are illustrative except where a national
    source is named (4024/QĐ-BNNMT: ≥15 % below 2020 by 2035, 1-2 models, 100 % of main-crop area
    by 2050)."""
    ill = "MINH HỌA / ILLUSTRATIVE (mẫu sinh tự động; chưa có chỉ tiêu QĐ 1273/QĐ-UBND)"
    rows = [
        ("ghg_reduction_vs_2020_pct", "Giảm phát thải KNK trồng trọt so với năm 2020",
         "Crop-sector GHG reduction below 2020", 2030, 10, "%", ill),
        ("ghg_reduction_vs_2020_pct", "Giảm phát thải KNK trồng trọt so với năm 2020",
         "Crop-sector GHG reduction below 2020", 2035, 15, "%", "QĐ 4024/QĐ-BNNMT (quốc gia)"),
        ("low_emission_models", "Mô hình sản xuất giảm phát thải", "Low-emission production models", 2026, 2,
         "models", "Nhiệm vụ IV.1: mía và cà phê (QĐ 4766/QĐ-BNNMT)"),
        ("low_emission_area_ha", "Diện tích áp dụng quy trình giảm phát thải", "Area under low-emission practice",
         2030, 30_000, "ha", ill),
        ("low_emission_area_ha", "Diện tích áp dụng quy trình giảm phát thải", "Area under low-emission practice",
         2035, 60_000, "ha", ill),
        ("low_emission_area_share_pct", "Tỷ lệ diện tích cây trồng chính canh tác giảm phát thải",
         "Share of main-crop area under emission-reducing cultivation", 2050, 100, "%", "QĐ 4024/QĐ-BNNMT (quốc gia)"),
    ]
    rows += [("farmers_trained", "Nông dân được tập huấn", "Farmers trained", y, 1000, "people",
              "Nhiệm vụ III.3: ít nhất 500–1.000 nông dân/năm; 1.000 là minh họa") for y in range(2026, 2031)]
    return pd.DataFrame(rows, columns=["indicator", "label_vi", "label_en", "year", "target_value", "unit", "source"])
