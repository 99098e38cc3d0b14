"""Every word the maps show, in Vietnamese (default) and English, and Vietnamese number formatting.

Reviewers at the department read Vietnamese; ``?lang=en`` serves partners. Labels are data (one
dict per language) so a missing translation is a KeyError in the tests, not an English word on a
Vietnamese page. Numbers: Vietnamese uses "." for thousands and "," for decimals (1.234,5).
"""

from __future__ import annotations

import math
from typing import Any

LANGS = ("vi", "en")

CROPS: dict[str, dict[str, str]] = {
    "vi": {"coffee": "cà phê", "pepper": "hồ tiêu", "durian": "sầu riêng", "rice": "lúa", "sugarcane": "mía",
           "cassava": "sắn", "maize": "ngô", "cashew": "điều", "rubber": "cao su", "tea": "chè",
           "fruit_other": "cây ăn quả khác", "vegetables": "rau màu", "other_annual": "cây hằng năm khác",
           "other_perennial": "cây lâu năm khác"},
    "en": {"coffee": "coffee", "pepper": "black pepper", "durian": "durian", "rice": "rice", "sugarcane": "sugarcane",
           "cassava": "cassava", "maize": "maize", "cashew": "cashew", "rubber": "rubber", "tea": "tea",
           "fruit_other": "other fruit", "vegetables": "vegetables", "other_annual": "other annual crops",
           "other_perennial": "other perennial crops"},
}

IRRIGATION: dict[str, dict[str, str]] = {
    "vi": {"none": "không tưới", "rainfed": "nhờ mưa", "flood": "tưới tràn", "furrow": "tưới rãnh",
           "sprinkler": "tưới phun mưa", "drip": "tưới nhỏ giọt", "awd": "ướt khô xen kẽ (AWD)",
           "continuous_flooding": "ngập liên tục", "other": "khác", None: "chưa rõ"},
    "en": {"none": "not irrigated", "rainfed": "rainfed", "flood": "flood", "furrow": "furrow",
           "sprinkler": "sprinkler", "drip": "drip", "awd": "alternate wetting and drying (AWD)",
           "continuous_flooding": "continuously flooded", "other": "other", None: "unknown"},
}

ASSET_KINDS: dict[str, dict[str, str]] = {
    "vi": {"reservoir": "hồ chứa", "dam": "đập", "weir": "đập dâng", "canal": "kênh mương", "pipeline": "đường ống",
           "pump_station": "trạm bơm", "drip_system": "hệ thống tưới nhỏ giọt",
           "sprinkler_system": "hệ thống tưới phun", "other": "công trình khác"},
    "en": {"reservoir": "reservoir", "dam": "dam", "weir": "weir", "canal": "canal", "pipeline": "pipeline",
           "pump_station": "pump station", "drip_system": "drip system", "sprinkler_system": "sprinkler system",
           "other": "other works"},
}

REVIEW_STATUS: dict[str, dict[str, str]] = {
    "vi": {"unreviewed": "chưa rà soát", "open": "đang rà soát", "conforming": "phù hợp quy hoạch",
           "conflict": "xác nhận không phù hợp", "adjustment_proposed": "đề xuất điều chỉnh",
           "resolved": "đã xử lý"},
    "en": {"unreviewed": "not reviewed", "open": "under review", "conforming": "conforms to the plan",
           "conflict": "conflict confirmed", "adjustment_proposed": "adjustment proposed", "resolved": "resolved"},
}

CONFLICT_REASONS: dict[str, dict[str, str]] = {
    "vi": {"perennial_land": "cây hằng năm trên đất quy hoạch cây lâu năm",
           "rice_land": "cây lâu năm trên đất quy hoạch trồng lúa",
           "specialised_rice_land": "cây khác trên đất chuyên trồng lúa",
           "annual_land": "cây lâu năm trên đất quy hoạch cây hằng năm",
           "forest": "cây trồng trên đất quy hoạch lâm nghiệp",
           "non_agricultural": "cây trồng trên đất quy hoạch phi nông nghiệp",
           "other_agricultural": "cây trồng trên đất nông nghiệp khác mục đích"},
    "en": {"perennial_land": "annual crop on land planned for perennial crops",
           "rice_land": "perennial crop on land planned for rice",
           "specialised_rice_land": "non-rice crop on land specialised for rice",
           "annual_land": "perennial crop on land planned for annual crops",
           "forest": "crop on land planned for forestry",
           "non_agricultural": "crop on land planned for non-agricultural use",
           "other_agricultural": "crop on agricultural land planned for another use"},
}

T: dict[str, dict[str, str]] = {
    "vi": {
        "maps": "Bản đồ", "index_title": "Bản đồ phục vụ rà soát", "province": "tỉnh",
        "province_map": "Phát thải theo xã", "commune_map": "Bản đồ xã",
        "planning_map": "Rà soát quy hoạch", "irrigation_map": "Rà soát thủy lợi",
        "pilot_map": "Điểm thí điểm", "commune": "Xã/phường", "communes": "Ranh giới xã",
        "labels": "Tên xã", "roads": "Đường chính (OSM)", "year": "Năm", "no_run": "Chưa có kết quả tính cho năm",
        "total": "Tổng phát thải", "per_ha": "Cường độ phát thải", "t_co2e": "t CO₂e", "kg_ha": "kg CO₂e/ha",
        "area_ha": "Diện tích (ha)", "no_data": "không có số liệu", "measure": "Chỉ tiêu", "crop": "Cây trồng",
        "practice": "Gói kỹ thuật", "irrigation": "Phương thức tưới", "season": "Mùa vụ", "zone": "Vùng",
        "crop_zones": "Vùng trồng", "parcels": "Thửa đất (phóng to từ mức 15)", "planning_zones": "Quy hoạch sử dụng đất",
        "irrigation_assets": "Công trình thủy lợi", "service_areas": "Vùng phục vụ tưới",
        "land_use": "Mục đích quy hoạch", "plan": "Quy hoạch", "conflicts": "Vùng trồng không phù hợp quy hoạch",
        "reason": "Lý do", "overlap": "Phần chồng lấn", "status": "Trạng thái", "finding": "Nhận xét",
        "decision": "Kết luận", "api_key": "Khóa API", "submit": "Gửi kết quả rà soát", "saved": "Đã lưu rà soát số",
        "error": "Lỗi", "review": "Rà soát", "awd_candidates": "Lúa ngập liên tục có thể chuyển AWD",
        "coffee_no_efficient": "Cà phê chưa tưới tiết kiệm", "kind": "Loại công trình", "name": "Tên",
        "design_area": "Diện tích thiết kế (ha)", "asset": "Công trình", "baseline": "Hiện trạng (baseline)",
        "project": "Mô hình (dự án)", "reduction": "Giảm phát thải", "t_co2e_yr": "t CO₂e/năm",
        "site": "Điểm", "start_year": "Năm bắt đầu", "decision_ref": "Quyết định", "illustrative": "gói minh họa",
        "no_result": "chưa tính được", "legend": "Chú giải", "served_only": "Mở bản đồ trên máy chủ để gửi rà soát",
        "osm": "Đường giao thông © những người đóng góp OpenStreetMap (ODbL)", "lang_other": "English",
        "page_size": "Kích thước trang", "count": "Số lượng", "ha": "ha", "open": "Mở",
        "missing_key": "Cần nhập khóa API", "zones_in": "vùng", "of_area": "diện tích vùng",
        "site_areas": "Ranh giới khu thí điểm",
    },
    "en": {
        "maps": "Maps", "index_title": "Maps for reviewers", "province": "province",
        "province_map": "Emissions by commune", "commune_map": "Commune map",
        "planning_map": "Planning review", "irrigation_map": "Irrigation review",
        "pilot_map": "Pilot sites", "commune": "Commune", "communes": "Commune boundaries",
        "labels": "Commune names", "roads": "Main roads (OSM)", "year": "Year", "no_run": "No estimate run for",
        "total": "Total emissions", "per_ha": "Emission intensity", "t_co2e": "t CO₂e", "kg_ha": "kg CO₂e/ha",
        "area_ha": "Area (ha)", "no_data": "no data", "measure": "Measure", "crop": "Crop",
        "practice": "Practice package", "irrigation": "Irrigation", "season": "Season", "zone": "Zone",
        "crop_zones": "Crop zones", "parcels": "Parcels (zoom 15 and closer)", "planning_zones": "Land-use planning",
        "irrigation_assets": "Irrigation works", "service_areas": "Irrigation service areas",
        "land_use": "Planned land use", "plan": "Plan", "conflicts": "Crop zones in conflict with the plan",
        "reason": "Reason", "overlap": "Overlap", "status": "Status", "finding": "Finding",
        "decision": "Decision", "api_key": "API key", "submit": "Submit review", "saved": "Saved review no.",
        "error": "Error", "review": "Review", "awd_candidates": "Continuously flooded rice that could move to AWD",
        "coffee_no_efficient": "Coffee without efficient irrigation", "kind": "Kind of works", "name": "Name",
        "design_area": "Design area (ha)", "asset": "Works", "baseline": "Baseline", "project": "Project",
        "reduction": "Reduction", "t_co2e_yr": "t CO₂e/yr", "site": "Site", "start_year": "Start year",
        "decision_ref": "Decision", "illustrative": "illustrative package", "no_result": "not computed",
        "legend": "Legend", "served_only": "Open the served map to submit reviews",
        "osm": "Roads © OpenStreetMap contributors (ODbL)", "lang_other": "Tiếng Việt",
        "page_size": "Page size", "count": "Count", "ha": "ha", "open": "Open",
        "missing_key": "An API key is required", "zones_in": "zones", "of_area": "of the zone's area",
        "site_areas": "Pilot site areas",
    },
}


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"Ngôn ngữ không hỗ trợ '{lang}' (vi, en) / unsupported language '{lang}' (vi, en)")
    return lang


def t(key: str, lang: str) -> str:
    return T[lang][key]


def crop(code: str | None, lang: str) -> str:
    return CROPS[lang].get(code or "", code or "")


def fmt(x: Any, lang: str, decimals: int = 1) -> str:
    """``1234.5`` → ``1.234,5`` (vi) or ``1,234.5`` (en); None/NaN → an en dash."""
    if x is None:
        return "–"
    x = float(x)
    if math.isnan(x):
        return "–"
    s = f"{x:,.{decimals}f}"
    if lang == "vi":
        s = s.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return s


def fmt_pct(x: Any, lang: str, decimals: int = 0) -> str:
    return "–" if x is None else fmt(100 * float(x), lang, decimals) + " %"
