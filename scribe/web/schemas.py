"""Request and response bodies of the JSON API (what the OpenAPI document publishes)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

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
class PartyIn(Strict):
    id: str | None = Field(
        default=None, max_length=32,
        description="the party's stable id as read back; leave out for a new party. A party whose "
        "name or role changes gets a new id, and its consent to recording must be asked again",
    )
    role: PartyRole
    name: str = Name
    gender: str = Field(default="", max_length=8)
    ethnicity: str = Field(default="", max_length=32)
    age: int | None = Field(default=None, ge=0, le=130)
    occupation: str = Field(default="", max_length=64)
    address: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=32)


class HearingIn(Strict):
    kind: HearingKind
    case_number: str = Field(default="", max_length=64)
    title: str = Field(default="", max_length=200)
    category: str = Field(default="", max_length=32)
    language: str = Field(default="zh", pattern="^(zh|en|auto)$")
    place: str = Field(default="", max_length=200)
    parties: list[PartyIn] = Field(min_length=1, max_length=20)
    hotwords: list[str] = Field(default_factory=list, max_length=200)
    hearing_date: dt.date | None = None


class HearingPatch(Strict):
    case_number: str | None = Field(default=None, max_length=64)
    title: str | None = Field(default=None, max_length=200)
    category: str | None = Field(default=None, max_length=32)
    place: str | None = Field(default=None, max_length=200)
    parties: list[PartyIn] | None = Field(default=None, min_length=1, max_length=20)
    hotwords: list[str] | None = Field(default=None, max_length=200)


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
    error: str
    fix: str | None = None
