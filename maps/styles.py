"""Colours of the thematic layers, as data (the tests look for these exact colours in screenshots)."""

from __future__ import annotations

CROP_COLORS = {
    "coffee": "#6f4e37", "pepper": "#1b5e20", "durian": "#c0ca33", "rice": "#29b6f6", "sugarcane": "#ab47bc",
    "cassava": "#ff8a65", "maize": "#ffb300", "cashew": "#8d6e63", "rubber": "#455a64", "tea": "#66bb6a",
    "fruit_other": "#ef5350", "vegetables": "#9ccc65", "other_annual": "#ffe082", "other_perennial": "#a1887f",
}
IRRIGATION_COLORS = {
    "drip": "#2e7d32", "sprinkler": "#7cb342", "awd": "#00acc1", "continuous_flooding": "#1a237e",
    "flood": "#3949ab", "furrow": "#7986cb", "rainfed": "#bcaaa4", "none": "#e0e0e0", "other": "#9e9e9e",
    None: "#f5f5f5",
}
ASSET_COLORS = {
    "reservoir": "#1565c0", "dam": "#0d47a1", "weir": "#1976d2", "canal": "#0288d1", "pipeline": "#00838f",
    "pump_station": "#6a1b9a", "drip_system": "#2e7d32", "sprinkler_system": "#558b2f", "other": "#616161",
}
REVIEW_COLORS = {
    "unreviewed": "#e31a1c", "open": "#ff7f00", "conflict": "#6a3d9a", "adjustment_proposed": "#1f78b4",
    "conforming": "#33a02c", "resolved": "#b2df8a",
}
AWD_CANDIDATE = "#00bcd4"
COFFEE_NOT_EFFICIENT = "#d84315"
SERVICE_AREA = "#1e88e5"
PILOT = "#8e24aa"


def planning_color(code: str | None) -> str:
    """Planning zones by land-use group (TT 08/2024 codes)."""
    c = (code or "").upper()
    if c.startswith("LU"):
        return "#fbc02d"
    if c == "CLN":
        return "#ef6c00"
    if c in ("HNK", "BHK", "NHK", "CHN"):
        return "#f9a825"
    if c in ("RSX", "RPH", "RDD", "LNP"):
        return "#2e7d32"
    return "#757575"


def hex_rgb(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def over_white(color: str, opacity: float) -> tuple[int, int, int]:
    """The colour a fill of ``opacity`` shows on the white map background (what a screenshot sees)."""
    return tuple(round(opacity * v + (1 - opacity) * 255) for v in hex_rgb(color))  # type: ignore[return-value]
