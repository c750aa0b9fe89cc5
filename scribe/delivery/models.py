"""Tables of the delivery area: endpoints, the outbox, per-endpoint deliveries, the attempt
log, and the API tokens case systems pull files with."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scribe.delivery.columns import UTCDateTime
from scribe.storage import Base, utcnow
from scribe.storage.sealed import SealedString

# delivery status values
PENDING = "pending"  # waiting for its next attempt (or for its endpoint to be re-enabled)
DELIVERED = "delivered"  # a 2xx came back
FAILED = "failed"  # every retry of the schedule failed; an admin replay starts it again


class Endpoint(Base):
    """A case system that receives webhooks."""

    __tablename__ = "delivery_endpoints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text)
    event_types: Mapped[list[str]] = mapped_column(JSON)
    # Signing secrets must be readable to sign with (HMAC): stored encrypted, with a key file
    # of their own (scribe.storage.sealed; docs/security.md)
    secret: Mapped[str] = mapped_column(SealedString())
    previous_secret: Mapped[str | None] = mapped_column(SealedString(), default=None)
    previous_secret_expires_at: Mapped[dt.datetime | None] = mapped_column(
        UTCDateTime, default=None
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text, default=None)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def subscribes_to(self, event_type: str) -> bool:
        return "*" in self.event_types or event_type in self.event_types


class OutboxMessage(Base):
    """One event, written in the same transaction as the change that caused it.

    ``id`` is the ``webhook-id`` every receiver sees, on every retry and replay. ``body`` is
    the exact JSON text sent, fixed at enqueue time so every attempt carries the same bytes.
    """

    __tablename__ = "delivery_outbox"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(80), index=True)
    subject_id: Mapped[str | None] = mapped_column(String(80), index=True)
    office: Mapped[str | None] = mapped_column(String(200), default=None)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    deliveries: Mapped[list[Delivery]] = relationship(back_populates="message")


class Delivery(Base):
    """The state of one message towards one endpoint."""

    __tablename__ = "delivery_deliveries"
    __table_args__ = (
        UniqueConstraint("message_id", "endpoint_id"),
        Index("ix_delivery_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("delivery_outbox.id"), index=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("delivery_endpoints.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    # attempts in the current cycle (a replay starts a new cycle); the log keeps them all
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    first_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # a worker's claim; a claim past its lease is free again (the worker died mid-request)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    lease_owner: Mapped[str | None] = mapped_column(String(80), default=None)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    message: Mapped[OutboxMessage] = relationship(back_populates="deliveries")
    endpoint: Mapped[Endpoint] = relationship()


class DeliveryAttempt(Base):
    """The delivery log: one row per request sent (or refused before sending)."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("delivery_deliveries.id"), index=True)
    message_id: Mapped[str] = mapped_column(String(40), index=True)
    endpoint_id: Mapped[str] = mapped_column(String(40), index=True)
    attempted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    latency_ms: Mapped[float | None] = mapped_column(Float, default=None)
    outcome: Mapped[str] = mapped_column(String(20))  # delivered|retry|failed|gone|refused
    error: Mapped[str | None] = mapped_column(Text, default=None)  # no bodies, no secrets
    worker: Mapped[str | None] = mapped_column(String(80), default=None)


class ApiToken(Base):
    """A scoped token a case system pulls documents with. Only its SHA-256 is stored."""

    __tablename__ = "delivery_api_tokens"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    office: Mapped[str | None] = mapped_column(String(200), default=None)  # None: every office
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)


# -- who an endpoint serves, what it receives, and the links it was given -----------------------
# New tables rather than new columns: ``create_schema`` adds a table to an existing database,
# never a column, so an office's database from before keeps working (no migration step).


class EndpointScope(Base):
    """The offices an endpoint serves and whether it opted in to transcript links.

    An endpoint without a row (registered before scopes existed) serves every office ("*") and
    gets no transcript link: the admin page shows it as such so it can be narrowed."""

    __tablename__ = "delivery_endpoint_scopes"

    endpoint_id: Mapped[str] = mapped_column(ForeignKey("delivery_endpoints.id"), primary_key=True)
    offices: Mapped[list[str]] = mapped_column(JSON, default=list)  # ["*"]: every office
    include_transcript: Mapped[bool] = mapped_column(Boolean, default=False)
    # revoked: nothing more is sent, every link it was given stops working, it cannot be enabled
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)


class DeliveryBody(Base):
    """The exact text one endpoint is sent for a message, when it differs from the message's
    body: its own download links, the transcript left out unless it opted in. Fixed at enqueue
    time like the message body, so every retry to that endpoint carries the same bytes."""

    __tablename__ = "delivery_bodies"

    delivery_id: Mapped[int] = mapped_column(ForeignKey("delivery_deliveries.id"), primary_key=True)
    body: Mapped[str] = mapped_column(Text)


class DownloadLink(Base):
    """One signed download link given to one endpoint for one file of one document version.

    The signature binds the link's id, so a link works only while its row says so: revoking
    the endpoint or the document (or deleting the hearing) ends it before it expires."""

    __tablename__ = "delivery_links"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    document_id: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer)
    endpoint_id: Mapped[str | None] = mapped_column(String(40), index=True, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    pulls: Mapped[int] = mapped_column(Integer, default=0)
    last_pulled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
