"""Tables of the desk: hearing sessions as staff create them, and each party's consent.

A ``Hearing`` is what the desk page and the session list show: the case data staff typed
(kind, case number, parties, hotwords, speaker->person mapping), its office, and where it is in
its life (created -> recording/paused -> stopped -> drafted -> approved/returned -> delivered).
The live engine's audio archive and the drafted documents hang off it by id.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scribe.storage import Base, utcnow


def new_hearing_id() -> str:
    return uuid.uuid4().hex[:16]


class Hearing(Base):
    __tablename__ = "hearings"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_hearing_id)
    office: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # mediation | consultation
    case_number: Mapped[str] = mapped_column(String(64), default="", index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    category: Mapped[str] = mapped_column(String(32), default="", index=True)
    language: Mapped[str] = mapped_column(String(8), default="zh")
    place: Mapped[str] = mapped_column(String(200), default="")
    # [{"role": "applicant", "name": "张三", ...}] - the casefile party fields
    parties: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # searchable "张三 李四" (SQLite and PostgreSQL both do LIKE on it)
    party_names: Mapped[str] = mapped_column(Text, default="")
    # [{"role": "mediator", "user_id": 3, "name": "王调解员"}] - staff at the hearing, picked from
    # the office's accounts at intake (None in a database made before the column existed)
    staff: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=list, nullable=True)
    hotwords: Mapped[list[str]] = mapped_column(JSON, default=list)
    # {"SPEAKER_00": {"role": "mediator", "name": "王调解员"}}
    speakers: Mapped[dict[str, dict[str, str]]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="created", index=True)
    live_session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    hearing_date: Mapped[dt.date] = mapped_column(default=lambda: utcnow().date(), index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    # transcript corrections as turns beside the original (scribe/review/transcript_edits.py);
    # before: {"<segment index>": {"original": ..., "text": ..., "by": ..., "at": ...}}, still read
    corrections: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    consents: Mapped[list[Consent]] = relationship(
        back_populates="hearing", cascade="all, delete-orphan", order_by="Consent.id"
    )


class Consent(Base):
    """One party told that the room records, and whether they agreed; who confirmed it, when."""

    __tablename__ = "hearing_consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hearing_id: Mapped[str] = mapped_column(ForeignKey("hearings.id", ondelete="CASCADE"), index=True)
    party_index: Mapped[int] = mapped_column(Integer)  # where the party stood when asked
    # the party's stable id (Hearing.parties[i]["id"]): the consent is that person's, not a
    # list position's (scribe.web.consent). None only on rows written before ids existed.
    party_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    party_name: Mapped[str] = mapped_column(String(128))
    consented: Mapped[bool] = mapped_column()
    notice_version: Mapped[str] = mapped_column(String(32))
    confirmed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    confirmed_by_name: Mapped[str] = mapped_column(String(128))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    hearing: Mapped[Hearing] = relationship(back_populates="consents")
