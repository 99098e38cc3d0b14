"""A stand-in for the national GHG inventory server, over real HTTP on 127.0.0.1.

It behaves as a careful real server would — it stores each submission under its Idempotency-Key
and answers 409 to a key it already holds — but it can be told to misbehave, request by request,
with a *script* of faults:

``ok``                 store and answer 201
``drop``               read the request, then close the socket without answering (nothing stored)
``drop_after_store``   store, then close the socket without answering
``timeout``            hang without answering until the client gives up (nothing stored)
``timeout_after_store`` store, then hang
``500`` / ``503``      answer 500 / 503 (with Retry-After: 0) without storing
``500_after_store``    store, then answer 500
``400``                answer 400 (a permanent error)

After the script runs out every request is ``ok``. ``requests`` records what happened to each.
Why http.server: the faults need control of the raw socket (closing it mid-exchange), which the
standard library gives directly; it runs in a thread so the test and the client share one process.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BEHAVIOURS = ("ok", "drop", "drop_after_store", "timeout", "timeout_after_store", "500", "503",
              "500_after_store", "400")


class NationalStandin:
    def __init__(self, script: list[str] | tuple[str, ...] = (), hang_seconds: float = 30.0):
        bad = [b for b in script if b not in BEHAVIOURS]
        if bad:
            raise ValueError(f"unknown behaviours {bad}")
        self.script = deque(script)
        self.hang_seconds = hang_seconds
        self.stored: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/api/inventory/submissions"

    def __enter__(self) -> NationalStandin:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def next_behaviour(self) -> str:
        with self.lock:
            return self.script.popleft() if self.script else "ok"

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def _answer(self, code: int, body: dict[str, Any], extra: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _drop(self) -> None:
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                key = self.headers.get("Idempotency-Key")
                behaviour = standin.next_behaviour()
                with standin.lock:
                    standin.requests.append({"behaviour": behaviour, "key": key, "bytes": len(body)})
                if behaviour == "400":
                    return self._answer(400, {"error": "rejected by script"})
                if behaviour in ("drop", "timeout", "500", "503"):
                    if behaviour == "drop":
                        return self._drop()
                    if behaviour == "timeout":
                        standin.release.wait(standin.hang_seconds)
                        return self._drop()
                    extra = {"Retry-After": "0"} if behaviour == "503" else None
                    return self._answer(int(behaviour), {"error": "scripted failure"}, extra)
                if not key:
                    return self._answer(400, {"error": "Idempotency-Key header required"})
                sha = hashlib.sha256(body).hexdigest()
                if self.headers.get("X-Cropmrv-Payload-SHA256") not in (None, sha):
                    return self._answer(400, {"error": "payload hash mismatch"})
                with standin.lock:
                    held = standin.stored.get(key)
                    if held is None:
                        receipt = f"VN-{len(standin.stored) + 1:05d}"
                        standin.stored[key] = {"sha256": sha, "body": body, "receipt": receipt}
                if held is not None:
                    if held["sha256"] != sha:
                        return self._answer(422, {"error": "same key, different payload"})
                    return self._answer(409, {"status": "duplicate", "receipt": held["receipt"]})
                if behaviour == "drop_after_store":
                    return self._drop()
                if behaviour == "timeout_after_store":
                    standin.release.wait(standin.hang_seconds)
                    return self._drop()
                if behaviour == "500_after_store":
                    return self._answer(500, {"error": "stored, then failed"})
                return self._answer(201, {"status": "accepted", "receipt": receipt})

        return Handler
