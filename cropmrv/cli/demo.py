"""`cropmrv demo` (the whole platform on the generated sample; steps in :mod:`cropmrv.demo`) and `cropmrv admin load`."""

from __future__ import annotations

from pathlib import Path

import typer

from cropmrv.cli.common import console, fail, get_settings, user_errors

admin_app = typer.Typer(help="Administrative units of the configured province.", no_args_is_help=True)


@admin_app.command("load")
def admin_load() -> None:
    """Load the province's communes/wards and the 2025 old→new lineage (idempotent)."""
    from cropmrv.db.engine import make_engine
    from cropmrv.ingest.admin import load_admin_units

    s = get_settings()
    with user_errors():
        eng = make_engine(s)
        with eng.begin() as conn:
            r = load_admin_units(conn, s)
    _print_admin(r)


def _print_admin(r) -> None:
    if r.skipped:
        console.print(f"communes: {r.communes} already loaded (same file), nothing to do")
        return
    console.print(f"communes: {r.communes} loaded; pre-2025 units: {r.old_units}; lineage rows: {r.lineage_rows}")
    if r.name_differences:
        tone = sum(d["same_when_tone_placement_normalised"] for d in r.name_differences)
        console.print(f"names differing from vietnam-provinces: {len(r.name_differences)} "
                      f"({tone} only by tone-mark placement, e.g. Hoà/Hòa)")
    if r.missing_in_reference or r.missing_in_file:
        console.print(f"codes that differ from GSO's list (vietnam-provinces): file {r.missing_in_reference} "
                      f"vs GSO {r.missing_in_file} — same names, kept as in the boundary file; see the "
                      "dataset report")


def demo(
    seed: int = typer.Option(2025, help="Seed of the generated sample province."),
    scale: str = typer.Option("small", help="small (default, a minute) or province (about a million parcels)."),
    year: int = typer.Option(2025, help="Inventory year of the estimates and exports."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Serve the API and maps at the end (foreground)."),
    workdir: Path = typer.Option(None, "--workdir", help="Where sample/ and out/ go (default $CROPMRV_HOME)."),
) -> None:
    """The whole platform on the GENERATED sample province: database, sample, ingest, estimates,
    roll-up, inventory export, annual report, then the API and maps."""
    from cropmrv.db.engine import libpq_url
    from cropmrv.demo import DemoError, run_cli, run_demo, urls

    s = get_settings()
    try:
        res = run_demo(s, seed=seed, scale=scale, year=year, work_dir=workdir, echo=console.print)
    except DemoError as exc:
        fail(f"demo dừng lại / the demo stopped: {exc}")
    for n in res.notices:
        console.print(f"[yellow]note:[/] {n}")
    console.print(f"\nconnect: psql '{libpq_url(s.sqlalchemy_url())}'")
    console.print("QGIS: Layer › Add PostGIS layers, with the same host/port/database/user — or the OGC API URL below.")
    console.print("\n[bold]open[/]:")
    for u in urls(s, res.outputs.get("report_xlsx")):
        console.print("  " + u)
    if serve:
        console.print("\nserving (Ctrl-C to stop) …")
        run_cli(["serve"], "serve", capture=False)
