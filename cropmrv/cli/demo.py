"""`cropmrv demo` and `cropmrv admin load`."""

from __future__ import annotations

import time

import typer

from cropmrv.cli.common import console, user_errors
from cropmrv.settings import get_settings

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


def demo() -> None:
    """Set up the database, load the province and show how to connect."""
    from cropmrv.db import manage
    from cropmrv.db.engine import libpq_url, make_engine
    from cropmrv.ingest.admin import load_admin_units

    s = get_settings()
    t0 = time.perf_counter()
    with user_errors():
        r = manage.up(s)
        console.print(f"[bold]database[/] ready at revision {r.migrated_to} ({r.seconds['total']:.1f} s)")
        eng = make_engine(s)
        with eng.begin() as conn:
            a = load_admin_units(conn, s)
        _print_admin(a)
    console.print(f"\nconnect: psql '{libpq_url(s.sqlalchemy_url())}'")
    console.print("QGIS: Layer › Add PostGIS layers, with the same host/port/database/user.")
    console.print(f"demo finished in {time.perf_counter() - t0:.1f} s")
