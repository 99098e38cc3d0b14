"""Generate the ingest test fixtures (deterministic; rerun: .venv/bin/python tests/data/ingest/make_fixtures.py).

The committed files are small and GENERATED from the real commune boundaries of Đắk Lắk
(cropmrv/data/provinces/66/dak_lak_wards_2025.gpkg; provenance in cropmrv/data/PROVENANCE.md):
parcels around the representative point of Phường Buôn Ma Thuột (24133) in VN-2000 / TM-3 108-30
(EPSG:9218), with the problems a real cadastral export has, each on a known feature:

======  ==============================================================
feature  what is special
======  ==============================================================
1-40     ordinary parcels, SoTo 12, SoThua 1-40, LoaiDat CLN/ONT/LUC…
41       bow-tie (self-intersection) → repaired
42       same (MaXa, SoTo, SoThua) as feature 3 → duplicate identity
43       DienTich twice the drawn area → area mismatch
44       LoaiDat "XYZ" → unknown land-use code
45       straddles the boundary with the neighbouring commune → crosses
46       100 km east of the province (in the sea) → outside province
47       no MaXa → commune assigned by majority area
48       null geometry → rejected
======  ==============================================================

The derived broken inputs (truncated .shp, missing sidecars, evil zips, Z/M, mixed types, lying
.prj) are made by the functions below inside each test's tmp_path, so nothing large or dangerous is
committed.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
WARDS = REPO / "cropmrv" / "data" / "provinces" / "66" / "dak_lak_wards_2025.gpkg"
COMMUNE, NEIGHBOUR = "24133", "24154"
PARCELS = HERE / "parcels_bmt.shp"
LAND_USE = ["CLN", "ONT", "LUC", "HNK", "CLN", "ODT", "NTS", "BHK"]
OWNERS = ["Nguyễn Văn Hòa", "Trần Thị Thủy", "Y Ksơr Niê", "Lê Đức Thuột", "H'Hen Êban"]


def _square(x: float, y: float, side: float = 30.0) -> shapely.Polygon:
    return shapely.box(x, y, x + side, y + side)


def parcels_frame() -> gpd.GeoDataFrame:
    wards = gpd.read_file(WARDS).to_crs(9218)
    home = wards.loc[wards.ma_xa == COMMUNE].geometry.iloc[0]
    p = home.representative_point()
    geoms, rows = [], []
    for i in range(40):
        x, y = p.x + (i % 8) * 35.0, p.y + (i // 8) * 35.0
        g = _square(x, y)
        geoms.append(g)
        rows.append({"SoTo": "12", "SoThua": str(i + 1), "LoaiDat": LAND_USE[i % len(LAND_USE)],
                     "DienTich": round(g.area, 1), "MaXa": COMMUNE, "TenChu": OWNERS[i % len(OWNERS)]})
    bx, by = p.x, p.y - 100
    bow = shapely.Polygon([(bx, by), (bx + 30, by + 30), (bx + 30, by), (bx, by + 30), (bx, by)])
    geoms.append(bow)
    rows.append({"SoTo": "12", "SoThua": "41", "LoaiDat": "CLN", "DienTich": 450.0, "MaXa": COMMUNE, "TenChu": OWNERS[0]})
    g = _square(p.x + 400, p.y)
    geoms.append(g)
    rows.append({"SoTo": "12", "SoThua": "3", "LoaiDat": "CLN", "DienTich": 900.0, "MaXa": COMMUNE, "TenChu": OWNERS[1]})
    g = _square(p.x + 450, p.y)
    geoms.append(g)
    rows.append({"SoTo": "12", "SoThua": "43", "LoaiDat": "CLN", "DienTich": 1800.0, "MaXa": COMMUNE, "TenChu": OWNERS[2]})
    g = _square(p.x + 500, p.y)
    geoms.append(g)
    rows.append({"SoTo": "12", "SoThua": "44", "LoaiDat": "XYZ", "DienTich": 900.0, "MaXa": COMMUNE, "TenChu": OWNERS[3]})
    # on the shared boundary: a square centred on a boundary vertex
    shared = home.boundary.intersection(wards.loc[wards.ma_xa == NEIGHBOUR].geometry.iloc[0].boundary)
    q = shapely.line_interpolate_point(shapely.line_merge(shared) if shared.geom_type != "Point" else shared, 0.5,
                                       normalized=True) if shared.geom_type != "Point" else shared
    g = shapely.box(q.x - 20, q.y - 20, q.x + 20, q.y + 20)
    geoms.append(g)
    rows.append({"SoTo": "13", "SoThua": "45", "LoaiDat": "ONT", "DienTich": 1600.0, "MaXa": COMMUNE, "TenChu": OWNERS[4]})
    geoms.append(_square(p.x + 100_000 + 300_000, p.y))  # far east, in the South China Sea
    rows.append({"SoTo": "13", "SoThua": "46", "LoaiDat": "ONT", "DienTich": 900.0, "MaXa": COMMUNE, "TenChu": OWNERS[0]})
    geoms.append(_square(p.x + 550, p.y))
    rows.append({"SoTo": "13", "SoThua": "47", "LoaiDat": "CLN", "DienTich": 900.0, "MaXa": None, "TenChu": OWNERS[1]})
    geoms.append(None)
    rows.append({"SoTo": "13", "SoThua": "48", "LoaiDat": "CLN", "DienTich": 900.0, "MaXa": COMMUNE, "TenChu": OWNERS[2]})
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=gpd.GeoSeries(geoms, crs=9218))


def write_parcels(path: Path = PARCELS) -> Path:
    gdf = parcels_frame()
    pyogrio.write_dataframe(gdf, path, encoding="UTF-8", geometry_type="Polygon",
                            layer_options={"DBF_DATE_LAST_UPDATE": "2025-07-01"})
    return path


def shapefile_parts(shp: Path) -> list[Path]:
    return sorted(p for p in shp.parent.iterdir() if p.stem == shp.stem and p.suffix.lower() in
                  (".shp", ".shx", ".dbf", ".prj", ".cpg"))


def copy_shapefile(shp: Path, dest: Path, stem: str | None = None, skip: tuple[str, ...] = ()) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    stem = stem or shp.stem
    for p in shapefile_parts(shp):
        if p.suffix.lower() not in skip:
            shutil.copy(p, dest / f"{stem}{p.suffix}")
    return dest / f"{stem}.shp"


def nested_zip(shp: Path, out: Path, folder: str = "xa_bmt/ban_do/2025") -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in shapefile_parts(shp):
            zf.write(p, f"{folder}/{p.name}")
    return out


def evil_zip(shp: Path, out: Path, member: str) -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in shapefile_parts(shp):
            zf.write(p, p.name)
        zf.writestr(member, b"owned")
    return out


def bomb_zip(out: Path, size: int = 64 << 20) -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("parcels.shp", b"\0" * size)
    return out


def truncated(shp: Path, dest: Path, keep: float = 0.6) -> Path:
    out = copy_shapefile(shp, dest)
    data = out.read_bytes()
    out.write_bytes(data[: int(len(data) * keep)])
    return out


def with_z(shp: Path, out: Path) -> Path:
    gdf = gpd.read_file(shp)
    gdf = gdf[gdf.geometry.notna()].copy()
    gdf["geometry"] = shapely.force_3d(gdf.geometry.values, 412.5)
    pyogrio.write_dataframe(gdf, out, encoding="UTF-8")
    return out


def mixed_types(shp: Path, out: Path) -> Path:
    gdf = gpd.read_file(shp).to_crs(4326).iloc[:6].copy()
    gdf.loc[gdf.index[1], "geometry"] = gdf.geometry.iloc[1].boundary
    gdf.loc[gdf.index[2], "geometry"] = gdf.geometry.iloc[2].centroid
    pyogrio.write_dataframe(gdf, out, driver="GeoJSON")
    return out


def lying_prj(shp: Path, dest: Path, epsg: int = 9210) -> Path:
    """Same coordinates (EPSG:9218), but a .prj claiming another zone."""
    import pyproj

    out = copy_shapefile(shp, dest, stem="lying")
    out.with_suffix(".prj").write_text(pyproj.CRS.from_epsg(epsg).to_wkt("WKT1_ESRI"))
    return out


def two_layer_gpkg(shp: Path, out: Path) -> Path:
    gdf = gpd.read_file(shp)
    gdf = gdf[gdf.geometry.notna()]
    pyogrio.write_dataframe(gdf.iloc[:20], out, layer="thua_dat", driver="GPKG")
    pyogrio.write_dataframe(gdf.iloc[20:30], out, layer="ranh_gioi", driver="GPKG", append=True)
    return out


if __name__ == "__main__":
    print(write_parcels())
    print(np.round(gpd.read_file(PARCELS).to_crs(4326).total_bounds, 4))
