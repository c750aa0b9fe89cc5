"""A real webhook receiver on loopback that verifies every request with ``standardwebhooks``.

Tests script its answers (status, headers, delay) per request, stop it (connection refused:
"the case system is down") and start it again on the same port.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # answer this late (a slow receiver)
    hold: threading.Event | None = None  # answer only once this is set (a request in flight)


@dataclass(frozen=True)
class Received:
    id: str
    timestamp: str
    signature: str
    headers: dict[str, str]
    body: bytes
    verified_with: tuple[str, ...]  # the secrets whose signature matched
    error: str | None  # why verification failed with every secret
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


Behaviour = Callable[[int, "Received"], Reply]


class Receiver:
    def __init__(self, secrets: list[str] | None = None) -> None:
        self.secrets: list[str] = list(secrets or [])
        self.behaviour: Behaviour = lambda n, r: Reply(200)
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self.port = 0

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver._connections.add(self.connection)

            def finish(self) -> None:
                with receiver._lock:
                    receiver._connections.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                got = receiver._record(dict(self.headers.items()), body)
                with receiver._lock:
                    n = len(receiver.requests)
                reply = receiver.behaviour(n, got)
                if reply.hold is not None:
                    reply.hold.wait(timeout=60)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up (timeout) or died: exactly what tests provoke

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        """Go down: close the listening socket (new connections are refused) and every open
        keep-alive connection (a pooled connection must not outlive the outage)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            open_now = list(self._connections)
        for conn in open_now:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    @property
    def up(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/scribe?site=test"

    # -- what arrived -----------------------------------------------------------------------
    def _record(self, headers: dict[str, str], body: bytes) -> Received:
        lower = {k.lower(): v for k, v in headers.items()}
        ok: list[str] = []
        error = None
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, lower)
                ok.append(secret)
            except WebhookVerificationError as exc:
                error = str(exc)
        got = Received(
            id=lower.get("webhook-id", ""),
            timestamp=lower.get("webhook-timestamp", ""),
            signature=lower.get("webhook-signature", ""),
            headers=lower,
            body=body,
            verified_with=tuple(ok),
            error=None if ok else (error or "no secret configured"),
            at=time.time(),
        )
        with self._lock:
            self.requests.append(got)
        return got

    def ids(self) -> Counter[str]:
        with self._lock:
            return Counter(r.id for r in self.requests)

    def count(self) -> int:
        with self._lock:
            return len(self.requests)
