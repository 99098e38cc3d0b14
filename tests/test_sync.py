"""Sync against the stand-in national server: whatever it does, exactly one accepted submission."""

from __future__ import annotations

import itertools

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from cropmrv.mrv import inventory, sync

from .national_standin import NationalStandin
from .reporting_data import make_run, sample_rows

TIMEOUT = 2.0  # client timeout; the stand-in hangs until the test ends, so only this matters
_years = itertools.count(2031)


def _snapshot(engine, year: int | None = None) -> inventory.ExportInfo:
    year = year or next(_years)
    with engine.begin() as c:
        communes = [r[0] for r in c.execute(text("SELECT code FROM admin_unit WHERE level='commune' LIMIT 3"))]
        make_run(c, year, sample_rows(communes))
        return inventory.create_export(c, year, "66", "Đắk Lắk")


def _log(engine, info):
    with engine.connect() as c:
        return [(r["attempt"], r["status"], r["http_status"]) for r in sync.sync_history(c, "66", info.year)
                if r["export_id"] == info.id]


def _send(engine, info, server, **kw):
    sleeps: list[float] = []
    kw.setdefault("max_attempts", 8)
    res = sync.sync_export(engine, info, server.url, timeout=TIMEOUT, base_delay=0.01, max_delay=0.05,
                           sleep=sleeps.append, **kw)
    return res, sleeps


@pytest.mark.parametrize("script, statuses", [
    ([], [("accepted", 201)]),
    (["drop"], [("retry", None), ("accepted", 201)]),
    (["drop_after_store"], [("retry", None), ("duplicate", 409)]),
    (["timeout"], [("retry", None), ("accepted", 201)]),
    (["timeout_after_store"], [("retry", None), ("duplicate", 409)]),
    (["500", "500_after_store", "503"], [("retry", 500), ("retry", 500), ("retry", 503), ("duplicate", 409)]),
    (["503", "drop", "500_after_store", "drop_after_store"], [("retry", 503), ("retry", None), ("retry", 500),
                                                             ("duplicate", 409)]),
])
def test_faults_end_with_one_accepted_submission(fresh_engine, script, statuses):
    info = _snapshot(fresh_engine)
    with NationalStandin(script) as server:
        res, sleeps = _send(fresh_engine, info, server)
    assert res.ok and res.status == statuses[-1][0]
    assert len(server.stored) == 1 and info.idempotency_key() in server.stored
    assert server.stored[info.idempotency_key()]["body"] == info.payload
    log = _log(fresh_engine, info)
    assert [(s, h) for _, s, h in log] == statuses
    assert [a for a, _, _ in log] == list(range(1, len(statuses) + 1))
    assert len(server.requests) == len(log)  # every attempt that reached the server is logged
    assert len(sleeps) == len(statuses) - 1 and all(0 <= s <= 0.05 for s in sleeps)


def test_never_sends_again_what_was_accepted(fresh_engine):
    info = _snapshot(fresh_engine)
    with NationalStandin() as server:
        first, _ = _send(fresh_engine, info, server)
        again, _ = _send(fresh_engine, info, server)
        by_year = sync.sync_year(fresh_engine, info.year, server.url, "66", "Đắk Lắk", timeout=TIMEOUT)
    assert first.status == "accepted" and again.status == "skipped" and by_year.status == "skipped"
    assert len(server.requests) == 1
    assert [s for _, s, _ in _log(fresh_engine, info)] == ["accepted", "skipped", "skipped"]


def test_gives_up_then_resumes_with_continued_attempt_numbers(fresh_engine):
    info = _snapshot(fresh_engine)
    with NationalStandin(["503"] * 3) as server:
        res, _ = _send(fresh_engine, info, server, max_attempts=3)
        assert res.status == "failed" and not res.ok and len(server.stored) == 0
        res2, _ = _send(fresh_engine, info, server)
    assert res2.status == "accepted" and len(server.stored) == 1
    assert _log(fresh_engine, info) == [(1, "retry", 503), (2, "retry", 503), (3, "failed", 503), (4, "accepted", 201)]


def test_permanent_error_is_not_retried(fresh_engine):
    info = _snapshot(fresh_engine)
    with NationalStandin(["400"]) as server:
        res, sleeps = _send(fresh_engine, info, server)
    assert res.status == "failed" and res.http_status == 400 and sleeps == [] and len(server.requests) == 1


def test_unreachable_endpoint_is_logged(fresh_engine):
    info = _snapshot(fresh_engine)
    with NationalStandin() as server:
        url = server.url
    res, sleeps = _send(fresh_engine, info, type("S", (), {"url": url})(), max_attempts=2)
    assert res.status == "failed" and res.http_status is None and "Connect" in res.response
    assert [s for _, s, _ in _log(fresh_engine, info)] == ["retry", "failed"]


def test_backoff_grows_and_is_capped():
    top = [sync.backoff(n, 0.5, 8.0, rng=lambda: 1.0) for n in range(1, 7)]
    assert top == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert sync.backoff(3, 0.5, 8.0, rng=lambda: 0.25) == 0.5


_fault = st.sampled_from(["drop", "drop_after_store", "500", "503", "500_after_store", "ok"])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=st.lists(_fault, max_size=5))
def test_any_fault_script_gives_exactly_one(fresh_engine, script):
    info = _snapshot(fresh_engine)
    with NationalStandin(script) as server:
        res, _ = _send(fresh_engine, info, server, max_attempts=len(script) + 1)
    assert res.ok and len(server.stored) == 1
    log = _log(fresh_engine, info)
    assert len(log) == len(server.requests) and log[-1][1] in ("accepted", "duplicate")
    assert sum(1 for _, s, _ in log if s in ("accepted", "duplicate")) == 1


def test_other_clients_see_the_same_key(fresh_engine):
    """The national side deduplicates a replay from another client by the key alone."""
    info = _snapshot(fresh_engine)
    with NationalStandin() as server:
        _send(fresh_engine, info, server)
        r = httpx.post(server.url, content=info.payload, headers={"Idempotency-Key": info.idempotency_key()})
    assert r.status_code == 409 and len(server.stored) == 1
