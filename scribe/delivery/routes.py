"""HTTP routes case systems pull from. The server mounts them with
``app.include_router(scribe.delivery.routes.make_router(db, settings))``.

- ``GET /api/v1/documents/{id}``: the latest ``document.approved`` payload of a document
  (API token with ``documents:read``)
- ``GET /api/v1/documents/{id}/files/{kind}``: a file of the approved version, with the signed
  link from the webhook (``?v=&expires=&link=&sig=``) or an API token of the kind's scope

Every pull is audited (the endpoint or token, the document, the file kind).
"""

from __future__ import annotations

import json
from pathlib import Path
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Response
from fastapi.responses import FileResponse
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from scribe.delivery.events import DOCUMENT_APPROVED
from scribe.delivery.files import sha256_file
from scribe.delivery.models import DownloadLink, OutboxMessage
from scribe.delivery.payload import MEDIA_TYPES
from scribe.delivery.pull import (
    SCOPE_FOR_KIND,
    AccessDenied,
    authenticate_token,
    authorize_token,
    verify_link,
)
from scribe.settings import Settings
from scribe.storage import Database, utcnow


# (tx, actor, document id, office, what was read, how: "token" | "link"): the server writes it
# to its audit log (this package does not import the accounts room)
PullAudit = Callable[[Session, str, str, str, str, str], None]


def make_router(db: Database, settings: Settings, audit: PullAudit | None = None) -> APIRouter:
    """``audit`` records every pull that hands out a document (in the pull's transaction)."""
    from scribe.review.models import APPROVED, Document

    def audited(tx: Session, actor: str, doc: Document, what: str, via: str) -> None:
        if audit is not None:
            audit(tx, actor, doc.id, doc.office, what, via)

    router = APIRouter(prefix="/api/v1/documents", tags=["case-system pull"])

    def bearer(authorization: str | None) -> str:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise HTTPException(401, "send Authorization: Bearer <API token> or a signed link")
        return authorization[7:].strip()

    @router.get("/{document_id}")
    def document_payload(
        document_id: str, authorization: Annotated[str | None, Header()] = None
    ) -> Any:
        token = bearer(authorization)
        with db.transaction() as tx:
            try:  # credentials first: an unknown caller learns nothing about document ids
                authenticate_token(tx, token, "documents:read")
            except AccessDenied as exc:
                raise HTTPException(403, str(exc)) from exc
            doc = tx.get(Document, document_id)
            if doc is None or doc.status != APPROVED:
                raise HTTPException(404, "no approved document with this id")
            try:
                reader = authorize_token(tx, token, "documents:read", doc.office)
            except AccessDenied as exc:
                raise HTTPException(403, str(exc)) from exc
            audited(tx, f"pull-token:{reader.id}:{reader.name}", doc, "payload", "token")
            body = tx.scalar(
                select(OutboxMessage.body)
                .where(OutboxMessage.subject_id == document_id)
                .where(OutboxMessage.event_type == DOCUMENT_APPROVED)
                .order_by(OutboxMessage.created_at.desc())
                .limit(1)
            )
        if body is None:
            raise HTTPException(404, "no approved document with this id")
        return json.loads(body)

    @router.get("/{document_id}/files/{kind}")
    def document_file(
        document_id: str,
        kind: str,
        v: Annotated[int | None, Query()] = None,
        expires: Annotated[int | None, Query()] = None,
        link: Annotated[str | None, Query(max_length=40)] = None,
        sig: Annotated[str | None, Query()] = None,
        authorization: Annotated[str | None, Header()] = None,
    ) -> Response:
        if kind not in SCOPE_FOR_KIND or (kind == "audio" and not settings.delivery.include_audio):
            raise HTTPException(404, "no such file kind")
        with db.transaction() as tx:
            # Credentials first (a signed link or a token), so an unknown caller learns nothing
            # about which documents exist; the office is checked once the document is found.
            try:
                if sig is not None:
                    if v is None or expires is None:
                        raise HTTPException(400, "a signed link needs v, expires, link and sig")
                    if link is None:  # a link of the old form (before links were revocable)
                        raise AccessDenied("the download link is no longer valid",
                                           fix="download with an API token, or ask for a replay")
                    row = verify_link(tx, document_id, kind, v, expires, link, sig, settings)
                    actor = f"endpoint:{row.endpoint_id}" if row.endpoint_id else f"link:{row.id}"
                else:
                    token = bearer(authorization)
                    actor = f"token:{authenticate_token(tx, token, SCOPE_FOR_KIND[kind]).id}"
            except AccessDenied as exc:
                raise HTTPException(403, str(exc)) from exc
            doc = tx.get(Document, document_id)
            if doc is None or doc.status != APPROVED or kind not in doc.files:
                raise HTTPException(404, "no approved document file here")
            if sig is not None and v != doc.version:
                raise HTTPException(410, "this link is for an older version")
            try:
                if sig is None:
                    reader = authorize_token(tx, token, SCOPE_FOR_KIND[kind], doc.office)
                    actor = f"pull-token:{reader.id}:{reader.name}"
            except AccessDenied as exc:
                raise HTTPException(403, str(exc)) from exc
            audited(tx, actor, doc, kind, "link" if sig is not None else "token")
            info = dict(doc.files[kind])
            version = doc.version
            office = doc.office
        path = Path(info["path"])
        # Serve only what was approved: a file changed on disk since approval is refused.
        if not path.is_file() or sha256_file(path) != info["sha256"]:
            raise HTTPException(409, "the file changed after approval; ask the office")
        if sig is not None and link is not None:
            with db.transaction() as tx:
                tx.execute(
                    update(DownloadLink).where(DownloadLink.id == link)
                    .values(pulls=DownloadLink.pulls + 1, last_pulled_at=utcnow())
                )  # fmt: skip
        return FileResponse(
            path,
            media_type=info.get("media_type") or MEDIA_TYPES.get(kind),
            filename=f"{document_id}-v{version}-{kind}{path.suffix}",
            headers={"x-content-sha256": info["sha256"], "cache-control": "no-store"},
        )

    return router
