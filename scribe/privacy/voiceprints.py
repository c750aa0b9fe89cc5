"""Voiceprints by office: who may see and delete one, and which a hearing's diarizer loads.

A voiceprint enrolled at the desk belongs to the enrolling person's office (and account); one
enrolled with ``scribe voiceprints enrol --office`` to that office. A hearing's live and
final-pass diarization load only the voiceprints of the hearing's office, plus those enrolled
on this machine without an office (the CLI on a one-office desk PC). An office's admin sees
and deletes that office's voiceprints; a person sees and deletes their own. Every deletion is
audited (web and CLI alike).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from scribe.accounts import audit
from scribe.accounts.audit import Action
from scribe.accounts.principal import Principal
from scribe.errors import DiarizationError
from scribe.privacy.models import VoiceprintOffice
from scribe.storage import Base, Database

if TYPE_CHECKING:
    from diarize import Voiceprint


def _ensure_tables(db: Database) -> None:
    from diarize.voiceprints import VoiceprintRow

    tables = [Base.metadata.tables[VoiceprintRow.__tablename__], Base.metadata.tables[VoiceprintOffice.__tablename__]]
    Base.metadata.create_all(db.engine, tables=tables)


@dataclass(frozen=True)
class VoiceprintEntry:
    id: str
    name: str
    role: str | None
    office: str | None  # None: enrolled on this machine without an office (every office's hearings)
    speech_seconds: float
    consent_given_at: dt.datetime
    consent_confirmed_by: str
    created_at: dt.datetime
    own: bool  # the asking person's own voiceprint


def assign(db: Database, voiceprint_id: str, office: str | None, user_id: int | None = None) -> None:
    if office is None:
        return
    _ensure_tables(db)
    with db.transaction() as tx:
        tx.merge(VoiceprintOffice(voiceprint_id=voiceprint_id, office=office, user_id=user_id))


def _may_see(who: Principal, row_office: str | None, row_user: int | None) -> tuple[bool, bool]:
    own = who.kind == "user" and row_user is not None and row_user == who.id
    if who.is_admin:
        return who.all_offices or row_office in (None, who.office), own
    return own, own


def listing(db: Database, who: Principal, office: str | None = None) -> list[VoiceprintEntry]:
    from diarize.voiceprints import VoiceprintRow

    _ensure_tables(db)
    with db.transaction() as tx:
        rows = tx.execute(
            select(VoiceprintRow, VoiceprintOffice)
            .outerjoin(VoiceprintOffice, VoiceprintOffice.voiceprint_id == VoiceprintRow.id)
            .order_by(VoiceprintRow.created_at)
        ).all()
    out = []
    for vp, scope in rows:
        row_office = scope.office if scope else None
        visible, own = _may_see(who, row_office, scope.user_id if scope else None)
        if not visible or (office is not None and row_office != office):
            continue
        out.append(VoiceprintEntry(vp.id, vp.name, vp.role, row_office, vp.speech_seconds, vp.consent_given_at,
                                   vp.consent_confirmed_by, vp.created_at, own))  # fmt: skip
    return out


def delete(db: Database, who: Principal | str, voiceprint_id: str) -> None:
    """Delete a voiceprint for good, audited. A person (``Principal``) must be allowed to see
    it; a string actor (the CLI: the machine's own operator) may delete any."""
    from diarize.voiceprints import VoiceprintRow

    _ensure_tables(db)
    with db.transaction() as tx:
        row = tx.get(VoiceprintRow, voiceprint_id)
        scope = tx.get(VoiceprintOffice, voiceprint_id)
        office = scope.office if scope else None
        if row is not None and isinstance(who, Principal):
            visible, _ = _may_see(who, office, scope.user_id if scope else None)
            if not visible:
                row = None  # another office's: answered like a missing one
        if row is None:
            raise DiarizationError(
                f"no voiceprint with id {voiceprint_id}", fix="list them on the admin page or with `scribe voiceprints list`"
            )
        tx.delete(row)
        if scope is not None:
            tx.delete(scope)
        audit.record(tx, who, Action.DELETE, "voiceprint", voiceprint_id, office=office)


def loader(db: Database) -> Callable[[str | None], Sequence[Voiceprint]]:
    """What a hearing's diarizer loads: the voiceprints of its office and those without one
    (``office=None``: every voiceprint, as a session outside any office, the CLI, does)."""
    from diarize.voiceprints import VoiceprintRow

    _ensure_tables(db)

    def load(office: str | None = None) -> Sequence[Voiceprint]:
        with db.transaction() as tx:
            q = select(VoiceprintRow).outerjoin(VoiceprintOffice, VoiceprintOffice.voiceprint_id == VoiceprintRow.id)
            if office is not None:
                q = q.where((VoiceprintOffice.office == office) | VoiceprintOffice.office.is_(None))
            return [r.to_voiceprint() for r in tx.scalars(q).all()]

    return load
