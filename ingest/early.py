"""Start reading a vector file — and reprojecting it, when its CRS is declared — before the rest
of the loader is even imported.

Why: a ``cropmrv ingest vector`` process spends its first ~0.7 s importing pandas, SQLAlchemy,
psycopg and pydantic on one core while the machine's other cores idle. This module imports only
what reading and the polygon fast path need (GDAL through pyogrio, Arrow, shapely, PROJ), opens
and checks the file, and starts :class:`~cropmrv.ingest.readers.Prefetch` with speculative
staging in the CRS the user or the ``.prj`` names; :func:`cropmrv.ingest.load.ingest_vector`
then takes the open source over. Nothing here decides anything: any problem (unreadable file,
CRS the data contradict) is left for ``ingest_vector`` to find and report the usual way, and a
wrong guess only costs the staged chunks being redone.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from cropmrv.geo.crs import declared_epsg, parse_epsg
from cropmrv.ingest.readers import Prefetch, Source, iter_chunks_prefetch, open_source
from cropmrv.ingest.stage import make_stager

#: Staged chunks that may wait for the consumer (~10 MB each at 10,000 parcels): room for the
#: work done while the loader imports, and still a fixed bound whatever the file's size.
EARLY_DEPTH = 8


@dataclass
class Early:
    """An opened source and its running reader, handed to ``ingest_vector(..., early=)``."""

    path: Path
    source_layer: str | None
    encoding: str
    crs: str | int | None
    src: Source
    native: bool
    chunks: Prefetch
    spec_epsg: int | None
    _stack: ExitStack

    def matches(self, path: str | Path, source_layer: str | None, encoding: str, crs: str | int | None) -> bool:
        return (Path(path) == self.path and source_layer == self.source_layer and encoding == self.encoding
                and crs == self.crs)

    def close(self) -> None:
        """Stop the reader and remove any unpacked copy of the input."""
        self._stack.close()


def native_text(src: Source, encoding: str) -> bool:
    """A .cpg saying UTF-8 is read by GDAL natively; legacy text comes as latin1 bytes to re-decode."""
    return src.is_shapefile and src.cpg == "utf-8" and encoding in ("auto", "utf-8")


def begin(path: str | Path, layer: str, *, crs: str | int | None = None, encoding: str = "auto",
          source_layer: str | None = None, batch_size: int = 10_000, depth: int = EARLY_DEPTH) -> Early:
    """Open and check ``path`` and start reading it, staging the geometry in the CRS ``crs`` or
    the ``.prj`` names; raises what :func:`~cropmrv.ingest.readers.open_source` raises."""
    stack = ExitStack()
    try:
        src = stack.enter_context(open_source(path, source_layer))
        native = native_text(src, encoding)
        chunks = iter_chunks_prefetch(src, batch_size=batch_size, legacy_text=not native, depth=depth, staged=True)
        stack.callback(chunks.close)  # stop the reader before the input (or its unzipped copy) goes
        spec = parse_epsg(crs) if crs not in (None, "") else declared_epsg(src.crs_wkt)
        if spec is not None:
            chunks.set_prepare(make_stager(layer, spec))
        return Early(Path(path), source_layer, encoding, crs, src, native, chunks, spec, stack)
    except BaseException:
        stack.close()
        raise


def start(path: str | Path, layer: str, *, crs: str | int | None = None, encoding: str = "auto",
          source_layer: str | None = None, batch_size: int = 10_000, depth: int = EARLY_DEPTH) -> Early | None:
    """:func:`begin`, or None when anything is off (the loader will then open the file itself and
    report the problem the usual way)."""
    try:
        return begin(path, layer, crs=crs, encoding=encoding, source_layer=source_layer, batch_size=batch_size,
                     depth=depth)
    except Exception:  # noqa: BLE001 - an optimisation only: the loader finds and reports the problem
        return None
