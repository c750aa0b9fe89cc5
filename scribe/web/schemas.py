"""Request and response bodies of the JSON API (what the OpenAPI document publishes)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from scribe.accounts.principal import Role, Scope
from scribe.casefile import DISPUTE_CATEGORIES
from scribe.lifecycle import HearingState


class HearingKind(StrEnum):
    MEDIATION = "mediation"
    CONSULTATION = "consultation"


class PartyRole(StrEnum):
    APPLICANT = "applicant"  # 申请人
    RESPONDENT = "respondent"  # 被申请人
    THIRD_PARTY = "third_party"  # 第三人
    VISITOR = "visitor"  # 咨询人
    AGENT = "agent"  # 代理人
    RELATIVE = "relative"  # 亲属
    WITNESS = "witness"  # 证人
    OTHER = "other"


class SpeakerRole(StrEnum):
    MEDIATOR = "mediator"  # 调解员
    STAFF = "staff"  # 接待人
    RECORDER = "recorder"  # 记录人
    APPLICANT = "applicant"
    RESPONDENT = "respondent"
    THIRD_PARTY = "third_party"
    VISITOR = "visitor"
    AGENT = "agent"
    RELATIVE = "relative"
    WITNESS = "witness"
    OTHER = "other"


# Dispute categories of the MoJ statistics form (domain.md): the case file's one list
CATEGORIES: tuple[str, ...] = DISPUTE_CATEGORIES

Name = Field(min_length=1, max_length=128)
# SQLite hands back naive datetimes for timezone-aware columns; they were written as UTC
UtcDatetime = Annotated[
    dt.datetime, AfterValidator(lambda v: v if v.tzinfo else v.replace(tzinfo=dt.timezone.utc))
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- accounts -----------------------------------------------------------------------------
class LoginIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    office: str
    active: bool
    locked_until: UtcDatetime | None = Field(
        default=None, description="set while too many wrong passwords keep the account locked")


class MeOut(BaseModel):
    kind: str
    name: str
    office: str
    role: Role | None
    scopes: list[Scope]
    csrf_token: str | None = Field(
        description="echo in the X-CSRF-Token header on every unsafe request of a cookie login"
    )


class UserIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=10, max_length=1024)
    role: Role
    office: str = Field(min_length=1, max_length=128)
    display_name: str = Field(default="", max_length=128)


class UserPatch(Strict):
    active: bool | None = None
    password: str | None = Field(default=None, min_length=10, max_length=1024)
    display_name: str | None = Field(default=None, max_length=128)


class TokenIn(Strict):
    name: str = Name
    scopes: list[Scope] = Field(min_length=1)
    office: str = Field(min_length=1, max_length=128, description='an office, or "*" for all')
    expires_days: int | None = Field(default=None, ge=1, le=3650)


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    office: str
    created_at: UtcDatetime
    expires_at: UtcDatetime | None
    revoked_at: UtcDatetime | None
    last_used_at: UtcDatetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="the secret; shown this once and never again")


class AuditOut(BaseModel):
    id: int
    at: UtcDatetime
    actor: str
    action: str
    object_type: str
    object_id: str
    office: str | None
    detail: dict[str, Any]


# -- hearings -----------------------------------------------------------------------------
# The longest text each field keeps: the pages' inputs carry the same numbers as maxlength
# (``LIMITS`` is handed to them), so a clerk can never type what the server would refuse.
LIMITS: dict[str, int] = {
    "name": 64, "ethnicity": 16, "occupation": 64, "employer": 100, "address": 200, "phone": 32,
    "id_type": 32, "id_number": 32, "case_number": 64, "title": 200, "place": 200, "category": 32,
    "hotword": 64, "username": 64, "display_name": 128, "office": 128, "password": 1024, "token_name": 128,
}
DECLINED = "拒绝提供"  # what a consultation visitor may answer for any identity field


def _gender(value: Any) -> Any:
    aliases = {"male": "男", "m": "男", "female": "女", "f": "女"}
    return aliases.get(value.strip().lower(), value.strip()) if isinstance(value, str) else value


class PartyIn(Strict):
    """One person taking part, as the intake form has them. A field is "" when not yet known;
    the cross-field rules (who an agent represents, 拒绝提供 only at consultations, the ID
    number against gender and birth date) are in ``scribe.web.intake``."""

    id: str | None = Field(
        default=None, max_length=32,
        description="the party's stable id as read back; leave out for a new party. A party whose "
        "name or role changes gets a new id, and its consent to recording must be asked again",
    )
    role: PartyRole
    name: str = Field(default="", max_length=LIMITS["name"])
    gender: Annotated[Literal["", "男", "女", "拒绝提供"], BeforeValidator(_gender)] = ""
    ethnicity: str = Field(default="", max_length=LIMITS["ethnicity"], description="民族, e.g. 汉族")
    birth_date: dt.date | None = None
    age: int | None = Field(default=None, ge=0, le=130)
    occupation: str = Field(default="", max_length=LIMITS["occupation"], description="职业或职务")
    employer: str = Field(default="", max_length=LIMITS["employer"], description="工作单位")
    id_type: str = Field(default="居民身份证", max_length=LIMITS["id_type"], description="证件类型")
    id_number: str = Field(default="", max_length=LIMITS["id_number"],
                           description="证件号码; a 居民身份证 number is checked against GB 11643")
    address: str = Field(default="", max_length=LIMITS["address"], description="住址或单位")
    phone: str = Field(default="", max_length=LIMITS["phone"], description="联系电话")
    represents: int | None = Field(
        default=None, ge=0, le=19, description="代理人/亲属: the index of the party they speak for or accompany"
    )
    identity_declined: bool = Field(
        default=False, description="consultations only: the visitor declined to give identity (拒绝提供)"
    )


class StaffRoleIn(StrEnum):
    MEDIATOR = "mediator"  # 调解员
    RECORDER = "recorder"  # 记录人
    STAFF = "staff"  # 接待人 at a consultation


class StaffIn(Strict):
    """A member of staff at the hearing: one of the office's accounts (``user_id``, from
    ``GET /api/staff``) or, for someone without an account, a typed name."""

    role: StaffRoleIn
    user_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    name: str = Field(default="", max_length=LIMITS["name"])


class StaffOut(BaseModel):
    role: StaffRoleIn
    user_id: int | None
    name: str


class OfficeStaffOut(BaseModel):
    user_id: int
    name: str = Field(description="the name documents print (display name, else user name)")
    role: Role


class HearingIn(Strict):
    kind: HearingKind
    case_number: str = Field(default="", max_length=64)
    title: str = Field(default="", max_length=200)
    category: str = Field(default="", max_length=32)
    language: str = Field(default="zh", pattern="^(zh|en|auto)$")
    place: str = Field(default="", max_length=200)
    parties: list[PartyIn] = Field(min_length=1, max_length=20)
    staff: list[StaffIn] = Field(default_factory=list, max_length=10)
    hotwords: list[Annotated[str, Field(max_length=LIMITS["hotword"])]] = Field(default_factory=list, max_length=200)
    hearing_date: dt.date | None = None


class HearingPatch(Strict):
    case_number: str | None = Field(default=None, max_length=64)
    title: str | None = Field(default=None, max_length=200)
    category: str | None = Field(default=None, max_length=32)
    place: str | None = Field(default=None, max_length=200)
    parties: list[PartyIn] | None = Field(default=None, min_length=1, max_length=20)
    staff: list[StaffIn] | None = Field(default=None, max_length=10)
    hotwords: list[Annotated[str, Field(max_length=LIMITS["hotword"])]] | None = Field(default=None, max_length=200)


class ConsentIn(Strict):
    party_id: str | None = Field(default=None, max_length=32, description="the party's id (preferred)")
    party_index: int | None = Field(default=None, ge=0, le=19, description="or its place in the list")
    consented: bool
    notice_read: bool = Field(
        description="the recording notice (本调解室已安装同步录音录像设备) was read to the party"
    )

    @model_validator(mode="after")
    def _names_a_party(self) -> ConsentIn:
        if self.party_id is None and self.party_index is None:
            raise ValueError("name the party: party_id (or party_index)")
        return self


class ConsentOut(BaseModel):
    party_index: int
    party_id: str | None = None
    party_name: str
    consented: bool
    notice_version: str
    confirmed_by_name: str
    at: UtcDatetime


class SpeakerIn(Strict):
    role: SpeakerRole
    name: str = Field(default="", max_length=128)


class HearingOut(BaseModel):
    id: str
    office: str
    kind: HearingKind
    case_number: str
    title: str
    category: str
    language: str
    place: str
    parties: list[dict[str, Any]]
    staff: list[StaffOut]
    hotwords: list[str]
    speakers: dict[str, dict[str, str]]
    status: HearingState
    hearing_date: dt.date
    created_at: UtcDatetime
    consents: list[ConsentOut]
    all_consented: bool
    live_session_id: str | None


class HearingList(BaseModel):
    total: int
    items: list[HearingOut]


class CorrectionIn(Strict):
    text: str = Field(max_length=5000)


class ErrorOut(BaseModel):
    error: str = Field(description="what went wrong, in English (as before)")
    fix: str | None = None
    code: str = Field(default="error", description="stable name of the message (scribe/web/messages.py)")
    params: dict[str, Any] = Field(default_factory=dict, description="the values the message names")
    message: str = Field(default="", description="the message in the asker's language (Accept-Language or page language)")
