"""Irrigation works and the zones they serve; the two provincial pilot sites.

Named works come from STATS.md §3 (Krông Búk Hạ 11,400 ha, Krông Pắc Thượng 15,000 ha design command,
Ea Súp Thượng, Ea H'leo 1, the Đồng Cam weir ~15,000 ha with its North and South main canals, Phú
Xuân, Đồng Tròn, Suối Vực, Mỹ Lâm, the Nam Bình pumping station 790 ha). Their *positions* are
generated: each sits in a commune of the former district the sources name, on unfarmed land next
to the farmland it serves. Small reservoirs, pumping stations and drip systems are generated.

Every work with a command lists the crop zones it serves (``phuc_vu_vung_trong.csv``: work code, zone
code, share) and has a service-area polygon (the union of the zones it serves).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from .config import DATA_YEAR, Scale, rng_for

# name, kind, former district, design command (ha) or None, source
NAMED_WORKS = [
    ("Hồ Krông Búk Hạ", "reservoir", "Huyện Krông Pắc", 11_400, "krongpac.daklak.gov.vn; ceviwrpi.gov.vn"),
    ("Hồ Krông Pắc Thượng", "reservoir", "Huyện M'Đrắk", 15_000, "laodong (design command; main canal only)"),
    ("Hồ Ea Súp Thượng", "reservoir", "Huyện Ea Súp", None, "tienphong 1422748 (key work; no figures found)"),
    ("Hồ Ea H'leo 1", "reservoir", "Huyện Ea H'leo", None, "tienphong 1422748 (key work; no figures found)"),
    ("Đập dâng Đồng Cam", "weir", "Huyện Phú Hoà", 15_000, "thuynongdongcam.com.vn (~15,000 ha; >18,000 ha press 2024)"),
    ("Hồ Phú Xuân", "reservoir", "Huyện Đồng Xuân", None, "thanhnien 1296503 (>10 Mm3)"),
    ("Hồ Đồng Tròn", "reservoir", "Huyện Tuy An", None, "thanhnien 1296503 (>10 Mm3)"),
    ("Hồ Suối Vực", "reservoir", "Thị xã Sông Cầu", None, "thanhnien 1296503 (>10 Mm3)"),
    ("Hồ Mỹ Lâm", "reservoir", "Huyện Tây Hoà", None, "nongnghiep.vn d176240 (impounding from 2021)"),
    ("Trạm bơm Nam Bình", "pump_station", "Thị xã Đông Hòa", 790, "nongnghiep.vn d176240 (790 ha)"),
]
SERVED_BY_WORKS = {"rice_double"}         # paddies on a headwork's command
SERVED_COFFEE = {"sprinkler", "flood"}    # coffee pumping from reservoirs and canals


def _blob(cell: shapely.Geometry, target_ha: float, rng: np.random.Generator) -> shapely.Geometry:
    """An irregular lake inside ``cell``: three overlapping discs around its interior point."""
    p = shapely.point_on_surface(cell)
    r = np.sqrt(max(target_ha, 1.0) * 1e4 / np.pi) / 1.4
    discs = [shapely.buffer(shapely.Point(p.x + dx, p.y + dy), r * k, quad_segs=6)
             for dx, dy, k in zip(rng.normal(0, r * 0.5, 3), rng.normal(0, r * 0.5, 3),
                                  rng.uniform(0.6, 1.0, 3), strict=True)]
    lake = shapely.intersection(shapely.union_all(discs), shapely.buffer(cell, -5))
    if lake.is_empty or lake.area < 100:
        lake = shapely.intersection(shapely.buffer(p, 30), cell)
    return lake


def irrigation(communes, cells: pd.DataFrame, zones: pd.DataFrame, scale: Scale,
               seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (assets, service): assets with ``asset_code, ma_xa, kind, name, design_area_ha, status,
    source, head_code, geometry`` (EPSG:9218); service with ``asset_code, phys_code, share``."""
    rng = rng_for(seed, "irrigation")
    zx, zy = zones["x"].to_numpy(), zones["y"].to_numpy()
    zarea = zones["area_ha"].to_numpy()
    served = np.zeros(len(zones), dtype=bool)
    eligible = zones["group"].isin(SERVED_BY_WORKS).to_numpy() | (
        (zones["crop"] == "coffee").to_numpy() & zones["irrigation_method"].isin(SERVED_COFFEE).to_numpy())
    assets: list[dict] = []
    service: list[tuple[str, str, float]] = []
    unfarmed = cells[~cells["farm"]]

    def serve(code: str, x: float, y: float, cap_ha: float, radius_m: float) -> np.ndarray:
        d = np.hypot(zx - x, zy - y)
        cand = np.flatnonzero(eligible & ~served & (d < radius_m))
        cand = cand[np.argsort(d[cand], kind="stable")]
        take = cand[np.cumsum(zarea[cand]) <= cap_ha] if len(cand) else cand
        if len(take) == 0 and len(cand):
            take = cand[:1]
        served[take] = True
        service.extend((code, zones["phys_code"].iat[k], 1.0) for k in take)
        return take

    def canal(code: str, head: str, x: float, y: float, take: np.ndarray, name: str, ma_xa: str) -> None:
        if len(take) < 2:
            return
        order = take[np.argsort(np.hypot(zx[take] - x, zy[take] - y), kind="stable")][:40]
        line = shapely.LineString(np.column_stack([[x, *zx[order]], [y, *zy[order]]]))
        assets.append({"asset_code": code, "ma_xa": ma_xa, "kind": "canal", "name": name, "design_area_ha": None,
                           "status": "đang vận hành", "source": "generated", "head_code": head,
                           "geometry": shapely.simplify(line, 50)})

    district = communes["district"].to_numpy()
    for k, (name, kind, dist, design, source) in enumerate(NAMED_WORKS):
        idx = np.flatnonzero(district == dist)
        rice = [zarea[(zones["commune"] == i).to_numpy() & eligible].sum() for i in idx]
        i = int(idx[int(np.argmax(rice))])
        ma_xa = communes["ma_xa"].iat[i]
        cap = design if design else float(rng.uniform(1_500, 4_000))
        code = f"TL-{ma_xa}-CT{k + 1:02d}"
        own = unfarmed[unfarmed["commune"] == i]
        farmed_here = zones[zones["commune"] == i]
        anchor = farmed_here if len(farmed_here) else cells[cells["commune"] == i]
        cx, cy = anchor["x"].mean(), anchor["y"].mean()
        if kind == "reservoir" and len(own):
            c = own.iloc[int(np.argmin(np.hypot(own["x"] - cx, own["y"] - cy)))]
            geom = _blob(c["geometry"], min(cap / 12, c["area_ha"] * 0.6), rng)
        else:
            geom = shapely.Point(cx, cy)
        p = shapely.centroid(geom)
        take = serve(code, p.x, p.y, cap, 25_000 if design and design > 5_000 else 12_000)
        assets.append({"asset_code": code, "ma_xa": ma_xa, "kind": kind, "name": name, "design_area_ha": design,
                           "status": "đang vận hành", "source": source, "head_code": None, "geometry": geom})
        if kind == "weir":  # Đồng Cam: North and South main canals
            north = take[zy[take] >= p.y]
            south = take[zy[take] < p.y]
            canal(f"{code}-KB", code, p.x, p.y, north, "Kênh chính Bắc Đồng Cam", ma_xa)
            canal(f"{code}-KN", code, p.x, p.y, south, "Kênh chính Nam Đồng Cam", ma_xa)
        else:
            canal(f"{code}-K1", code, p.x, p.y, take, f"Kênh chính {name.removeprefix('Hồ ')}", ma_xa)

    for i, area in enumerate(shapely.area(communes.geometry.values) / 1e6):
        crng = rng_for(seed, "small_works", i)
        ma_xa, ten = communes["ma_xa"].iat[i], communes["ten"].iat[i]
        here = np.flatnonzero((zones["commune"] == i).to_numpy() & eligible & ~served)
        if len(here) == 0:
            continue
        own = unfarmed[unfarmed["commune"] == i]
        n_res = int(crng.poisson(area / 100 * scale.small_reservoirs_per_100km2)) if len(own) else 0
        for j in range(min(n_res, len(own))):
            c = own.iloc[int(crng.integers(len(own)))]
            code = f"TL-{ma_xa}-HO{j + 1:02d}"
            cap = float(crng.uniform(50, 600))
            geom = _blob(c["geometry"], min(cap / 15, c["area_ha"] * 0.5), crng)
            p = shapely.centroid(geom)
            take = serve(code, p.x, p.y, cap, 8_000)
            assets.append({"asset_code": code, "ma_xa": ma_xa, "kind": "reservoir", "name": f"Hồ chứa {ten} {j + 1}",
                               "design_area_ha": round(cap), "status": "đang vận hành", "source": "generated",
                               "head_code": None, "geometry": geom})
            canal(f"{code}-K1", code, p.x, p.y, take, f"Kênh hồ {ten} {j + 1}", ma_xa)
        rice_left = np.flatnonzero((zones["commune"] == i).to_numpy() & ~served &
                                   zones["group"].isin(SERVED_BY_WORKS).to_numpy())
        n_pump = min(len(rice_left), int(crng.integers(1, 4)))
        for j in range(n_pump):
            left = rice_left[~served[rice_left]]
            if len(left) == 0:
                break
            z = left[0]
            code = f"TL-{ma_xa}-TB{j + 1:02d}"
            cap = float(crng.uniform(50, 400))
            pt = shapely.point_on_surface(shapely.boundary(zones["geometry"].iat[z]))
            serve(code, zx[z], zy[z], cap, 5_000)
            assets.append({"asset_code": code, "ma_xa": ma_xa, "kind": "pump_station", "name": f"Trạm bơm {ten} {j + 1}",
                               "design_area_ha": round(cap), "status": "đang vận hành", "source": "generated",
                               "head_code": None, "geometry": pt})

    drip = np.flatnonzero(zones["irrigation_method"].to_numpy() == "drip")
    for n, z in enumerate(drip):
        code = f"TL-{zones['ma_xa'].iat[z]}-NG{n + 1:05d}"
        assets.append({"asset_code": code, "ma_xa": zones["ma_xa"].iat[z], "kind": "drip_system",
                           "name": f"Tưới nhỏ giọt {zones['phys_code'].iat[z]}", "design_area_ha": round(zarea[z], 2),
                           "status": "đang vận hành", "source": "generated", "head_code": None,
                           "geometry": shapely.point_on_surface(zones["geometry"].iat[z])})
        service.append((code, zones["phys_code"].iat[z], 1.0))
    return pd.DataFrame(assets), pd.DataFrame(service, columns=["asset_code", "phys_code", "share"])


def service_areas(service: pd.DataFrame, zones: pd.DataFrame, assets: pd.DataFrame) -> pd.DataFrame:
    """The area each work serves, one polygon per work and commune (the union of the zones it serves
    there): a large command spans several communes, and each commune reports its own part."""
    geom_of = dict(zip(zones["phys_code"], zones["geometry"], strict=True))
    com_of = dict(zip(zones["phys_code"], zones["ma_xa"], strict=True))
    svc = service.assign(ma_xa=service["phys_code"].map(com_of))
    rows = []
    for (code, ma_xa), sub in svc.groupby(["asset_code", "ma_xa"], sort=True):
        g = shapely.coverage_union_all(np.array([geom_of[z] for z in sub["phys_code"]], dtype=object))
        rows.append({"asset_code": code, "ma_xa": ma_xa, "zone_count": len(sub),
                     "area_ha": round(shapely.area(g) / 1e4, 2), "geometry": g})
    return pd.DataFrame(rows)


PILOTS = [  # site code, crop, preferred communes, target ha, baseline, project, name
    ("DL-TD-CPH-01", "coffee", ["24280", "24133", "24310"], 50.0, "dl-coffee-conventional", "dl-coffee-low-emission",
     "Mô hình cà phê phát thải thấp"),
    ("DL-TD-MIA-01", "sugarcane", ["22165", "24412", "22207"], 100.0, "dl-sugarcane-burning",
     "dl-sugarcane-no-burning", "Mô hình mía không đốt lá, tưới nhỏ giọt"),
]


def pilot_sites(communes, zones: pd.DataFrame) -> pd.DataFrame:
    """The two provincial pilots (task IV.1, Decision 4766/QĐ-BNNMT): a disc of the target area cut
    from the crop's zones in the first preferred commune that grows the crop."""
    rows = []
    for code, crop, prefs, target, base, proj, label in PILOTS:
        for ma_xa in prefs:
            mine = zones[(zones["ma_xa"] == ma_xa) & (zones["crop"] == crop)]
            if len(mine):
                break
        else:
            mine = zones[zones["crop"] == crop].head(1)
            ma_xa = mine["ma_xa"].iat[0]
        land = shapely.coverage_union_all(mine["geometry"].to_numpy())
        centre = shapely.point_on_surface(mine["geometry"].iat[0])
        r = np.sqrt(target * 1e4 / np.pi)
        for _ in range(200):
            site = shapely.intersection(land, shapely.buffer(centre, r, quad_segs=16))
            if shapely.area(site) >= target * 1e4 * 0.98:
                break
            r *= 1.02
        ten = communes.loc[communes["ma_xa"] == ma_xa, "ten"].iat[0]
        rows.append({"site_code": code, "name": f"{label} {ten}", "crop": crop, "decision_ref": "4766/QĐ-BNNMT",
                         "ma_xa": ma_xa, "baseline_package": base, "project_package": proj, "start_year": DATA_YEAR,
                         "area_ha": round(shapely.area(site) / 1e4, 2), "geometry": site})
    return pd.DataFrame(rows)
