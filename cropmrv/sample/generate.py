"""Generate the whole sample province: ``generate(out_dir, seed, scale)``.

Order: land cells → farmland and crops (to the targets) → zone attributes → planning zones →
irrigation works and service → pilot sites → activity tables → files. Parcels are made and written
one commune at a time so the province scale (about a million parcels) streams in bounded memory.
Everything is driven by ``seed`` through named random streams: the same seed and scale give the same
files, byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from . import activity as act
from . import handover as ho
from .attributes import parcel_attributes, zone_attributes, zone_season_rows
from .config import DATA_YEAR, GENERATOR_VERSION, SCALES, load_targets, rng_for
from .infrastructure import irrigation, pilot_sites, service_areas
from .landscape import load_landscape
from .partition import brick_parcels
from .planning import planning_zones
from .writers import write_csv, write_gpkg_layers, write_xlsx

README_TEMPLATE = Path(__file__).resolve().parent / "README.md"


@dataclass
class SampleResult:
    out_dir: Path
    manifest: dict
    seconds: dict[str, float] = field(default_factory=dict)


def sample_key(seed: int, scale: str) -> str:
    """What identifies a generated sample: reuse a folder only when this matches. The generator's
    own code and tables are part of the key, so an edited generator never reuses a stale sample."""
    return f"seed={seed};scale={scale};generator={GENERATOR_VERSION}+{code_digest()}"


def code_digest() -> str:
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted([*here.glob("*.py"), *here.glob("*.csv"), here / "README.md"]):
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:12]


def generate(out_dir: Path, seed: int = 2025, scale: str = "small", province_dir: Path | None = None,
             progress=None) -> SampleResult:
    """Write the sample under ``out_dir`` (replaced if it exists) and return its manifest."""
    if scale not in SCALES:
        raise ValueError(f"quy mô không hợp lệ / unknown scale {scale!r}: choose one of {sorted(SCALES)}")
    from cropmrv.settings import get_settings

    sc = SCALES[scale]
    province_dir = province_dir or get_settings().province_data_dir
    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    t0 = time.perf_counter()
    secs: dict[str, float] = {}

    def lap(name: str) -> None:
        secs[name] = round(time.perf_counter() - t0 - sum(secs.values()), 2)
        if progress:
            progress(name, secs[name])

    from .zones import assign_crops, build_cells, number_zones

    land = load_landscape(province_dir)
    com = land.communes
    targets = load_targets()
    cells = build_cells(land, sc, seed)
    cells, _ = assign_crops(cells, land, targets, seed)
    zones = zone_attributes(number_zones(cells, land), seed)
    lap("zones")
    plan, conflicts = planning_zones(com, cells, sc, seed)
    lap("planning")
    assets, service = irrigation(com, cells, zones, sc, seed)
    areas = service_areas(service, zones, assets)
    pilots = pilot_sites(com, zones)
    lap("irrigation_pilots")
    rows = zone_season_rows(zones)
    files: list[dict] = []

    def record(path: Path, layer: str, fmt: str, **extra) -> None:
        files.append({"path": str(path.relative_to(out_dir)), "layer": layer, "format": fmt, **extra})

    record(ho.write_crop_zones(rows, out_dir, land.to_wgs84, DATA_YEAR), "crop_zones", "gpkg",
           gpkg_layer="vung_trong", crs_epsg=4326, encoding="utf-8", features=len(rows))
    record(ho.write_planning(plan, out_dir, com), "planning_zones", "shp", zipped=True, crs_epsg=9218, prj=True,
           encoding="tcvn3", features=len(plan))
    layers = ho.irrigation_layers(assets, areas)
    irr = write_gpkg_layers(layers, out_dir / "thuy_loi" / f"thuy_loi_{DATA_YEAR}.gpkg")
    record(irr, "irrigation_assets", "gpkg", gpkg_layer="cong_trinh_thuy_loi", crs_epsg=9218, encoding="utf-8",
           features=len(layers["cong_trinh_thuy_loi"]))
    record(irr, "irrigation_service_areas", "gpkg", gpkg_layer="vung_phuc_vu", crs_epsg=9218, encoding="utf-8",
           features=len(layers["vung_phuc_vu"]))
    seasonal = rows[["phys_code", "zone_code"]]
    svc = service.merge(seasonal, on="phys_code")[["asset_code", "zone_code", "share"]]
    svc.columns = ["MaCT", "MaVung", "TyLe"]
    record(write_csv(svc, out_dir / "thuy_loi" / "phuc_vu_vung_trong.csv"), "irrigation_service", "csv",
           features=len(svc))
    pil = ho.pilot_frame(pilots, land.to_wgs84)
    record(ho.write_shapefile(pil, out_dir / "thi_diem" / "mo_hinh_thi_diem.shp")[0], "pilot_sites", "shp",
           crs_epsg=4326, prj=True, encoding="utf-8", features=len(pil))
    activity = act.zone_activity(rows, seed)
    farm_ha = np.bincount(cells["commune"], weights=cells["area_ha"] * cells["farm"], minlength=len(com))
    stats = act.commune_statistics(com, farm_ha, seed)
    # one return per commune, as communes report: every third one an Excel workbook
    for i, ma_xa in enumerate(com["ma_xa"]):
        parts = [d for d in (activity[activity["MaXa"] == ma_xa], stats[stats["MaXa"] == ma_xa]) if len(d)]
        if not parts:
            continue
        mine = pd.concat(parts, ignore_index=True)
        stem = out_dir / "hoat_dong" / f"hoat_dong_{DATA_YEAR}_{ma_xa}_{ho.slug(com['ten'].iat[i])}"
        path = (write_xlsx({"HoatDong": mine}, stem.with_suffix(".xlsx")) if i % 3 == 1
                else write_csv(mine, stem.with_suffix(".csv")))
        record(path, "activity", path.suffix[1:], commune=ma_xa, year=DATA_YEAR, features=len(mine))
    record(write_csv(act.plan_targets(), out_dir / "ke_hoach" / "chi_tieu_ke_hoach_2026_2035.csv"), "plan_targets",
           "csv", features=len(act.plan_targets()))
    lap("layers_written")

    parcel_total, defects = _write_all_parcels(out_dir, com, zones, sc, seed, record)
    lap("parcels")

    manifest = {
        "generated": True,
        "notice": "GENERATED SAMPLE DATA — not real crop, parcel, planning or irrigation data.",
        "key": sample_key(seed, scale), "seed": seed, "scale": scale, "generator_version": GENERATOR_VERSION,
        "year": DATA_YEAR, "province_code": get_settings().province_code,
        "counts": {"communes": len(com), "cells": len(cells), "crop_zones_physical": len(zones),
                   "crop_zone_rows": len(rows), "parcels": parcel_total, "planning_zones": len(plan),
                   "irrigation_assets": len(assets), "service_links": len(svc), "pilot_sites": len(pil),
                   "activity_rows": len(activity) + len(stats)},
        "areas": area_report(rows, targets),
        "planning_conflicts": conflicts,
        "defects": defects,
        "files": files,
    }
    lap("manifest")
    for f in files:
        p = out_dir / f["path"]
        f["sha256"] = hashlib.sha256(p.read_bytes()).hexdigest()
        sidecars = [p.with_suffix(x) for x in (".shp", ".shx", ".dbf", ".prj", ".cpg")] if p.suffix == ".shp" else [p]
        f["bytes"] = sum(q.stat().st_size for q in sidecars if q.exists())
    manifest["total_bytes"] = sum({f["path"]: f["bytes"] for f in files}.values())
    manifest["seconds"] = secs
    (out_dir / "README.md").write_text(README_TEMPLATE.read_text(encoding="utf-8"), encoding="utf-8")
    (out_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return SampleResult(out_dir, manifest, secs)


def _write_all_parcels(out_dir: Path, com, zones: pd.DataFrame, sc, seed: int, record) -> tuple[int, list]:
    total = 0
    defects: list[dict] = []
    for i in range(len(com)):
        ma_xa, ten = com["ma_xa"].iat[i], com["ten"].iat[i]
        mine = zones[zones["commune"] == i].reset_index(drop=True)
        if mine.empty:
            continue
        rng = rng_for(seed, "parcels", i)
        geoms, zi = brick_parcels(mine["geometry"].to_numpy(), sc.parcel_m2, rng, float(rng.uniform(0, 90)))
        attrs = parcel_attributes(geoms, zi, mine, sc.sheet_m, rng)
        variant = ho.parcel_variant(i)
        geoms, attrs, found = _inject_defects(geoms, attrs, variant, rng)
        defects += [{"commune": ma_xa, **d} for d in found]
        gdf = ho.parcel_frame(attrs, geoms, ma_xa, com["ten_day_du"].iat[i], variant["style"], rng)
        path = ho.write_parcels(gdf, out_dir, ma_xa, ten, variant)
        record(path, "parcels", "shp", commune=ma_xa, crs_epsg=9218, features=len(gdf), **variant)
        total += len(gdf)
    return total, defects


def _inject_defects(geoms: np.ndarray, attrs: pd.DataFrame, variant: dict, rng: np.random.Generator):
    """Defects real cadastral files carry, so the validation report has something to say: one ring
    with a spike (self-intersection; make_valid removes it without changing the area), a stated area
    25 % off, and in some files a parcel number typed twice on the same sheet."""
    found = []
    n = len(geoms)
    if n < 4:
        return geoms, attrs, found
    geoms = geoms.copy()
    attrs = attrs.copy()
    k = int(rng.integers(n))
    ring = shapely.get_coordinates(shapely.get_exterior_ring(shapely.get_parts(geoms[k])[0]))
    if len(ring) >= 4:
        a, b = ring[0], ring[1]
        spike = b + (b - a) * 0.5
        coords = np.vstack([ring[:2], spike, ring[1:]])
        geoms[k] = shapely.Polygon(coords)
        found.append({"kind": "self_intersection_spike", "so_to": int(attrs["so_to"].iat[k]),
                      "so_thua": int(attrs["so_thua"].iat[k])})
    k = int(rng.integers(n))
    attrs.loc[k, "dien_tich"] = round(float(attrs["dien_tich"].iat[k]) * 1.25, 1)
    found.append({"kind": "stated_area_25pct_high", "so_to": int(attrs["so_to"].iat[k]),
                  "so_thua": int(attrs["so_thua"].iat[k])})
    if variant["duplicate"]:
        same = attrs.groupby("so_to").size()
        sheet = same[same >= 2].index[:1]
        if len(sheet):
            idx = np.flatnonzero(attrs["so_to"].to_numpy() == sheet[0])
            a, b = idx[0], idx[1]
            attrs.loc[b, "so_thua"] = attrs["so_thua"].iat[a]
            found.append({"kind": "duplicate_parcel_number", "so_to": int(attrs["so_to"].iat[a]),
                          "so_thua": int(attrs["so_thua"].iat[a])})
    return geoms, attrs, found


def area_report(rows: pd.DataFrame, targets) -> list[dict]:
    """Sown area per crop, region and season against the targets (ha)."""
    got = rows.groupby(["crop", "region", "season"])["area_ha"].sum()
    out = []
    for t in targets:
        g = rows[(rows["crop"] == t.crop) & (rows["region"] == t.region) & (rows["season"] == t.season) &
                 (rows["group"] == t.group)]["area_ha"].sum()
        out.append({"crop": t.crop, "region": t.region, "season": t.season, "group": t.group,
                    "target_ha": t.target_ha, "sample_ha": round(float(g), 1),
                    "diff_pct": round(100 * (g - t.target_ha) / t.target_ha, 2) if t.target_ha else None,
                    "basis": t.basis, "source": t.source})
    del got
    return out


def crop_totals(manifest: dict) -> list[dict]:
    """Province totals per crop (all regions and seasons) from a manifest's area report."""
    agg: dict[str, list[float]] = {}
    for r in manifest["areas"]:
        a = agg.setdefault(r["crop"], [0.0, 0.0])
        a[0] += r["target_ha"]
        a[1] += r["sample_ha"]
    return [{"crop": c, "target_ha": t, "sample_ha": round(s, 1),
             "diff_pct": round(100 * (s - t) / t, 2) if t else None} for c, (t, s) in agg.items()]
