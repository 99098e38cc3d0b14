"""VN-2000 coordinate systems: which one a file is in, and how to get to WGS 84.

Why: Vietnamese cadastral and planning shapefiles are in VN-2000 metres, usually in a 3-degree
transverse Mercator zone (TM-3) chosen per province, and often come without a ``.prj`` or with a
wrong one. TM-3 zones share false easting 500 000 m and scale 0.9999 and differ only by central
meridian, so the same numbers are valid in every zone, each placing the data somewhere else along
the parallel. The only reliable test is geographic: which candidate puts the data inside the
region it is meant to cover. :func:`detect_crs` applies that test and refuses to guess when it
cannot tell, saying where each candidate would put the data.

The VN-2000 -> WGS 84 step is the published 7-parameter Helmert transformation EPSG:6960
("VN-2000 to WGS 84 (2)", the parameters of Decision 05/2007/QĐ-BTNMT); PROJ also knows EPSG:5194
("VN-2000 to WGS 84 (1)", an oil-industry set for the Mekong delta blocks only), so
:func:`transformer_to_wgs84` picks 6960 explicitly rather than trusting the default.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np
import pyproj
import shapely
from pyproj.transformer import TransformerGroup

__all__ = [
    "CANDIDATE_EPSG",
    "VN2000_TM3_EPSG",
    "VN2000_TO_WGS84_OPERATION",
    "VN2000_UTM_EPSG",
    "Candidate",
    "CrsDecision",
    "detect_crs",
    "official_tm3_zone",
    "reproject_to_wgs84",
    "declared_epsg",
    "parse_epsg",
    "transformer_to_wgs84",
]

#: VN-2000 TM-3 zones: the province zones 9205-9218 and 5899 (107-45), and the national 5896-5898.
VN2000_TM3_EPSG: tuple[int, ...] = (*range(9205, 9219), 5896, 5897, 5898, 5899)
#: VN-2000 / UTM zone 48N and 49N.
VN2000_UTM_EPSG: tuple[int, ...] = (3405, 3406)
#: Everything :func:`detect_crs` tries, WGS 84 last.
CANDIDATE_EPSG: tuple[int, ...] = (*VN2000_TM3_EPSG, *VN2000_UTM_EPSG, 4326)
#: The VN-2000 -> WGS 84 operation used (EPSG code and name as PROJ reports them).
VN2000_TO_WGS84_OPERATION = ("EPSG:6960", "VN-2000 to WGS 84 (2)")
_VN2000_GEOG = 4756
_KM_PER_DEG = 111.32


@dataclass(frozen=True)
class Candidate:
    """Where one candidate CRS would put the sampled data."""

    epsg: int
    name: str
    lon: float  # centroid of the sample, degrees (nan if the coordinates are impossible in this CRS)
    lat: float
    share_inside: float  # share of sampled points inside the (buffered) region
    km_from_region: float  # distance from the centroid to the region, km (0 inside)
    in_zone_area: bool  # the centroid is inside this CRS's own EPSG area of use

    def where(self) -> str:
        """Where the data would land, in words (bilingual)."""
        if math.isnan(self.lon):
            return "impossible coordinates / tọa độ không hợp lệ"
        place = f"{self.lon:.3f}°E {self.lat:.3f}°N"
        if self.share_inside == 0:
            return f"{place}, ≈{self.km_from_region:.0f} km outside the region / ngoài vùng"
        return f"{place}, {self.share_inside:.0%} inside the region / trong vùng"


@dataclass(frozen=True)
class CrsDecision:
    """The chosen CRS (``epsg`` None when refused), how it was chosen, and the evidence."""

    epsg: int | None
    source: Literal["prj", "inferred", "user"] | None
    candidates: list[Candidate]
    message: str
    warnings: list[str] = field(default_factory=list)
    operation: str = ""  # the transformation to WGS 84 that will be used

    @property
    def accepted(self) -> bool:
        return self.epsg is not None


@lru_cache(maxsize=64)
def transformer_to_wgs84(epsg: int) -> tuple[pyproj.Transformer, str]:
    """A lon/lat-ordered transformer from ``epsg`` to WGS 84 and a description of the operation.

    For VN-2000 systems the pipeline that contains EPSG:6960 is chosen explicitly.
    """
    if epsg == 4326:
        return pyproj.Transformer.from_crs(4326, 4326, always_xy=True), "identity (WGS 84)"
    group = TransformerGroup(epsg, 4326, always_xy=True)
    code = VN2000_TO_WGS84_OPERATION[0].split(":")[1]
    for t in group.transformers:
        if _operation_codes(t.to_json()) & {code}:
            return t, f"{t.description} [{VN2000_TO_WGS84_OPERATION[0]}]"
    t = group.transformers[0] if group.transformers else pyproj.Transformer.from_crs(epsg, 4326, always_xy=True)
    return t, t.description


def _operation_codes(projjson: str) -> set[str]:
    out: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            ident = node.get("id")
            if isinstance(ident, dict) and ident.get("authority") == "EPSG":
                out.add(str(ident.get("code")))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(json.loads(projjson))
    return out


def reproject_to_wgs84(geoms: np.ndarray, epsg: int) -> np.ndarray:
    """Transform an array of shapely geometries from ``epsg`` to WGS 84 (vectorised, EPSG:6960)."""
    t, _ = transformer_to_wgs84(epsg)

    def fn(xy: np.ndarray) -> np.ndarray:
        x, y = t.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(np.asarray(geoms, dtype=object), fn)


# ------------------------------------------------------------------------------------------------
def _sample_xy(bounds_or_points: object, max_points: int) -> np.ndarray:
    """(N, 2) sample coordinates from bounds, an (N, 2) array, or shapely geometries."""
    if isinstance(bounds_or_points, tuple | list) and len(bounds_or_points) == 4 and all(
        isinstance(v, int | float | np.floating | np.integer) for v in bounds_or_points
    ):
        x0, y0, x1, y1 = map(float, bounds_or_points)
        gx, gy = np.meshgrid(np.linspace(x0, x1, 3), np.linspace(y0, y1, 3))
        return np.column_stack([gx.ravel(), gy.ravel()])
    arr = np.asarray(getattr(bounds_or_points, "values", bounds_or_points))
    if arr.dtype != object and arr.ndim == 2 and arr.shape[1] >= 2:
        xy = arr[:, :2].astype(float)
    else:
        geoms = arr.ravel()
        geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
        if len(geoms) > max_points:
            geoms = geoms[np.linspace(0, len(geoms) - 1, max_points).round().astype(int)]
        xy = shapely.get_coordinates(shapely.centroid(geoms))
    xy = xy[np.isfinite(xy).all(axis=1)]
    if len(xy) > max_points:
        xy = xy[np.linspace(0, len(xy) - 1, max_points).round().astype(int)]
    return xy


@lru_cache(maxsize=64)
def _crs(epsg: int) -> pyproj.CRS:
    return pyproj.CRS.from_epsg(epsg)


@lru_cache(maxsize=64)
def _to_own_lonlat(epsg: int) -> pyproj.Transformer:
    """Projected → its own geographic CRS: the map projection only, no datum shift.

    Why not :func:`transformer_to_wgs84` for telling candidates apart: the VN-2000 → WGS 84 shift
    is a few hundred metres, far inside the 5 km buffer the test allows, while building the
    datum operation for every candidate costs ~4 ms each (a third of a load's start-up).
    """
    c = _crs(epsg)
    return pyproj.Transformer.from_crs(c, c.geodetic_crs, always_xy=True)


def _datum_to_wgs84(epsg: int, lon: float, lat: float) -> tuple[float, float]:
    """One point from ``epsg``'s own geographic CRS to WGS 84 (the reported centre of a candidate)."""
    geog = _crs(epsg).geodetic_crs if epsg != 4326 else None
    code = geog.to_epsg() if geog is not None else 4326
    if code in (None, 4326):
        return lon, lat
    x, y = transformer_to_wgs84(code)[0].transform(lon, lat)
    return float(x), float(y)


def _to_lonlat(epsg: int, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if epsg == 4326 or not _crs(epsg).is_projected:
        lon, lat = xy[:, 0].copy(), xy[:, 1].copy()
    else:
        with np.errstate(all="ignore"):
            lon, lat = _to_own_lonlat(epsg).transform(xy[:, 0], xy[:, 1], errcheck=False)
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    bad = ~(np.isfinite(lon) & np.isfinite(lat)) | (np.abs(lon) > 180) | (np.abs(lat) > 90)
    lon[bad] = np.nan
    lat[bad] = np.nan
    return lon, lat


def _place(epsg: int, name: str, xy: np.ndarray, region: shapely.Geometry, buffered: shapely.Geometry) -> Candidate:
    lon, lat = _to_lonlat(epsg, xy)
    ok = np.isfinite(lon)
    if not ok.any():
        return Candidate(epsg, name, math.nan, math.nan, 0.0, math.inf, False)
    inside = shapely.contains_xy(buffered, lon[ok], lat[ok])
    share = float(inside.sum()) / len(xy)
    clon, clat = _datum_to_wgs84(epsg, float(np.mean(lon[ok])), float(np.mean(lat[ok])))
    km = float(shapely.distance(region, shapely.Point(clon, clat))) * _KM_PER_DEG
    area = _crs(epsg).area_of_use
    in_area = bool(area and area.west <= clon <= area.east and area.south <= clat <= area.north)
    return Candidate(epsg, name, clon, clat, share, round(km, 1), in_area)


@lru_cache(maxsize=8)
def _prepared_region(wkb: bytes, buffer_km: float) -> tuple[shapely.Geometry, shapely.Geometry]:
    region = shapely.from_wkb(wkb)
    tol = buffer_km / _KM_PER_DEG / 4
    simple = shapely.make_valid(shapely.simplify(region, tol))
    buffered = shapely.buffer(simple, buffer_km / _KM_PER_DEG, quad_segs=2)
    shapely.prepare(buffered)
    shapely.prepare(simple)
    return simple, buffered


def official_tm3_zone(region_geom_wgs84: shapely.Geometry) -> int | None:
    """The province TM-3 zone (9205-9218, 5899) whose EPSG area of use holds the region's centre.

    Several can hold it (the areas are bounding boxes of province groups); the one whose central
    meridian is nearest the centre wins, which gives 9218 for Đắk Lắk and 9210 for old Bến Tre.
    """
    c = shapely.point_on_surface(region_geom_wgs84)
    best: tuple[float, int] | None = None
    for epsg in (*range(9205, 9219), 5899):
        crs = pyproj.CRS.from_epsg(epsg)
        a = crs.area_of_use
        if a and a.west <= c.x <= a.east and a.south <= c.y <= a.north:
            lon0 = next(p.value for p in crs.coordinate_operation.params if "longitude" in p.name.lower())
            d = abs(lon0 - c.x)
            if best is None or d < best[0]:
                best = (d, epsg)
    return best[1] if best else None


@lru_cache(maxsize=32)
def _parsed(prj: str) -> tuple[pyproj.CRS | None, int | None]:
    try:
        crs = pyproj.CRS.from_user_input(prj)
    except pyproj.exceptions.CRSError:
        return None, None
    return crs, crs.to_epsg(min_confidence=70)  # a database search: ~15 ms, so once per text


def declared_epsg(prj: str | None) -> int | None:
    """The EPSG code a .prj (WKT, PROJ string…) declares, or None (unparsable or no EPSG match)."""
    return _parsed(prj)[1] if prj else None


def _epsg_of(prj_crs: object) -> tuple[int | None, pyproj.CRS | None]:
    if prj_crs is None:
        return None, None
    if isinstance(prj_crs, str):
        crs, epsg = _parsed(prj_crs)
        if crs is None:
            return None, None
    else:
        try:
            crs = pyproj.CRS.from_user_input(prj_crs)
        except pyproj.exceptions.CRSError:
            return None, None
        epsg = crs.to_epsg(min_confidence=70)
    if epsg is None and crs.is_projected:  # a home-made VN-2000 .prj: match by the projection parameters
        params = {p.name.lower(): p.value for p in crs.coordinate_operation.params}
        for cand in VN2000_TM3_EPSG:
            ref = {p.name.lower(): p.value for p in pyproj.CRS.from_epsg(cand).coordinate_operation.params}
            if all(math.isclose(params.get(k, math.nan), v, abs_tol=1e-6) for k, v in ref.items()):
                return cand, crs
    return epsg, crs


def _listing(cands: list[Candidate]) -> str:
    return "; ".join(f"EPSG:{c.epsg} {c.name} → {c.where()}" for c in cands)


def detect_crs(
    bounds_or_points: object,
    region_geom_wgs84: shapely.Geometry,
    prj_crs: object = None,
    *,
    user_epsg: int | None = None,
    preferred_epsg: int | None = None,
    buffer_km: float = 5.0,
    min_share: float = 0.95,
    max_points: int = 500,
) -> CrsDecision:
    """Decide the CRS of coordinates meant to lie in ``region_geom_wgs84``; refuse when unsure.

    ``bounds_or_points``: (xmin, ymin, xmax, ymax), an (N, 2) array, or shapely geometries.
    ``prj_crs``: what the file's .prj says (anything pyproj accepts), honoured when it puts the data
    inside the region. ``user_epsg``: the user's explicit choice, always taken (with a warning if it
    puts the data outside). Otherwise every VN-2000 TM-3/UTM zone and WGS 84 is tried; a candidate
    fits when at least ``min_share`` of the points fall in the region buffered by ``buffer_km``.
    One fit is chosen; several are settled by ``preferred_epsg`` (default: the official zone of the
    region, :func:`official_tm3_zone`) if it is among them, else refused with the list.
    """
    xy = _sample_xy(bounds_or_points, max_points)
    if len(xy) == 0:
        return CrsDecision(None, None, [], "no coordinates to test / không có tọa độ để kiểm tra")
    region, buffered = _prepared_region(shapely.to_wkb(region_geom_wgs84), float(buffer_km))
    names = {e: _crs(e).name for e in CANDIDATE_EPSG}
    cands = [_place(e, names[e], xy, region, buffered) for e in CANDIDATE_EPSG]
    by_epsg = {c.epsg: c for c in cands}
    warnings: list[str] = []

    def decide(epsg: int, source: Literal["prj", "inferred", "user"], message: str) -> CrsDecision:
        return CrsDecision(epsg, source, cands, message, warnings, transformer_to_wgs84(epsg)[1])

    def extra(epsg: int, crs: pyproj.CRS | None = None) -> Candidate:
        if epsg not in by_epsg:
            by_epsg[epsg] = _place(epsg, (crs or pyproj.CRS.from_epsg(epsg)).name, xy, region, buffered)
        return by_epsg[epsg]

    if user_epsg is not None:
        c = extra(int(user_epsg))
        if c.share_inside < min_share:
            warnings.append(
                f"EPSG:{c.epsg} chosen by the user puts the data at {c.where()} / "
                f"hệ tọa độ do người dùng chọn đặt dữ liệu ngoài vùng"
            )
        return decide(c.epsg, "user", f"EPSG:{c.epsg} {c.name} (user's choice / người dùng chọn)")

    prj_epsg, prj = _epsg_of(prj_crs)
    if prj_crs is not None:
        if prj_epsg is None:
            warnings.append(
                f"the .prj could not be identified as an EPSG CRS ({prj.name if prj else prj_crs!r}); "
                "inferring from the coordinates / không nhận ra hệ tọa độ trong tệp .prj, suy ra từ tọa độ"
            )
        else:
            c = extra(prj_epsg, prj)
            if c.share_inside >= min_share:
                return decide(c.epsg, "prj", f"EPSG:{c.epsg} {c.name} from the .prj / theo tệp .prj: {c.where()}")
            warnings.append(
                f"the .prj says EPSG:{c.epsg} {c.name}, which puts the data at {c.where()}: ignored, "
                f"inferring from the coordinates / tệp .prj ghi EPSG:{c.epsg} nhưng đặt dữ liệu ngoài vùng, "
                "bỏ qua và suy ra từ tọa độ"
            )

    fits = [c for c in cands if c.share_inside >= min_share]
    if len(fits) == 1:
        c = fits[0]
        return decide(c.epsg, "inferred", f"EPSG:{c.epsg} {c.name} is the only CRS that puts the data "
                      f"in the region / là hệ tọa độ duy nhất đặt dữ liệu trong vùng: {c.where()}")
    if len(fits) > 1:
        pref = preferred_epsg if preferred_epsg is not None else official_tm3_zone(region_geom_wgs84)
        chosen = next((c for c in fits if c.epsg == pref), None)
        others = ", ".join(f"EPSG:{c.epsg}" for c in fits if c is not chosen)
        if chosen is not None:
            warnings.append(f"also consistent with the region / cũng khớp với vùng: {others}")
            return decide(chosen.epsg, "inferred", f"EPSG:{chosen.epsg} {chosen.name}, the preferred zone "
                          f"for this region among {len(fits)} that fit / vùng chiếu ưu tiên trong "
                          f"{len(fits)} hệ khớp: {chosen.where()}")
        return CrsDecision(None, None, cands, (
            f"{len(fits)} coordinate systems put the data inside the region and none is the preferred "
            f"zone; choose one / {len(fits)} hệ tọa độ đều đặt dữ liệu trong vùng, hãy chọn một: "
            + _listing(fits)), warnings)  # fmt: skip
    plausible = [c for c in cands if c.in_zone_area and c.epsg != 4326] or [c for c in cands if not math.isnan(c.lon)]
    return CrsDecision(None, None, cands, (
        "no candidate coordinate system puts the data inside the region; give the CRS explicitly. "
        "Where the candidates would put it / không hệ tọa độ nào đặt dữ liệu trong vùng, hãy chỉ định "
        "hệ tọa độ. Vị trí theo từng hệ: " + (_listing(plausible) or "none / không có")), warnings)  # fmt: skip


def parse_epsg(crs: str | int | None) -> int | None:
    """``EPSG:9210``, ``9210`` or anything pyproj knows → an EPSG code."""
    if crs is None or crs == "":
        return None
    if isinstance(crs, int) or str(crs).isdigit():
        return int(crs)
    try:
        code = pyproj.CRS.from_user_input(crs).to_epsg()
    except pyproj.exceptions.CRSError as exc:
        raise ValueError(f"hệ tọa độ không hợp lệ '{crs}' / invalid CRS '{crs}': {exc}") from exc
    if code is None:
        raise ValueError(f"không xác định được mã EPSG của '{crs}' / '{crs}' has no EPSG code: give EPSG:N")
    return code
