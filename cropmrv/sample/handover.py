"""The sample's files, in the shapes and column names GIS officers hand over.

Internal frames (EPSG:9218, English column names) become files here; this module is the only place
that knows the Vietnamese column names and the per-file variants, so the demo and the tests read the
manifest instead of guessing.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .attributes import crop_label
from .config import LAND_USE_VI, SEASON_VI
from .landscape import METRIC_EPSG
from .writers import write_gpkg_layers, write_shapefile, zip_files

KIND_VI = {"reservoir": "Hồ chứa", "weir": "Đập dâng", "canal": "Kênh", "pump_station": "Trạm bơm",
           "drip_system": "Hệ thống nhỏ giọt"}


def slug(text: str) -> str:
    t = unicodedata.normalize("NFKD", text.replace("Đ", "D").replace("đ", "d"))
    t = "".join(c for c in t if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "_", t).strip("_")


def parcel_variant(i: int) -> dict:
    """Which hand-over shape commune number ``i`` (in code order) gets. Every combination occurs."""
    famis = i % 4 == 2
    return {"style": "famis" if famis else "arcgis", "encoding": "tcvn3" if famis else "utf-8",
            "prj": i % 3 != 1, "zipped": i % 5 in (0, 3), "duplicate": i % 7 == 0}


def parcel_frame(attrs: pd.DataFrame, geoms: np.ndarray, ma_xa: str, ten_day_du: str, style: str,
                 rng: np.random.Generator) -> gpd.GeoDataFrame:
    village = np.where(rng.random(len(attrs)) < 0.3, "Buôn ", "Thôn ")
    dia_chi = [f"{v}{n}, {ten_day_du}" for v, n in zip(village, rng.integers(1, 16, len(attrs)), strict=True)]
    if style == "famis":
        data = {"SOHIEUTOBA": attrs["so_to"].to_numpy(), "SOTHUTUTHU": attrs["so_thua"].to_numpy(),
                "MDSD": attrs["loai_dat"].to_numpy(), "DIENTICH": attrs["dien_tich"].to_numpy(),
                "TENXA": ten_day_du, "DIACHI": dia_chi, "MUCDICH": attrs["muc_dich"].to_numpy()}
    else:
        data = {"SoTo": attrs["so_to"].to_numpy(), "SoThua": attrs["so_thua"].to_numpy(),
                "LoaiDat": attrs["loai_dat"].to_numpy(), "DienTich": attrs["dien_tich"].to_numpy(),
                "MaXa": ma_xa, "TenXa": ten_day_du, "DiaChi": dia_chi, "MucDich": attrs["muc_dich"].to_numpy()}
    return gpd.GeoDataFrame(data, geometry=geoms, crs=METRIC_EPSG)


def write_parcels(gdf: gpd.GeoDataFrame, out: Path, ma_xa: str, ten: str, variant: dict) -> Path:
    name = f"thua_dat_{ma_xa}"
    folder = out / "dia_chinh" / f"{ma_xa}_{slug(ten)}"
    files = write_shapefile(gdf, folder / f"{name}.shp", encoding=variant["encoding"], prj=variant["prj"])
    if variant["zipped"]:
        path = zip_files(files, out / "dia_chinh" / f"{name}.zip", folder=f"{ma_xa}_{slug(ten)}")
        folder.rmdir()
        return path
    return folder / f"{name}.shp"


def to_wgs84(geoms: np.ndarray, transformer) -> np.ndarray:
    return shapely.transform(np.asarray(geoms, dtype=object),
                             lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def crop_zone_frame(rows: pd.DataFrame, transformer) -> gpd.GeoDataFrame:
    geom = to_wgs84(rows["geometry"].to_numpy(), transformer)
    return gpd.GeoDataFrame({
        "MaVung": rows["zone_code"].to_numpy(), "MaXa": rows["ma_xa"].to_numpy(),
        "CayTrong": [crop_label(c) for c in rows["crop"]], "MuaVu": rows["season"].map(SEASON_VI).to_numpy(),
        "Nam": rows["year"].to_numpy(), "DienTichHa": np.round(rows["area_ha"].to_numpy(), 4),
        "GoiKyThuat": rows["practice_code"].to_numpy(), "NamTrong": rows["planted_year"].to_numpy(),
        "PhuongPhapTuoi": rows["irrigation_method"].to_numpy(), "CheDoNuoc": rows["water_regime"].to_numpy(),
        "MaSoVungTrong": rows["planting_code"].to_numpy(),
    }, geometry=geom, crs=4326)


def write_crop_zones(rows: pd.DataFrame, out: Path, transformer, year: int) -> Path:
    gdf = crop_zone_frame(rows, transformer)
    return write_gpkg_layers({"vung_trong": gdf}, out / "vung_trong" / f"vung_trong_{year}.gpkg")


def write_planning(plan: pd.DataFrame, out: Path, communes) -> Path:
    ten = dict(zip(communes["ma_xa"], communes["ten_day_du"], strict=True))
    gdf = gpd.GeoDataFrame({
        "MaQH": plan["zone_code"].to_numpy(), "MaXa": plan["ma_xa"].to_numpy(),
        "KHMDSD": plan["land_use_code"].to_numpy(), "TenLoai": [LAND_USE_VI[c] for c in plan["land_use_code"]],
        "KyQuyHoach": plan["plan_period"].to_numpy(), "TenXa": [ten[c] for c in plan["ma_xa"]],
        "QuyHoach": "Quy hoạch sử dụng đất thời kỳ 2021-2030, tầm nhìn 2050",
    }, geometry=plan["geometry"].to_numpy(), crs=METRIC_EPSG)
    folder = out / "quy_hoach" / "qh_sdd_2021_2030"
    files = write_shapefile(gdf, folder / "quy_hoach_sdd_2021_2030.shp", encoding="tcvn3", prj=True)
    path = zip_files(files, out / "quy_hoach" / "quy_hoach_sdd_2021_2030.zip", folder="qh_sdd_2021_2030")
    folder.rmdir()
    return path


def irrigation_layers(assets: pd.DataFrame, areas: pd.DataFrame) -> dict[str, gpd.GeoDataFrame]:
    def frame(df: pd.DataFrame) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame({
            "MaCT": df["asset_code"].to_numpy(), "MaXa": df["ma_xa"].to_numpy(),
            "LoaiCT": df["kind"].map(KIND_VI).to_numpy(), "TenCT": df["name"].to_numpy(),
            "DienTichTK": df["design_area_ha"].astype(float).to_numpy(), "TinhTrang": df["status"].to_numpy(),
            "MaCTDauMoi": df["head_code"].to_numpy(), "Nguon": df["source"].to_numpy(),
        }, geometry=df["geometry"].to_numpy(), crs=METRIC_EPSG)

    # one layer with mixed geometry (lakes, canals, points): a layer is one dataset, and a second
    # source layer of the same target would supersede the first
    return {
        "cong_trinh_thuy_loi": frame(assets),
        "vung_phuc_vu": gpd.GeoDataFrame({
            "MaCT": areas["asset_code"].to_numpy(), "MaXa": areas["ma_xa"].to_numpy(),
            "SoVung": areas["zone_count"].to_numpy(), "DienTich": areas["area_ha"].to_numpy(),
        }, geometry=areas["geometry"].to_numpy(), crs=METRIC_EPSG),
    }


def pilot_frame(pilots: pd.DataFrame, transformer) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "MaMoHinh": pilots["site_code"].to_numpy(), "TenMoHinh": pilots["name"].to_numpy(),
        "CayTrong": [crop_label(c) for c in pilots["crop"]], "QuyetDinh": pilots["decision_ref"].to_numpy(),
        "MaXa": pilots["ma_xa"].to_numpy(), "GoiNen": pilots["baseline_package"].to_numpy(),
        "GoiDuAn": pilots["project_package"].to_numpy(), "NamBatDau": pilots["start_year"].to_numpy(),
        "DienTichHa": pilots["area_ha"].to_numpy(),
    }, geometry=to_wgs84(pilots["geometry"].to_numpy(), transformer), crs=4326)
