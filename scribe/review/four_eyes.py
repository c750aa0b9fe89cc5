"""Four-eyes review: the person who made a version of a document does not approve it alone.

Each version of a document remembers who generated it (生成草稿) and who edited its fields or
added a term (``DocumentAuthor``). With ``SCRIBE_SERVER__FOUR_EYES`` on, approving a version is
refused to any of them: another reviewer reads it and approves. A new version (an edit after
approval or return, or drafting again) starts with its own authors, so the reviewer who
approved version 1 and edits it becomes an author of version 2.

Off by default: a one-desk office has one reviewer, who must still be able to approve. Returning
a draft is never refused this way (sending it back is not signing it off).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from scribe.accounts.principal import Principal
from scribe.errors import ApiError
from scribe.review.models import DocumentAuthor, Document

GENERATED = "generated"
EDITED = "edited"


def _key(who: Principal) -> str:
    return f"{who.kind}:{who.id}"  # the account, not its (changeable) name


def note_author(tx: Session, doc: Document, who: Principal, how: str) -> None:
    """``who`` generated or edited the document's current version."""
    key = _key(who)
    found = tx.scalar(select(DocumentAuthor).where(
        DocumentAuthor.document_id == doc.id, DocumentAuthor.version == doc.version, DocumentAuthor.author == key))
    if found is None:
        tx.add(DocumentAuthor(document_id=doc.id, version=doc.version, author=key, how=how))
        tx.flush()


def authors(tx: Session, doc: Document) -> set[str]:
    return set(tx.scalars(select(DocumentAuthor.author).where(
        DocumentAuthor.document_id == doc.id, DocumentAuthor.version == doc.version)))


def require_second_reviewer(tx: Session, doc: Document, who: Principal, *, enabled: bool) -> None:
    """Refuse the approval when four-eyes is on and ``who`` made this version."""
    if enabled and _key(who) in authors(tx, doc):
        raise ApiError(
            409, "four_eyes",
            f"you generated or edited version {doc.version} of this document; four-eyes review is on",
            fix="another reviewer of the office approves it (SCRIBE_SERVER__FOUR_EYES)",
            params={"version": doc.version},
        )


def forget(tx: Session, document_ids: list[str]) -> None:
    """The authors of deleted documents (``scribe.privacy.deletion``)."""
    from sqlalchemy import delete

    if document_ids:
        tx.execute(delete(DocumentAuthor).where(DocumentAuthor.document_id.in_(document_ids)))
