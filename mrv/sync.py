"""Send an inventory snapshot to the national system, exactly once, over an unreliable network.

The rules, and why:
* **Idempotency key** = province + year + payload SHA-256 (``ExportInfo.idempotency_key``), sent in
  the ``Idempotency-Key`` header: a retry of the same snapshot is recognisably the same submission,
  so a server that stored it before the connection dropped can answer "duplicate" instead of
  storing it twice.
* **Retries** on timeouts, dropped/refused connections, 408, 429 and 5xx, with exponential backoff
  and full jitter (delay = U(0, min(cap, base·2^(n-1))); AWS architecture blog "Exponential backoff
  and jitter"), honouring ``Retry-After`` when the server sends one. Other 4xx are permanent.
* **Accepted** = a 2xx, or 409 (the server already holds this key). Nothing accepted is ever sent
  again: :func:`sync_export` reads ``sync_log`` first and only logs a ``skipped`` row.
* **Every attempt is logged** in ``sync_log`` in its own committed transaction, so the log survives
  a crash in the middle of a sync; attempt numbers continue across runs for the same key.
* A PostgreSQL advisory lock on the key keeps two syncs of the same snapshot from racing.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Connection, Engine, text

from cropmrv.mrv import inventory
from cropmrv.mrv.inventory import ExportInfo

RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}


class SyncError(RuntimeError):
    """The national endpoint did not accept the snapshot (Vietnamese and English)."""


@dataclass(frozen=True)
class SyncResult:
    status: str                 # accepted | duplicate | skipped | failed
    export_id: int
    idempotency_key: str
    attempts: int               # attempts made by this call
    http_status: int | None
    response: str | None

    @property
    def ok(self) -> bool:
        return self.status in ("accepted", "duplicate", "skipped")


def accepted_before(conn: Connection, key: str) -> bool:
    return conn.execute(text("SELECT 1 FROM sync_log WHERE idempotency_key = :k AND status IN ('accepted', "
                             "'duplicate') LIMIT 1"), {"k": key}).first() is not None


def _next_attempt(conn: Connection, key: str) -> int:
    return conn.execute(text("SELECT coalesce(max(attempt), 0) + 1 FROM sync_log WHERE idempotency_key = :k"),
                        {"k": key}).scalar_one()


def _log(engine: Engine, info: ExportInfo, endpoint: str, status: str, http_status: int | None,
         response: str | None) -> int:
    key = info.idempotency_key()
    with engine.begin() as c:
        n = _next_attempt(c, key)
        c.execute(text("INSERT INTO sync_log (province_code, year, export_id, endpoint, idempotency_key, "
                       "payload_sha256, attempt, status, http_status, response) VALUES (:p, :y, :e, :u, :k, :s, :n, "
                       ":st, :h, :r)"),
                  {"p": info.province_code, "y": info.year, "e": info.id, "u": endpoint, "k": key, "s": info.sha256,
                   "n": n, "st": status, "h": http_status, "r": (response or "")[:2000] or None})
    return n


def backoff(attempt: int, base: float, cap: float, rng: Callable[[], float] = random.random) -> float:
    """Full-jitter exponential backoff for the delay after failed attempt ``attempt`` (1-based)."""
    return rng() * min(cap, base * 2 ** (attempt - 1))


def _retry_after(resp: httpx.Response | None) -> float | None:
    if resp is None:
        return None
    try:
        return float(resp.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


def sync_export(engine: Engine, info: ExportInfo, endpoint: str, *, max_attempts: int = 6, timeout: float = 30.0,
                base_delay: float = 1.0, max_delay: float = 60.0, sleep: Callable[[float], None] = time.sleep,
                rng: Callable[[], float] = random.random, client: httpx.Client | None = None) -> SyncResult:
    """Send one snapshot until it is accepted, a permanent error occurs or ``max_attempts`` run out."""
    key = info.idempotency_key()
    with engine.connect() as lock:
        lock.execute(text("SELECT pg_advisory_lock(hashtextextended(:k, 0))"), {"k": key})
        try:
            with engine.connect() as c:
                done = accepted_before(c, key)
            if done:
                _log(engine, info, endpoint, "skipped", None, "already accepted / đã được tiếp nhận")
                return SyncResult("skipped", info.id, key, 0, None, None)
            own = client is None
            client = client or httpx.Client(timeout=timeout)
            try:
                return _attempts(engine, info, endpoint, client, max_attempts, base_delay, max_delay, sleep, rng)
            finally:
                if own:
                    client.close()
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(hashtextextended(:k, 0))"), {"k": key})
            lock.commit()


def _attempts(engine, info, endpoint, client, max_attempts, base_delay, max_delay, sleep, rng) -> SyncResult:
    key = info.idempotency_key()
    headers = {"Idempotency-Key": key, "Content-Type": "application/json",
               "X-Cropmrv-Payload-SHA256": info.sha256, "X-Cropmrv-Province": info.province_code,
               "X-Cropmrv-Year": str(info.year), "X-Cropmrv-Export-Id": str(info.id)}
    last_status: int | None = None
    last_text: str | None = None
    for i in range(1, max_attempts + 1):
        resp: httpx.Response | None = None
        try:
            resp = client.post(endpoint, content=info.payload, headers=headers)
            last_status, last_text = resp.status_code, resp.text
        except httpx.TransportError as exc:  # timeouts, resets, refused and dropped connections
            last_status, last_text = None, f"{type(exc).__name__}: {exc}"
        if last_status is not None and 200 <= last_status < 300:
            _log(engine, info, endpoint, "accepted", last_status, last_text)
            return SyncResult("accepted", info.id, key, i, last_status, last_text)
        if last_status == 409:
            _log(engine, info, endpoint, "duplicate", last_status, last_text)
            return SyncResult("duplicate", info.id, key, i, last_status, last_text)
        transient = last_status is None or last_status in RETRY_STATUS
        if not transient or i == max_attempts:
            _log(engine, info, endpoint, "failed", last_status, last_text)
            return SyncResult("failed", info.id, key, i, last_status, last_text)
        _log(engine, info, endpoint, "retry", last_status, last_text)
        delay = backoff(i, base_delay, max_delay, rng)
        ra = _retry_after(resp)
        sleep(min(max_delay, max(delay, ra)) if ra is not None else delay)
    raise AssertionError("unreachable")


def sync_year(engine: Engine, year: int, endpoint: str, province_code: str, province_name: str, *,
              export_id: int | None = None, **kw: Any) -> SyncResult:
    """Sync the chosen snapshot (``export_id``), else the latest one of ``year``, else a new one."""
    with engine.begin() as c:
        if export_id is not None:
            info = inventory.get_export(c, export_id)
        else:
            info = inventory.latest_export(c, year, province_code) or inventory.create_export(
                c, year, province_code, province_name, created_by="sync")
    return sync_export(engine, info, endpoint, **kw)


def sync_history(conn: Connection, province_code: str, year: int | None = None) -> list[dict[str, Any]]:
    rows = conn.execute(text("SELECT id, year, export_id, endpoint, idempotency_key, payload_sha256, attempt, status, "
                             "http_status, response, at FROM sync_log WHERE province_code = :p AND "
                             "(CAST(:y AS integer) IS NULL OR year = CAST(:y AS integer)) ORDER BY id"),
                        {"p": province_code, "y": year})
    return [dict(r._mapping) for r in rows]
