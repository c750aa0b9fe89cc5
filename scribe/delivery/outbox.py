"""The transactional outbox: enqueue inside the caller's transaction, replay, and read back.

``enqueue`` never commits: it adds rows to the caller's session, so the message exists if and
only if the change that caused it (an approval) commits.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from scribe.delivery.endpoints import get_endpoint
from scribe.delivery.models import (
    DELIVERED,
    FAILED,
    PENDING,
    Delivery,
    DeliveryAttempt,
    DeliveryBody,
    Endpoint,
    OutboxMessage,
)
from scribe.errors import DeliveryError
from scribe.settings import Settings
from scribe.storage import utcnow


def new_message_id(now: dt.datetime) -> str:
    # Millisecond prefix: ids sort by creation time, which keeps logs and listings readable.
    return f"msg_{int(now.timestamp() * 1000):012x}{secrets.token_hex(8)}"


def encode_body(payload: dict[str, Any]) -> str:
    """The exact JSON text sent (UTF-8, Chinese unescaped, no spaces)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def enqueue(
    tx: Session,
    event_type: str,
    payload: dict[str, Any],
    *,
    subject_id: str | None = None,
    office: str | None = None,
    message_id: str | None = None,
    now: dt.datetime | None = None,
    settings: Settings | None = None,
    base_url: str | None = None,
) -> OutboxMessage:
    """Add a message and a delivery for every endpoint subscribed to ``event_type`` that
    serves ``office`` (``scribe.delivery.scope``).

    Each endpoint's body is its own view of the payload (``scribe.delivery.views``): the
    transcript only if it opted in and, with ``settings``, a download link per file bound to
    that endpoint. Disabled endpoints get their delivery too: it waits until the endpoint is
    enabled again, so disabling an endpoint for maintenance loses nothing.
    """
    from scribe.delivery.pull import signed_file_url
    from scribe.delivery.scope import scopes
    from scribe.delivery.views import endpoint_view

    now = now or utcnow()
    msg = OutboxMessage(
        id=message_id or new_message_id(now),
        event_type=event_type,
        subject_id=subject_id,
        office=office,
        body=encode_body(payload),
        created_at=now,
    )
    tx.add(msg)
    tx.flush()

    def mint(document_id: str, kind: str, version: int, endpoint_id: str) -> tuple[str, dt.datetime]:
        assert settings is not None
        return signed_file_url(
            tx, document_id, kind, version, settings, now=now, endpoint_id=endpoint_id, base_url=base_url
        )

    by_endpoint = scopes(tx)
    for ep in tx.scalars(select(Endpoint).order_by(Endpoint.id)):
        scope = by_endpoint[ep.id]
        if not ep.subscribes_to(event_type) or not scope.serves(office):
            continue
        delivery = Delivery(message_id=msg.id, endpoint_id=ep.id, next_attempt_at=now, created_at=now)
        tx.add(delivery)
        tx.flush()
        body = encode_body(endpoint_view(payload, scope, ep.id, mint if settings is not None else None))
        if body != msg.body:
            tx.add(DeliveryBody(delivery_id=delivery.id, body=body))
    tx.flush()
    return msg


def delivery_body(tx: Session, message_id: str, endpoint_id: str) -> str:
    """The exact text ``endpoint_id`` is sent for ``message_id``."""
    row = tx.execute(
        select(OutboxMessage.body, DeliveryBody.body)
        .join(Delivery, Delivery.message_id == OutboxMessage.id)
        .outerjoin(DeliveryBody, DeliveryBody.delivery_id == Delivery.id)
        .where(OutboxMessage.id == message_id, Delivery.endpoint_id == endpoint_id)
    ).first()
    if row is None:
        raise DeliveryError(
            f"message {message_id!r} has no delivery to {endpoint_id!r}",
            fix="see `scribe deliveries show` for where it went",
        )
    return str(row[1] if row[1] is not None else row[0])


def drop_deliveries(tx: Session, delivery_ids: list[int]) -> None:
    """Remove deliveries that must not be sent (their endpoint was revoked, their hearing
    deleted): their own bodies and attempt log go with them (the log names no person)."""
    if not delivery_ids:
        return
    tx.execute(delete(DeliveryBody).where(DeliveryBody.delivery_id.in_(delivery_ids)))
    tx.execute(delete(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(delivery_ids)))
    tx.execute(delete(Delivery).where(Delivery.id.in_(delivery_ids)))


def replay(
    tx: Session,
    message_id: str,
    *,
    endpoint_id: str | None = None,
    now: dt.datetime | None = None,
) -> list[str]:
    """Send ``message_id`` again (same ``webhook-id``), to one endpoint or to every subscriber.

    Starts a new retry cycle even for a delivered or failed delivery. Returns the endpoint ids.
    """
    now = now or utcnow()
    msg = tx.get(OutboxMessage, message_id)
    if msg is None:
        raise DeliveryError(
            f"there is no message {message_id!r}", fix="see `scribe deliveries list` for the ids"
        )
    from scribe.delivery.scope import scope_of

    if (json.loads(msg.body).get("data") or {}).get("erased"):
        raise DeliveryError(
            f"message {message_id} was erased (its hearing was deleted)", fix="there is nothing left to send"
        )
    if endpoint_id is not None:
        targets = [get_endpoint(tx, endpoint_id)]
        if not scope_of(tx, endpoint_id).serves(msg.office):
            raise DeliveryError(
                f"endpoint {endpoint_id} does not serve the office of message {message_id} (or is revoked)",
                fix="add the office to the endpoint's offices first",
            )
    else:
        targets = [
            ep for ep in tx.scalars(select(Endpoint))
            if ep.subscribes_to(msg.event_type) and scope_of(tx, ep.id).serves(msg.office)
        ]  # fmt: skip
        if not targets:
            raise DeliveryError(
                f"no endpoint subscribes to {msg.event_type}",
                fix="add one with `scribe endpoints add`, or name one with --endpoint",
            )
    existing = {
        d.endpoint_id: d
        for d in tx.scalars(select(Delivery).where(Delivery.message_id == message_id))
    }
    for ep in targets:
        d = existing.get(ep.id)
        if d is None:
            from scribe.delivery.views import endpoint_view

            d = Delivery(message_id=message_id, endpoint_id=ep.id, created_at=now)
            tx.add(d)
            tx.flush()
            # its own view (no transcript unless it opted in); no links: they are minted at
            # approval only (a late receiver pulls with an API token)
            body = encode_body(endpoint_view(json.loads(msg.body), scope_of(tx, ep.id), ep.id, None))
            if body != msg.body:
                tx.add(DeliveryBody(delivery_id=d.id, body=body))
        d.status = PENDING
        d.attempts = 0
        d.first_attempt_at = None
        d.next_attempt_at = now
        # A worker still holding the old claim will only log its attempt (its claim no longer
        # matches), so the replay's own cycle is not cut short.
        d.lease_until = None
        d.lease_owner = None
    tx.flush()
    return [ep.id for ep in targets]


# -- reading back (CLI, admin page) ---------------------------------------------------------


@dataclass(frozen=True)
class DeliveryState:
    endpoint_id: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    delivered_at: dt.datetime | None
    last_status_code: int | None
    last_error: str | None


@dataclass(frozen=True)
class MessageSummary:
    id: str
    event_type: str
    subject_id: str | None
    office: str | None
    created_at: dt.datetime
    deliveries: tuple[DeliveryState, ...]

    @property
    def status(self) -> str:
        """delivered (to every endpoint), failed (to some), pending, or unrouted."""
        states = {d.status for d in self.deliveries}
        if not states:
            return "unrouted"
        if states == {DELIVERED}:
            return DELIVERED
        if FAILED in states:
            return FAILED
        return PENDING


@dataclass(frozen=True)
class AttemptRecord:
    endpoint_id: str
    attempted_at: dt.datetime
    status_code: int | None
    latency_ms: float | None
    outcome: str
    error: str | None


def _state(d: Delivery) -> DeliveryState:
    return DeliveryState(
        endpoint_id=d.endpoint_id,
        status=d.status,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at if d.status == PENDING else None,
        delivered_at=d.delivered_at,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
    )


def list_messages(
    tx: Session, *, status: str | None = None, limit: int = 50
) -> list[MessageSummary]:
    """Newest first. ``status`` filters on the message status (see ``MessageSummary.status``)."""
    q = select(OutboxMessage).order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    if status in (PENDING, FAILED, DELIVERED):
        q = q.where(
            OutboxMessage.id.in_(select(Delivery.message_id).where(Delivery.status == status))
        )
    out: list[MessageSummary] = []
    for msg in tx.scalars(q):
        summary = _summary(tx, msg)
        if status is None or summary.status == status:
            out.append(summary)
        if len(out) >= limit:
            break
    return out


def _summary(tx: Session, msg: OutboxMessage) -> MessageSummary:
    deliveries = tx.scalars(
        select(Delivery).where(Delivery.message_id == msg.id).order_by(Delivery.endpoint_id)
    )
    return MessageSummary(
        id=msg.id,
        event_type=msg.event_type,
        subject_id=msg.subject_id,
        office=msg.office,
        created_at=msg.created_at,
        deliveries=tuple(_state(d) for d in deliveries),
    )


def show_message(tx: Session, message_id: str) -> tuple[MessageSummary, list[AttemptRecord]]:
    """A message, its deliveries and its whole attempt log (oldest first)."""
    msg = tx.get(OutboxMessage, message_id)
    if msg is None:
        raise DeliveryError(
            f"there is no message {message_id!r}", fix="see `scribe deliveries list` for the ids"
        )
    attempts = [
        AttemptRecord(
            endpoint_id=a.endpoint_id,
            attempted_at=a.attempted_at,
            status_code=a.status_code,
            latency_ms=a.latency_ms,
            outcome=a.outcome,
            error=a.error,
        )
        for a in tx.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.message_id == message_id)
            .order_by(DeliveryAttempt.id)
        )
    ]
    return _summary(tx, msg), attempts


def counts(tx: Session) -> dict[str, int]:
    """Deliveries by status (monitoring, the benchmark)."""
    rows = tx.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
    return {status: n for status, n in rows}
