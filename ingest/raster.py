"""``cropmrv ingest raster``: check a raster against the province and register it.

Rasters stay files (a DEM of a province is gigabytes; PostGIS raster would double it and every
reader — exactextract, rasterio, QGIS — reads GeoTIFF directly). What the database keeps is the
``raster`` row (path, CRS, nodata, size, resolution, footprint) and a dataset row, so every zonal
statistic can say which raster it came from. Checks: a CRS must be present; nodata is reported
(and may be set by the caller when the file lacks it); the footprint must overlap the province,
and the share of the province it covers is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyproj
import shapely
from sqlalchemy import Engine

from cropmrv.db.engine import raw_connection
from cropmrv.ingest import datasets
from cropmrv.ingest.communes import load_communes
from cropmrv.ingest.readers import sha256_paths
from cropmrv.ingest.report import IngestError, IngestReport
from cropmrv.settings import Settings

KINDS = ("dem", "slope", "landcover", "other")


@dataclass
class RasterInfo:
    path: Path
    kind: str
    crs: str
    nodata: float | None
    width: int
    height: int
    resolution: float
    footprint: shapely.Geometry  # EPSG:4326
    province_share: float  # share of the province's area the raster covers
    dataset_id: int | None = None
    raster_id: int | None = None
    status: str = "loaded"
    notes: list[str] = field(default_factory=list)

    def to_text(self) -> str:
        lines = [
            f"{self.path.name}: {self.kind}, {self.width}×{self.height}, {self.resolution:g} ({self.crs}), "
            f"nodata {self.nodata}",
            f"phủ {self.province_share:.1%} diện tích tỉnh / covers {self.province_share:.1%} of the province",
            f"bộ dữ liệu / dataset {self.dataset_id} ({self.status})",
        ]
        return "\n".join(lines + [f"• {n}" for n in self.notes])


def describe_raster(path: Path, nodata: float | None = None) -> dict:
    import rasterio
    from rasterio.warp import transform_geom

    try:
        with rasterio.open(path) as ds:
            if ds.crs is None:
                raise IngestError(f"{path.name}: raster không có hệ tọa độ / the raster has no CRS: assign one "
                                  "(gdal_edit.py -a_srs EPSG:N) and load again")
            b = ds.bounds
            box = shapely.box(b.left, b.bottom, b.right, b.top).segmentize(max(b.right - b.left, b.top - b.bottom) / 50)
            foot = shapely.geometry.shape(transform_geom(ds.crs, "EPSG:4326", shapely.geometry.mapping(box)))
            epsg = ds.crs.to_epsg()
            return {"crs": f"EPSG:{epsg}" if epsg else ds.crs.to_wkt(), "nodata": ds.nodata if nodata is None else nodata,
                    "width": ds.width, "height": ds.height, "resolution": float(abs(ds.res[0])),
                    "footprint": shapely.make_valid(foot), "count": ds.count, "dtype": ds.dtypes[0],
                    "geographic": bool(ds.crs.is_geographic)}
    except rasterio.errors.RasterioIOError as exc:
        raise IngestError(f"{path.name}: không đọc được raster / cannot read the raster: {exc}") from exc


def ingest_raster(path: str | Path, kind: str, *, settings: Settings, engine: Engine, nodata: float | None = None,
                  loaded_by: str | None = None) -> RasterInfo:
    """Check and register a raster; identical file (sha256) for the same kind is a no-op."""
    path = Path(path)
    if kind not in KINDS:
        raise IngestError(f"loại raster không hỗ trợ '{kind}' / unsupported raster kind '{kind}' "
                          f"(kinds: {', '.join(KINDS)})")
    if not path.exists():
        raise FileNotFoundError(f"{path}: không tìm thấy tệp / file not found")
    d = describe_raster(path, nodata)
    sha = sha256_paths([path])
    rep = IngestReport(source=path.name, layer="raster", province_code=settings.province_code, sha256=sha,
                       crs_in=d["crs"], features_read=1, features_loaded=1)
    with engine.connect() as sa:
        tx = sa.begin()
        try:
            communes = load_communes(sa, settings.province_code)
            prov = communes.province_geom
            inter = shapely.intersection(prov, d["footprint"])
            share = float(shapely.area(inter) / shapely.area(prov)) if shapely.area(prov) > 0 else 0.0
            if share <= 0:
                c = d["footprint"].centroid
                raise IngestError(
                    f"{path.name}: raster nằm ngoài tỉnh {communes.province_name or settings.province_code} (tâm "
                    f"{c.x:.3f}°E {c.y:.3f}°N) / the raster lies outside province "
                    f"{communes.province_name or settings.province_code} (centre {c.x:.3f}°E {c.y:.3f}°N): check its CRS")
            info = RasterInfo(path=path, kind=kind, crs=d["crs"], nodata=d["nodata"], width=d["width"],
                              height=d["height"], resolution=d["resolution"], footprint=d["footprint"],
                              province_share=share)
            if d["nodata"] is None:
                info.notes.append("raster không khai báo nodata: mọi ô đều được coi là có dữ liệu / no nodata value: "
                                  "every cell counts as data (set one with --nodata if that is wrong)")
            if share < 0.99:
                info.notes.append(f"chỉ phủ {share:.1%} diện tích tỉnh / covers only {share:.1%} of the province")
            if kind in ("dem", "slope") and d["count"] != 1:
                info.notes.append(f"{d['count']} bands: band 1 is used / dùng kênh 1")
            old = datasets.active_dataset(sa, "raster", settings.province_code, None, None, kind)
            if old and old["sha256"] == sha:
                info.status, info.dataset_id = "unchanged", old["id"]
                tx.rollback()
                return info
            for n in info.notes:
                rep.note(n)
            pg = raw_connection(sa)
            datasets.register(sa, pg, layer="raster", table=None, province=settings.province_code, commune=None,
                              year=None, source=path, sha256=sha, rep=rep, loaded_by=loaded_by, variant=kind)
            info.dataset_id = rep.dataset_id
            foot = d["footprint"]
            foot = foot if foot.geom_type == "Polygon" else max(getattr(foot, "geoms", [foot]), key=lambda g: g.area)
            info.raster_id = pg.execute(
                "INSERT INTO raster (province_code, dataset_id, kind, path, crs, nodata, width, height, resolution, "
                "footprint) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, ST_GeomFromText(%s, 4326)) RETURNING id",
                (settings.province_code, rep.dataset_id, kind, str(path.resolve()), d["crs"], d["nodata"], d["width"],
                 d["height"], d["resolution"], foot.wkt)).fetchone()[0]
            rep.status = "loaded"
            datasets.store_report(pg, rep)
            tx.commit()
            return info
        except BaseException:
            tx.rollback()
            raise


def epsg_of(crs: str) -> int | None:
    try:
        return pyproj.CRS.from_user_input(crs).to_epsg()
    except pyproj.exceptions.CRSError:
        return None
