"""`cropmrv calc INPUT.json`: emissions for a JSON list of activity records, printed as JSON.

A thin wrapper over :func:`cropmrv.mrv.calculate.calculate_json`; input and output follow
``mrv/schemas/calc-input.schema.json`` and ``calc-output.schema.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from cropmrv.cli.common import fail


def calc(
    input_file: str = typer.Argument(..., metavar="INPUT.json", help="JSON list of activity records ('-' = stdin)."),
    factors: str = typer.Option("ipcc2019-sea", "--factors", help="Factor set code (ipcc2019-sea, vn-central-t2)."),
    gwp: str = typer.Option("ar5", "--gwp", help="GWP set: ar5 (ETF default), ar6, ar4."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the JSON here instead of stdout."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 if any record has an error."),
) -> None:
    """Tính phát thải cho danh sách bản ghi hoạt động / compute emissions per record and CRT category."""
    from cropmrv.mrv.calculate import calculate_json
    from cropmrv.mrv.factors import FactorError

    try:
        text = sys.stdin.read() if input_file == "-" else Path(input_file).read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"Không đọc được tệp / cannot read {input_file}: {exc.strerror or exc}")
    try:
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{input_file}: JSON không hợp lệ / invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")
    if isinstance(records, dict) and isinstance(records.get("records"), list):
        records = records["records"]
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        fail(f"{input_file}: cần một danh sách bản ghi JSON / expected a JSON list of record objects")
    try:
        result = calculate_json(records, factors, gwp)
    except FactorError as exc:
        fail(str(exc))
    body = json.dumps(result, ensure_ascii=False, indent=2)
    if output:
        output.write_text(body + "\n", encoding="utf-8")
    else:
        typer.echo(body)
    if strict and any(r["status"] == "error" for r in result["records"]):
        raise typer.Exit(1)
