"""Shared helpers for the command line: one console, one error path, quiet in scripts."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def get_settings():
    """The process settings, imported on first use: pydantic-settings costs ~0.1 s, which
    `cropmrv --help` should not pay."""
    from cropmrv.settings import get_settings as settings

    return settings()


def fail(message: str, code: int = 1) -> None:
    """Print one clear sentence and exit non-zero (no traceback for user errors)."""
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def interactive() -> bool:
    """Progress bars only on a terminal; scripts and CI stay quiet."""
    return sys.stderr.isatty()


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can act on into one sentence and exit code 1."""
    from cropmrv.db.cluster import ClusterError

    try:
        yield
    except (ClusterError, FileNotFoundError, PermissionError, ValueError) as exc:
        fail(str(exc))
    except Exception as exc:  # connection problems and the like
        import sqlalchemy.exc

        if isinstance(exc, sqlalchemy.exc.OperationalError | __import__("psycopg").OperationalError):
            fail(f"Không kết nối được cơ sở dữ liệu / cannot reach the database: {str(exc).splitlines()[0]}"
                 " — run `cropmrv db up` or check CROPMRV_DATABASE_URL.")
        raise
