"""The rules an intake form must meet beyond each field's own shape (``scribe.web.schemas``).

They need more than one field or the kind of hearing: an agent or relative names the party they
speak for; 拒绝提供 is a consultation visitor's right, not a mediation party's; a resident
identity number (GB 11643) has a valid check digit and agrees with the gender and birth date
typed beside it; staff picked from accounts belong to the office. Every breach is a ``Problem``
naming the person and the field, so the page can say "申请人 张三：身份证号码校验位不对".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from dataclasses import field as dataclass_field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scribe.accounts.models import User
from scribe.errors import ApiError
from scribe.web.schemas import DECLINED, HearingKind, PartyIn, PartyRole, StaffIn

RESIDENT_ID = "居民身份证"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
SPEAKS_FOR = (PartyRole.AGENT, PartyRole.RELATIVE)
PRINCIPALS = (PartyRole.APPLICANT, PartyRole.RESPONDENT, PartyRole.THIRD_PARTY, PartyRole.VISITOR)
_PHONE_CHARS = set("0123456789 +-()（）转#")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request, in terms the catalogue can say in words.

    ``kind`` is the catalogue's ``v_<kind>`` message; ``party``/``staff`` are indexes into
    the request's lists (with the role and name typed there, so the message can name them)."""

    field: str
    kind: str
    party: int | None = None
    staff: int | None = None
    role: str = ""
    name: str = ""
    extra: dict[str, Any] = dataclass_field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if v not in (None, "", {}) and k != "extra"}
        out.update(self.extra)
        return out


class InvalidRequest(ApiError):
    def __init__(self, problems: Iterable[Problem]) -> None:
        listed = [p.as_json() for p in problems]
        words = "; ".join(f"{_where(p)}{p['field']}: {p['kind']}" for p in listed)
        super().__init__(422, "invalid", f"invalid request: {words}", fix="correct those fields",
                         params={"problems": listed})


def _where(p: dict[str, Any]) -> str:
    if "party" in p:
        return f"parties.{p['party']}."
    if "staff" in p:
        return f"staff.{p['staff']}."
    return ""


def id_number_problem(number: str) -> tuple[str, dict[str, Any]] | None:
    """Why ``number`` is no valid resident identity number, or None. GB 11643-1999: 17 digits
    (6 address, 8 birth date, 3 sequence, odd for men) and a check character."""
    n = number.strip().upper()
    if len(n) != 18 or not n[:17].isdigit() or not (n[17].isdigit() or n[17] == "X"):
        return "id_shape", {}
    try:
        born = dt.date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
    except ValueError:
        return "id_birth", {}
    if born > dt.date.today() or born.year < 1890:
        return "id_birth", {}
    expected = _CHECK[sum(int(d) * w for d, w in zip(n[:17], _WEIGHTS, strict=True)) % 11]
    if n[17] != expected:
        return "id_checksum", {"expected": expected}
    return None


def id_birth_date(number: str) -> dt.date:
    n = number.strip()
    return dt.date(int(n[6:10]), int(n[10:12]), int(n[12:14]))


def id_gender(number: str) -> str:
    return "男" if int(number.strip()[16]) % 2 else "女"


def age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def check_parties(kind: HearingKind, parties: list[PartyIn], on: dt.date) -> list[Problem]:
    problems: list[Problem] = []
    for i, p in enumerate(parties):
        def bad(name: str, what: str, **extra: Any) -> None:
            problems.append(Problem(name, what, party=i, role=p.role.value, name=p.name.strip(), extra=extra))  # noqa: B023

        declined = p.identity_declined
        if kind is HearingKind.MEDIATION:
            if p.role is PartyRole.VISITOR:
                bad("role", "visitor_in_mediation")
            if declined or DECLINED in (p.gender, p.name.strip()):
                bad("identity_declined", "declined_in_mediation")
        elif p.role in (PartyRole.APPLICANT, PartyRole.RESPONDENT, PartyRole.THIRD_PARTY):
            bad("role", "party_in_consultation")
        if not p.name.strip() and not declined:
            bad("name", "missing")
        if p.role in SPEAKS_FOR:
            if p.represents is None:
                bad("represents", "missing")
            elif p.represents == i or p.represents >= len(parties) or parties[p.represents].role not in PRINCIPALS:
                bad("represents", "represents_invalid")
        elif p.represents is not None:
            bad("represents", "represents_not_agent")
        if p.birth_date is not None and not (dt.date(1890, 1, 1) <= p.birth_date <= on):
            bad("birth_date", "birth_date_range")
        if p.birth_date is not None and p.age is not None and p.birth_date <= on \
                and abs(age_on(p.birth_date, on) - p.age) > 0:
            bad("age", "age_mismatch", computed=age_on(p.birth_date, on))
        phone = p.phone.strip()
        if phone and phone != DECLINED and (set(phone) - _PHONE_CHARS or not 5 <= sum(c.isdigit() for c in phone) <= 15):
            bad("phone", "phone_format")
        number = p.id_number.strip()
        if number and number != DECLINED and (p.id_type.strip() or RESIDENT_ID) == RESIDENT_ID:
            found = id_number_problem(number)
            if found is not None:
                bad("id_number", found[0], **found[1])
            else:
                if p.gender in ("男", "女") and id_gender(number) != p.gender:
                    bad("id_number", "id_gender", gender=id_gender(number))
                if p.birth_date is not None and id_birth_date(number) != p.birth_date:
                    bad("id_number", "id_birth_mismatch", born=id_birth_date(number).isoformat())
                elif p.birth_date is None and p.age is not None and age_on(id_birth_date(number), on) != p.age:
                    bad("age", "age_mismatch", computed=age_on(id_birth_date(number), on))
    return problems


def resolve_staff(tx: Session, office: str, staff: list[StaffIn]) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Staff as the hearing keeps them: an account's printed name comes from the account."""
    out: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for j, s in enumerate(staff):
        name = s.name.strip()
        if s.user_id is not None:
            user = tx.scalar(select(User).where(User.id == s.user_id))
            if user is None or user.office != office or not user.active:
                problems.append(Problem("user_id", "staff_unknown", staff=j, role=s.role.value, name=name))
                continue
            name = user.display_name or user.username
        elif not name:
            problems.append(Problem("name", "missing", staff=j, role=s.role.value))
            continue
        out.append({"role": s.role.value, "user_id": s.user_id, "name": name})
    return out, problems


def party_record(p: PartyIn, on: dt.date) -> dict[str, Any]:
    """What the hearing keeps of a party: stripped text, the ID number upper-case, the age
    worked out from the birth date (or the ID number) when only that was given."""
    data = p.model_dump(mode="json")
    for key, value in data.items():
        if isinstance(value, str):
            data[key] = value.strip()
    number = data["id_number"]
    if number and data["id_type"] == RESIDENT_ID and id_number_problem(number) is None:
        data["id_number"] = number.upper()
        data["birth_date"] = data["birth_date"] or id_birth_date(number).isoformat()
        data["gender"] = data["gender"] or id_gender(number)
    if data["age"] is None and data["birth_date"]:
        data["age"] = age_on(dt.date.fromisoformat(data["birth_date"]), on)
    return data
