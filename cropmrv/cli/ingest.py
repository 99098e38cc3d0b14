"""`cropmrv ingest vector|activity|raster`: thin wrappers over :mod:`cropmrv.ingest`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import typer

from cropmrv.cli.common import console, err_console, fail, get_settings, interactive, user_errors

app = typer.Typer(help="Load files into the platform: vector layers, activity tables, rasters.",
                  no_args_is_help=True)


class Layer(StrEnum):
    parcels = "parcels"
    crop_zones = "crop_zones"
    planning_zones = "planning_zones"
    irrigation_assets = "irrigation_assets"
    irrigation_service_areas = "irrigation_service_areas"
    pilot_sites = "pilot_sites"
    admin_units = "admin_units"


class Encoding(StrEnum):
    auto = "auto"
    utf8 = "utf-8"
    cp1258 = "cp1258"
    tcvn3 = "tcvn3"
    vni = "vni"


def _progress_bar(label: str):
    """A Rich progress bar on a terminal, nothing in scripts; returns (callback, context manager)."""
    from contextlib import nullcontext

    if not interactive():
        return None, nullcontext()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=err_console, transient=True)
    tasks: dict[str, int] = {}

    def cb(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(f"{label}: {stage}", total=total)
        bar.update(tasks[stage], completed=done, total=total)

    return cb, bar


def _refused(exc, report_path: Path | None, quiet: bool) -> None:
    """A refused load: still write its report (it says why), show the issues, exit 2."""
    if exc.report is not None and report_path is not None:
        exc.report.write(report_path)
    if exc.report is not None and exc.report.issues and not quiet:
        err_console.print(exc.report.to_text("both", max_lines=20))
    fail(str(exc), code=2)


@contextmanager
def _loading(report_path: Path | None, quiet: bool, early=None) -> Iterator:
    """One engine for one load command, disposed after; a refused load exits 2 with its report.
    ``early``: a reader started before (closed here if the load never took it over)."""
    from cropmrv.db.engine import make_engine
    from cropmrv.ingest.report import IngestError

    try:
        eng = make_engine(get_settings())
    except BaseException:
        if early is not None:
            early.close()
        raise
    try:
        with user_errors():
            try:
                yield eng
            except IngestError as exc:
                _refused(exc, report_path, quiet)
    finally:
        eng.dispose()


def _finish(rep, report_path: Path | None, quiet: bool) -> None:
    if report_path is not None:
        rep.write(report_path)
    if not quiet:
        console.print(rep.to_text("both", max_lines=20))


@app.command()
def vector(
    path: Path = typer.Argument(..., help=".shp (with sidecars), .zip, .gpkg or .geojson"),
    layer: Layer = typer.Option(..., "--layer", "-l", help="Target layer."),
    commune: str | None = typer.Option(None, "--commune", help="Load for one commune (GSO code)."),
    crs: str | None = typer.Option(None, "--crs", help="Source CRS, e.g. EPSG:9218, when the .prj is missing or wrong."),
    encoding: Encoding = typer.Option(Encoding.auto, "--encoding", help="Text encoding of a .dbf without .cpg."),
    mapping: Path | None = typer.Option(None, "--mapping", help="YAML column mapping overriding the profile."),
    source_layer: str | None = typer.Option(None, "--source-layer", help="Layer inside a .gpkg or .zip."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and report; write nothing."),
    max_rejects: int | None = typer.Option(None, "--max-rejects", help="Refuse the load (exit 2) beyond this many rejects."),
    no_repair: bool = typer.Option(False, "--no-repair", help="Reject invalid geometries instead of repairing them."),
    report: Path | None = typer.Option(None, "--report", help="Write the full validation report (JSON)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors."),
) -> None:
    """Validate, reproject and load a vector file atomically, as a new version of the layer."""
    if layer is Layer.admin_units:
        _admin_units(get_settings(), path, source_layer, dry_run, quiet)
        return
    # Start reading (and reprojecting) first, then import the rest of the loader while that runs.
    from cropmrv.ingest.early import start

    early = start(path, layer.value, crs=crs, encoding=encoding.value, source_layer=source_layer)
    try:
        from cropmrv.ingest.load import ingest_vector

        s = get_settings()
        cb, bar = _progress_bar(path.name)
    except BaseException:  # before the load takes the reader over: stop it, remove any unzipped copy
        if early is not None:
            early.close()
        raise
    with _loading(report, quiet, early) as eng, bar:
        rep = ingest_vector(path, layer.value, settings=s, engine=eng, commune=commune, crs=crs,
                            encoding=encoding.value, mapping=mapping, dry_run=dry_run,
                            max_rejects=max_rejects, progress=cb, source_layer=source_layer,
                            repair=not no_repair, early=early)
    _finish(rep, report, quiet)


def _admin_units(s, path: Path, source_layer: str | None, dry_run: bool, quiet: bool) -> None:
    """A province's communes file (same columns as the province folder's: ma_xa, ten, ten_day_du, loai)."""
    from cropmrv.cli.demo import _print_admin
    from cropmrv.db.engine import make_engine
    from cropmrv.ingest.admin import load_admin_units

    eng = make_engine(s)
    try:
        with user_errors(), eng.connect() as conn:
            tx = conn.begin()
            try:
                r = load_admin_units(conn, s, communes=path, source_layer=source_layer)
            except BaseException:
                tx.rollback()
                raise
            if dry_run:
                tx.rollback()
            else:
                tx.commit()
    finally:
        eng.dispose()
    if not quiet:
        if dry_run:
            console.print("chạy thử, không ghi gì / dry run, nothing written")
        _print_admin(r)


@app.command()
def activity(
    path: Path = typer.Argument(..., help=".csv or .xlsx, long or wide."),
    year: int = typer.Option(..., "--year", help="Reporting year."),
    commune: str | None = typer.Option(None, "--commune", help="Load for one commune (GSO code)."),
    sheet: str | None = typer.Option(None, "--sheet", help="Worksheet of an .xlsx (default: the first)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and report; write nothing."),
    max_rejects: int | None = typer.Option(None, "--max-rejects", help="Refuse the load (exit 2) beyond this many rejects."),
    report: Path | None = typer.Option(None, "--report", help="Write the validation report (JSON)."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Load activity data (fertiliser, water regime, yields…) per crop zone or per commune."""
    from cropmrv.ingest.activity import ingest_activity
    from cropmrv.mrv.items import ITEMS

    with _loading(report, quiet) as eng:
        rep = ingest_activity(path, year, settings=get_settings(), engine=eng, commune=commune, sheet=sheet,
                              vocabulary=ITEMS, dry_run=dry_run, max_rejects=max_rejects)
    _finish(rep, report, quiet)


@app.command()
def raster(
    path: Path = typer.Argument(..., help="GeoTIFF (or any raster GDAL reads)."),
    kind: str = typer.Option(..., "--kind", help="dem, slope, landcover or other."),
    nodata: float | None = typer.Option(None, "--nodata", help="Nodata value when the file does not declare one."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Check a raster's CRS, nodata and extent against the province and register it."""
    from cropmrv.ingest.raster import ingest_raster

    with _loading(None, quiet) as eng:
        info = ingest_raster(path, kind, settings=get_settings(), engine=eng, nodata=nodata)
    if not quiet:
        console.print(info.to_text())


@app.command()
def links(
    path: Path = typer.Argument(..., help=".csv or .xlsx: work code, zone code, share (MaCT, MaVung, TyLe)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and report; write nothing."),
    report: Path | None = typer.Option(None, "--report", help="Write the validation report (JSON)."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Load which crop zones each irrigation work serves; replaces the links of the works in the file."""
    from cropmrv.ingest.links import ingest_service_links

    with _loading(report, quiet) as eng:
        rep = ingest_service_links(path, settings=get_settings(), engine=eng, dry_run=dry_run)
    _finish(rep, report, quiet)
