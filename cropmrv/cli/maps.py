"""`cropmrv map KIND -o FILE`: a web map as a standalone HTML file that opens offline from disk.

A thin wrapper over :func:`cropmrv.maps.standalone.write_map`.
"""

from __future__ import annotations

from pathlib import Path

import typer

from cropmrv.cli.common import console, fail, user_errors


def map_cmd(
    kind: str = typer.Argument(..., help="province | commune | planning-review | irrigation | pilot-sites"),
    output: Path = typer.Option(..., "--output", "-o", help="HTML file to write (assets go to FILE_files/)."),
    year: int | None = typer.Option(None, "--year", min=1990, max=2100, help="Year (province/commune maps)."),
    commune: str | None = typer.Option(None, "--commune", help="5-digit commune code."),
    lang: str = typer.Option("vi", "--lang", help="vi (default) or en."),
    measure: str = typer.Option("total", "--measure", help="Province map: total | per_ha."),
    api: str | None = typer.Option(None, "--api", help="API base URL for parcel tiles and the review form "
                                                       "(omit for a fully offline file)."),
) -> None:
    """Ghi bản đồ ra tệp HTML dùng được khi không có mạng / write a map as offline HTML."""
    from cropmrv.maps.standalone import KINDS, write_map
    from cropmrv.settings import get_settings

    if kind not in KINDS:
        fail(f"Loại bản đồ không hợp lệ '{kind}' / unknown map kind '{kind}' ({', '.join(KINDS)})")
    if lang not in ("vi", "en"):
        fail(f"Ngôn ngữ không hỗ trợ '{lang}' / unsupported language '{lang}' (vi, en)")
    with user_errors():
        try:
            out = write_map(get_settings(), kind, output, year=year, commune=commune, lang=lang, measure=measure,
                            api_base=api.rstrip("/") if api else None)
        except LookupError as exc:
            fail(str(exc))
    console.print(f"{out['path']} ({out['bytes'] / 1024:,.0f} KiB) + {out['assets']}/")
