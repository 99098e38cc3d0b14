"""Write sample layers the way GIS officers hand them over — and byte for byte reproducibly.

Variants a province really receives: shapefiles with or without ``.prj``, in VN-2000 metres; DBF text
typed in the TCVN3 (ABC) font encoding with no ``.cpg`` saying so; shapefiles zipped (inside a folder);
GeoPackages with several layers; CSV from Excel (UTF-8 with BOM) and XLSX.

Reproducibility: GDAL stamps the DBF header with today's date and GeoPackages with the current time,
and zip/xlsx entries carry timestamps. Those stamps are pinned (:data:`FIXED_DATE`) so that the same
seed gives files with the same sha256 — which is what lets ``cropmrv ingest`` treat a regenerated,
unchanged sample as a no-op.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from cropmrv.ingest import codecs as _codecs  # noqa: F401  (registers the tcvn3/vni codecs)

FIXED_DATE = (2025, 12, 31)
_ZIP_TIME = (*FIXED_DATE, 0, 0, 0)
SHP_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def write_shapefile(gdf: gpd.GeoDataFrame, path: Path, *, encoding: str = "utf-8", prj: bool = True) -> list[Path]:
    """Write ``gdf`` as a shapefile; ``encoding='tcvn3'`` writes ABC bytes and no ``.cpg``.

    Returns the files written. Text in TCVN3 is encoded by our codec (upper-case toned letters are
    written with the lower-case code, as the ABC fonts do) and passed to GDAL as Latin-1 so the bytes
    reach the DBF unchanged.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    df = gdf.copy()
    if encoding == "tcvn3":
        for col in df.columns:
            if col != df.geometry.name and df[col].dtype == object:
                df[col] = df[col].map(lambda v: v if v is None else
                                      str(v).encode("tcvn3", errors="tcvn3-lower").decode("latin1"))
        pyogrio.write_dataframe(df, path, encoding="latin1")
        path.with_suffix(".cpg").unlink(missing_ok=True)
    else:
        pyogrio.write_dataframe(df, path, encoding="UTF-8")
    if not prj:
        path.with_suffix(".prj").unlink(missing_ok=True)
    _pin_dbf_date(path.with_suffix(".dbf"))
    return [p for p in (path.with_suffix(s) for s in SHP_SIDECARS) if p.exists()]


def _pin_dbf_date(dbf: Path) -> None:
    """dBASE keeps the date of last update in header bytes 1-3 (YY since 1900, MM, DD)."""
    with dbf.open("r+b") as f:
        f.seek(1)
        f.write(bytes([FIXED_DATE[0] - 1900, FIXED_DATE[1], FIXED_DATE[2]]))


def zip_files(files: list[Path], zip_path: Path, folder: str = "", remove: bool = True) -> Path:
    """Zip ``files`` under ``folder/`` inside the archive (fixed timestamps), optionally removing them."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for f in sorted(files):
            info = zipfile.ZipInfo(f"{folder}/{f.name}" if folder else f.name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, f.read_bytes())
    if remove:
        for f in files:
            f.unlink()
    return zip_path


def write_gpkg_layers(layers: dict[str, gpd.GeoDataFrame], path: Path) -> Path:
    """Write several layers into one GeoPackage with pinned timestamps."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    old = os.environ.get("OGR_CURRENT_DATE")
    os.environ["OGR_CURRENT_DATE"] = f"{FIXED_DATE[0]:04d}-{FIXED_DATE[1]:02d}-{FIXED_DATE[2]:02d}T00:00:00.000Z"
    try:
        for name, gdf in layers.items():
            pyogrio.write_dataframe(gdf, path, layer=name, driver="GPKG", append=path.exists())
    finally:
        if old is None:
            os.environ.pop("OGR_CURRENT_DATE", None)
        else:
            os.environ["OGR_CURRENT_DATE"] = old
    return path


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    """CSV as Excel saves it for Vietnamese text: UTF-8 with a BOM, comma separated."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(df.to_csv(index=False, lineterminator="\n").encode("utf-8-sig"))
    return path


def write_xlsx(sheets: dict[str, pd.DataFrame], path: Path) -> Path:
    """XLSX with pinned document and zip timestamps (openpyxl stamps both with 'now')."""
    import datetime as dt

    from openpyxl import Workbook
    from openpyxl.utils.dataframe import dataframe_to_rows

    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    wb.remove(wb.active)
    for name, df in sheets.items():
        ws = wb.create_sheet(name)
        for row in dataframe_to_rows(df, index=False, header=True):
            ws.append(row)
        ws.freeze_panes = "A2"
    stamp = dt.datetime(*FIXED_DATE)
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.properties.creator = "cropmrv sample generator"
    buf = io.BytesIO()
    wb.save(buf)
    # rewrite the zip with fixed entry times
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _pin_core_xml(data, stamp)
            ni = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            ni.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(ni, data)
    return path


def _pin_core_xml(data: bytes, stamp) -> bytes:
    import re

    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    return re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)", rb"\g<1>" + iso + rb"\g<2>", data)
