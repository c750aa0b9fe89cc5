"""A hearing record as the shared case-file format (``scribe.casefile.CaseFile``, S.json).

The drafting code and the live engine read that format; the desk keeps its own table because it
also tracks office, status and consent. Speaker labels map to people: staff roles become staff
entries, party roles point at the party with that name (or that role) or add one.
"""

from __future__ import annotations

from typing import Any

from scribe.web.models import Hearing

STAFF_ROLES = {"mediator": "调解员", "recorder": "记录人", "staff": "接待人"}
_PARTY_KEYS = ("gender", "ethnicity", "age", "birth_date", "occupation", "employer", "address", "phone",
               "id_type", "id_number")
_DECLINED = "拒绝提供"
_GENDERS = {"男": "男", "女": "女", "male": "男", "female": "女", "m": "男", "f": "女"}


def to_casefile(hearing: Hearing) -> dict[str, Any]:
    parties: list[dict[str, Any]] = []
    for i, p in enumerate(hearing.parties or []):
        entry: dict[str, Any] = {"id": f"p{i + 1}", "role": p["role"], "name": p.get("name") or None}
        for key in _PARTY_KEYS:
            value = p.get(key)
            if key == "gender":
                value = _GENDERS.get(str(value or "").strip().lower())
            if value not in (None, "", _DECLINED) and not (key == "id_type" and not p.get("id_number")):
                entry[key] = value
        if p.get("identity_declined") or _DECLINED in (p.get("gender"), p.get("name")):
            entry["identity_declined"] = True
        if isinstance(p.get("represents"), int):
            entry["represents"] = f"p{p['represents'] + 1}"
        parties.append(entry)
    # the staff picked at intake first: a speaker later named as one of them maps to that entry
    staff: list[dict[str, Any]] = [
        {"id": f"s{j + 1}", "role": STAFF_ROLES.get(s.get("role", ""), "调解员"), "name": s.get("name") or None}
        for j, s in enumerate(hearing.staff or [])
    ]
    speakers: dict[str, str] = {}
    for label, who in sorted((hearing.speakers or {}).items()):
        role, name = who.get("role", ""), (who.get("name") or "").strip()
        if role in STAFF_ROLES:
            match = next((s for s in staff if s["role"] == STAFF_ROLES[role] and s.get("name") == (name or None)), None)
            if match is None and not name:  # "the mediator", unnamed: the one picked at intake
                match = next((s for s in staff if s["role"] == STAFF_ROLES[role]), None)
            if match is None:
                match = {"id": f"s{len(staff) + 1}", "role": STAFF_ROLES[role], "name": name or None}
                staff.append(match)
            speakers[label] = match["id"]
            continue
        match = next((p for p in parties if name and p.get("name") == name), None)
        if match is None and not name:
            match = next((p for p in parties if p["role"] == role), None)
        if match is None:
            match = {"id": f"p{len(parties) + 1}", "role": role or "other", "name": name or None}
            parties.append(match)
        speakers[label] = match["id"]
    return {
        "schema_version": 1,
        "session_type": hearing.kind,
        "case_number": hearing.case_number or None,
        "date": hearing.hearing_date.isoformat(),
        "place": hearing.place or None,
        "organisation": hearing.office,
        "dispute_category": hearing.category or None,
        "language": "en" if hearing.language == "en" else "zh",
        "staff": staff,
        "parties": parties,
        "hotwords": list(hearing.hotwords or []),
        "speakers": speakers,
    }
