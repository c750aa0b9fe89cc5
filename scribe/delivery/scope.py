"""Who an endpoint serves: its offices, whether it gets transcript links, whether it is revoked.

A case system is given only what concerns its own offices (PIPL Art. 6, minimum necessary):
a message about a hearing of office A is routed to an endpoint only when A is in its list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from scribe.delivery.models import PENDING, Delivery, DownloadLink, Endpoint, EndpointScope
from scribe.errors import DeliveryError
from scribe.storage import utcnow

ALL = "*"


@dataclass(frozen=True)
class Scope:
    offices: tuple[str, ...]
    include_transcript: bool
    revoked_at: dt.datetime | None

    def serves(self, office: str | None) -> bool:
        if self.revoked_at is not None:
            return False
        return ALL in self.offices or (office is not None and office in self.offices)


def clean_offices(offices: Sequence[str]) -> list[str]:
    out: list[str] = []
    for o in offices:
        o = (o or "").strip()
        if o and o not in out:
            out.append(o)
    if not out:
        raise DeliveryError(
            "an endpoint needs the offices it serves",
            fix="name one or more offices (or '*' for a platform that serves every office)",
        )
    return [ALL] if ALL in out else out


def scope_of(tx: Session, endpoint_id: str) -> Scope:
    row = tx.get(EndpointScope, endpoint_id)
    if row is None:  # registered before scopes: every office, no transcript (see the model)
        return Scope((ALL,), False, None)
    return Scope(tuple(row.offices or ()), bool(row.include_transcript), row.revoked_at)


def scopes(tx: Session) -> dict[str, Scope]:
    """Every endpoint's scope, by endpoint id (one query for a listing or an enqueue)."""
    rows = {r.endpoint_id: r for r in tx.scalars(select(EndpointScope))}
    out: dict[str, Scope] = {}
    for ep_id in tx.scalars(select(Endpoint.id)):
        r = rows.get(ep_id)
        out[ep_id] = (
            Scope((ALL,), False, None)
            if r is None
            else Scope(tuple(r.offices or ()), bool(r.include_transcript), r.revoked_at)
        )
    return out


def set_scope(
    tx: Session,
    endpoint_id: str,
    *,
    offices: Sequence[str] | None = None,
    include_transcript: bool | None = None,
) -> Scope:
    row = tx.get(EndpointScope, endpoint_id)
    if row is None:
        row = EndpointScope(endpoint_id=endpoint_id, offices=[ALL], include_transcript=False)
        tx.add(row)
    if row.revoked_at is not None:
        raise DeliveryError(
            f"endpoint {endpoint_id} is revoked", fix="add the case system again as a new endpoint"
        )
    if offices is not None:
        row.offices = clean_offices(offices)
    if include_transcript is not None:
        row.include_transcript = include_transcript
    tx.flush()
    return scope_of(tx, endpoint_id)


def revoke(tx: Session, endpoint_id: str, *, now: dt.datetime | None = None) -> int:
    """End an endpoint for good: disabled, its queued deliveries dropped (they hold personal
    data it must no longer get), every link it was given invalid. Returns the links revoked."""
    from scribe.delivery.endpoints import get_endpoint

    now = now or utcnow()
    ep = get_endpoint(tx, endpoint_id)
    set_scope(tx, endpoint_id)  # a row to carry revoked_at
    row = tx.get(EndpointScope, endpoint_id)
    assert row is not None
    row.revoked_at = now
    ep.enabled = False
    ep.disabled_reason = "revoked by an admin"
    ep.disabled_at = now
    ep.updated_at = now
    from scribe.delivery.outbox import drop_deliveries

    drop_deliveries(
        tx, list(tx.scalars(select(Delivery.id).where(Delivery.endpoint_id == endpoint_id, Delivery.status == PENDING)))
    )
    res = tx.execute(
        update(DownloadLink)
        .where(DownloadLink.endpoint_id == endpoint_id, DownloadLink.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(res, "rowcount", 0) or 0)


def revoke_document_links(tx: Session, document_ids: Sequence[str], *, now: dt.datetime | None = None) -> int:
    """Every download link of these documents stops working. Returns how many were live."""
    if not document_ids:
        return 0
    res = tx.execute(
        update(DownloadLink)
        .where(DownloadLink.document_id.in_(list(document_ids)), DownloadLink.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(res, "rowcount", 0) or 0)
