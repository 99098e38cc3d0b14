"""``ingest_vector``: the one library function behind ``cropmrv ingest vector``.

One transaction from start to end. The file is read in bounded chunks by a reader thread while a
second thread reprojects and validity-checks the polygons (:mod:`cropmrv.ingest.stage`); the main
thread checks attributes, communes and identities (:mod:`cropmrv.ingest.checks`) and a binary
COPY streams the accepted rows into the layer table, where they stay invisible to everyone else
— the uncommitted rows are the staging area (``staging_table=True`` stages in a TEMP table and
moves the rows by one INSERT … SELECT instead, for comparison). Then the set-based checks and the
swap: previous rows of the same layer/province/commune to ``<table>_history``, the old dataset
marked superseded, the dataset row with its report. Nothing is visible before COMMIT, so a load
killed at any moment (Ctrl-C, OOM, power) leaves the database exactly as it was; a refused or
dry-run load rolls back. An identical file (same sha256) for the same layer and commune is a no-op.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pyproj
from psycopg import sql
from sqlalchemy import Engine, text

from cropmrv.db.engine import raw_connection
from cropmrv.db.manage import LAYER_TABLES
from cropmrv.geo.crs import declared_epsg, detect_crs, parse_epsg  # noqa: F401 - parse_epsg: public here too
from cropmrv.ingest import datasets, staging
from cropmrv.ingest.checks import Context, process_chunk
from cropmrv.ingest.communes import load_communes
from cropmrv.ingest.early import Early, begin, native_text
from cropmrv.ingest.encoding import detect_encoding, samples_from_frame
from cropmrv.ingest.profiles import LAYER_COLUMNS, REQUIRED, profile_for
from cropmrv.ingest.readers import InputError, Source, iter_chunks, open_source
from cropmrv.ingest.report import IngestError, IngestReport
from cropmrv.settings import Settings

VECTOR_LAYERS = tuple(LAYER_COLUMNS)
ENCODINGS = ("auto", "utf-8", "cp1258", "tcvn3", "vni")
Progress = Callable[[str, int, int], None]


def ingest_vector(
    path: str | Path,
    layer: str,
    *,
    settings: Settings,
    engine: Engine,
    commune: str | None = None,
    crs: str | int | None = None,
    encoding: str = "auto",
    mapping: str | Path | dict | None = None,
    dry_run: bool = False,
    max_rejects: int | None = None,
    progress: Progress | None = None,
    source_layer: str | None = None,
    repair: bool = True,
    area_tolerance: float = 0.1,
    batch_size: int = 10_000,
    loaded_by: str | None = None,
    staging_table: bool = False,
    early: Early | None = None,
) -> IngestReport:
    """Load a vector file into ``layer``; returns the report (status loaded/dry_run/unchanged).

    Raises :class:`IngestError` (carrying the report) when the load is refused: unreadable input,
    CRS not determinable, more rejects than ``max_rejects``; then no row has changed.
    ``staging_table``: stage in a TEMP table and INSERT … SELECT at the end, instead of COPYing into
    the layer table inside the transaction (same guarantees, about 2× slower; kept for comparison).
    ``early``: the file already opened and being read by :func:`cropmrv.ingest.early.start` (the
    CLI starts it before importing this module); taken over, and ignored if it was opened with
    other arguments.
    """
    try:  # a problem with the arguments: the early reader, if any, must not outlive the call
        if layer not in VECTOR_LAYERS:
            raise ValueError(f"lớp không hỗ trợ '{layer}' / unsupported layer '{layer}' (layers: {', '.join(VECTOR_LAYERS)})")
        if encoding not in ENCODINGS:
            raise ValueError(f"bảng mã không hỗ trợ '{encoding}' / unsupported encoding '{encoding}' "
                             f"(use {', '.join(ENCODINGS)})")
        t0 = time.perf_counter()
        progress = progress or (lambda stage, done, total: None)
        user_epsg = parse_epsg(crs)
        rep = IngestReport(source=Path(path).name, layer=layer, province_code=settings.province_code, commune_code=commune)
        profile = profile_for(layer, mapping)
    except BaseException:
        if early is not None:
            early.close()
        raise
    if early is not None and (staging_table or not early.matches(path, source_layer, encoding, crs)):
        early.close()
        early = None
    try:
        return _ingest(path, layer, settings, engine, commune, user_epsg, encoding, profile, dry_run, max_rejects,
                       progress, source_layer, repair, area_tolerance, batch_size, loaded_by, rep, t0, staging_table,
                       early)
    except InputError as exc:  # raised before the transaction: nothing to roll back
        rep.status, rep.error = "refused", str(exc)
        raise IngestError(str(exc), rep) from exc


def _ingest(path, layer, settings, engine, commune, user_epsg, encoding, profile, dry_run, max_rejects, progress,
            source_layer, repair, area_tolerance, batch_size, loaded_by, rep, t0, staging_table,
            early) -> IngestReport:
    with ExitStack() as stack:
        if staging_table:
            src = stack.enter_context(open_source(path, source_layer))
            native = native_text(src, encoding)
            chunks = iter_chunks(src, batch_size=batch_size, legacy_text=not native)
            stack.callback(chunks.close)
            spec_epsg = None
        else:
            # Reading starts first, and the geometry is staged speculatively in the CRS the user or
            # the .prj names while the database is asked for the communes; if the data then say
            # otherwise it is redone. The CLI has usually started this before importing us.
            early = early or begin(path, layer, crs=user_epsg, encoding=encoding, source_layer=source_layer,
                                   batch_size=batch_size, depth=1)
            stack.callback(early.close)
            src, native, chunks, spec_epsg = early.src, early.native, early.chunks, early.spec_epsg
        rep.features_read = src.feature_count
        with engine.connect() as sa, datasets.load_transaction(sa, rep, src.path.name) as tx:
            _check_commune(sa, settings, commune)
            active = datasets.active_dataset(sa, layer, settings.province_code, commune)
            communes = load_communes(sa, settings.province_code)  # meanwhile the file is hashed in a thread
            rep.sha256 = src.sha256
            if active and active["sha256"] == src.sha256:
                rep.status, rep.dataset_id = "unchanged", active["id"]
                rep.features_loaded = active["feature_count"]
                rep.note(f"tệp giống hệt bộ dữ liệu {active['id']} đang dùng / identical to active dataset {active['id']}")
                tx.rollback()
                return rep
            if native:
                rep.encoding_in, rep.encoding_reason = "utf-8", "from the .cpg file / theo tệp .cpg"
            first = next(chunks)
            colmap = profile.resolve(src.fields, _empty_columns(first.attrs))
            missing = [c for c in REQUIRED.get(layer, ()) if c not in colmap]
            if missing:
                raise IngestError(
                    f"{src.path.name}: không tìm thấy cột {', '.join(missing)} (các cột: {', '.join(src.fields)}); "
                    f"dùng --mapping / no column for {', '.join(missing)} (columns: {', '.join(src.fields)}): "
                    "map it with --mapping", rep)
            rep.mapping = colmap
            epsg = _decide_crs(src, first, communes, user_epsg, settings, rep)
            extra = [c for c in first.attrs.columns if c not in colmap.values()]
            rep.attributes_kept = extra
            ctx = Context(layer=layer, profile=profile, colmap=colmap, extra=extra, epsg=epsg,
                          communes=communes, commune=commune, repair=repair, area_tolerance=area_tolerance,
                          native=native)
            if hasattr(chunks, "set_prepare") and epsg != spec_epsg:
                chunks.set_prepare(ctx.stager())  # later chunks: geometry staged ahead, in its thread
            pg = raw_connection(sa)
            if staging_table:
                _stream_via_staging(sa, pg, src, first, chunks, ctx, encoding, layer, settings, commune, rep,
                                    progress, dry_run, max_rejects, loaded_by, t0)
            else:
                _stream_direct(sa, pg, src, first, chunks, ctx, encoding, layer, settings, commune, rep,
                               progress, dry_run, max_rejects, loaded_by, t0)
            if dry_run:
                rep.status = "dry_run"
                tx.rollback()
                return rep
            progress("swap", 1, 1)
            return datasets.commit_load(tx, rep, t0)


def _check_counts(src: Source, rep: IngestReport, max_rejects: int | None) -> None:
    rep.rejected = len(rep.rejected_features())
    if max_rejects is not None and rep.rejected > max_rejects:
        raise IngestError(
            f"{src.path.name}: {rep.rejected} đối tượng bị loại, vượt --max-rejects {max_rejects}; không "
            f"dòng nào thay đổi / {rep.rejected} features rejected, more than --max-rejects "
            f"{max_rejects}: no row changed", rep)
    if rep.features_loaded == 0:
        raise IngestError(f"{src.path.name}: không còn đối tượng hợp lệ nào để nạp / no valid feature "
                          "left to load: no row changed", rep)


def _stream_direct(sa, pg, src, first, chunks, ctx, encoding, layer, settings, commune, rep, progress, dry_run,
                   max_rejects, loaded_by, t0) -> None:
    """COPY validated chunks straight into the layer table inside the load's transaction.

    The uncommitted rows are the staging area: nobody else sees them before COMMIT, a kill rolls
    them back. Compared with a TEMP staging table and INSERT … SELECT this writes every row once
    instead of three times, and the server stores and indexes chunk n
    while Python validates chunk n+1. Into a table holding fewer rows than the file brings, the
    secondary indexes are dropped and built after the COPY (staging.defer_indexes). A dry run
    validates only and COPYs nothing.
    """
    # before register: the first touch of the table in this transaction (see defer_indexes)
    deferred = [] if dry_run else staging.defer_indexes(pg, LAYER_TABLES[layer], src.feature_count)
    if not dry_run:
        datasets.register(sa, pg, layer=layer, table=LAYER_TABLES[layer], province=settings.province_code,
                          commune=commune, year=None, source=src.path, sha256=src.sha256, rep=rep, loaded_by=loaded_by)
    done = 0
    progress("read", 0, src.feature_count)
    fast_fk = not dry_run and staging.skip_row_fk_checks(pg, LAYER_TABLES[layer], settings.province_code)
    codes: set[str] = set()  # every commune code written, for the foreign-key check after the COPY
    with staging.copy_into(pg, layer, rep.attributes_kept, settings.province_code, rep.dataset_id,
                           enabled=not dry_run) as write:
        for chunk in _chain(first, chunks):
            ctx.codec = _codec(src, chunk, encoding, ctx.codec, rep, ctx.native)
            rows = process_chunk(chunk, ctx, rep)
            write(rows)
            codes.update(rows["commune_code"].dropna().unique().tolist())
            rep.features_loaded += len(rows)
            done += len(chunk.fids)
            progress("read", done, src.feature_count)
        progress("swap", 0, 1)
    staging.rebuild_indexes(pg, deferred)
    if fast_fk:
        staging.restore_fk_checks(pg, LAYER_TABLES[layer], rep.dataset_id, codes)
    rep.seconds["stage"] = round(time.perf_counter() - t0, 3)
    rep.sort()
    _check_counts(src, rep, max_rejects)
    if not dry_run:
        datasets.store_report(pg, rep)


def _stream_via_staging(sa, pg, src, first, chunks, ctx, encoding, layer, settings, commune, rep, progress, dry_run,
                        max_rejects, loaded_by, t0) -> None:
    """The TEMP-table path: COPY into ``ingest_stage``, then one INSERT … SELECT in the swap."""
    staging.create_staging(pg, layer, [staging.extra_sql_type(first.attrs[c].dtype) for c in rep.attributes_kept])
    done = 0
    progress("read", 0, src.feature_count)
    for chunk in _chain(first, chunks):
        ctx.codec = _codec(src, chunk, encoding, ctx.codec, rep, ctx.native)
        rows = process_chunk(chunk, ctx, rep)
        staging.copy_rows(pg, rows, layer)
        done += len(chunk.fids)
        progress("read", done, src.feature_count)
    rep.seconds["stage"] = round(time.perf_counter() - t0, 3)
    rep.sort()
    rep.features_loaded = pg.execute("SELECT count(*) FROM ingest_stage").fetchone()[0]
    _check_counts(src, rep, max_rejects)
    if dry_run:
        return
    progress("swap", 0, 1)
    _swap(sa, pg, src, layer, settings, commune, rep, loaded_by)


def _empty_columns(df) -> set[str]:
    """Columns without a single non-blank value in the first chunk."""
    out = set()
    for c in df.columns:
        s = df[c].dropna()
        if s.dtype == object:
            s = s[s.astype(str).str.strip() != ""]
        if s.empty:
            out.add(c)
    return out


def _chain(first, rest):
    yield first
    yield from rest


def _check_commune(sa, settings: Settings, commune: str | None) -> None:
    if commune is None:
        return
    ok = sa.execute(text("SELECT 1 FROM admin_unit WHERE code = :c AND province_code = :p AND level = 'commune'"),
                    {"c": commune, "p": settings.province_code}).first()
    if not ok:
        raise IngestError(f"mã xã {commune} không thuộc tỉnh {settings.province_code} / commune {commune} is not "
                          f"a commune of province {settings.province_code}")


def _decide_crs(src: Source, first, communes, user_epsg: int | None, settings: Settings, rep: IngestReport) -> int:
    import shapely

    n = len(first.fids)
    pts = shapely.get_coordinates(first.source_geoms(np.arange(0, n, max(1, n // 500))))  # ~500 parsed, not all
    if src.bounds is not None:
        b = src.bounds
        pts = [*pts.tolist(), [b[0], b[1]], [b[2], b[3]]]
    dec = detect_crs(pts, communes.province_geom, src.crs_wkt, user_epsg=user_epsg,
                     preferred_epsg=settings.preferred_epsg)
    rep.crs_message = dec.message
    for w in dec.warnings:
        rep.note(w)
    if not dec.accepted:
        raise IngestError(f"{src.path.name}: không xác định được hệ tọa độ / cannot determine the coordinate system: "
                          f"{dec.message}{_areas(dec)}", rep)
    prj_epsg = declared_epsg(src.crs_wkt)
    if user_epsg is None and prj_epsg is not None and dec.epsg != prj_epsg:
        raise IngestError(
            f"{src.path.name}: tệp .prj ghi EPSG:{prj_epsg} nhưng tọa độ chỉ khớp EPSG:{dec.epsg} — nếu đúng, chạy lại "
            f"với --crs EPSG:{dec.epsg} / the .prj says EPSG:{prj_epsg} but the coordinates fit EPSG:{dec.epsg} "
            f"only ({dec.message}); if that is right, run again with --crs EPSG:{dec.epsg}", rep)
    chosen = next((c for c in dec.candidates if c.epsg == dec.epsg), None)
    if dec.source == "user" and chosen is not None and chosen.share_inside < 0.5:
        where = chosen.where()
        raise IngestError(
            f"{src.path.name}: EPSG:{dec.epsg} đặt dữ liệu ngoài tỉnh {communes.province_name or settings.province_code} "
            f"({where}) — kiểm tra lại hệ tọa độ hoặc cấu hình tỉnh / EPSG:{dec.epsg} puts the data outside province "
            f"{communes.province_name or settings.province_code} ({where}): check the CRS or the configured province"
            f"{_areas(dec, only=dec.epsg)}", rep)
    rep.crs_in, rep.crs_source, rep.crs_operation = f"EPSG:{dec.epsg}", dec.source, dec.operation
    return int(dec.epsg)


def _areas(dec, only: int | None = None) -> str:
    """Name the EPSG area of use of candidates that place the data somewhere plausible (e.g. Bến Tre)."""
    out = []
    for c in dec.candidates:
        if (only is None and c.in_zone_area and c.epsg != 4326) or c.epsg == only:
            aou = pyproj.CRS.from_epsg(c.epsg).area_of_use
            out.append(f"EPSG:{c.epsg} → {c.where()} [{aou.name if aou else '?'}]")
    return (" | vùng sử dụng / areas of use: " + "; ".join(out)) if out else ""


def _codec(src: Source, chunk, encoding: str, current: str | None, rep: IngestReport, native: bool = False) -> str | None:
    """The codec to re-decode this chunk's latin1-read text with; None when GDAL already gave Unicode."""
    if native:
        return None
    if not src.is_shapefile:
        if rep.encoding_in is None:
            rep.encoding_in = "utf-8"
            rep.encoding_reason = f"{src.driver} is UTF-8 by definition"
        return None
    if current is not None:
        return current
    if encoding != "auto":
        rep.encoding_in, rep.encoding_reason = encoding, "given by the user / người dùng chỉ định"
        return encoding
    if src.cpg:
        rep.encoding_in, rep.encoding_reason = src.cpg, "from the .cpg file / theo tệp .cpg"
        return src.cpg
    guess = detect_encoding(samples_from_frame(chunk.attrs))
    rep.encoding_in, rep.encoding_reason = guess.encoding, guess.reason
    if guess.encoding == "ascii-compatible":
        return None  # decide again at the first chunk holding non-ASCII text
    rep.note(f"bảng mã tự nhận: {guess.encoding} (độ tin cậy {guess.confidence:.2f}) / detected encoding "
             f"{guess.encoding} (confidence {guess.confidence:.2f})")
    return guess.codec


def _swap(sa, pg, src: Source, layer: str, settings: Settings, commune: str | None, rep: IngestReport,
          loaded_by: str | None) -> None:
    table = LAYER_TABLES[layer]
    datasets.register(sa, pg, layer=layer, table=table, province=settings.province_code, commune=commune, year=None,
                      source=src.path, sha256=src.sha256, rep=rep, loaded_by=loaded_by)
    targets = list(LAYER_COLUMNS[layer])
    select = [sql.Identifier(c) for c in targets]
    if layer == "crop_zones":
        select[targets.index("season")] = sql.SQL("coalesce(season, 'perennial')")
    attrs = _attributes_sql(rep.attributes_kept)
    geom = sql.SQL("ST_SetSRID(geom, 4326)") if layer == "irrigation_assets" else sql.SQL("ST_Multi(ST_SetSRID(geom, 4326))")
    q = sql.SQL("INSERT INTO {t} (province_code, dataset_id, {cols}, attributes, geom) "
                "SELECT %s, %s, {sel}, {attrs}, {geom} FROM ingest_stage").format(
        t=sql.Identifier(table), cols=sql.SQL(", ").join(map(sql.Identifier, targets)),
        sel=sql.SQL(", ").join(select), attrs=attrs, geom=geom)
    pg.execute(q, (settings.province_code, rep.dataset_id))
    datasets.store_report(pg, rep)


def _attributes_sql(extra: list[str]) -> sql.Composable:
    """``jsonb_build_object`` over the kept source columns (split in groups: 100 arguments at most)."""
    parts = []
    for start in range(0, len(extra), 40):
        args = []
        for i in range(start, min(start + 40, len(extra))):
            args += [sql.Literal(extra[i]), sql.Identifier(f"a{i}")]
        parts.append(sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(args)))
    obj = sql.SQL(" || ").join(parts) if parts else sql.SQL("'{}'::jsonb")
    return sql.SQL("({obj}) || CASE WHEN flags IS NULL THEN '{{}}'::jsonb "
                   "ELSE jsonb_build_object('_flags', to_jsonb(flags)) END").format(obj=obj)
