"""The session data staff type before or during a session: ``S.json``.

A *case file* holds what the transcript cannot know reliably: the kind of session, the case
number, date and place, the committee or service centre, the staff present, every party's
basic details, words the recogniser should favour (hotwords), and which diarization speaker
label is which person. Documents take these values first (source ``session``) and only fall
back to the transcript for what staff left empty.

The JSON format is documented in ``docs/session-format.md``; field names here are a contract
that the server, the live-session engine and the drafting code share. Add fields, never rename.

Role and channel values are the Chinese terms the documents print (``申请人``, ``12348电话``);
English aliases (``applicant``, ``phone``) are accepted on input so an English form or API
client can fill them, and are normalised to the Chinese value.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from scribe.errors import DocumentError

SCHEMA_VERSION = 1


# 纠纷类型 rows of the MoJ statistics form as used in local reports (docs: domain.md), including
# the newer rows (拖欠农民工工资, 旅游, 电子商务) and common local ones.
DISPUTE_CATEGORIES: tuple[str, ...] = (
    "婚姻家庭", "邻里", "房屋宅基地", "合同", "生产经营", "损害赔偿", "山林土地", "征地拆迁",
    "环境污染", "劳动争议", "消费", "医疗", "道路交通事故", "物业", "其他",
    "拖欠农民工工资", "旅游", "电子商务", "土地承包经营权", "村务管理",
)


# As a type: JSON Schema lists the values, so forms and case systems can offer them.
DisputeCategory = Literal[DISPUTE_CATEGORIES]  # type: ignore[valid-type]


class SessionType(StrEnum):
    MEDIATION = "mediation"  # 人民调解: hearing -> 人民调解记录 and 人民调解协议书
    CONSULTATION = "consultation"  # 法律咨询: visit or call -> 法律咨询记录


class PartyRole(StrEnum):
    """How a non-staff person takes part. The value is what documents print."""

    APPLICANT = "申请人"  # 甲方 in the agreement
    RESPONDENT = "被申请人"  # 乙方
    THIRD_PARTY = "第三人"  # a further party bound by the agreement (e.g. a co-owner)
    AGENT = "代理人"  # speaks for a party; ``represents`` names whom
    RELATIVE = "亲属"  # accompanies a party, not bound by the agreement
    WITNESS = "证人"
    VISITOR = "咨询人"  # the person asking at a consultation
    OTHER = "其他参加人"

    @property
    def is_bound(self) -> bool:
        """Whether the person is a party to an agreement (signs it, gets a copy)."""
        return self in (PartyRole.APPLICANT, PartyRole.RESPONDENT, PartyRole.THIRD_PARTY)


class StaffRole(StrEnum):
    MEDIATOR = "调解员"  # 人民调解员
    RECORDER = "记录人"
    CONSULTANT = "接待人"  # 接待人/解答人 at a consultation


class ConsultationChannel(StrEnum):
    IN_PERSON = "现场来访"
    PHONE_12348 = "12348电话"
    ONLINE = "网络"
    VIDEO = "视频"


class Gender(StrEnum):
    MALE = "男"
    FEMALE = "女"


_ALIASES: dict[str, str] = {
    # party roles
    "applicant": "申请人",
    "甲方": "申请人",
    "respondent": "被申请人",
    "乙方": "被申请人",
    "third_party": "第三人",
    "丙方": "第三人",
    "agent": "代理人",
    "委托代理人": "代理人",
    "relative": "亲属",
    "witness": "证人",
    "visitor": "咨询人",
    "来访人": "咨询人",
    "other": "其他参加人",
    # staff roles
    "mediator": "调解员",
    "人民调解员": "调解员",
    "recorder": "记录人",
    "consultant": "接待人",
    "staff": "接待人",
    "解答人": "接待人",
    # channels
    "in_person": "现场来访",
    "现场": "现场来访",
    "phone": "12348电话",
    "电话": "12348电话",
    "12348": "12348电话",
    "online": "网络",
    "video": "视频",
    # gender
    "male": "男",
    "m": "男",
    "female": "女",
    "f": "女",
}


def _alias(value: Any) -> Any:
    if isinstance(value, str):
        key = value.strip()
        return _ALIASES.get(key.lower(), _ALIASES.get(key, key))
    return value


_ID_RE = re.compile(r"^[A-Za-z0-9_\-]{1,40}$")
# Resident identity card: 17 digits + digit or X (GB 11643). Other documents are free text.
_RESIDENT_ID_RE = re.compile(r"^\d{17}[\dXx]$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, use_enum_values=False)


class _Person(_Model):
    """What parties and staff share: an id speakers map to, a role, a name."""

    @field_validator("role", "gender", mode="before", check_fields=False)
    @classmethod
    def _aliases(cls, value: Any) -> Any:
        return _alias(value)

    @field_validator("id", check_fields=False)
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not _ID_RE.match(value):
            raise ValueError("use letters, digits, '_' or '-' (at most 40), e.g. 'p1' or 'm1'")
        return value

    @property
    def display(self) -> str:
        """Role and name as a document prints a speaker: ``申请人张三``, ``调解员王建国``."""
        return f"{self.role.value}{self.name or ''}"  # type: ignore[attr-defined]


class Party(_Person):
    """A non-staff participant. Only ``id`` and ``role`` are required: staff may know nothing
    else yet, and a consultation visitor may decline to give identity at all."""

    id: str = Field(description="Stable key within the file, e.g. 'p1'; speakers map to it.")
    role: PartyRole
    name: str | None = None
    gender: Gender | None = None
    ethnicity: str | None = Field(default=None, description="民族, e.g. 汉族")
    age: int | None = Field(default=None, ge=0, le=130)
    birth_date: dt.date | None = None
    occupation: str | None = Field(default=None, description="职业或职务")
    employer: str | None = Field(default=None, description="单位")
    address: str | None = Field(default=None, description="单位或住址")
    phone: str | None = Field(default=None, description="联系方式")
    id_type: str | None = Field(default=None, description="证件类型, e.g. 居民身份证")
    id_number: str | None = Field(default=None, description="证件号码; optional, sensitive")
    represents: str | None = Field(
        default=None, description="For 代理人/亲属: the id of the party spoken for."
    )
    identity_declined: bool = Field(
        default=False,
        description="Consultations: the visitor declined to give identity; the record says so.",
    )

    @field_validator("id_number")
    @classmethod
    def _resident_id(cls, value: str | None, info: Any) -> str | None:
        if value and (info.data.get("id_type") in (None, "居民身份证")):
            if not _RESIDENT_ID_RE.match(value):
                raise ValueError(
                    "a 居民身份证 number has 18 characters (17 digits and a digit or X); "
                    "set id_type for other documents"
                )
            return value.upper()
        return value


class Staff(_Person):
    id: str = Field(description="Stable key within the file, e.g. 'm1'; speakers map to it.")
    role: StaffRole
    name: str | None = None
    phone: str | None = None


Person = Party | Staff


class CaseFile(_Model):
    """``S.json``: everything staff typed about one session."""

    schema_version: Literal[1] = SCHEMA_VERSION
    session_type: SessionType
    case_number: str | None = Field(
        default=None, description="编号, e.g. （2026）青人调字第12号 or 咨字第2026-031号"
    )
    date: dt.date = Field(description="The session date; relative deadlines count from it.")
    start_time: dt.time | None = None
    place: str | None = Field(default=None, description="地点, e.g. 城关司法所调解室")
    organisation: str | None = Field(
        default=None, description="人民调解委员会 or 公共法律服务中心 name, printed on documents"
    )
    matter: str | None = Field(default=None, description="事由, e.g. 相邻关系纠纷")
    dispute_category: DisputeCategory | None = Field(
        default=None, description="纠纷类型 if staff already know it (see docs/session-format.md)"
    )
    case_source: str | None = Field(default=None, description="案件来源, e.g. 当事人申请")
    consultation_channel: ConsultationChannel | None = None
    language: Literal["zh", "en"] = "zh"
    staff: list[Staff] = Field(default_factory=list)
    parties: list[Party] = Field(default_factory=list)
    hotwords: list[str] = Field(
        default_factory=list, description="Names, places, terms the recogniser should favour"
    )
    speakers: dict[str, str] = Field(
        default_factory=dict,
        description="Diarization speaker label (e.g. SPEAKER_00) -> id of a party or staff member",
    )
    custom: dict[str, str] = Field(
        default_factory=dict,
        description="Site-specific values a site template declares in its field schema",
    )

    @field_validator("consultation_channel", mode="before")
    @classmethod
    def _channel_alias(cls, value: Any) -> Any:
        return _alias(value)

    @model_validator(mode="after")
    def _consistent(self) -> CaseFile:
        ids = [p.id for p in self.parties] + [s.id for s in self.staff]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"ids must be unique across parties and staff; repeated: {dupes}")
        known = set(ids)
        for label, person_id in self.speakers.items():
            if person_id not in known:
                raise ValueError(
                    f"speaker {label!r} maps to {person_id!r}, which is no party or staff id"
                )
        for party in self.parties:
            if party.represents is not None and party.represents not in {
                p.id for p in self.parties
            }:
                raise ValueError(f"party {party.id!r} represents unknown party {party.represents!r}")
        if self.session_type is SessionType.MEDIATION:
            bad = [p.id for p in self.parties if p.role is PartyRole.VISITOR]
            if bad:
                raise ValueError(f"a mediation has no 咨询人; parties {bad} need another role")
        return self

    # -- lookups the drafting code and the live engine use ---------------------------------
    def person(self, person_id: str) -> Person | None:
        for person in (*self.parties, *self.staff):
            if person.id == person_id:
                return person
        return None

    def person_for_speaker(self, label: str | None) -> Person | None:
        """The person a diarization label stands for, or None if staff have not mapped it."""
        if label is None:
            return None
        person_id = self.speakers.get(label)
        return self.person(person_id) if person_id else None

    def role_for_speaker(self, label: str | None) -> PartyRole | StaffRole | None:
        person = self.person_for_speaker(label)
        return person.role if person else None

    def speakers_with_role(self, *roles: PartyRole | StaffRole) -> set[str]:
        return {label for label in self.speakers if self.role_for_speaker(label) in roles}

    def parties_with_role(self, *roles: PartyRole) -> list[Party]:
        return [p for p in self.parties if p.role in roles]

    def staff_with_role(self, *roles: StaffRole) -> list[Staff]:
        return [s for s in self.staff if s.role in roles]

    @property
    def bound_parties(self) -> list[Party]:
        """Parties to an agreement (申请人, 被申请人, 第三人), in the order typed."""
        return [p for p in self.parties if p.role.is_bound]

    @property
    def mediators(self) -> list[Staff]:
        return self.staff_with_role(StaffRole.MEDIATOR)

    @property
    def recorder(self) -> Staff | None:
        found = self.staff_with_role(StaffRole.RECORDER)
        return found[0] if found else None

    def recognition_hotwords(self) -> list[str]:
        """Hotwords for the recogniser: the typed ones plus every name, the place and organisation.

        Names are the words whisper gets wrong most and the documents need exactly right.
        """
        words = [*self.hotwords, *(p.name for p in self.parties), *(s.name for s in self.staff),
                 self.place, self.organisation]
        return list(dict.fromkeys(w for w in words if w))

    # -- reading and writing --------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, origin: str = "session data") -> CaseFile:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise DocumentError(
                f"{origin} is not a valid session file: {_first_errors(exc)}",
                fix="correct those fields (the format is in docs/session-format.md)",
            ) from exc

    @classmethod
    def load(cls, path: Path) -> CaseFile:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise DocumentError(
                f"session file {path} does not exist", fix="pass the S.json staff filled in"
            ) from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DocumentError(
                f"session file {path} is not UTF-8 JSON ({exc})",
                fix="save it as UTF-8 JSON (docs/session-format.md)",
            ) from exc
        if not isinstance(data, dict):
            raise DocumentError(
                f"session file {path} holds no JSON object", fix="see docs/session-format.md"
            )
        return cls.from_dict(data, origin=f"session file {path}")


def format_case_number(year: int, prefix: str, number: int, kind: str = "人调") -> str:
    """The MoJ numbering: ``（2026）青人调字第12号`` (full-width brackets)."""
    return f"（{year}）{prefix}{kind}字第{number}号"


def _first_errors(exc: ValidationError, limit: int = 3) -> str:
    parts = []
    for err in exc.errors()[:limit]:
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"{where}: {err['msg']}")
    more = exc.error_count() - limit
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")

