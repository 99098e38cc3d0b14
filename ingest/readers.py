"""Open what GIS officers really send — a shapefile with its sidecars, a zip (folders inside
allowed), a GeoPackage or a GeoJSON — check it before anything reaches the database, and read it
in bounded chunks.

Why the checks live here: GDAL reads a truncated ``.shp`` or a missing ``.dbf`` half-silently
(fewer features, no attributes), and an archive can carry ``../`` paths or a decompression bomb.
Each problem becomes an :class:`InputError` with one bilingual sentence naming the file.

Text: legacy DBFs are read with ``encoding="latin1"``, which keeps every byte, and re-decoded by
:mod:`cropmrv.ingest.encoding` once the encoding is known; a ``.cpg`` is honoured. GeoPackage and
GeoJSON are UTF-8 by definition.
"""

from __future__ import annotations

import hashlib
import shutil
import struct
import tempfile
import threading
import warnings
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyogrio
import shapely

if TYPE_CHECKING:  # pandas is imported by pyarrow's to_pandas when a chunk is read, not before
    import pandas as pd

# GDAL warns once per file about a ring whose last point is not its first; the loader closes such
# rings itself and names each feature in its report (Chunk.source_geoms), so the bare warning goes.
warnings.filterwarnings("ignore", message="Non closed ring detected", category=RuntimeWarning)

SHAPE_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
VECTOR_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".zip")

#: Archive limits: a zip bomb is refused before a byte is written.
ZIP_MAX_TOTAL_BYTES = 8 << 30
ZIP_MAX_RATIO = 200
ZIP_MAX_ENTRIES = 20_000

#: ``.cpg`` values as written by ArcGIS/QGIS/MapInfo → Python codec names.
CPG_CODECS = {
    "utf-8": "utf-8", "utf8": "utf-8", "65001": "utf-8", "utf_8": "utf-8",
    "1258": "cp1258", "cp1258": "cp1258", "ansi 1258": "cp1258", "windows-1258": "cp1258",
    "1252": "cp1252", "ansi 1252": "cp1252", "cp1252": "cp1252", "iso-8859-1": "latin-1",
    "88591": "latin-1", "latin1": "latin-1", "tcvn3": "tcvn3", "vni": "vni",
}


class InputError(ValueError):
    """A problem with the input file a user can fix; the message is bilingual and names the file."""


@dataclass
class Source:
    """An opened, checked input: where to read, what it declares, and its fingerprint."""

    path: Path
    data_path: Path
    driver: str
    layer: str | None
    digest: str | Future  # sha256, computed in a thread while the reading starts; see sha256
    feature_count: int
    geometry_type: str
    fields: list[str]
    crs_wkt: str | None
    cpg: str | None = None
    bounds: tuple[float, float, float, float] | None = None
    fid_column: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def is_shapefile(self) -> bool:
        return self.driver == "ESRI Shapefile"

    @property
    def sha256(self) -> str:
        """The file's fingerprint (waits for the hashing thread the first time)."""
        if isinstance(self.digest, Future):
            self.digest = self.digest.result()
        return self.digest


def sha256_paths(paths: list[Path]) -> str:
    """One digest over several files (a shapefile is its sidecars), suffix and bytes of each."""
    h = hashlib.sha256()
    for p in paths:
        if len(paths) > 1:
            h.update(p.suffix.lower().encode() + b"\0")
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def sha256_later(paths: list[Path]) -> Future:
    """:func:`sha256_paths` in a thread of its own: hashlib releases the GIL on large blocks, so a
    big cadastre is fingerprinted while its first chunks are read (~0.1 s per 50 MB)."""
    fut: Future = Future()

    def work() -> None:
        try:
            fut.set_result(sha256_paths(paths))
        except BaseException as exc:  # noqa: BLE001 - raised where the digest is asked for
            fut.set_exception(exc)

    threading.Thread(target=work, name="cropmrv-sha256", daemon=True).start()
    return fut


def _sibling(shp: Path, suffix: str) -> Path | None:
    """A sidecar whatever the case of its suffix (HKTB.SHX, hktb.shx)."""
    for cand in (shp.with_suffix(suffix), shp.with_suffix(suffix.upper())):
        if cand.exists():
            return cand
    stem = shp.stem.lower()
    for p in shp.parent.iterdir():
        if p.stem.lower() == stem and p.suffix.lower() == suffix:
            return p
    return None


def check_shapefile(shp: Path) -> dict[str, Path]:
    """Sidecars present and the main file whole; returns the sidecars found by suffix."""
    found: dict[str, Path] = {}
    for suf in SHAPE_SIDECARS:
        p = _sibling(shp, suf)
        if p is not None:
            found[suf] = p
    for suf, what in ((".shx", "chỉ mục / index"), (".dbf", "thuộc tính / attribute table")):
        if suf not in found:
            raise InputError(
                f"{shp.name}: thiếu tệp {shp.stem}{suf} ({what.split(' / ')[0]}) — cần gửi kèm cả bộ .shp/.shx/.dbf / "
                f"missing {shp.stem}{suf} ({what.split(' / ')[1]}): send the whole .shp/.shx/.dbf set"
            )
    size = shp.stat().st_size
    if size == 0:
        raise InputError(f"{shp.name}: tệp rỗng (0 byte) / the file is empty (0 bytes)")
    if size < 100:
        raise InputError(f"{shp.name}: tệp bị cắt cụt, không đủ phần đầu 100 byte / truncated: "
                         f"{size} bytes, shorter than the 100-byte shapefile header")
    with open(shp, "rb") as fh:
        head = fh.read(100)
    code, = struct.unpack(">i", head[:4])
    declared = struct.unpack(">i", head[24:28])[0] * 2
    if code != 9994:
        raise InputError(f"{shp.name}: không phải tệp shapefile (mã đầu tệp {code}) / not a shapefile "
                         f"(file code {code}, expected 9994)")
    if declared > size:
        raise InputError(
            f"{shp.name}: tệp bị cắt cụt — phần đầu khai {declared} byte nhưng chỉ có {size} byte; hãy xuất lại "
            f"hoặc chép lại tệp / truncated: the header declares {declared} bytes but the file has {size}; "
            "export or copy it again"
        )
    shx = found[".shx"]
    shx_size = shx.stat().st_size
    if shx_size < 100 or (shx_size - 100) % 8:
        raise InputError(f"{shx.name}: tệp chỉ mục hỏng ({shx_size} byte) / the index file is damaged "
                         f"({shx_size} bytes)")
    if found[".dbf"].stat().st_size == 0:
        raise InputError(f"{found['.dbf'].name}: bảng thuộc tính rỗng / the attribute table is empty (0 bytes)")
    return found


def read_cpg(path: Path | None) -> str | None:
    """The codec a ``.cpg`` declares, or None when absent or unknown (then we detect)."""
    if path is None:
        return None
    raw = path.read_bytes()[:64].decode("ascii", "replace").strip().lower()
    return CPG_CODECS.get(raw) or CPG_CODECS.get(raw.replace("windows-", "").replace("cp", ""))


def _is_unsafe_member(name: str) -> bool:
    p = PurePosixPath(name.replace("\\", "/"))
    return p.is_absolute() or name.startswith(("/", "\\")) or ".." in p.parts or (
        len(name) > 1 and name[1] == ":")


def safe_extract(zpath: Path, dest: Path) -> list[Path]:
    """Extract a zip after checking every entry: no absolute or ``../`` paths, no symlinks, and no
    decompression bomb (total size and per-entry ratio limits). Nothing is written if any check fails."""
    try:
        zf = zipfile.ZipFile(zpath)
    except zipfile.BadZipFile as exc:
        raise InputError(f"{zpath.name}: không phải tệp zip hợp lệ / not a valid zip archive ({exc})") from exc
    with zf:
        infos = zf.infolist()
        if not infos:
            raise InputError(f"{zpath.name}: tệp zip rỗng / the zip archive is empty")
        if len(infos) > ZIP_MAX_ENTRIES:
            raise InputError(f"{zpath.name}: quá nhiều mục ({len(infos)}) / too many entries ({len(infos)})")
        total = 0
        for info in infos:
            if _is_unsafe_member(info.filename):
                raise InputError(
                    f"{zpath.name}: mục '{info.filename}' có đường dẫn tuyệt đối hoặc '../' — từ chối vì an toàn / "
                    f"entry '{info.filename}' has an absolute or '../' path: refused for safety"
                )
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise InputError(f"{zpath.name}: mục '{info.filename}' là liên kết tượng trưng / "
                                 f"entry '{info.filename}' is a symbolic link: refused")
            total += info.file_size
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > (1 << 20) and ratio > ZIP_MAX_RATIO:
                raise InputError(
                    f"{zpath.name}: mục '{info.filename}' nén {ratio:.0f} lần (bom zip?) — từ chối / entry "
                    f"'{info.filename}' expands {ratio:.0f}× (a zip bomb?): refused"
                )
        if total > ZIP_MAX_TOTAL_BYTES:
            raise InputError(f"{zpath.name}: giải nén ra {total / 2**30:.1f} GiB, vượt giới hạn / expands to "
                             f"{total / 2**30:.1f} GiB, over the {ZIP_MAX_TOTAL_BYTES / 2**30:.0f} GiB limit")
        out = []
        for info in infos:
            if info.is_dir() or "__MACOSX" in info.filename:
                continue
            target = dest / PurePosixPath(info.filename.replace("\\", "/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            with zf.open(info) as src, open(target, "wb") as dst:
                # Count real bytes too: a lying header cannot slip a bomb past the limits above.
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    written += len(chunk)
                    if written > info.file_size + (1 << 20):
                        raise InputError(f"{zpath.name}: mục '{info.filename}' lớn hơn khai báo / entry "
                                         f"'{info.filename}' is larger than its header says: refused")
                    dst.write(chunk)
            out.append(target)
    return out


def _pick_vector(files: list[Path], zpath: Path, source_layer: str | None) -> Path:
    cands = [p for p in files if p.suffix.lower() in (".shp", ".gpkg", ".geojson", ".json")]
    if source_layer:
        named = [p for p in cands if p.stem == source_layer or p.name == source_layer]
        if named:
            return named[0]
    if len(cands) == 1:
        return cands[0]
    if not cands:
        raise InputError(f"{zpath.name}: không có .shp/.gpkg/.geojson trong tệp zip / no .shp, .gpkg or "
                         ".geojson inside the archive")
    names = ", ".join(sorted(str(p.name) for p in cands))
    raise InputError(f"{zpath.name}: có nhiều lớp ({names}); chọn một bằng --source-layer / several "
                     f"layers inside ({names}): pick one with --source-layer")


@contextmanager
def open_source(path: str | Path, source_layer: str | None = None) -> Iterator[Source]:
    """Check and describe an input file; a zip is extracted (safely) to a temporary folder that is
    removed on exit."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: không tìm thấy tệp / file not found")
    if path.is_dir():
        raise InputError(f"{path}: là thư mục, cần một tệp / is a folder: give a file")
    suffix = path.suffix.lower()
    if suffix not in VECTOR_SUFFIXES:
        raise InputError(f"{path.name}: định dạng '{suffix}' không hỗ trợ (dùng .shp, .zip, .gpkg, .geojson) / "
                         f"unsupported format '{suffix}' (use .shp, .zip, .gpkg or .geojson)")
    if path.stat().st_size == 0:
        raise InputError(f"{path.name}: tệp rỗng (0 byte) / the file is empty (0 bytes)")
    tmp: Path | None = None
    try:
        data_path = path
        sha = None
        if suffix == ".zip":
            sha = sha256_paths([path])
            tmp = Path(tempfile.mkdtemp(prefix="cropmrv-zip-"))
            data_path = _pick_vector(safe_extract(path, tmp), path, source_layer)
        yield describe(data_path, source_layer, display=path, sha=sha)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def describe(data_path: Path, source_layer: str | None = None, display: Path | None = None,
             sha: str | None = None) -> Source:
    """Read the header of one vector file (no features) into a :class:`Source`."""
    display = display or data_path
    suffix = data_path.suffix.lower()
    cpg = None
    if suffix == ".shp":
        side = check_shapefile(data_path)
        sha = sha or sha256_later([side[s] for s in SHAPE_SIDECARS if s in side])
        cpg = read_cpg(side.get(".cpg"))
        layer = None
    else:
        sha = sha or sha256_later([data_path])
        layer = _pick_layer(data_path, source_layer)
    try:
        info = pyogrio.read_info(data_path, layer=layer)
    except Exception as exc:  # GDAL's own message is the most precise thing we can say
        raise InputError(f"{display.name}: GDAL không đọc được tệp / GDAL cannot read the file: {exc}") from exc
    if info["geometry_type"] is None:
        raise InputError(f"{display.name}: lớp không có hình học / the layer has no geometry column")
    count = int(info["features"])
    if count == 0:
        raise InputError(f"{display.name}: không có đối tượng nào / the file holds no features")
    bounds = tuple(float(b) for b in info["total_bounds"]) if info.get("total_bounds") is not None else None
    return Source(
        path=display, data_path=data_path, driver=info["driver"], layer=layer, digest=sha,
        feature_count=count, geometry_type=info["geometry_type"], fields=list(info["fields"]),
        crs_wkt=_crs_wkt(info.get("crs"), data_path), cpg=cpg, bounds=bounds,
        fid_column=info.get("fid_column") or None,
    )


def _crs_wkt(crs: str | None, data_path: Path) -> str | None:
    if not crs:
        return None
    prj = _sibling(data_path, ".prj") if data_path.suffix.lower() == ".shp" else None
    return prj.read_text(errors="replace") if prj is not None else crs


def _pick_layer(path: Path, source_layer: str | None) -> str | None:
    layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    if source_layer:
        if source_layer not in layers:
            raise InputError(f"{path.name}: không có lớp '{source_layer}' (có: {', '.join(layers)}) / no layer "
                             f"'{source_layer}' (layers: {', '.join(layers)})")
        return source_layer
    if len(layers) > 1:
        raise InputError(f"{path.name}: có nhiều lớp ({', '.join(layers)}); chọn bằng --source-layer / several "
                         f"layers ({', '.join(layers)}): pick one with --source-layer")
    return layers[0] if layers else None


@dataclass
class Chunk:
    """One bounded slice of the input: attributes, geometries (source CRS, as WKB) and feature numbers.

    The WKB stays as GDAL wrote it (an Arrow binary array): the polygon fast path transforms its
    bytes directly (:mod:`cropmrv.geo.wkb`); shapely geometries are made only where asked for.
    """

    table: pa.RecordBatch  # the attribute columns as read
    wkb: pa.Array
    fids: np.ndarray
    name: str = ""  # the file's name, for messages
    stage: object = None  # geometry work done ahead in the stage thread (stage.PolygonStage)
    _geoms: np.ndarray | None = field(default=None, repr=False)
    _attrs: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def attrs(self) -> pd.DataFrame:
        """The attributes as a DataFrame, made on first use — by the consumer, so that the reader
        and stage threads (the pipeline's critical path) do not spend time on Python strings."""
        if self._attrs is None:
            self._attrs = self.table.to_pandas()
        return self._attrs

    @property
    def geoms(self) -> np.ndarray:
        """All features as shapely geometries in the source CRS (made once, on first use)."""
        if self._geoms is None:
            self._geoms = self.source_geoms(None)
        return self._geoms

    def source_geoms(self, idx: np.ndarray | None, fixed: list | None = None) -> np.ndarray:
        """Shapely geometries of the features at positions ``idx`` (all when None).

        WKB that GEOS refuses as it is — a ring whose last point is not its first — is read again
        with the ring closed (shapely's ``on_invalid="fix"``); the positions so mended are
        appended to ``fixed`` for the report. What cannot be read at all becomes None (reported
        as an empty geometry)."""
        raw = self.wkb if idx is None else self.wkb.take(pa.array(np.asarray(idx, dtype=np.int64)))
        wkb = raw.to_numpy(zero_copy_only=False)
        try:
            out = shapely.from_wkb(wkb, on_invalid="ignore")
            bad = np.flatnonzero(shapely.is_missing(out) & _not_none(wkb))
            if len(bad):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    out[bad] = shapely.from_wkb(wkb[bad], on_invalid="fix")
                if fixed is not None:
                    fixed.extend(bad[~shapely.is_missing(out[bad])].tolist())
            return out
        except shapely.errors.GEOSException as exc:
            raise InputError(f"{self.name}: hình học hỏng, không đọc được / unreadable geometry: {exc}") from exc


def _not_none(values: np.ndarray) -> np.ndarray:
    """Where an object array holds something (a null geometry's WKB is None)."""
    return np.fromiter((v is not None for v in values), dtype=bool, count=len(values))


def iter_chunks(src: Source, batch_size: int = 10_000, legacy_text: bool = True) -> Iterator[Chunk]:
    """Stream the features as :class:`Chunk` s through pyogrio's Arrow reader (memory bounded).

    Shapefile text is read as latin1 (bytes preserved) when ``legacy_text``; the caller re-decodes.
    Feature numbers count from 1 in file order, as a GIS user sees them in an attribute table.
    """
    kw = {"encoding": "latin1"} if (src.is_shapefile and legacy_text) else {}
    start = 1
    try:
        with pyogrio.raw.open_arrow(src.data_path, layer=src.layer, batch_size=batch_size,
                                    use_pyarrow=True, **kw) as (meta, reader):
            gcol = meta["geometry_name"] or "wkb_geometry"
            for batch in reader:
                names = batch.schema.names
                wkb = batch.column(names.index(gcol))
                table = batch.select([n for n in names if n != gcol and n != meta.get("fid_column")])
                n = len(wkb)
                yield Chunk(table=table, wkb=wkb, fids=np.arange(start, start + n), name=src.path.name)
                start += n
    except pyogrio.errors.DataSourceError as exc:
        raise InputError(f"{src.path.name}: GDAL không đọc được tệp / GDAL cannot read the file: {exc}") from exc


class Prefetch:
    """:func:`iter_chunks` run ahead of the consumer in two threads: one reads, one prepares.

    GDAL reading, shapely parsing and pyproj release the GIL, so the next chunks are read and
    their geometry prepared while this one is validated. The whole reader lives in one thread:
    GDAL's per-thread configuration (the shapefile text encoding pyogrio sets) then applies to
    every read. Once the consumer knows how (the CRS is decided on the first chunk), it may set
    :attr:`prepare`: a function the second thread runs on every later chunk before handing it
    over — the loader puts its GIL-free geometry work there
    (:func:`cropmrv.ingest.stage.stage_polygons`). At most one read chunk and ``depth`` prepared
    ones wait, so memory stays bounded. An error in either thread is raised in the consumer.
    """

    _DONE = object()

    def __init__(self, src: Source, batch_size: int = 10_000, legacy_text: bool = True, depth: int = 1,
                 staged: bool = False) -> None:
        import queue
        import threading

        self.prepare: Callable[[Chunk], None] | None = None
        self._ready = threading.Event()  # staged: the chunks after the first wait for set_prepare()
        if not staged:
            self._ready.set()
        self._raw: queue.Queue = queue.Queue(maxsize=1)
        self._out: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._args = (src, batch_size, legacy_text)
        self._threads = [threading.Thread(target=self._read, name="cropmrv-read", daemon=True),
                         threading.Thread(target=self._stage, name="cropmrv-stage", daemon=True)]
        for t in self._threads:
            t.start()

    def _put(self, q, item) -> bool:
        import queue

        while not self._stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _get(self, q):
        import queue

        while not self._stop.is_set():
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                continue
        return self._DONE

    def _read(self) -> None:
        try:
            for c in iter_chunks(*self._args):
                if not self._put(self._raw, c):
                    return
            self._put(self._raw, self._DONE)
        except BaseException as exc:  # handed on to the consumer, raised there
            self._put(self._raw, exc)

    def set_prepare(self, fn: Callable[[Chunk], None] | None) -> None:
        """Prepare every chunk after the first with ``fn`` (None: hand them over as read)."""
        self.prepare = fn
        self._ready.set()

    def _stage(self) -> None:
        first = True
        while True:
            item = self._get(self._raw)
            if not first:
                while not self._ready.wait(0.1):
                    if self._stop.is_set():
                        return
            if isinstance(item, Chunk) and self.prepare is not None and not first:
                try:
                    self.prepare(item)
                except BaseException as exc:  # noqa: BLE001 - raised in the consumer
                    item = exc
            first = False  # the first chunk goes to the consumer at once: it decides the CRS from it
            if not self._put(self._out, item) or not isinstance(item, Chunk):
                return

    def __iter__(self) -> Prefetch:
        return self

    def __next__(self) -> Chunk:
        if self._stop.is_set():
            raise StopIteration
        item = self._out.get()
        if item is self._DONE:
            self.close()
            raise StopIteration
        if isinstance(item, BaseException):
            self.close()
            raise item
        return item

    def close(self) -> None:
        """Stop both threads (before the input, or its unzipped copy, goes away)."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout=10)


def iter_chunks_prefetch(src: Source, batch_size: int = 10_000, legacy_text: bool = True,
                         depth: int = 1, staged: bool = False) -> Prefetch:
    """:class:`Prefetch` over ``src`` (``staged``: the consumer will call :meth:`Prefetch.set_prepare`)."""
    return Prefetch(src, batch_size, legacy_text, depth, staged)
