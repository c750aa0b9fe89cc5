"""Review of drafted documents: the Document record, approval (which enqueues the
``document.approved`` webhook in the same transaction), return for changes, and the
``session.completed`` hook.

Typical use from the review page::

    with db.transaction() as tx:
        approval = review.approve(tx, document_id, user.name, settings=settings)
    # committed: the document is approved AND its webhook is queued, or neither
"""

from scribe.delivery.payload import SessionSummary
from scribe.review.models import APPROVED, DRAFT, KINDS, RETURNED, Document
from scribe.review.service import (
    Approval,
    approve,
    documents_of_hearing,
    get_document,
    return_for_changes,
    save_draft,
    session_completed,
)

__all__ = [
    "APPROVED",
    "DRAFT",
    "KINDS",
    "RETURNED",
    "Approval",
    "Document",
    "SessionSummary",
    "approve",
    "documents_of_hearing",
    "get_document",
    "return_for_changes",
    "save_draft",
    "session_completed",
]
