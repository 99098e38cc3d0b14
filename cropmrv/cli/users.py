"""`cropmrv user add|key|list`: accounts and API keys (thin wrappers over cropmrv.api.auth)."""

from __future__ import annotations

import typer

from cropmrv.cli.common import console, user_errors

app = typer.Typer(help="Người dùng và khóa API / users and API keys.", no_args_is_help=True)


@app.command("add")
def add(
    name: str = typer.Argument(..., help="User name (unique)."),
    role: str = typer.Option(..., "--role", help="province_admin, commune_officer, land_reviewer, "
                             "irrigation_reviewer, gis_loader, national_sync or viewer."),
    commune: str = typer.Option(None, "--commune", help="Commune code (required for commune_officer)."),
) -> None:
    """Create a user account."""
    from cropmrv.api.auth import add_user
    from cropmrv.db.engine import make_engine

    with user_errors():
        eng = make_engine()
        try:
            uid = add_user(eng, name, role, commune)
        finally:
            eng.dispose()
    console.print(f"user {name} ({role}{', commune ' + commune if commune else ''}) created, id {uid}")


@app.command("key")
def key(name: str = typer.Argument(..., help="User name.")) -> None:
    """Issue a new API key for a user and print it once (only its hash is stored)."""
    from cropmrv.api.auth import new_key
    from cropmrv.db.engine import make_engine

    with user_errors():
        eng = make_engine()
        try:
            k = new_key(eng, name)
        except LookupError as exc:
            raise ValueError(str(exc)) from None
        finally:
            eng.dispose()
    typer.echo(k)


@app.command("list")
def list_users() -> None:
    """List accounts, their roles and communes."""
    from sqlalchemy import text

    from cropmrv.db.engine import make_engine

    with user_errors():
        eng = make_engine()
        try:
            with eng.connect() as c:
                rows = c.execute(text("SELECT u.username, u.role, u.commune_code, u.active, count(k.id) "
                                      "FILTER (WHERE k.revoked_at IS NULL) AS keys FROM app_user u LEFT JOIN api_key k "
                                      "ON k.user_id = u.id GROUP BY u.id ORDER BY u.username")).all()
        finally:
            eng.dispose()
    for r in rows:
        console.print(f"{r.username}\t{r.role}\t{r.commune_code or '-'}\t{'active' if r.active else 'inactive'}"
                      f"\t{r.keys} key(s)")
