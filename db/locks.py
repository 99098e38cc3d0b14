"""Approved submissions lock a commune's data for the year until the province reopens them.

The lock itself is enforced in the database (trigger ``cropmrv_submission_locked`` on ``activity``
and ``crop_zone``, 0001_schema.sql), so every writer — the loaders, the API, raw SQL — is refused.
This module lets writers ask *before* they start, to refuse with a clear message instead of a
constraint error at the end of a long COPY. It lives in ``db`` because both ``ingest`` (which may
not import ``mrv``) and ``mrv.submissions`` need it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, text

#: the constraint name the trigger reports, to tell its refusal from others
CONSTRAINT = "submission_approved_lock"


class CommuneYearLocked(ValueError):
    """The commune's data for the year are approved and locked (message in Vietnamese and English)."""

    def __init__(self, commune: str, year: int):
        self.commune, self.year = commune, year
        super().__init__(locked_message(commune, year))


def locked_message(commune: str, year: int) -> str:
    return (f"dữ liệu xã {commune} năm {year} đã được phê duyệt và bị khoá đến khi tỉnh mở lại "
            f"(cropmrv submission reopen) / the {year} data of commune {commune} are approved and locked "
            "until the province reopens them")


def approved(conn: Connection, communes: Iterable[str] | None, years: Iterable[int] | None) -> list[tuple[str, int]]:
    """The approved (commune, year) pairs among ``communes`` × ``years`` (None: any), sorted."""
    rows = conn.execute(text(
        "SELECT commune_code, year FROM submission WHERE status = 'approved' "
        "AND (CAST(:c AS text[]) IS NULL OR commune_code = ANY(CAST(:c AS text[]))) "
        "AND (CAST(:y AS int[]) IS NULL OR year = ANY(CAST(:y AS int[]))) ORDER BY commune_code, year"),
        {"c": None if communes is None else sorted(set(communes)),
         "y": None if years is None else sorted({int(y) for y in years})}).all()
    return [(r[0], int(r[1])) for r in rows]


def assert_commune_year_editable(conn: Connection, commune: str, year: int) -> None:
    """Raise :class:`CommuneYearLocked` if ``commune``'s data for ``year`` are approved."""
    hit = approved(conn, [commune], [year])
    if hit:
        raise CommuneYearLocked(*hit[0])
