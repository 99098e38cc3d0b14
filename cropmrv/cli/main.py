"""The `cropmrv` command: one Typer app; each area registers its commands from its own module.

Commands are thin wrappers over library functions, so everything here is callable from Python.
"""

from __future__ import annotations

import typer

from cropmrv.cli import db as db_cli
from cropmrv.cli import demo as demo_cli

app = typer.Typer(
    name="cropmrv",
    help="cropmrv — MRV of greenhouse-gas emissions from crop production (commune → province).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(db_cli.app, name="db")
app.add_typer(demo_cli.admin_app, name="admin")
app.command("demo")(demo_cli.demo)
# Areas register below, one line each.
app.command("serve")(__import__("cropmrv.cli.serve", fromlist=["serve"]).serve)
app.add_typer(__import__("cropmrv.cli.users", fromlist=["app"]).app, name="user")
app.command("calc")(__import__("cropmrv.cli.calc", fromlist=["calc"]).calc)
app.add_typer(__import__("cropmrv.cli.ingest", fromlist=["app"]).app, name="ingest")
app.add_typer(__import__("cropmrv.cli.export", fromlist=["app"]).app, name="export")
app.add_typer(__import__("cropmrv.cli.sample", fromlist=["app"]).app, name="sample")
__import__("cropmrv.cli.reporting", fromlist=["register"]).register(app)  # status rollup submission sync targets
app.command("estimate")(__import__("cropmrv.cli.estimate", fromlist=["estimate"]).estimate)
app.add_typer(__import__("cropmrv.cli.estimate", fromlist=["runs_app"]).runs_app, name="runs")
app.command("map")(__import__("cropmrv.cli.maps", fromlist=["map_cmd"]).map_cmd)


def main() -> None:
    app()
