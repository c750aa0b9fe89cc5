"""The sender: claims due deliveries from the outbox, signs and POSTs them, records every
attempt, and schedules retries.

Delivery is at-least-once with a stable id. A claim is a lease in the database: a worker that
is killed mid-request leaves its lease behind, the lease expires, and the next worker sends the
same message again under the same ``webhook-id``, which the receiver uses to drop duplicates.
Nothing is marked delivered before a 2xx has come back.

Clocks: ``clock`` decides what is due and when retries fall due (injectable, so tests and the
fault benchmark can jump hours ahead). ``webhook-timestamp`` is always real time, because the
receiver checks it against its own clock (5-minute tolerance).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import random
import secrets
import socket
import time
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
from sqlalchemy import CursorResult, case, func, or_, select, update

from scribe.delivery.clock import Clock, SystemClock
from scribe.delivery.endpoints import signing_secrets
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
from scribe.delivery.pinning import PinnedBackend, pinned_client
from scribe.delivery.safety import Resolver, check_url, resolve
from scribe.delivery.schedule import parse_retry_after, retry_delay
from scribe.delivery.signing import signature_header
from scribe.errors import DeliveryError
from scribe.settings import Settings
from scribe.storage import Database

log = logging.getLogger("scribe.delivery")

USER_AGENT = "mediation-scribe-webhooks/1"
GONE = 410


@dataclass(frozen=True)
class Claim:
    """One delivery this worker holds the lease on, with what it needs to send it."""

    delivery_id: int
    token: str
    message_id: str
    event_type: str
    body: str
    endpoint_id: str
    url: str
    secrets: tuple[str, ...]
    attempts: int


@dataclass(frozen=True)
class AttemptResult:
    attempted_at: dt.datetime
    status_code: int | None
    latency_ms: float | None
    error: str | None
    retry_after: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class DeliveryWorker:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        resolver: Resolver = resolve,
        worker_id: str | None = None,
    ) -> None:
        if settings.delivery.lease_s <= settings.delivery.timeout_s:
            raise DeliveryError(
                f"delivery_lease_s ({settings.delivery.lease_s}) must exceed "
                f"delivery_timeout_s ({settings.delivery.timeout_s})",
                fix="raise SCRIBE_DELIVERY_LEASE_S, or a slow answer would be sent twice",
            )
        self.db = db
        self.settings = settings
        self.clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.resolver = resolver
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self._own_client = client is None
        # Our own client connects only to vetted addresses (pinning.py); an injected client
        # (tests, a site's proxy set-up) is used as it is.
        self._pins: PinnedBackend | None = None
        if client is None:
            client, self._pins = pinned_client(settings.delivery.timeout_s)
        self.client = client

    async def aclose(self) -> None:
        if self._own_client:
            await self.client.aclose()

    async def __aenter__(self) -> DeliveryWorker:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- the loop ---------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim what is due now, send it, record the outcomes. Returns the attempts made."""
        # The database work runs in a thread, never on the event loop: a web request that holds
        # SQLite's write lock commits from a threadpool job the event loop schedules, so a worker
        # waiting for that lock on the loop would wait for itself (until the busy timeout).
        claims = await asyncio.to_thread(self._claim, self.clock.now())
        if not claims:
            return 0
        limit = asyncio.Semaphore(max(1, self.settings.delivery.concurrency))

        async def one(claim: Claim) -> None:
            async with limit:
                result = await self._send(claim)
            await asyncio.to_thread(self._record, claim, result)

        await asyncio.gather(*(one(c) for c in claims))
        return len(claims)

    async def run(
        self,
        *,
        stop: asyncio.Event | None = None,
        max_seconds: float | None = None,
        until_idle: bool = False,
    ) -> int:
        """Poll until ``stop`` is set, ``max_seconds`` of real time pass, or (``until_idle``)
        nothing is due. Returns the attempts made."""
        stop = stop or asyncio.Event()
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        total = 0
        while not stop.is_set():
            made = await self.run_once()
            total += made
            if made:
                continue
            if until_idle:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            wait = self.settings.delivery.poll_interval_s
            if deadline is not None:
                wait = min(wait, max(0.0, deadline - time.monotonic()))
            try:
                await asyncio.wait_for(stop.wait(), timeout=wait)
            except TimeoutError:
                pass
            if deadline is not None and time.monotonic() >= deadline:
                break
        return total

    def next_due(self) -> dt.datetime | None:
        """When the earliest pending delivery (on an enabled endpoint) can next be claimed:
        its due time, or later if another (perhaps dead) worker's lease still holds it."""
        claimable = case(
            (Delivery.lease_until > Delivery.next_attempt_at, Delivery.lease_until),
            else_=Delivery.next_attempt_at,
        )
        with self.db.transaction() as tx:
            due: dt.datetime | None = tx.scalar(
                select(func.min(claimable))
                .join(Endpoint, Endpoint.id == Delivery.endpoint_id)
                .where(Delivery.status == PENDING, Endpoint.enabled.is_(True))
            )
            return due

    # -- claim ------------------------------------------------------------------------------

    def _claim(self, now: dt.datetime) -> list[Claim]:
        lease_until = now + dt.timedelta(seconds=self.settings.delivery.lease_s)
        token = f"{self.worker_id}:{secrets.token_hex(6)}"
        free = or_(Delivery.lease_until.is_(None), Delivery.lease_until <= now)
        with self.db.transaction() as tx:
            q = (
                select(Delivery.id)
                .join(Endpoint, Endpoint.id == Delivery.endpoint_id)
                .where(
                    Delivery.status == PENDING,
                    Endpoint.enabled.is_(True),
                    Delivery.next_attempt_at <= now,
                    free,
                )
                .order_by(Delivery.next_attempt_at, Delivery.id)
                .limit(self.settings.delivery.batch_size)
            )
            if not self.db.is_sqlite:
                # Several workers on PostgreSQL: each skips the rows another is claiming.
                q = q.with_for_update(skip_locked=True, of=Delivery)
            ids = list(tx.scalars(q))
            if not ids:
                return []
            # The conditional UPDATE is the claim itself: on SQLite (no row locks) two workers
            # may select the same row, but only one UPDATE can still find it free.
            claimed: list[int] = []
            for delivery_id in ids:
                res = cast(CursorResult[Any], tx.execute(  # an UPDATE: its result counts rows
                    update(Delivery)
                    .where(Delivery.id == delivery_id, Delivery.status == PENDING, free)
                    .values(lease_until=lease_until, lease_owner=token)
                    .execution_options(synchronize_session=False)
                ))
                if res.rowcount == 1:
                    claimed.append(delivery_id)
            rows = tx.execute(
                select(Delivery, OutboxMessage, Endpoint, DeliveryBody.body)
                .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
                .join(Endpoint, Endpoint.id == Delivery.endpoint_id)
                .outerjoin(DeliveryBody, DeliveryBody.delivery_id == Delivery.id)
                .where(Delivery.id.in_(claimed))
                .order_by(Delivery.next_attempt_at, Delivery.id)
            )
            return [
                Claim(
                    delivery_id=d.id,
                    token=token,
                    message_id=m.id,
                    event_type=m.event_type,
                    body=own if own is not None else m.body,  # the endpoint's own view
                    endpoint_id=ep.id,
                    url=ep.url,
                    secrets=tuple(signing_secrets(ep, now)),
                    attempts=d.attempts,
                )
                for d, m, ep, own in rows
            ]

    # -- send -------------------------------------------------------------------------------

    async def _send(self, claim: Claim) -> AttemptResult:
        attempted_at = self.clock.now()
        try:
            # Again at send time: DNS may have changed since the endpoint was registered. In a
            # thread: the lookup (getaddrinfo) blocks, and this loop is the server's own, serving
            # every request and live stream while a case system's DNS is slow.
            addresses = await asyncio.to_thread(check_url, claim.url, self.settings, self.resolver)
        except DeliveryError as exc:
            return AttemptResult(attempted_at, None, None, f"refused: {exc.message}")
        if self._pins is not None:
            parts = urlsplit(claim.url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
            self._pins.pin(parts.hostname or "", port, addresses[0].split("%", 1)[0])
        signed_at = dt.datetime.now(dt.timezone.utc)
        headers = {
            "webhook-id": claim.message_id,
            "webhook-timestamp": str(int(signed_at.timestamp())),
            "webhook-signature": signature_header(
                list(claim.secrets), claim.message_id, signed_at, claim.body
            ),
            "content-type": "application/json; charset=utf-8",
            "user-agent": USER_AGENT,
        }
        started = time.perf_counter()
        try:
            response = await self.client.post(
                claim.url, content=claim.body.encode("utf-8"), headers=headers
            )
        except httpx.TimeoutException as exc:
            return AttemptResult(
                attempted_at,
                None,
                _ms(started),
                f"timeout after {self.settings.delivery.timeout_s:g} s ({type(exc).__name__})",
            )
        except httpx.HTTPError as exc:
            return AttemptResult(attempted_at, None, _ms(started), _describe(exc))
        return AttemptResult(
            attempted_at,
            response.status_code,
            _ms(started),
            None if response.is_success else f"HTTP {response.status_code}",
            response.headers.get("retry-after"),
        )

    # -- record -----------------------------------------------------------------------------

    def _record(self, claim: Claim, result: AttemptResult) -> None:
        now = self.clock.now()
        with self.db.transaction() as tx:
            d = tx.get(Delivery, claim.delivery_id, with_for_update=not self.db.is_sqlite)
            if d is None:
                # dropped while in flight: its hearing was deleted or its endpoint revoked
                log.info("delivery %s -> %s: dropped while being sent", claim.message_id, claim.endpoint_id)
                return
            mine = d.lease_owner == claim.token and d.status == PENDING
            outcome = self._apply(d, result, now) if mine else "superseded"
            tx.add(
                DeliveryAttempt(
                    delivery_id=d.id,
                    message_id=claim.message_id,
                    endpoint_id=claim.endpoint_id,
                    attempted_at=result.attempted_at,
                    status_code=result.status_code,
                    latency_ms=result.latency_ms,
                    outcome=outcome,
                    error=result.error,
                    worker=self.worker_id,
                )
            )
        # ids, codes and timings only: never the URL's query, the body or a secret
        log.info(
            "delivery %s -> %s attempt %d: %s (%s, %.0f ms)",
            claim.message_id,
            claim.endpoint_id,
            claim.attempts + 1,
            outcome,
            result.status_code if result.status_code is not None else result.error,
            result.latency_ms or 0.0,
        )

    def _apply(self, d: Delivery, result: AttemptResult, now: dt.datetime) -> str:
        d.lease_owner = None
        d.lease_until = None
        d.last_status_code = result.status_code
        d.last_error = result.error
        if result.ok:
            d.attempts += 1
            d.status = DELIVERED
            d.delivered_at = now
            return "delivered"
        if result.status_code == GONE:
            # The receiver says this endpoint is gone for good: stop sending to it. The
            # delivery stays pending, so re-enabling the endpoint sends it (nothing lost).
            ep = d.endpoint
            ep.enabled = False
            ep.disabled_reason = "the receiver answered 410 Gone"
            ep.disabled_at = now
            ep.updated_at = now
            d.next_attempt_at = now
            log.warning("endpoint %s disabled: the receiver answered 410 Gone", ep.id)
            return "gone"
        d.attempts += 1
        if d.first_attempt_at is None:
            d.first_attempt_at = result.attempted_at
        delay = retry_delay(
            d.attempts,
            self.settings.delivery.retry_schedule_s,
            self.settings.delivery.jitter,
            self.rng,
        )
        if delay is None:
            d.status = FAILED
            return "failed"
        wanted = parse_retry_after(result.retry_after, now)
        if wanted is not None:
            # Honour the receiver's pace, but never park a message beyond the cap.
            delay = max(delay, min(wanted, self.settings.delivery.max_retry_after_s))
        d.next_attempt_at = now + dt.timedelta(seconds=delay)
        return "retry"


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 2)


def _describe(exc: httpx.HTTPError) -> str:
    # httpx messages name the error and the socket problem, not the URL or headers.
    text = str(exc).strip() or "no detail"
    return f"{type(exc).__name__}: {text[:200]}"
