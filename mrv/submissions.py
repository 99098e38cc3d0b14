"""Commune submissions: draft → submitted → returned (with a comment) → approved, and reopen.

Every commune and ward reports its year before the deadline (10 November by default, setting
``report_deadline``); the province checks, returns with a comment or approves. Approved data are
locked until the province reopens them: other writers call :func:`assert_editable` before changing
a commune's data for a year. Each transition is one row in ``submission_event``, so the history is
never lost even though ``submission`` holds only the current state.

Who may do what is checked here, where the data are written, not only on API routes:
``commune_officer`` submits (or saves a draft of) its own commune only; ``province_admin`` does
everything (submitting on a commune's behalf included).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, text

from cropmrv.db import locks

VN_TZ = timezone(timedelta(hours=7))  # Asia/Ho_Chi_Minh, no DST
STORED = ("draft", "submitted", "returned", "approved")
STATES = ("missing", "draft", "submitted", "late", "returned", "approved")

# action → (allowed from-states, to-state, roles, comment required)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str, tuple[str, ...], bool]] = {
    "draft": (("missing", "draft", "returned"), "draft", ("commune_officer", "province_admin"), False),
    "submit": (("missing", "draft", "returned"), "submitted", ("commune_officer", "province_admin"), False),
    "return": (("submitted",), "returned", ("province_admin",), True),
    "approve": (("submitted",), "approved", ("province_admin",), False),
    "reopen": (("approved",), "draft", ("province_admin",), True),
}


class SubmissionError(ValueError):
    """A transition that is not allowed (message in Vietnamese and English)."""


class PermissionDenied(SubmissionError):
    """The actor's role or commune does not allow this action."""


class SubmissionLocked(SubmissionError):
    """The commune's data for the year are submitted or approved and cannot be edited."""


@dataclass(frozen=True)
class Actor:
    """Who acts: a username, a role (``app_user.role``) and, for commune officers, their commune."""

    username: str
    role: str
    commune_code: str | None = None


CLI_ACTOR = Actor("cli", "province_admin")


def deadline(year: int, setting: str = "11-10") -> date:
    """The submission deadline of ``year`` from the ``MM-DD`` setting (inclusive, Viet Nam time)."""
    try:
        month, day = (int(x) for x in setting.split("-"))
        return date(year, month, day)
    except ValueError as exc:
        raise SubmissionError(f"Hạn nộp '{setting}' không hợp lệ, cần MM-DD / report_deadline '{setting}' "
                              "is not a valid MM-DD date") from exc


def today_vn() -> date:
    return datetime.now(VN_TZ).date()


def _current(conn: Connection, commune: str, year: int, lock: bool = False) -> dict[str, Any] | None:
    row = conn.execute(text("SELECT * FROM submission WHERE commune_code = :c AND year = :y"
                            + (" FOR UPDATE" if lock else "")), {"c": commune, "y": year}).first()
    return dict(row._mapping) if row else None


def _check_commune(conn: Connection, commune: str) -> None:
    ok = conn.execute(text("SELECT 1 FROM admin_unit WHERE code = :c AND level = 'commune'"), {"c": commune}).first()
    if not ok:
        raise SubmissionError(f"Không có xã/phường mã '{commune}' / no commune with code '{commune}'")


def transition(conn: Connection, commune: str, year: int, action: str, actor: Actor, *,
               comment: str | None = None, run_id: int | None = None) -> dict[str, Any]:
    """Apply ``action`` (draft, submit, return, approve, reopen) and record the event; returns the
    new submission row. Raises PermissionDenied or SubmissionError with the reason."""
    if action not in TRANSITIONS:
        raise SubmissionError(f"Thao tác không hợp lệ '{action}' / unknown action '{action}' "
                              f"(one of {', '.join(TRANSITIONS)})")
    allowed_from, to, roles, needs_comment = TRANSITIONS[action]
    if actor.role not in roles:
        raise PermissionDenied(f"Vai trò '{actor.role}' không được phép '{action}' / role '{actor.role}' may not "
                               f"{action} a submission")
    if actor.role == "commune_officer" and actor.commune_code != commune:
        raise PermissionDenied(f"Cán bộ xã {actor.commune_code} chỉ nộp báo cáo của xã mình, không phải {commune} / "
                               f"a commune officer of {actor.commune_code} may not act for commune {commune}")
    if needs_comment and not (comment and comment.strip()):
        raise SubmissionError(f"Cần ghi lý do khi '{action}' / '{action}' needs a comment")
    _check_commune(conn, commune)
    cur = _current(conn, commune, year, lock=True)
    state = cur["status"] if cur else "missing"
    if state not in allowed_from:
        why = " (đã phê duyệt, bị khoá đến khi tỉnh mở lại / approved data are locked until the province " \
              "reopens them)" if state == "approved" else ""
        raise SubmissionError(f"Không thể '{action}' báo cáo xã {commune} năm {year} đang ở trạng thái '{state}' / "
                              f"cannot {action} the {year} submission of {commune}: it is '{state}'{why}")
    params = {"c": commune, "y": year, "s": to, "m": comment, "r": run_id, "u": actor.username}
    stamp = {"submitted": ", submitted_at = now()", "approved": ", approved_at = now()"}.get(to, "")
    if cur is None:
        conn.execute(text(
            "INSERT INTO submission (commune_code, year, status, comment, run_id, updated_by, submitted_at, approved_at) "
            "VALUES (:c, :y, :s, :m, :r, :u, :sub, NULL)"),
            {**params, "sub": datetime.now(UTC) if to == "submitted" else None})
    else:
        conn.execute(text(
            "UPDATE submission SET status = :s, comment = :m, run_id = coalesce(:r, run_id), updated_by = :u, "
            f"updated_at = now(){stamp} WHERE commune_code = :c AND year = :y"), params)
    conn.execute(text("INSERT INTO submission_event (commune_code, year, from_status, to_status, comment, actor) "
                      "VALUES (:c, :y, :f, :s, :m, :u)"), {**params, "f": None if state == "missing" else state})
    return _current(conn, commune, year)


def submit(conn, commune, year, actor, *, comment=None, run_id=None):
    return transition(conn, commune, year, "submit", actor, comment=comment, run_id=run_id)


def return_(conn, commune, year, actor, comment):
    return transition(conn, commune, year, "return", actor, comment=comment)


def approve(conn, commune, year, actor, *, comment=None):
    return transition(conn, commune, year, "approve", actor, comment=comment)


def reopen(conn, commune, year, actor, comment):
    return transition(conn, commune, year, "reopen", actor, comment=comment)


def assert_editable(conn: Connection, commune: str, year: int) -> None:
    """Raise :class:`SubmissionLocked` if the commune's data for ``year`` are submitted or approved.

    Approved data are also refused by the database itself (``cropmrv.db.locks``, trigger
    ``cropmrv_submission_locked``), whoever writes; submitted data only by the writers that ask here."""
    try:
        locks.assert_commune_year_editable(conn, commune, year)
    except locks.CommuneYearLocked as exc:
        raise SubmissionLocked(str(exc)) from exc
    cur = _current(conn, commune, year)
    if cur and cur["status"] in ("submitted", "approved"):
        raise SubmissionLocked(f"Dữ liệu xã {commune} năm {year} đang '{cur['status']}' và bị khoá; tỉnh phải trả "
                               f"lại hoặc mở lại trước / the {year} data of commune {commune} are "
                               f"{cur['status']} and locked until the province returns or reopens them")


def status(conn: Connection, year: int, province_code: str, deadline_setting: str = "11-10",
           today: date | None = None) -> list[dict[str, Any]]:
    """One row per commune of the province: stored ``status`` (missing if none), derived ``state``
    (``late`` = still missing or draft after the deadline), ``late`` (also true for a submission
    made after the deadline), comment, timestamps and the number of events."""
    due = deadline(year, deadline_setting)
    now = today or today_vn()
    rows = conn.execute(text("""
        SELECT u.code AS commune_code, u.name AS commune_name, coalesce(s.status, 'missing') AS status,
               s.comment, s.run_id, s.updated_by, s.updated_at, s.submitted_at, s.approved_at,
               (SELECT count(*) FROM submission_event e WHERE e.commune_code = u.code AND e.year = :y) AS events
        FROM admin_unit u LEFT JOIN submission s ON s.commune_code = u.code AND s.year = :y
        WHERE u.level = 'commune' AND u.province_code = :p ORDER BY u.code"""), {"y": year, "p": province_code})
    out = []
    for r in rows:
        d = dict(r._mapping)
        sub_day = d["submitted_at"].astimezone(VN_TZ).date() if d["submitted_at"] else None
        overdue = now > due
        d["late"] = (d["status"] in ("missing", "draft") and overdue) or (sub_day is not None and sub_day > due)
        d["state"] = "late" if d["status"] in ("missing", "draft") and overdue else d["status"]
        d["deadline"] = due
        out.append(d)
    return out


def status_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(STATES, 0)
    for r in rows:
        counts[r["state"]] += 1
    return counts


def history(conn: Connection, commune: str, year: int) -> list[dict[str, Any]]:
    rows = conn.execute(text("SELECT id, from_status, to_status, comment, actor, at FROM submission_event "
                             "WHERE commune_code = :c AND year = :y ORDER BY id"), {"c": commune, "y": year})
    return [dict(r._mapping) for r in rows]
