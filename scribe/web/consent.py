"""Recording consent, bound to a person rather than to a place in the party list.

Each party of a hearing carries a stable ``id`` (in ``Hearing.parties``); a consent row names
that id and the version of the recording notice that was read. A consent counts only for the
party it was given by, as that party stood then: a party replaced at the same position, or
whose name or role is changed, gets a new id, so the old consent no longer counts and the
new person must be asked (a corrected phone number or address keeps the id and the consent).
A notice whose wording changed (``NOTICE_VERSION``) must be read again.

Leaf module: it imports only the desk's tables, so the lifecycle and the routes share it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scribe.errors import SessionError
from scribe.web.models import Consent, Hearing

NOTICE_VERSION = "2026-11-v1"  # bump when the wording read to parties changes
# what makes a party the same person: anything else (phone, address, age...) is a correction
_IDENTITY = ("role", "name", "id_number")


def new_party_id() -> str:
    return uuid.uuid4().hex[:12]


def _identity(party: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(party.get(k) or "").strip() for k in _IDENTITY)


def ensure_party_ids(hearing: Hearing) -> list[dict[str, Any]]:
    """The parties, each with its id. Hearings written before ids existed get them here, and
    their consent rows (then keyed by position and name only) are bound to them when the
    name still matches."""
    parties = [dict(p) for p in hearing.parties or []]
    if all(p.get("id") for p in parties):
        return parties
    for i, party in enumerate(parties):
        if party.get("id"):
            continue
        party["id"] = new_party_id()
        for c in hearing.consents:
            if c.party_id is None and c.party_index == i and c.party_name == party.get("name"):
                c.party_id = party["id"]
    hearing.parties = parties  # a new list: JSON columns track assignment, not mutation
    return parties


def assign_ids(old: Sequence[dict[str, Any]], new: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ids for an edited party list. A party keeps its id only when it names one of this
    hearing's ids (or, sent without an id, stands where a party stood) *and* is the same
    person (role, name, ID number); anyone else is a new party with a new id."""
    by_id = {p["id"]: p for p in old if p.get("id")}
    used: set[str] = set()
    out: list[dict[str, Any]] = []
    for i, party in enumerate(new):
        party = dict(party)
        sent = party.pop("id", None)
        before = by_id.get(sent) if sent else (old[i] if i < len(old) else None)
        if before is not None and before["id"] not in used and _identity(before) == _identity(party):
            party["id"] = before["id"]
        else:
            party["id"] = new_party_id()
        used.add(party["id"])
        out.append(party)
    return out


@dataclass(frozen=True)
class PartyConsent:
    index: int
    party: dict[str, Any]
    consent: Consent | None  # the latest decision that counts for this party, if any

    @property
    def given(self) -> bool:
        return self.consent is not None and self.consent.consented


def status(hearing: Hearing) -> list[PartyConsent]:
    """Each current party with the latest decision of *that* person on the current notice."""
    parties = ensure_party_ids(hearing)
    latest: dict[str, Consent] = {}
    for c in hearing.consents:  # ordered by id: a later decision replaces an earlier one
        if c.party_id and c.notice_version == NOTICE_VERSION:
            latest[c.party_id] = c
    return [PartyConsent(i, p, latest.get(p["id"])) for i, p in enumerate(parties)]


def all_consented(hearing: Hearing) -> bool:
    rows = status(hearing)
    return bool(rows) and all(r.given for r in rows)


def missing(hearing: Hearing) -> list[PartyConsent]:
    return [r for r in status(hearing) if not r.given]


def require(hearing: Hearing) -> None:
    """The one consent check before any audio is kept (Record, WebSocket start and resume)."""
    if not hearing.parties:
        raise SessionError("recording refused: the hearing has no parties",
                           fix="add the parties (当事人) to the case data first")
    lacking = missing(hearing)
    if lacking:
        names = "、".join(r.party.get("name") or f"#{r.index + 1}" for r in lacking)
        raise SessionError(
            f"recording refused: no consent on record from {names}",
            fix="read the recording notice to each party and confirm their consent first",
        )


def find_party(hearing: Hearing, *, party_id: str | None, party_index: int | None) -> PartyConsent:
    rows = status(hearing)
    if party_id is not None:
        for r in rows:
            if r.party["id"] == party_id:
                return r
        raise SessionError(f"this hearing has no party with id {party_id!r}",
                           fix="reload the page: the party list has changed")
    if party_index is None or not 0 <= party_index < len(rows):
        raise SessionError(
            f"this hearing has {len(rows)} parties; there is no party {party_index}",
            fix="pick a party from the list",
        )
    return rows[party_index]
