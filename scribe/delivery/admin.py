"""What the admin page shows and does with an endpoint beyond the registry: a signed test
message sent now, and its recent failed attempts with the reason in words."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from scribe.delivery.endpoints import get_endpoint, signing_secrets
from scribe.delivery.models import Delivery, DeliveryAttempt, OutboxMessage
from scribe.delivery.outbox import encode_body
from scribe.delivery.payload import envelope
from scribe.settings import Settings
from scribe.storage import Database, utcnow

TEST_EVENT = "endpoint.test"  # sent only by "test-send"; receivers may simply answer 2xx


@dataclass(frozen=True)
class TestResult:
    ok: bool
    status_code: int | None
    latency_ms: float | None
    error: str | None
    reason: str  # a reason code (see ``reason_of``)
    message_id: str


def reason_of(status_code: int | None, error: str | None, outcome: str | None = None) -> str:
    """A stable code for why an attempt failed (the pages translate it)."""
    if outcome == "gone" or status_code == 410:
        return "gone"
    if status_code is not None and 200 <= status_code < 300:
        return "ok"
    if status_code is not None and 400 <= status_code < 500:
        return "http_4xx"
    if status_code is not None and status_code >= 500:
        return "http_5xx"
    text = (error or "").lower()
    if text.startswith("refused"):
        return "refused"  # this server's outbound safety settings forbid the address
    if text.startswith("timeout"):
        return "timeout"
    if "connect" in text or "network" in text or "resolve" in text:
        return "unreachable"
    return "other"


def send_test(db: Database, settings: Settings, endpoint_id: str) -> TestResult:
    """POST a signed ``endpoint.test`` message to the endpoint now, through the worker's own
    checks (destination safety, pinned address, both secrets while rotating). Runs its own
    event loop: call it from a thread (a route's thread pool), never on the server's loop."""
    from scribe.delivery.worker import Claim, DeliveryWorker

    now = utcnow()
    with db.transaction() as tx:
        ep = get_endpoint(tx, endpoint_id)
        message_id = f"msg_test_{secrets.token_hex(8)}"
        body = encode_body(envelope(TEST_EVENT, now, {"endpoint": {"id": ep.id, "name": ep.name},
                                                        "note": "测试消息：无需处理 / a test message, nothing to do"}))  # fmt: skip
        claim = Claim(delivery_id=0, token="test", message_id=message_id, event_type=TEST_EVENT, body=body,
                      endpoint_id=ep.id, url=ep.url, secrets=tuple(signing_secrets(ep, now)), attempts=0)  # fmt: skip

    async def go() -> TestResult:
        async with DeliveryWorker(db, settings, worker_id="test-send") as worker:
            result = await worker._send(claim)  # the very request a delivery makes
        return TestResult(result.ok, result.status_code, result.latency_ms, result.error,
                          reason_of(result.status_code, result.error), message_id)  # fmt: skip

    return asyncio.run(go())


@dataclass(frozen=True)
class FailedAttempt:
    attempted_at: dt.datetime
    message_id: str
    event_type: str | None
    subject_id: str | None  # a document or hearing id (no names)
    status_code: int | None
    error: str | None
    outcome: str
    reason: str
    delivery_status: str | None  # where the delivery stands now (pending: retried; failed: replay it)
    next_attempt_at: dt.datetime | None


def recent_failures(tx: Session, endpoint_id: str, limit: int = 20) -> list[FailedAttempt]:
    """The endpoint's latest attempts that did not deliver, newest first."""
    get_endpoint(tx, endpoint_id)
    rows = tx.execute(
        select(DeliveryAttempt, OutboxMessage.event_type, OutboxMessage.subject_id, Delivery.status,
               Delivery.next_attempt_at)
        .outerjoin(OutboxMessage, OutboxMessage.id == DeliveryAttempt.message_id)
        .outerjoin(Delivery, Delivery.id == DeliveryAttempt.delivery_id)
        .where(DeliveryAttempt.endpoint_id == endpoint_id, DeliveryAttempt.outcome.not_in(("delivered", "superseded")))
        .order_by(DeliveryAttempt.id.desc())
        .limit(limit)
    ).all()  # fmt: skip
    return [
        FailedAttempt(a.attempted_at, a.message_id, event_type, subject, a.status_code, a.error, a.outcome,
                      reason_of(a.status_code, a.error, a.outcome), status,
                      next_at if status == "pending" else None)  # fmt: skip
        for a, event_type, subject, status, next_at in rows
    ]
