"""Review actions on documents. Each takes the caller's transaction and never commits.

``approve`` writes the ``document.approved`` outbox message in that same transaction: the
approval and the message commit together or not at all, so a crash can never approve without
delivering, nor deliver without approving.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from scribe.delivery import outbox, payload
from scribe.delivery.events import DOCUMENT_APPROVED, SESSION_COMPLETED
from scribe.delivery.files import sha256_file
from scribe.delivery.models import Delivery
from scribe.errors import DocumentError
from scribe.review.models import APPROVED, DRAFT, KINDS, RETURNED, Document
from scribe.settings import Settings
from scribe.storage import utcnow

FILE_KINDS = ("docx", "pdf", "transcript", "audio")


@dataclass(frozen=True)
class Approval:
    document_id: str
    version: int
    message_id: str  # the webhook-id of the document.approved message
    deliveries: int  # endpoints it is queued for


def save_draft(
    tx: Session,
    *,
    hearing_id: str,
    office: str,
    kind: str,
    fields: Mapping[str, Any],
    files: Mapping[str, Path | str] | None = None,
    document_id: str | None = None,
    now: dt.datetime | None = None,
) -> Document:
    """Create a draft, or save a new version of an existing document.

    ``files`` maps ``docx``/``pdf``/``transcript``/``audio`` to paths; each is hashed now.
    Saving over a returned or approved document starts its next version as a draft.
    """
    if kind not in KINDS:
        raise DocumentError(f"unknown document kind {kind!r}", fix=f"use one of {list(KINDS)}")
    now = now or utcnow()
    described = _describe_files(files or {})
    if document_id is None:
        doc = Document(
            id=f"doc_{secrets.token_hex(8)}",
            hearing_id=hearing_id,
            office=office,
            kind=kind,
            fields=dict(fields),
            files=described,
            status=DRAFT,
            version=1,
            created_at=now,
            updated_at=now,
        )
        tx.add(doc)
        tx.flush()
        return doc
    doc = get_document(tx, document_id)
    if doc.kind != kind or doc.hearing_id != hearing_id:
        raise DocumentError(
            f"document {document_id} is a {doc.kind} of hearing {doc.hearing_id}",
            fix="save a different kind or hearing as a new document (no document_id)",
        )
    if doc.status in (RETURNED, APPROVED):
        doc.version += 1
        doc.approved_by = doc.approved_at = None
    doc.status = DRAFT
    doc.office = office
    doc.fields = dict(fields)
    doc.files = {**doc.files, **described} if files is not None else doc.files
    doc.updated_at = now
    tx.flush()
    return doc


def approve(
    tx: Session,
    document_id: str,
    user: str,
    *,
    settings: Settings,
    now: dt.datetime | None = None,
    base_url: str | None = None,
) -> Approval:
    """Approve the current draft and enqueue ``document.approved`` in the same transaction.

    ``base_url``: the address the approving request came in on; the payload's links use it
    when no public URL is configured (``scribe.delivery.pull.public_base_url``).

    The files are hashed again here, so the payload's hashes are of the files as approved; a
    file that has gone missing stops the approval. Two reviewers approving at once: one wins,
    the other gets a ``DocumentError`` (the status change is a conditional UPDATE).
    """
    now = now or utcnow()
    if not user.strip():
        raise DocumentError("approval needs the reviewer's name", fix="pass the signed-in user")
    doc = get_document(tx, document_id)
    if doc.status != DRAFT:
        raise DocumentError(
            f"document {document_id} is {doc.status}, not a draft",
            fix="only a draft can be approved; save the corrections first"
            if doc.status == RETURNED
            else "it is already approved; save a new version to change it",
        )
    files = _describe_files({k: v["path"] for k, v in doc.files.items()})
    claimed = cast(CursorResult[Any], tx.execute(  # an UPDATE: its result counts rows
        update(Document)
        .where(Document.id == doc.id, Document.status == DRAFT, Document.version == doc.version)
        .values(status=APPROVED, approved_by=user, approved_at=now, files=files, updated_at=now)
        .execution_options(synchronize_session=False)
    ))
    if claimed.rowcount != 1:
        raise DocumentError(
            f"document {document_id} changed while it was being approved",
            fix="reload the review page and approve again",
        )
    tx.refresh(doc)
    message = outbox.enqueue(
        tx,
        DOCUMENT_APPROVED,
        payload.document_approved(doc, settings, now=now, base_url=base_url),
        subject_id=doc.id,
        office=doc.office,
        now=now,
        settings=settings,  # each endpoint gets its own links (scribe.delivery.views)
        base_url=base_url,
    )
    routed = tx.scalar(select(func.count()).where(Delivery.message_id == message.id)) or 0
    return Approval(doc.id, doc.version, message.id, routed)


def return_for_changes(
    tx: Session, document_id: str, user: str, note: str, *, now: dt.datetime | None = None
) -> Document:
    """Send a draft back to its author with a note saying what to change."""
    if not note.strip():
        raise DocumentError("returning a document needs a note", fix="say what should be changed")
    doc = get_document(tx, document_id)
    if doc.status != DRAFT:
        raise DocumentError(
            f"document {document_id} is {doc.status}; only a draft can be returned",
            fix="save a new version to correct an approved document",
        )
    now = now or utcnow()
    doc.status = RETURNED
    doc.returned_by = user
    doc.returned_at = now
    doc.return_note = note
    doc.updated_at = now
    tx.flush()
    return doc


def session_completed(
    tx: Session,
    summary: payload.SessionSummary,
    *,
    settings: Settings,
    now: dt.datetime | None = None,
) -> str:
    """Enqueue ``session.completed`` (call it in the transaction that closes the session).
    Returns the message id."""
    now = now or utcnow()
    message = outbox.enqueue(
        tx,
        SESSION_COMPLETED,
        payload.session_completed(summary, settings, now=now),
        subject_id=summary.session_id,
        office=summary.office,
        now=now,
    )
    return message.id


def get_document(tx: Session, document_id: str) -> Document:
    doc = tx.get(Document, document_id)
    if doc is None:
        raise DocumentError(f"there is no document {document_id!r}", fix="check the document id")
    return doc


def documents_of_hearing(tx: Session, hearing_id: str) -> list[Document]:
    return list(
        tx.scalars(
            select(Document).where(Document.hearing_id == hearing_id).order_by(Document.created_at)
        )
    )


def _describe_files(files: Mapping[str, Path | str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for kind, raw in files.items():
        if kind not in FILE_KINDS:
            raise DocumentError(f"unknown file kind {kind!r}", fix=f"use one of {list(FILE_KINDS)}")
        path = Path(raw).resolve()
        if not path.is_file():
            raise DocumentError(
                f"the {kind} file {path} does not exist",
                fix="render the document again before saving or approving it",
            )
        out[kind] = {
            "path": str(path),
            "sha256": sha256_file(path),
            "size": path.stat().st_size,
            "media_type": payload.MEDIA_TYPES[kind],
        }
    return out
