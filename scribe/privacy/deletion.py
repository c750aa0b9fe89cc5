"""Deleting a hearing with every record of its personal data (PIPL Art. 47).

What goes: the hearing row (parties, corrections, speakers, consents), its documents (every
draft and version, the rendered files), its live session folder (audio, journal, transcripts),
the webhook messages about it that have not reached any case system, and the download links
given out for its documents. A message some case system already received keeps only its ids,
the office and the files' hashes (``scrubbed``): the delivery log stays provable, the payload's
names and fields go. The audit log keeps the deletion itself (ids and counts, no names).

Order: the database change and the list of paths to remove (``PendingRemoval``) commit
together; then each path is removed and struck off. A path that cannot be removed stays on the
list with its reason, is reported to the caller, and is tried again by the retention job, so a
failure is neither hidden nor forgotten.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from scribe.accounts import audit
from scribe.accounts.audit import Action
from scribe.accounts.principal import Principal
from scribe.delivery.models import DELIVERED, Delivery, DeliveryBody, OutboxMessage
from scribe.delivery.outbox import drop_deliveries, encode_body
from scribe.delivery.scope import revoke_document_links
from scribe.errors import ScribeError, SessionError
from scribe.privacy.files import remove_tracked, session_folder, track
from scribe.settings import Settings
from scribe.storage import Database
from scribe.web.models import Hearing

OPEN_STATES = ("recording", "paused")


class DeletionIncomplete(ScribeError):
    """The records are gone but some files could not be removed (they stay on the retry list)."""

    exit_code = 8

    def __init__(self, report: DeletionReport) -> None:
        self.report = report
        super().__init__(
            f"hearing {report.hearing_id} was deleted from the records, but {len(report.failures)} "
            f"file(s) could not be removed: {'; '.join(report.failures[:3])}",
            fix="fix the permission or disk problem; `scribe retention purge` (and the server every "
            "few hours) tries them again",
        )


@dataclass(frozen=True)
class DeletionReport:
    hearing_id: str
    office: str
    documents: int
    messages_deleted: int  # never reached a case system: gone
    messages_scrubbed: int  # reached one: ids and hashes kept
    links_revoked: int
    removed: tuple[str, ...] = ()
    failures: tuple[str, ...] = ()
    lexicon_removed: int = 0  # names learnt from the hearing's corrections

    def as_dict(self) -> dict[str, Any]:
        return {
            "hearing_id": self.hearing_id, "documents": self.documents,
            "messages_deleted": self.messages_deleted, "messages_scrubbed": self.messages_scrubbed,
            "links_revoked": self.links_revoked, "removed": len(self.removed), "failures": list(self.failures),
            "lexicon_removed": self.lexicon_removed,
        }  # fmt: skip


@dataclass
class _Plan:
    hearing_id: str
    office: str
    documents: int = 0
    messages_deleted: int = 0
    messages_scrubbed: int = 0
    links_revoked: int = 0
    lexicon_removed: int = 0
    pending_ids: list[int] = field(default_factory=list)


def scrubbed(payload: dict[str, Any]) -> dict[str, Any]:
    """A delivered message with its personal data gone: the envelope, ids, office, hashes."""
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    assert isinstance(data, dict)
    keep: dict[str, Any] = {"erased": True}
    doc = data.get("document")
    if isinstance(doc, dict):
        keep["document"] = {k: doc.get(k) for k in ("id", "kind", "version", "session_id", "office", "approved_at")}
    session = data.get("session")
    if isinstance(session, dict):
        keep["session"] = {k: session.get(k) for k in ("id", "office", "type", "started_at", "ended_at")}
    keep["files"] = [
        {k: f.get(k) for k in ("kind", "sha256", "size")} for f in data.get("files") or [] if isinstance(f, dict)
    ]
    return {k: payload.get(k) for k in ("schema_version", "type", "timestamp")} | {"data": keep}


def forget_messages(tx: Session, subject_ids: Sequence[str]) -> tuple[int, int]:
    """Webhook messages about ``subject_ids``: undelivered ones (and every undelivered delivery)
    deleted, delivered ones scrubbed. Returns (deleted, scrubbed)."""
    deleted = scrubbed_n = 0
    if not subject_ids:
        return 0, 0
    for msg in list(tx.scalars(select(OutboxMessage).where(OutboxMessage.subject_id.in_(list(subject_ids))))):
        deliveries = list(tx.scalars(select(Delivery).where(Delivery.message_id == msg.id)))
        drop_deliveries(tx, [d.id for d in deliveries if d.status != DELIVERED])
        delivered = [d.id for d in deliveries if d.status == DELIVERED]
        if delivered:
            tx.execute(delete(DeliveryBody).where(DeliveryBody.delivery_id.in_(delivered)))
            msg.body = encode_body(scrubbed(json.loads(msg.body)))
            scrubbed_n += 1
        else:
            tx.expunge(msg)
            tx.execute(delete(OutboxMessage).where(OutboxMessage.id == msg.id))
            deleted += 1
    tx.flush()
    return deleted, scrubbed_n


def _paths(settings: Settings, hearing: Hearing, docs: Sequence[Any], live: Any) -> list[Path]:
    paths: list[Path] = []
    for doc in docs:
        paths.append(settings.data_dir / "documents" / doc.id)  # every version, the rendered files
        for info in (doc.files or {}).values():  # files saved elsewhere (the CLI, tests)
            if isinstance(info, dict) and info.get("path"):
                paths.append(Path(str(info["path"])))
    folder = session_folder(settings, hearing.live_session_id)
    if folder is not None:
        paths.append(folder)
    if live is not None and hearing.live_session_id:
        # what the running engine says, too (another sessions folder, an engine's own layout)
        for found in (live.session_dir(hearing.live_session_id), live.audio_path(hearing.live_session_id)):
            if found is not None:
                paths.append(Path(found))
    return paths


def delete_hearing(
    db: Database,
    settings: Settings,
    who: Principal | str,
    hearing_id: str,
    *,
    live: Any = None,
    visible: Any = None,
) -> DeletionReport:
    """Delete a hearing and its personal data (see the module). ``visible(tx, hearing_id)``
    finds the hearing as the caller may see it (office scope); default: any hearing.

    Raises ``SessionError`` while it records, ``DeletionIncomplete`` (after the records are
    gone) when a file could not be removed."""
    from scribe.review import service as review

    with db.transaction() as tx:
        hearing = visible(tx, hearing_id) if visible is not None else tx.get(Hearing, hearing_id)
        if hearing is None:
            from scribe.web.hearings import HearingNotFound

            raise HearingNotFound(hearing_id)
        if hearing.status in OPEN_STATES:
            raise SessionError(
                "the hearing is being recorded — delete it after it is stopped", fix="press Stop first"
            )
        plan = _Plan(hearing.id, hearing.office)
        docs = review.documents_of_hearing(tx, hearing.id)
        paths = _paths(settings, hearing, docs, live)
        doc_ids = [d.id for d in docs]
        plan.documents = len(docs)
        plan.messages_deleted, plan.messages_scrubbed = forget_messages(tx, [*doc_ids, hearing.id])
        plan.links_revoked = revoke_document_links(tx, doc_ids)
        from scribe.privacy.erasure import _identifiers
        from scribe.review.lexicon import forget_hearing

        identifying = [s for i, p in enumerate(hearing.parties or []) for s in _identifiers(dict(p), i)]
        plan.lexicon_removed = forget_hearing(tx, hearing.office, hearing.id, identifying)
        for doc in docs:
            tx.delete(doc)
        from scribe.review.four_eyes import forget as forget_authors

        forget_authors(tx, doc_ids)
        tx.delete(hearing)
        plan.pending_ids = [r.id for r in track(tx, hearing.id, "hearing deleted", paths)]
        audit.record(
            tx, who, Action.DELETE, "hearing", hearing.id, office=hearing.office, documents=plan.documents,
            messages_deleted=plan.messages_deleted, messages_scrubbed=plan.messages_scrubbed,
            links_revoked=plan.links_revoked, paths=len(plan.pending_ids), lexicon_removed=plan.lexicon_removed,
        )  # fmt: skip
    # after the commit: a failed transaction leaves every file where it was
    done = remove_tracked(db, plan.pending_ids)
    report = DeletionReport(
        plan.hearing_id, plan.office, plan.documents, plan.messages_deleted, plan.messages_scrubbed,
        plan.links_revoked, tuple(done.removed), tuple(done.failures), plan.lexicon_removed,
    )  # fmt: skip
    if done.failures:
        with db.transaction() as tx:
            audit.record(tx, who, Action.DELETE, "hearing", plan.hearing_id, office=plan.office,
                         step="files", failed=len(done.failures))  # fmt: skip
        raise DeletionIncomplete(report)
    return report
