"""`cropmrv db up|down|status|url|destroy`: the database, embedded or external."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from cropmrv.cli.common import console, get_settings, user_errors

# cropmrv.db.manage pulls in Alembic and SQLAlchemy (~0.4 s): each command imports it when it runs,
# so that `cropmrv --help` stays fast.

app = typer.Typer(help="The database: start, stop, inspect (embedded cluster or CROPMRV_DATABASE_URL).",
                  no_args_is_help=True)


@app.command()
def up() -> None:
    """Create (first time) and start the database, enable PostGIS, migrate to head. Idempotent."""
    from cropmrv.db import manage

    s = get_settings()
    with user_errors():
        r = manage.up(s)
    what = []
    if r.created_cluster:
        what.append(f"created cluster in {s.pg_home}")
    if r.started:
        what.append(f"started on 127.0.0.1:{s.pg_port}")
    if r.created_database:
        what.append("created database")
    if r.migrated_from != r.migrated_to:
        what.append(f"migrated {r.migrated_from or 'base'} → {r.migrated_to}")
    console.print("database ready: " + ("; ".join(what) if what else "nothing to do")
                  + f" ({r.seconds['total']:.2f} s)")


@app.command()
def down() -> None:
    """Stop the embedded cluster (an external server is left alone)."""
    from cropmrv.db import manage

    s = get_settings()
    with user_errors():
        stopped = manage.down(s)
    console.print("stopped" if stopped else "not running (or external server: nothing to stop)")


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Versions (PostgreSQL, PostGIS, GEOS, PROJ), migration revision and row counts per layer."""
    from cropmrv.db import manage

    s = get_settings()
    with user_errors():
        st = manage.status(s)
    if as_json:
        console.print_json(json.dumps(st, default=str))
        return
    t = Table(title="cropmrv database", show_header=False)
    for k in ("url", "embedded", "cluster", "running", "postgresql", "postgis", "geos", "proj", "revision"):
        if k in st:
            t.add_row(k, str(st[k]))
    for k, v in st.get("counts", {}).items():
        t.add_row(f"rows: {k}", f"{v:,}")
    console.print(t)


@app.command()
def url() -> None:
    """Print the connection URL (for psql, ogr2ogr or QGIS)."""
    from cropmrv.db.engine import libpq_url

    console.print(libpq_url(get_settings().sqlalchemy_url()), soft_wrap=True)


@app.command()
def destroy(force: bool = typer.Option(False, "--force", help="Really delete the embedded data folder.")) -> None:
    """Delete the embedded cluster and all its data. Needs --force."""
    from cropmrv.db import cluster, manage

    s = get_settings()
    with user_errors():
        if not s.embedded:
            raise ValueError("CROPMRV_DATABASE_URL is set: cropmrv never deletes an external database.")
        cluster.destroy(manage.cluster_spec(s), force=force)
    console.print(f"deleted {s.pg_home}")
