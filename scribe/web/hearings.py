"""Hearing records: create, find (office-scoped), consent, speakers, status changes.

Office scoping lives here, once: ``get_visible`` answers "not found" for another office's
hearing, so a mediator cannot even learn that it exists.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from scribe.accounts.principal import Principal
from scribe.errors import ScribeError, SessionError
from scribe.storage import utcnow
from scribe.lifecycle import HearingState
from scribe.web import consent as consents
from scribe.web.consent import NOTICE_VERSION
from scribe.web import intake
from scribe.web.models import Consent, Hearing
from scribe.web.schemas import (
    CATEGORIES,
    ConsentIn,
    ConsentOut,
    HearingIn,
    HearingKind,
    HearingOut,
    HearingPatch,
    PartyIn,
    SpeakerIn,
    StaffIn,
    StaffOut,
)

__all__ = ["NOTICE_VERSION"]  # kept importable from here (scribe.web.consent holds it)


class HearingNotFound(ScribeError):
    exit_code = 7
    code = "hearing_not_found"

    def __init__(self, hearing_id: str) -> None:
        super().__init__(
            f"no hearing {hearing_id!r} in your office",
            fix="check the id in the session list",
            params={"id": hearing_id},
        )


def _check_category(category: str) -> str:
    if category and category not in CATEGORIES:
        raise SessionError(
            f"unknown dispute category {category!r}",
            fix=f"use one of: {'、'.join(CATEGORIES)}",
            code="unknown_category", params={"category": category},
        )
    return category


def _intake(tx: Session, office: str, kind: HearingKind, parties: list[PartyIn], staff: list[StaffIn],
            on: dt.date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The parties and staff as the hearing keeps them, or every problem at once."""
    problems = intake.check_parties(kind, parties, on)
    staff_rows, staff_problems = intake.resolve_staff(tx, office, staff)
    if problems or staff_problems:
        raise intake.InvalidRequest([*problems, *staff_problems])
    return [intake.party_record(p, on) for p in parties], staff_rows


def _clean_hotwords(words: list[str]) -> list[str]:
    out: list[str] = []
    for w in words:
        w = w.strip()[:64]
        if w and w not in out:
            out.append(w)
    return out


def recognition_hotwords(hearing: Hearing) -> list[str]:
    """The words the recogniser must spell as typed, as they stand when recording starts: the
    typed hotwords, every party's and staff member's name and the place. Taken from the record
    rather than kept in ``hearing.hotwords``, so a party added or renamed after the hearing was
    created, a name given to a speaker, or an edit of the hotword list (which replaces it, party
    names included) still reaches the live decodes and the final pass."""
    names = [p.get("name") or "" for p in hearing.parties or []]
    names += [s.get("name") or "" for s in hearing.staff or []]
    names += [(who or {}).get("name") or "" for who in (hearing.speakers or {}).values()]
    return _clean_hotwords([*(hearing.hotwords or []), *names, hearing.place or ""])


def _party_names(parties: list[dict[str, Any]]) -> str:
    return " ".join(p.get("name", "") for p in parties)


def create(tx: Session, principal: Principal, data: HearingIn, office: str | None = None) -> Hearing:
    office = office or principal.office
    day = data.hearing_date or utcnow().date()
    parties, staff = _intake(tx, office, data.kind, data.parties, data.staff, day)
    parties = consents.assign_ids([], parties)
    # party names are the first hotwords: whisper then spells them as typed
    hotwords = _clean_hotwords([p["name"] for p in parties] + list(data.hotwords))
    hearing = Hearing(
        office=office,
        kind=data.kind.value,
        case_number=data.case_number.strip(),
        title=data.title.strip(),
        category=_check_category(data.category.strip()),
        language=data.language,
        place=data.place.strip(),
        parties=parties,
        party_names=_party_names(parties),
        staff=staff,
        hotwords=hotwords,
        speakers={},
        status=HearingState.CREATED.value,
        created_by=principal.id if principal.kind == "user" else None,
        hearing_date=day,
    )
    tx.add(hearing)
    tx.flush()
    return hearing


def visible_query(principal: Principal) -> Select[Hearing]:
    q = select(Hearing).options(selectinload(Hearing.consents))
    if not principal.all_offices:
        q = q.where(Hearing.office == principal.office)
    return q


def get_visible(tx: Session, principal: Principal, hearing_id: str) -> Hearing:
    hearing = tx.scalar(visible_query(principal).where(Hearing.id == hearing_id))
    if hearing is None:
        raise HearingNotFound(hearing_id)
    return hearing


def search(
    tx: Session,
    principal: Principal,
    *,
    q: str = "",
    case_number: str = "",
    party: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    category: str = "",
    status: str = "",
    kind: str = "",
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[Hearing]]:
    query = visible_query(principal)

    def like(text: str) -> str:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"%{escaped}%"

    if q.strip():
        pattern = like(q.strip())
        query = query.where(
            or_(
                Hearing.case_number.like(pattern, escape="\\"),
                Hearing.party_names.like(pattern, escape="\\"),
                Hearing.title.like(pattern, escape="\\"),
            )
        )
    if case_number.strip():
        query = query.where(Hearing.case_number.like(like(case_number.strip()), escape="\\"))
    if party.strip():
        query = query.where(Hearing.party_names.like(like(party.strip()), escape="\\"))
    if date_from:
        query = query.where(Hearing.hearing_date >= date_from)
    if date_to:
        query = query.where(Hearing.hearing_date <= date_to)
    if category:
        query = query.where(Hearing.category == category)
    if status:
        query = query.where(Hearing.status == status)
    if kind:
        query = query.where(Hearing.kind == kind)
    total = tx.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = tx.scalars(
        query.order_by(Hearing.created_at.desc(), Hearing.id).limit(limit).offset(offset)
    ).all()
    return int(total), list(rows)


def update(tx: Session, hearing: Hearing, patch: HearingPatch) -> list[str]:
    changed: list[str] = []
    for name in ("case_number", "title", "place"):
        value = getattr(patch, name)
        if value is not None and value.strip() != getattr(hearing, name):
            setattr(hearing, name, value.strip())
            changed.append(name)
    if patch.category is not None and patch.category != hearing.category:
        hearing.category = _check_category(patch.category.strip())
        changed.append("category")
    if patch.parties is not None or patch.staff is not None:
        if patch.parties is not None and hearing.status != HearingState.CREATED.value \
                and len(patch.parties) < len(hearing.parties):
            raise SessionError(
                "parties cannot be removed once recording has begun (their consent is on record)",
                fix="correct a party's details instead of removing them",
                code="parties_locked",
            )
        kind = HearingKind(hearing.kind)
        # what is kept as it was is not checked again: parties typed before today's rules, staff
        # whose account was disabled since (they still sat at this hearing)
        parties = patch.parties if patch.parties is not None else []
        staff = patch.staff if patch.staff is not None else []
        new_parties, new_staff = _intake(tx, hearing.office, kind, parties, staff, hearing.hearing_date)
        if patch.parties is not None:
            # a party replaced or renamed gets a new id: its consent no longer counts
            hearing.parties = consents.assign_ids(consents.ensure_party_ids(hearing), new_parties)
            hearing.party_names = _party_names(hearing.parties)
            changed.append("parties")
        if patch.staff is not None:
            hearing.staff = new_staff
            changed.append("staff")
    if patch.hotwords is not None:
        hearing.hotwords = _clean_hotwords(patch.hotwords)
        changed.append("hotwords")
    return changed


def all_consented(hearing: Hearing) -> bool:
    return consents.all_consented(hearing)


def record_consent(tx: Session, principal: Principal, hearing: Hearing, data: ConsentIn) -> Consent:
    row = consents.find_party(hearing, party_id=data.party_id, party_index=data.party_index)
    if data.consented and not data.notice_read:
        raise SessionError(
            "consent needs the recording notice to have been read to the party first",
            fix="read the notice aloud (本调解室已安装同步录音录像设备…), then confirm",
            code="consent_notice_unread",
        )
    consent = Consent(
        hearing_id=hearing.id,
        party_index=row.index,
        party_id=row.party["id"],
        party_name=row.party.get("name") or "",
        consented=data.consented,
        notice_version=NOTICE_VERSION,
        confirmed_by=principal.id,
        confirmed_by_name=principal.name,
        at=utcnow(),
    )
    hearing.consents.append(consent)
    tx.flush()
    return consent


def require_consent(hearing: Hearing) -> None:
    consents.require(hearing)


def set_speaker(hearing: Hearing, label: str, data: SpeakerIn) -> None:
    speakers = dict(hearing.speakers or {})
    speakers[label] = {"role": data.role.value, "name": data.name.strip()}
    hearing.speakers = speakers  # a new dict: JSON columns track assignment, not mutation


def to_out(hearing: Hearing) -> HearingOut:
    rows = consents.status(hearing)  # the decisions that count for the parties as they are now
    return HearingOut(
        id=hearing.id,
        office=hearing.office,
        kind=hearing.kind,  # type: ignore[arg-type]
        case_number=hearing.case_number,
        title=hearing.title,
        category=hearing.category,
        language=hearing.language,
        place=hearing.place,
        parties=hearing.parties,
        staff=[StaffOut.model_validate(s) for s in hearing.staff or []],
        hotwords=hearing.hotwords,
        speakers=hearing.speakers or {},
        status=hearing.status,  # type: ignore[arg-type]
        hearing_date=hearing.hearing_date,
        created_at=hearing.created_at,
        consents=[
            ConsentOut(
                party_index=r.index,
                party_id=r.party["id"],
                party_name=r.consent.party_name,
                consented=r.consent.consented,
                notice_version=r.consent.notice_version,
                confirmed_by_name=r.consent.confirmed_by_name,
                at=r.consent.at,
            )
            for r in rows
            if r.consent is not None
        ],
        all_consented=bool(rows) and all(r.given for r in rows),
        live_session_id=hearing.live_session_id,
    )
