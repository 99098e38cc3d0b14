"""Reporting commands: `status`, `rollup`, `submission …`, `sync`, `targets …`, and the
`export inventory` / `export report` commands (registered on the export sub-app in cli/export.py).

Thin wrappers over ``cropmrv.mrv.{submissions,rollup,inventory,sync,report,targets}``. The CLI acts
as a province administrator (it runs on the province's server); ``--by`` names the person.
"""

from __future__ import annotations

import getpass
import json
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

import typer
from rich.table import Table

from cropmrv.cli.common import console, fail, get_settings, user_errors

submission_app = typer.Typer(help="Nộp / trả lại / duyệt báo cáo xã — commune submissions.", no_args_is_help=True)
targets_app = typer.Typer(help="Mục tiêu kế hoạch — plan targets.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the reporting commands to the main app (one line in cli/main.py)."""
    app.command("status")(status)
    app.command("rollup")(rollup)
    app.command("sync")(sync)
    app.add_typer(submission_app, name="submission")
    app.add_typer(targets_app, name="targets")


@contextmanager
def _conn(write: bool = False):
    from cropmrv.db.engine import make_engine

    eng = make_engine(get_settings())
    try:
        with user_errors(), (eng.begin() if write else eng.connect()) as c:
            yield c
    finally:
        eng.dispose()


def _t(g: int | None) -> str:
    return "—" if g is None else f"{Decimal(g) / 10**6:,.3f}"


def _dump(obj) -> None:
    console.print_json(json.dumps(obj, default=str, ensure_ascii=False))


YEAR = typer.Option(..., "--year", "-y", help="Năm báo cáo / reporting year.")
BY = typer.Option(None, "--by", help="Người thực hiện / who acts (default: the OS user).")


def status(year: int = YEAR, as_json: bool = typer.Option(False, "--json", help="JSON output.")) -> None:
    """Trạng thái nộp báo cáo của các xã / which communes are missing, late, returned or approved."""
    from cropmrv.mrv import submissions as sub

    s = get_settings()
    with _conn() as c:
        rows = sub.status(c, year, s.province_code, s.report_deadline)
    counts = sub.status_counts(rows)
    if as_json:
        return _dump({"year": year, "deadline": sub.deadline(year, s.report_deadline), "counts": counts,
                      "communes": rows})
    t = Table(title=f"{year} — hạn nộp / deadline {sub.deadline(year, s.report_deadline)}")
    for col in ("mã/code", "xã/commune", "trạng thái/state", "trễ/late", "ghi chú/comment"):
        t.add_column(col)
    for r in rows:
        if r["state"] != "approved":
            t.add_row(r["commune_code"], r["commune_name"], r["state"], "x" if r["late"] else "", r["comment"] or "")
    console.print(t)
    console.print(", ".join(f"{k}: {v}" for k, v in counts.items()))


def rollup(year: int = YEAR, run_id: int | None = typer.Option(None, "--run", help="Estimate run id."),
           scenario: str | None = typer.Option(None, "--scenario", help="baseline or project (default: project)."),
           as_json: bool = typer.Option(False, "--json", help="JSON output.")) -> None:
    """Tổng hợp xã → tỉnh / commune and province totals of an estimate run (t CO2e)."""
    from cropmrv.mrv import rollup as ru

    s = get_settings()
    with _conn() as c:
        run = ru.resolve_run(c, year, s.province_code, scenario=scenario, run_id=run_id)
        prev = ru.previous_run(c, run)
        communes = ru.commune_totals(c, run.id, prev.id if prev else None)
        summary = ru.province_summary(c, run.id, prev.id if prev else None)
        cats = ru.province_totals(c, run.id)
    if as_json:
        return _dump({"run": run.as_dict(), "province": summary, "categories": cats, "communes": communes})
    t = Table(title=f"{year}: run {run.id} ({run.scenario}) — t CO2e")
    for col in ("mã/code", "xã/commune", "t CO2e", "ha", "kg CO2e/ha", "Δ %"):
        t.add_column(col, justify="right" if col not in ("xã/commune",) else "left")
    for r in sorted(communes, key=lambda r: -r["co2e_g"]):
        if r["has_data"]:
            t.add_row(r["commune_code"], r["commune_name"], _t(r["co2e_g"]), f"{r['area_ha']:,.1f}",
                      str(r["intensity_kg_ha"] or "—"), str(r["change_pct"] if r["change_pct"] is not None else "—"))
    t.add_row("", "TỔNG / TOTAL", _t(summary["co2e_g"]), f"{summary['area_ha']:,.1f}",
              str(summary["intensity_kg_ha"] or "—"), str(summary["change_pct"] or "—"), style="bold")
    console.print(t)


def _actor(by: str | None):
    from cropmrv.mrv.submissions import Actor

    return Actor(by or getpass.getuser(), "province_admin")


def _transition(action: str, commune: str, year: int, comment: str | None, by: str | None,
                run_id: int | None = None) -> None:
    from cropmrv.mrv import submissions as sub

    with _conn(write=True) as c:
        row = sub.transition(c, commune, year, action, _actor(by), comment=comment, run_id=run_id)
    console.print(f"{commune} {year}: {row['status']}")


@submission_app.command("submit")
def submission_submit(commune: str = typer.Argument(..., help="Mã xã / commune code."), year: int = YEAR,
                      comment: str | None = typer.Option(None, "--comment"), by: str | None = BY,
                      run_id: int | None = typer.Option(None, "--run", help="The run the submission refers to.")):
    """Nộp báo cáo của xã / submit a commune's report."""
    _transition("submit", commune, year, comment, by, run_id)


@submission_app.command("return")
def submission_return(commune: str = typer.Argument(...), year: int = YEAR,
                      comment: str = typer.Option(..., "--comment", help="Lý do / why (required)."),
                      by: str | None = BY):
    """Trả lại báo cáo kèm ý kiến / return a submission with a comment."""
    _transition("return", commune, year, comment, by)


@submission_app.command("approve")
def submission_approve(commune: str = typer.Argument(...), year: int = YEAR,
                       comment: str | None = typer.Option(None, "--comment"), by: str | None = BY):
    """Phê duyệt (khoá dữ liệu) / approve and lock a submission."""
    _transition("approve", commune, year, comment, by)


@submission_app.command("reopen")
def submission_reopen(commune: str = typer.Argument(...), year: int = YEAR,
                      comment: str = typer.Option(..., "--comment", help="Lý do / why (required)."),
                      by: str | None = BY):
    """Mở lại báo cáo đã duyệt / reopen an approved submission."""
    _transition("reopen", commune, year, comment, by)


def sync(year: int = YEAR, endpoint: str = typer.Option(..., "--endpoint", help="National endpoint URL."),
         export_id: int | None = typer.Option(None, "--export-id", help="Snapshot to send (default: latest)."),
         max_attempts: int = typer.Option(6, "--max-attempts", min=1),
         timeout: float = typer.Option(30.0, "--timeout", help="Seconds per attempt.")) -> None:
    """Gửi kiểm kê lên hệ thống quốc gia / send the inventory snapshot (idempotent, retried, logged)."""
    from cropmrv.db.engine import make_engine
    from cropmrv.mrv import sync as sy

    s = get_settings()
    eng = make_engine(s)
    try:
        with user_errors():
            res = sy.sync_year(eng, year, endpoint, s.province_code, s.province_name, export_id=export_id,
                               max_attempts=max_attempts, timeout=timeout)
    finally:
        eng.dispose()
    console.print(f"{res.status}: export {res.export_id}, {res.attempts} attempt(s), HTTP {res.http_status or '—'}")
    if not res.ok:
        fail(f"Hệ thống quốc gia chưa tiếp nhận / not accepted: {res.response or ''}"[:500])


@targets_app.command("load")
def targets_load(file: Path | None = typer.Argument(None, help="CSV (default: the packaged seed).")) -> None:
    """Nạp mục tiêu kế hoạch từ CSV / load plan targets (upsert by indicator and year)."""
    from cropmrv.mrv import targets

    s = get_settings()
    path = file or targets.seed_path(s.province_data_dir)
    with _conn(write=True) as c:
        n = targets.load(c, path, s.province_code, getpass.getuser())
    console.print(f"{n} mục tiêu / targets loaded from {path}")


@targets_app.command("list")
def targets_list(year: int | None = typer.Option(None, "--year", "-y", help="Show progress for this year.")) -> None:
    """Danh sách mục tiêu (và tiến độ) / list targets, with progress for --year."""
    from cropmrv.mrv import targets

    s = get_settings()
    with _conn() as c:
        rows = targets.progress(c, year, s.province_code) if year else targets.list_targets(c, s.province_code)
    t = Table()
    for col in ("indicator", "year", "target", "unit", "actual", "%", "source"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["indicator"], str(r["year"]), f"{r['target_value']:g}", r["unit"], str(r.get("actual", "") or ""),
                  str(r.get("achieved_pct", "") or ""), (r["source"] or "")[:60])
    console.print(t)


class InvFormat(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


def export_inventory(year: int = YEAR, out: Path = typer.Option(..., "-o", "--output", help="Output file."),
                     fmt: InvFormat | None = typer.Option(None, "--format", "-f", help="Default: from the suffix."),
                     run_id: int | None = typer.Option(None, "--run", help="Estimate run (default: latest)."),
                     export_id: int | None = typer.Option(None, "--export-id",
                                                          help="Re-write an earlier snapshot instead.")) -> None:
    """Xuất kiểm kê quốc gia theo hạng mục CRT / national inventory export (snapshot + manifest)."""
    from cropmrv.mrv import inventory, inventory_files

    s = get_settings()
    with _conn(write=True) as c:
        info = inventory.get_export(c, export_id) if export_id else inventory.create_export(
            c, year, s.province_code, s.province_name, run_id=run_id, created_by=getpass.getuser())
    with user_errors():
        m = inventory_files.write_export(info, out, fmt.value if fmt else None)
    note = " (bản đã có / existing snapshot)" if info.reused or export_id else ""
    console.print(f"export {info.id}{note}: {out} sha256 {m['files'][0]['sha256']}\npayload sha256 {info.sha256}")


def export_report(year: int = YEAR, out: Path = typer.Option(..., "-o", "--output", help="report.xlsx or .html"),
                  lang: str = typer.Option("vi", "--lang", help="vi (mặc định) or en."),
                  run_id: int | None = typer.Option(None, "--run", help="Estimate run (default: latest project).")):
    """Báo cáo năm (xlsx hoặc html) / the annual report."""
    from cropmrv.mrv import report

    s = get_settings()
    with _conn() as c:
        data = report.gather(c, year, s.province_code, s.province_name, run_id=run_id,
                             deadline_setting=s.report_deadline)
    with user_errors():
        path = report.write(data, out, lang)
    console.print(f"đã ghi / written: {path} — {_t(data['summary']['co2e_g'])} t CO2e, {date.today()}")
