"""The audit log: one row per view, change, approval, export or deletion (docs/security.md).

Reads of personal data are rows too: a hearing or document opened, each hearing or document a
list showed, a transcript replayed over the WebSocket, an audio span, a case system's pull.

Written in the same transaction as the change it records, so the log and the data agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from scribe.accounts.models import AuditEvent
from scribe.accounts.principal import Principal


class Action(StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    UNLOCK = "unlock"
    VIEW = "view"
    CREATE = "create"
    CHANGE = "change"
    CONSENT = "consent"
    RECORD = "record"
    APPROVE = "approve"
    RETURN = "return"
    EXPORT = "export"
    DELETE = "delete"


def record(
    tx: Session,
    who: Principal | str,
    action: Action,
    object_type: str,
    object_id: str | int,
    *,
    office: str | None = None,
    client: str | None = None,
    **detail: Any,
) -> AuditEvent:
    event = AuditEvent(
        actor=who.actor if isinstance(who, Principal) else who,
        action=action.value,
        object_type=object_type,
        object_id=str(object_id),
        office=office,
        client=client,
        detail=detail,
    )
    tx.add(event)
    return event


def record_reads(
    tx: Session,
    who: Principal | str,
    object_type: str,
    objects: Iterable[tuple[str | int, str | None]],
    **detail: Any,
) -> int:
    """One ``view`` row per object a list showed (``(id, office)`` pairs), so "who has seen
    this hearing" is answered by its id alone. Ids only: a search's terms are personal data
    (a party's name, a phone number) and are never written here."""
    n = 0
    for object_id, office in objects:
        record(tx, who, Action.VIEW, object_type, object_id, office=office, **detail)
        n += 1
    return n
