"""The Document record: one drafted document of a session, through review to approval."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scribe.delivery.columns import UTCDateTime
from scribe.storage import Base, utcnow

KINDS = ("mediation-agreement", "consultation-record", "hearing-record")

# status values
DRAFT = "draft"  # being drafted or corrected; a reviewer may approve or return it
RETURNED = "returned"  # sent back for changes; saving a new draft makes it a draft again
APPROVED = "approved"  # final for this version; approval enqueued document.approved


class Document(Base):
    __tablename__ = "review_documents"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # the hearing it was drafted from (column name kept from before the rename: no migration)
    hearing_id: Mapped[str] = mapped_column("session_id", String(80), index=True)
    office: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    # The structured fields as the documents area drafts them (values, optionally wrapped as
    # {"value": ..., "source": ...} to link each to the transcript words it came from).
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default=DRAFT, index=True)
    # {"docx"|"pdf"|"transcript"|"audio": {"path", "sha256", "size", "media_type"}}; hashed on
    # save and again on approval, so the approved hashes are of the files as approved.
    files: Mapped[dict[str, dict[str, Any]]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    approved_by: Mapped[str | None] = mapped_column(String(200), default=None)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    returned_by: Mapped[str | None] = mapped_column(String(200), default=None)
    returned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    return_note: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class DocumentAuthor(Base):
    """Who made a version of a document: generated it or edited its fields (four-eyes review,
    ``scribe.review.four_eyes``). Staff ids only; deleted with the document."""

    __tablename__ = "review_document_authors"
    __table_args__ = (UniqueConstraint("document_id", "version", "author"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(80))  # "user:<id>" or "token:<id>"
    how: Mapped[str] = mapped_column(String(16))  # generated | edited
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
