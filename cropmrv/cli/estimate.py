"""`cropmrv estimate` and `cropmrv runs list|show`: thin wrappers over ``cropmrv.mrv.runs``."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from cropmrv.cli.common import console, fail, interactive, user_errors

runs_app = typer.Typer(help="Estimate runs: list and show (lượt tính phát thải).", no_args_is_help=True)


def _t(g: Any) -> str:
    return "" if g is None else f"{int(g) / 1e6:,.3f}"


def _totals_table(run: dict[str, Any]) -> Table:
    from cropmrv.mrv.calculate import CATEGORY_TITLES

    unc = {(u["scope"], u["approach"]): u for u in run.get("uncertainty", [])}
    t = Table(title=f"Run {run['id']} — {run['year']} {run['scenario']} — {run['factor_set_code']}@"
                    f"{run['factor_set_version']} — GWP {run['gwp_set'].upper()}")
    for c, j in (("category", "left"), ("title", "left"), ("gas", "left"), ("mass t", "right"),
                 ("t CO2e", "right"), ("95 % (Approach 2), t CO2e", "right")):
        t.add_column(c, justify=j)
    for r in run["totals"]:
        u = unc.get((r["category"], 2)) or unc.get((r["category"], 1))
        rng = f"{u['low95_kg'] / 1e3:,.1f} – {u['high95_kg'] / 1e3:,.1f}" if u else ""
        t.add_row(r["category"], CATEGORY_TITLES.get(r["category"], ""), r["gas"], _t(r["mass_g"]), _t(r["co2e_g"]), rng)
    u = unc.get(("total", 2)) or unc.get(("total", 1))
    t.add_row("total", "", "CO2e", "", _t(run["total_co2e_g"]),
              f"{u['low95_kg'] / 1e3:,.1f} – {u['high95_kg'] / 1e3:,.1f}" if u else "", style="bold")
    return t


def _show(run: dict[str, Any]) -> None:
    console.print(_totals_table(run))
    console.print(f"run id [bold]{run['id']}[/] · records {run['record_count']:,} · run digest {run['run_digest'][:16]}… "
                  f"· inputs digest {run['inputs_digest'][:16]}… · code {run['code_version']}")
    if run["unverified_factors"]:
        console.print(f"[yellow]unverified factors used / hệ số chưa kiểm chứng:[/] {', '.join(run['unverified_factors'])}")
    for w in run["warnings"]:
        if w.get("code") in ("unverified_factors",):
            continue
        console.print(f"[yellow]warning[/] {w.get('code')}: {w.get('message_vi')} / {w.get('message_en')}")


def estimate(
    year: int = typer.Option(..., "--year", "-y", help="Inventory year / năm kiểm kê."),
    scenario: str = typer.Option("baseline", "--scenario", help="baseline | project (pilot sites use their project package)."),
    factors: str = typer.Option(None, "--factors", help="Factor set CODE or CODE@VERSION (default: settings)."),
    gwp: str = typer.Option(None, "--gwp", help="GWP set: ar5 (default, Paris ETF) | ar6 | ar4."),
    draws: int = typer.Option(1000, "--draws", help="Monte Carlo draws for Approach 2 (0: Approach 1 only)."),
    seed: int = typer.Option(20260422, "--seed", help="Monte Carlo seed (same seed → same intervals)."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Leave invalid records out (listed in the run)."),
) -> None:
    """Estimate emissions for a year and store an immutable run (same inputs → same run)."""
    from cropmrv.db.engine import make_engine
    from cropmrv.mrv.runs import create_run, get_run
    from cropmrv.settings import get_settings

    if scenario not in ("baseline", "project"):
        fail(f"Kịch bản không hợp lệ '{scenario}' / unknown scenario '{scenario}' (baseline|project)")
    with user_errors():
        from cropmrv.mrv.records import RecordError

        s = get_settings()
        eng = make_engine(s)
        say = (lambda m: console.print(f"[dim]… {m}[/]")) if interactive() else None
        try:
            res = create_run(eng, s, year, scenario, factors or s.default_factor_set, gwp or s.default_gwp, say,
                             draws=draws, seed=seed, on_error="skip" if skip_invalid else "raise")
        except RecordError as exc:
            for r in exc.errors.head(20).itertuples():
                console.print(f"[red]{r.record_id}[/] {r.message_vi} / {r.message_en} (value: {r.value})")
            fail(f"{len(exc.errors)} lỗi dữ liệu hoạt động, không tạo lượt tính (dùng --skip-invalid để bỏ qua) / "
                 f"{len(exc.errors)} activity-record errors, no run made (--skip-invalid leaves them out)")
        with eng.connect() as c:
            run = get_run(c, res.run_id)
        eng.dispose()
    _show(run)
    if res.reused:
        console.print(f"[green]identical run {res.run_id} already existed (same run digest): nothing written[/]")
    else:
        console.print(f"[green]run {res.run_id} written[/] in {res.timings.get('total_s', 0):.1f} s "
                      f"({res.estimate_rows:,} estimate rows)")


@runs_app.command("list")
def list_cmd(year: int = typer.Option(None, "--year", "-y")) -> None:
    """List estimate runs, newest first."""
    from cropmrv.db.engine import make_engine
    from cropmrv.mrv.runs import list_runs
    from cropmrv.settings import get_settings

    with user_errors():
        eng = make_engine(get_settings())
        with eng.connect() as c:
            rows = list_runs(c, year)
        eng.dispose()
    t = Table(title="Estimate runs / lượt tính")
    for c in ("id", "year", "scenario", "factor set", "GWP", "records", "t CO2e", "digest", "finished"):
        t.add_column(c)
    for r in rows:
        t.add_row(str(r["id"]), str(r["year"]), r["scenario"], f"{r['factor_set_code']}@{r['factor_set_version']}",
                  r["gwp_set"], f"{r['record_count']:,}", _t(r["co2e_g"]), r["run_digest"][:12],
                  str(r["finished_at"] or "unfinished")[:19])
    console.print(t)


@runs_app.command("show")
def show_cmd(run_id: int = typer.Argument(..., help="Run id")) -> None:
    """Totals of one run by category and gas, with its uncertainty and warnings."""
    from cropmrv.db.engine import make_engine
    from cropmrv.mrv.runs import get_run
    from cropmrv.settings import get_settings

    with user_errors():
        eng = make_engine(get_settings())
        try:
            with eng.connect() as c:
                run = get_run(c, run_id)
        except LookupError as exc:
            fail(str(exc))
        finally:
            eng.dispose()
    _show(run)
