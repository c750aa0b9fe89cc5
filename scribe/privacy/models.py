"""Tables of the privacy area (new tables: ``create_schema`` adds them to an existing database)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from scribe.storage import Base, utcnow


class PendingRemoval(Base):
    """A file or folder of deleted personal data that could not be removed yet (a permission,
    a disk error, a file held open). Written before the removal is tried, deleted once it
    succeeded, so nothing is forgotten: ``scribe retention purge`` and the server's scheduled
    job try again and report what still fails."""

    __tablename__ = "privacy_pending_removals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    path: Mapped[str] = mapped_column(Text)
    hearing_id: Mapped[str] = mapped_column(String(32), index=True)
    why: Mapped[str] = mapped_column(String(40))  # hearing deleted | audio retention | party erased
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class VoiceprintOffice(Base):
    """The office (and the account) a voiceprint was enrolled for. Voiceprints are loaded for
    a hearing of that office only, and listed and deleted by that office's admin."""

    __tablename__ = "privacy_voiceprint_offices"

    voiceprint_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    office: Mapped[str] = mapped_column(String(128), index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, default=None)
