"""Field schemas of the documents, with the law's requirements as validation.

These models describe a *finished* document, the one a reviewer may file: a draft is checked
against them and every failure is listed in ``draft.json`` (``problems``) and shown in the
rendered draft as a 【待补充】 placeholder. The JSON Schemas in ``docs/schemas/`` are generated
from these classes (``scribe templates schema``).

Legal requirements encoded (see docs/documents.md for the sources):
- 人民调解法 Art 29 / MoJ 2002 rules: every party's basic details; the main facts, the issues in
  dispute and responsibilities; the agreed terms; the manner, place and deadline of performance;
  one copy per party plus one for the committee (copies = parties + 1).
- Art 33: judicial confirmation may be applied for within 30 days of the agreement taking effect;
  the draft shows that date (effective date + 30 days).
- Art 27 and practice: the mediation record names time, place, matter, participants, each turn's
  speaker by role and name, and ends with the read-back statement and signatures.
- Consultation records: identity is optional; when the visitor declines, the record says so.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from scribe.casefile import DisputeCategory

CASE_NUMBER_RE = re.compile(r"^（\d{4}）.{0,12}字第\s*[\d一二三四五六七八九十百千\-]+\s*号$")
JUDICIAL_CONFIRMATION_DAYS = 30  # 人民调解法 第三十三条
READ_BACK = "以上记录已向我宣读（本人已阅），与我所说一致。"


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PartyDetails(_Doc):
    """当事人基本情况 as the agreement prints it (all required by the MoJ format)."""

    side: str = Field(description="甲方 / 乙方 / 丙方 …")
    role: str = Field(description="申请人 / 被申请人 / 第三人")
    name: str = Field(min_length=1)
    gender: Literal["男", "女"]
    ethnicity: str = Field(min_length=1)
    age: int = Field(ge=0, le=130)
    occupation: str = Field(min_length=1, description="职业或职务")
    phone: str = Field(min_length=1, description="联系方式")
    address: str = Field(min_length=1, description="单位或住址")


class MediationAgreement(_Doc):
    """人民调解协议书 (MoJ layout)."""

    organisation: str = Field(min_length=2, description="人民调解委员会")
    case_number: str = Field(description="编号 （2026）X人调字第N号")
    date: dt.date = Field(description="date the agreement is signed (takes effect)")
    parties: list[PartyDetails] = Field(min_length=2)
    dispute_category: DisputeCategory
    facts: str = Field(min_length=10, description="纠纷主要事实、争议事项")
    responsibility: str | None = Field(default=None, description="各方责任")
    terms: list[str] = Field(min_length=1, description="经调解，自愿达成如下协议 (numbered)")
    performance_manner: str = Field(min_length=1, description="履行方式")
    performance_place: str = Field(min_length=1, description="履行地点")
    performance_deadline: dt.date = Field(description="履行时限 (the last deadline of the terms)")
    deadlines: list[str] = Field(default_factory=list, description="each deadline said, resolved")
    copies: int = Field(ge=3, description="一式N份: parties + 1")
    judicial_confirmation_deadline: dt.date = Field(description="申请司法确认截止日 (date + 30 days)")
    mediators: list[str] = Field(min_length=1)
    recorder: str | None = None
    legal_bases: list[str] = Field(default_factory=list)

    @field_validator("case_number")
    @classmethod
    def _case_number(cls, value: str) -> str:
        if not CASE_NUMBER_RE.match(value):
            raise ValueError("编号 should read like （2026）青人调字第12号")
        return value

    @model_validator(mode="after")
    def _law(self) -> MediationAgreement:
        if self.copies != len(self.parties) + 1:
            raise ValueError(
                f"本协议一式{self.copies}份 but there are {len(self.parties)} parties: "
                f"one copy per party plus one for the committee makes {len(self.parties) + 1}"
            )
        expected = self.date + dt.timedelta(days=JUDICIAL_CONFIRMATION_DAYS)
        if self.judicial_confirmation_deadline != expected:
            raise ValueError(f"judicial confirmation deadline must be date + 30 days ({expected})")
        if self.performance_deadline < self.date:
            raise ValueError("the performance deadline lies before the agreement date")
        if {p.side for p in self.parties} and len({p.side for p in self.parties}) != len(self.parties):
            raise ValueError("each party needs its own side (甲方, 乙方, 丙方 …)")
        return self


class Visitor(_Doc):
    name: str | None = None
    gender: Literal["男", "女"] | None = None
    age: int | None = Field(default=None, ge=0, le=130)
    ethnicity: str | None = None
    occupation: str | None = None
    employer: str | None = None
    address: str | None = None
    phone: str | None = None
    identity_declined: bool = False

    @model_validator(mode="after")
    def _identity(self) -> Visitor:
        if not self.identity_declined and not self.name:
            raise ValueError("the visitor's name is missing: fill it, or record that they declined")
        return self


OUTCOME_VALUES = ("已解答", "转法律援助", "转人民调解", "引导诉讼", "引导仲裁", "引导劳动仲裁", "转其他部门", "约期答复")
Outcome = Literal[OUTCOME_VALUES]  # type: ignore[valid-type]


class ConsultationRecord(_Doc):
    """法律咨询记录 (composite of the registers in use)."""

    organisation: str = Field(min_length=2, description="公共法律服务中心/站 or 司法所")
    case_number: str = Field(min_length=1)
    time: dt.datetime | dt.date = Field(description="咨询时间")
    channel: Literal["现场来访", "12348电话", "网络", "视频"]
    visitor: Visitor
    category: DisputeCategory = Field(description="咨询类别 (a 纠纷类型)")
    question: str = Field(min_length=5, description="咨询事项")
    answer: str = Field(min_length=5, description="解答意见")
    legal_bases: list[str] = Field(default_factory=list, description="法律依据")
    outcome: list[Outcome] = Field(min_length=1, description="处理结果 / 转办")
    staff: str = Field(min_length=1, description="接待人（解答人）")
    satisfaction: int | None = Field(default=None, ge=1, le=4, description="满意度 1-4")
    follow_up: str | None = Field(default=None, description="回访")


class Turn(_Doc):
    speaker: str = Field(min_length=1, description="role and name: 调解员王建国")
    text: str
    start: float
    end: float


HEARING_OUTCOMES = ("达成协议", "部分达成", "调解不成", "调解终止", "口头协议")


class HearingResult(_Doc):
    """调解结果 of a hearing (人民调解法 第二十八条: an oral agreement is recorded here)."""

    outcome: Literal[HEARING_OUTCOMES]  # type: ignore[valid-type]
    reason: str | None = Field(default=None, description="why no (full) agreement was reached")
    remedies: str | None = Field(default=None, description="告知诉讼/仲裁途径: what the parties were told")
    terms: list[str] = Field(default_factory=list, description="the agreed terms (oral or partial agreements)")


class HearingRecord(_Doc):
    """人民调解记录 (the hearing transcript)."""

    organisation: str = Field(min_length=2)
    case_number: str = Field(min_length=1)
    time: dt.datetime | dt.date
    place: str = Field(min_length=1)
    matter: str = Field(min_length=2, description="事由")
    mediators: list[str] = Field(min_length=1)
    recorder: str = Field(min_length=1)
    parties: list[str] = Field(min_length=1, description="当事人: role, name")
    others: list[str] = Field(default_factory=list, description="其他参加人")
    turns: list[Turn] = Field(min_length=1)
    result: HearingResult = Field(description="调解结果, its reason and the routes to court/arbitration told")
    dispute_category: DisputeCategory | None = Field(default=None, description="纠纷类型")
    read_back: str = READ_BACK

    @field_validator("turns")
    @classmethod
    def _speakers_known(cls, turns: list[Turn]) -> list[Turn]:
        unknown = sorted({t.speaker for t in turns if t.speaker.startswith("未确认发言人")})
        if unknown:
            raise ValueError(
                f"turns by {', '.join(unknown)} have no role: map the speaker label in the session file"
            )
        return turns


DOCUMENT_MODELS: dict[str, type[_Doc]] = {
    "mediation-agreement": MediationAgreement,
    "consultation-record": ConsultationRecord,
    "hearing-record": HearingRecord,
}
