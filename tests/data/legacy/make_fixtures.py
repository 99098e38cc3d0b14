"""Write the legacy-encoding shapefile fixtures in this folder (deterministic; run from anywhere).

    .venv/bin/python tests/data/legacy/make_fixtures.py [OUT_DIR]

No public shapefile with TCVN3 or VNI text was found, so these are made from the real commune
boundaries shipped in cropmrv/data/provinces/66 (see README.md here). Each variant holds the same
21 communes (every 5th by GSO code), simplified to 100 m, in VN-2000 / TM-3 108-30 (EPSG:9218,
Đắk Lắk's zone), with DBF text written as a commune office would have it: the bytes of the legacy
encoding and no .cpg. The DBF date is pinned so that the files are byte-for-byte reproducible.
"""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely

from cropmrv.ingest.codecs import encode

HERE = Path(__file__).resolve().parent
WARDS = HERE.parents[2] / "cropmrv/data/provinces/66/dak_lak_wards_2025.gpkg"
EPSG = 9218
# name, encoding, keep .prj?, keep .cpg?
VARIANTS = (
    ("communes_tcvn3_noprj", "tcvn3", False, False),
    ("communes_vni", "vni", True, False),
    ("communes_cp1258", "cp1258", True, False),
    ("communes_utf8", "utf-8", True, True),
)
DBF_DATE = bytes([125, 7, 1])  # 2025-07-01, the day the new communes started


def communes() -> gpd.GeoDataFrame:
    g = gpd.read_file(WARDS, layer="xa_phuong_2025").sort_values("ma_xa").iloc[::5]
    g = g.to_crs(EPSG)
    geom = shapely.set_precision(shapely.simplify(g.geometry.to_numpy(), 100.0), 0.01)
    return gpd.GeoDataFrame(
        {
            "MAXA": g["ma_xa"].to_numpy(),
            "TEN": [unicodedata.normalize("NFC", s) for s in g["ten"]],
            "LOAI": [unicodedata.normalize("NFC", s) for s in g["loai"]],
        },
        geometry=geom,
        crs=EPSG,
    )


def write_variant(g: gpd.GeoDataFrame, out: Path, name: str, encoding: str, prj: bool, cpg: bool) -> Path:
    errors = "tcvn3-lower" if encoding == "tcvn3" else "strict"  # ABC: capitals use lower-case codes
    shp = out / f"{name}.shp"
    if encoding == "utf-8":
        pyogrio.write_dataframe(g, shp, encoding="utf-8")
    else:
        # legacy bytes, carried through GDAL unchanged as Latin-1 code points
        frame = g.copy()
        for col in ("TEN", "LOAI"):
            frame[col] = [encode(s, encoding, errors).decode("latin-1") for s in frame[col]]
        pyogrio.write_dataframe(frame, shp, encoding="latin1")
    if not cpg:
        shp.with_suffix(".cpg").unlink()
    if not prj:
        shp.with_suffix(".prj").unlink()
    dbf = shp.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    data[1:4] = DBF_DATE
    dbf.write_bytes(bytes(data))
    return shp


def main(out: Path = HERE) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    g = communes()
    return [write_variant(g, out, *variant) for variant in VARIANTS]


if __name__ == "__main__":
    for path in main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(path)
