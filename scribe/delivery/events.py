"""Event types a case system can subscribe to."""

from __future__ import annotations

DOCUMENT_APPROVED = "document.approved"  # a reviewer approved a document (payload: the document)
SESSION_COMPLETED = "session.completed"  # a hearing or consultation ended and was archived

EVENT_TYPES = frozenset({DOCUMENT_APPROVED, SESSION_COMPLETED})
