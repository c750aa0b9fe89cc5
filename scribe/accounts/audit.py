"""The audit log: one row per view, change, approval, export or deletion.

Written in the same transaction as the change it records, so the log and the data agree.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from scribe.accounts.models import AuditEvent
from scribe.accounts.principal import Principal


class Action(StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
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
