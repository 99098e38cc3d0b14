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
    """The ``cropmrv`` console entry point: run the command, then end the process at once.

    Why ``os._exit`` after a normal finish: the interpreter's own teardown — finalising every
    module of pandas, pyarrow, GDAL and PROJ — takes 0.15–0.2 s on this machine, a visible share
    of a short command such as one ingest. Commands release what they hold (database
    connections, temporary files, threads) before returning and nothing here registers atexit
    work, so only that teardown is skipped; output is flushed first. Errors and Ctrl-C take the
    normal path. Tests call ``app`` in-process and never reach this.
    """
    import contextlib
    import logging
    import os
    import sys

    try:
        app()
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:  # a message: print it as sys.exit would
            print(exc.code, file=sys.stderr)
            code = 1
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
            stream.flush()
    os._exit(code)
