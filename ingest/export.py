"""The way back out for QGIS: a layer (optionally one commune) as GeoPackage, GeoJSON or shapefile.

The ``attributes`` JSON is expanded back into columns (the user's own column names), so a file
that went in comes out with the same fields plus the platform's. Shapefiles get UTF-8 text and a
``.cpg`` saying so, and column names cut to DBF's 10 characters without collisions.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from sqlalchemy import Engine, text

from cropmrv.db.manage import LAYER_TABLES

FORMATS = {"gpkg": "GPKG", "geojson": "GeoJSON", "shp": "ESRI Shapefile"}
EXPORTABLE = ("parcels", "crop_zones", "planning_zones", "irrigation_assets", "irrigation_service_areas",
              "pilot_sites", "admin_units")


def read_layer(engine: Engine, layer: str, commune: str | None = None, province_code: str | None = None) -> gpd.GeoDataFrame:
    """Active rows of a layer as a GeoDataFrame (EPSG:4326), attributes expanded to columns."""
    if layer not in EXPORTABLE:
        raise ValueError(f"lớp không xuất được '{layer}' / cannot export layer '{layer}' "
                         f"(layers: {', '.join(EXPORTABLE)})")
    table = LAYER_TABLES[layer]
    where, params = [], {}
    if commune:
        where.append("commune_code = :c" if layer != "admin_units" else "code = :c")
        params["c"] = commune
    if province_code:
        where.append("province_code = :p")
        params["p"] = province_code
    sql = f"SELECT *, ST_AsBinary(geom) AS _wkb FROM {table}" + (" WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY " + ("code" if layer == "admin_units" else "id")
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(text(sql), params).mappings().all())
    if df.empty:
        raise ValueError(f"lớp {layer} không có dữ liệu" + (f" cho xã {commune}" if commune else "")
                         + f" / layer {layer} has no rows" + (f" for commune {commune}" if commune else ""))
    geoms = shapely.from_wkb([bytes(b) for b in df.pop("_wkb")])
    df = df.drop(columns=["geom"])
    if "attributes" in df.columns:
        attrs = pd.DataFrame([a if isinstance(a, dict) else json.loads(a or "{}") for a in df.pop("attributes")])
        if "_flags" in attrs.columns:
            attrs["_flags"] = attrs["_flags"].map(lambda v: ",".join(v) if isinstance(v, list) else v)
        clash = [c for c in attrs.columns if c in df.columns]
        attrs = attrs.rename(columns={c: f"src_{c}" for c in clash})
        df = pd.concat([df.reset_index(drop=True), attrs.reset_index(drop=True)], axis=1)
    return gpd.GeoDataFrame(df, geometry=geoms, crs=4326)


def _dbf_names(columns: list[str]) -> dict[str, str]:
    """Unique ≤10-character names for a DBF (``irrigation_method`` → ``irrigation``, ``irrigati_1``…)."""
    out, used = {}, set()
    for c in columns:
        name = c[:10]
        i = 1
        while name.lower() in used:
            suffix = f"_{i}"
            name = c[: 10 - len(suffix)] + suffix
            i += 1
        used.add(name.lower())
        out[c] = name
    return out


def export_layer(engine: Engine, layer: str, out: str | Path, fmt: str | None = None, commune: str | None = None,
                 province_code: str | None = None) -> Path:
    """Write a layer to ``out``; the format follows ``fmt`` or the file suffix."""
    out = Path(out)
    fmt = (fmt or out.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise ValueError(f"định dạng không hỗ trợ '{fmt}' / unsupported format '{fmt}' (use gpkg, geojson or shp)")
    gdf = read_layer(engine, layer, commune, province_code)
    for col in gdf.columns:
        if col != "geometry" and gdf[col].dtype == object:
            gdf[col] = gdf[col].map(lambda v: None if v is None else (v if isinstance(v, str | int | float | bool)
                                                                      else str(v)))
    out.parent.mkdir(parents=True, exist_ok=True)
    kw: dict = {}
    if fmt == "shp":
        gdf = gdf.rename(columns=_dbf_names([c for c in gdf.columns if c != "geometry"]))
        kw["encoding"] = "UTF-8"  # GDAL writes the .cpg
        if gdf.geom_type.nunique() > 1:
            gdf["geometry"] = gdf.geometry.map(lambda g: g)  # shapefiles hold one type: let GDAL promote
    elif fmt == "gpkg":
        kw["layer"] = layer
    if out.exists() and fmt != "gpkg":
        out.unlink()
    pyogrio.write_dataframe(gdf, out, driver=FORMATS[fmt], **kw)
    return out
