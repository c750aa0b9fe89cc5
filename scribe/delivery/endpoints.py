"""The endpoint registry: add, rotate, disable, enable, list (revoke and office scope:
``scribe.delivery.scope``).

Every function takes the caller's transaction (``db.transaction()``), so an admin action and
its audit trail commit together.
"""

from __future__ import annotations

import datetime as dt
import secrets as _secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from scribe.delivery.events import EVENT_TYPES
from scribe.delivery.models import PENDING, Delivery, Endpoint
from scribe.delivery.safety import Resolver, check_url, resolve
from scribe.delivery.scope import Scope, clean_offices, scope_of, scopes, set_scope
from scribe.delivery.signing import check_secret, new_secret
from scribe.errors import DeliveryError
from scribe.settings import Settings
from scribe.storage import utcnow


@dataclass(frozen=True)
class EndpointInfo:
    """What an admin sees of an endpoint: never the secret."""

    id: str
    name: str
    url: str
    event_types: tuple[str, ...]
    enabled: bool
    disabled_reason: str | None
    rotating_until: dt.datetime | None  # the old secret still signs until then
    offices: tuple[str, ...] = ("*",)  # the offices whose hearings it is sent ("*": every one)
    include_transcript: bool = False  # opted in to transcript links
    revoked_at: dt.datetime | None = None

    @classmethod
    def of(cls, ep: Endpoint, now: dt.datetime | None = None, scope: Scope | None = None) -> EndpointInfo:
        now = now or utcnow()
        rotating = ep.previous_secret_expires_at
        scope = scope or Scope(("*",), False, None)
        return cls(
            id=ep.id,
            name=ep.name,
            url=ep.url,
            event_types=tuple(ep.event_types),
            enabled=ep.enabled,
            disabled_reason=ep.disabled_reason,
            rotating_until=rotating if rotating and rotating > now else None,
            offices=scope.offices,
            include_transcript=scope.include_transcript,
            revoked_at=scope.revoked_at,
        )


def add_endpoint(
    tx: Session,
    url: str,
    event_types: list[str],
    settings: Settings,
    *,
    name: str | None = None,
    secret: str | None = None,
    resolver: Resolver = resolve,
    offices: Sequence[str] = ("*",),
    include_transcript: bool = False,
) -> tuple[EndpointInfo, str]:
    """Register a case system. Returns its info and its signing secret (show it once).

    ``offices``: whose hearings it is sent (the CLI and the admin page make the admin name
    them; "*" is a platform that serves every office). ``include_transcript``: give it links
    to the transcript too (off: the documents only)."""
    check_url(url, settings, resolver)
    office_list = clean_offices(offices)
    unknown = sorted(set(event_types) - set(EVENT_TYPES) - {"*"})
    if unknown or not event_types:
        raise DeliveryError(
            f"unknown or missing event types {unknown}",
            fix=f"subscribe to some of {sorted(EVENT_TYPES)} (or '*' for all)",
        )
    secret = check_secret(secret) if secret else new_secret()
    ep = Endpoint(
        id=f"ep_{_secrets.token_hex(8)}",
        name=name or url,
        url=url,
        event_types=sorted(set(event_types)),
        secret=secret,
        enabled=True,
    )
    tx.add(ep)
    tx.flush()
    scope = set_scope(tx, ep.id, offices=office_list, include_transcript=include_transcript)
    return EndpointInfo.of(ep, scope=scope), secret


def get_endpoint(tx: Session, endpoint_id: str) -> Endpoint:
    ep = tx.get(Endpoint, endpoint_id)
    if ep is None:
        raise DeliveryError(
            f"there is no endpoint {endpoint_id!r}", fix="see `scribe endpoints list` for the ids"
        )
    return ep


def rotate_secret(
    tx: Session,
    endpoint_id: str,
    *,
    grace: dt.timedelta,
    now: dt.datetime | None = None,
    secret: str | None = None,
) -> str:
    """Give the endpoint a new secret; the old one keeps signing (beside it) for ``grace``.

    Returns the new secret. During the grace period every request carries two ``v1,``
    signatures, so the receiver can switch secrets whenever it likes.
    """
    ep = get_endpoint(tx, endpoint_id)
    now = now or utcnow()
    new = check_secret(secret) if secret else new_secret()
    ep.previous_secret = ep.secret
    ep.previous_secret_expires_at = now + grace
    ep.secret = new
    ep.updated_at = now
    return new


def signing_secrets(ep: Endpoint, now: dt.datetime) -> list[str]:
    """The secrets that sign a request sent ``now``: the current one, then the old one while
    its grace period lasts."""
    out = [ep.secret]
    if ep.previous_secret and ep.previous_secret_expires_at and ep.previous_secret_expires_at > now:
        out.append(ep.previous_secret)
    return out


def disable_endpoint(
    tx: Session, endpoint_id: str, reason: str, *, now: dt.datetime | None = None
) -> None:
    """Stop sending to the endpoint. Its deliveries stay queued until it is enabled again."""
    ep = get_endpoint(tx, endpoint_id)
    ep.enabled = False
    ep.disabled_reason = reason
    ep.disabled_at = now or utcnow()
    ep.updated_at = ep.disabled_at


def enable_endpoint(
    tx: Session,
    endpoint_id: str,
    settings: Settings,
    *,
    now: dt.datetime | None = None,
    resolver: Resolver = resolve,
) -> None:
    """Send to the endpoint again; its queued deliveries fall due at once."""
    ep = get_endpoint(tx, endpoint_id)
    if scope_of(tx, endpoint_id).revoked_at is not None:
        raise DeliveryError(
            f"endpoint {endpoint_id} was revoked and cannot be enabled",
            fix="add the case system again as a new endpoint (a new secret, new links)",
        )
    check_url(ep.url, settings, resolver)
    now = now or utcnow()
    ep.enabled = True
    ep.disabled_reason = None
    ep.disabled_at = None
    ep.updated_at = now
    for delivery in tx.scalars(
        select(Delivery).where(Delivery.endpoint_id == ep.id, Delivery.status == PENDING)
    ):
        delivery.next_attempt_at = min(delivery.next_attempt_at, now)


def list_endpoints(tx: Session) -> list[EndpointInfo]:
    now = utcnow()
    by_id = scopes(tx)
    endpoints = tx.scalars(select(Endpoint).order_by(Endpoint.created_at))
    return [EndpointInfo.of(ep, now, by_id.get(ep.id)) for ep in endpoints]
