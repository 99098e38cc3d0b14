"""Commune submissions: the state machine, roles, the lock, the deadline and the event log."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from cropmrv.mrv import submissions as sub
from cropmrv.mrv.submissions import Actor

ADMIN = Actor("tinh", "province_admin")


def _two(conn):
    return [r[0] for r in conn.execute(text("SELECT code FROM admin_unit WHERE level='commune' ORDER BY code LIMIT 2"))]


def test_full_cycle_with_events(conn):
    a, _ = _two(conn)
    officer = Actor("xa_a", "commune_officer", a)
    sub.transition(conn, a, 2025, "draft", officer)
    sub.submit(conn, a, 2025, officer)
    with pytest.raises(sub.SubmissionLocked):
        sub.assert_editable(conn, a, 2025)
    with pytest.raises(sub.SubmissionError, match="needs a comment"):
        sub.return_(conn, a, 2025, ADMIN, "  ")
    row = sub.return_(conn, a, 2025, ADMIN, "Thiếu diện tích lúa vụ hè thu")
    assert row["status"] == "returned" and row["comment"] == "Thiếu diện tích lúa vụ hè thu"
    sub.assert_editable(conn, a, 2025)
    sub.submit(conn, a, 2025, officer)
    row = sub.approve(conn, a, 2025, ADMIN)
    assert row["status"] == "approved" and row["approved_at"] is not None
    with pytest.raises(sub.SubmissionError, match="locked until the province"):
        sub.submit(conn, a, 2025, officer)
    with pytest.raises(sub.SubmissionLocked):
        sub.assert_editable(conn, a, 2025)
    with pytest.raises(sub.PermissionDenied):
        sub.reopen(conn, a, 2025, officer, "xin mở lại")
    sub.reopen(conn, a, 2025, ADMIN, "Sửa hệ số phân bón")
    assert sub.status(conn, 2025, "66", today=date(2025, 11, 1))[0]["status"] in ("draft", "missing")
    events = sub.history(conn, a, 2025)
    assert [(e["from_status"], e["to_status"]) for e in events] == [
        (None, "draft"), ("draft", "submitted"), ("submitted", "returned"), ("returned", "submitted"),
        ("submitted", "approved"), ("approved", "draft")]
    assert events[2]["comment"] == "Thiếu diện tích lúa vụ hè thu" and events[2]["actor"] == "tinh"


def test_roles_and_own_commune(conn):
    a, b = _two(conn)
    officer = Actor("xa_a", "commune_officer", a)
    with pytest.raises(sub.PermissionDenied, match="may not act for commune"):
        sub.submit(conn, b, 2025, officer)
    with pytest.raises(sub.PermissionDenied):
        sub.submit(conn, a, 2025, Actor("v", "viewer"))
    sub.submit(conn, a, 2025, officer)
    with pytest.raises(sub.PermissionDenied):
        sub.approve(conn, a, 2025, officer)
    with pytest.raises(sub.SubmissionError, match="'approve'|cannot approve"):
        sub.approve(conn, b, 2025, ADMIN)  # nothing submitted
    with pytest.raises(sub.SubmissionError, match="no commune"):
        sub.submit(conn, "00000", 2025, ADMIN)


def test_status_and_deadline(conn):
    a, b = _two(conn)
    assert sub.deadline(2025) == date(2025, 11, 10)
    assert sub.deadline(2025, "12-31") == date(2025, 12, 31)
    with pytest.raises(sub.SubmissionError):
        sub.deadline(2025, "10th Nov")
    sub.submit(conn, a, 2030, ADMIN)  # a future year: submitted today, before its deadline
    before = {r["commune_code"]: r for r in sub.status(conn, 2030, "66", today=date(2030, 11, 10))}
    assert len(before) == 102
    assert before[a]["state"] == "submitted" and not before[a]["late"]
    assert before[b]["state"] == "missing"
    after = sub.status(conn, 2030, "66", today=date(2030, 11, 11))
    counts = sub.status_counts(after)
    assert counts["submitted"] == 1 and counts["late"] == 101
    # a submission made after the deadline keeps its state but is flagged late
    sub.submit(conn, b, 2024, ADMIN)
    late = {r["commune_code"]: r for r in sub.status(conn, 2024, "66", today=date(2025, 1, 1))}
    assert late[b]["state"] == "submitted" and late[b]["late"]
