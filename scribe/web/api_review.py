"""Draft review: make a draft from the transcript, edit fields, add terms, change category,
download .docx/PDF, approve (which enqueues delivery) or return, and see delivery status."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from scribe.accounts import audit
from scribe.accounts.audit import Action
from scribe.accounts.principal import Principal, Scope
from scribe.delivery import outbox
from scribe.delivery.models import Endpoint, OutboxMessage
from scribe.errors import ApiError, SessionError
from scribe.review import four_eyes
from scribe.review import service as review
from scribe.review.models import Document
from scribe.web import documents, hearings
from scribe.web.auth import Tx, require
from scribe.web.document_problems import document_problems
from scribe.web.models import Hearing
from scribe.services import services
from scribe.web.schemas import ErrorOut, Strict

router = APIRouter(prefix="/api/hearings/{hearing_id}/documents", tags=["review"])
Reader = Annotated[Principal, Depends(require(Scope.DOCUMENTS_READ))]
Writer = Annotated[Principal, Depends(require(Scope.DOCUMENTS_WRITE))]
Approver = Annotated[Principal, Depends(require(Scope.DOCUMENTS_APPROVE))]
R: dict[int | str, dict[str, Any]] = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}}
R4: dict[int | str, dict[str, Any]] = {**R, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}}
TEMPLATE = r"^[a-z0-9][a-z0-9_\-]{0,63}$"
TextList = Annotated[list[Annotated[str, Field(max_length=2000)]], Field(max_length=100)]


class DraftIn(Strict):
    template: str | None = Field(default=None, pattern=TEMPLATE, description="default: by the session type")


class FieldEdit(Strict):
    path: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$",
                      description="facts, terms.2, parties.0.phone, dispute_category …")
    value: str | int | TextList | None = Field(
        default=None,
        description="the new value: text; a number for age/copies; a list of texts for a list field "
                    "(mediators, terms, legal_bases, outcome, others), which replaces the whole list",
    )


class TermIn(Strict):
    text: str = Field(min_length=1, max_length=2000)


class ReturnIn(Strict):
    note: str = Field(min_length=1, max_length=2000)


class DocumentOut(BaseModel):
    id: str
    kind: str
    status: str
    version: int
    template: str
    title: str
    fields: dict[str, Any]
    list_fields: list[str] = Field(description="fields edited as a list: PATCH them with a list value")
    choices: dict[str, list[str]] = Field(default_factory=dict, description="the values a list field may hold, where fixed (outcome)")
    missing: list[str]
    problems: list[str]
    problem_items: list[dict[str, Any]] = Field(
        default_factory=list, description="the problems naming person and field, for the pages to say in words")
    warnings: list[str]
    files: list[str]
    approved_by: str | None
    return_note: str | None
    deliveries: list[dict[str, Any]]
    candidates: list[dict[str, Any]] = []  # values found in the transcript, used or not (draft.json)


def _registry(request: Request) -> Any:
    reg = getattr(request.app.state, "templates", None)
    if reg is None:
        from doc_templates.registry import load_registry

        reg = request.app.state.templates = load_registry(request.app.state.settings.template_dir)
    return reg


def _drafter(request: Request) -> Any:
    """The site's drafting model, set up once per process on first use (None: rules only)."""
    state = request.app.state
    if not hasattr(state, "drafter"):
        from scribe.drafting import load_generator

        state.drafter = load_generator(state.settings)
    return state.drafter


def _doc(tx: Tx, who: Principal, hearing_id: str, doc_id: str) -> tuple[Hearing, Document]:
    hearing = hearings.get_visible(tx, who, hearing_id)
    doc = tx.get(Document, doc_id)
    if doc is None or doc.hearing_id != hearing.id:
        raise HTTPException(404, detail=f"no document {doc_id!r} in this hearing")
    return hearing, doc


def _deliveries(tx: Tx, doc: Document) -> list[dict[str, Any]]:
    """Each message about the document and, per endpoint, where it stands and why: the last
    error (HTTP status, refused address, timeout), the next attempt, a disabled endpoint."""
    out = []
    for mid in tx.scalars(select(OutboxMessage.id).where(OutboxMessage.subject_id == doc.id).order_by(OutboxMessage.created_at)):
        summary, attempts = outbox.show_message(tx, mid)
        endpoints = {e.id: e for e in tx.scalars(select(Endpoint).where(Endpoint.id.in_([d.endpoint_id for d in summary.deliveries])))}
        rows = []
        for d in summary.deliveries:
            ep = endpoints.get(d.endpoint_id)
            rows.append({
                "endpoint": d.endpoint_id, "endpoint_name": ep.name if ep else None, "status": d.status,
                "attempts": d.attempts, "last_status_code": d.last_status_code, "last_error": d.last_error,
                "next_attempt_at": d.next_attempt_at.isoformat() if d.next_attempt_at and d.status == "pending" else None,
                "endpoint_enabled": ep.enabled if ep else None,
                "endpoint_disabled_reason": ep.disabled_reason if ep and not ep.enabled else None,
                "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None,
            })
        out.append({
            "message_id": summary.id,
            "event": summary.event_type,
            "status": summary.status,  # delivered | pending | failed | unrouted (no endpoint subscribes)
            "deliveries": rows,
            "attempts": len(attempts),
        })  # fmt: skip
    return out


def _out(request: Request, tx: Tx, doc: Document) -> DocumentOut:
    settings = request.app.state.settings
    draft = documents.load_draft(settings, doc)
    return DocumentOut(
        id=doc.id, kind=doc.kind, status=doc.status, version=doc.version, template=draft.template,
        title=draft.title, fields={n: fv.model_dump(mode="json", exclude_none=True) for n, fv in draft.fields.items()},
        list_fields=sorted(documents.list_fields(draft.document) & set(draft.fields)),
        choices={k: v for k, v in documents.list_choices(draft.document).items() if k in draft.fields},
        missing=draft.missing, problems=draft.problems, warnings=draft.warnings, files=sorted(doc.files),
        problem_items=document_problems(draft.document, draft.fields),
        approved_by=doc.approved_by, return_note=doc.return_note, deliveries=_deliveries(tx, doc),
        candidates=[c.model_dump(mode="json", exclude_none=True) for c in draft.candidates],
    )  # fmt: skip


@router.get("", response_model=list[DocumentOut], responses=R, summary="Documents drafted for this hearing")
def list_documents(hearing_id: str, who: Reader, tx: Tx, request: Request) -> list[DocumentOut]:
    hearing = hearings.get_visible(tx, who, hearing_id)
    docs = review.documents_of_hearing(tx, hearing.id)
    audit.record_reads(tx, who, "document", ((d.id, hearing.office) for d in docs), via="list", hearing=hearing.id)
    return [_out(request, tx, d) for d in docs]


@router.post("", response_model=DocumentOut, status_code=201, responses=R4,
             summary="Draft a document from the transcript (again: the document's next version, earlier ones kept)")
def make_draft(hearing_id: str, body: DraftIn, who: Writer, tx: Tx, request: Request) -> DocumentOut:
    hearing = hearings.get_visible(tx, who, hearing_id)
    live = services(request).live
    data = live.transcript(hearing.live_session_id) if (live is not None and hearing.live_session_id) else None
    if not data or not data.get("segments"):
        raise SessionError("this hearing has no transcript to draft from yet", fix="record the hearing, then stop it")
    lifecycle = services(request).lifecycle
    lifecycle.require_not_recording(hearing, "draft from it")
    doc = documents.make_draft(tx, request.app.state.settings, hearing, data, body.template, _registry(request),
                               _drafter(request), by=who.name)
    lifecycle.drafted(hearing)
    four_eyes.note_author(tx, doc, who, four_eyes.GENERATED)
    audit.record(tx, who, Action.CREATE, "document", doc.id, office=hearing.office, hearing=hearing.id, kind=doc.kind)
    return _out(request, tx, doc)


@router.get("/{doc_id}", response_model=DocumentOut, responses=R, summary="A draft with its evidence")
def get_document(hearing_id: str, doc_id: str, who: Reader, tx: Tx, request: Request) -> DocumentOut:
    hearing, doc = _doc(tx, who, hearing_id, doc_id)
    audit.record(tx, who, Action.VIEW, "document", doc.id, office=hearing.office)
    out = _out(request, tx, doc)
    delivered = out.deliveries and all(m["status"] == "delivered" for m in out.deliveries)
    if doc.status == "approved" and delivered:
        services(request).lifecycle.delivered(hearing)  # the case system has it
    return out


@router.patch("/{doc_id}/fields", response_model=DocumentOut, responses=R4, summary="Change one field (or the category)")
def edit_field(hearing_id: str, doc_id: str, body: FieldEdit, who: Writer, tx: Tx, request: Request) -> DocumentOut:
    hearing, doc = _doc(tx, who, hearing_id, doc_id)
    documents.edit(request.app.state.settings, tx, doc, _registry(request), hearing, who.name, path=body.path, value=body.value)
    four_eyes.note_author(tx, doc, who, four_eyes.EDITED)
    audit.record(tx, who, Action.CHANGE, "document", doc.id, office=hearing.office, field=body.path)
    tx.refresh(doc)
    return _out(request, tx, doc)


@router.post("/{doc_id}/terms", response_model=DocumentOut, responses=R4, summary="Add an agreed term")
def add_term(hearing_id: str, doc_id: str, body: TermIn, who: Writer, tx: Tx, request: Request) -> DocumentOut:
    hearing, doc = _doc(tx, who, hearing_id, doc_id)
    documents.edit(request.app.state.settings, tx, doc, _registry(request), hearing, who.name, add_term=body.text)
    four_eyes.note_author(tx, doc, who, four_eyes.EDITED)
    audit.record(tx, who, Action.CHANGE, "document", doc.id, office=hearing.office, field="terms", added=True)
    tx.refresh(doc)
    return _out(request, tx, doc)


@router.post("/{doc_id}/approve", response_model=DocumentOut, responses=R4, summary="Approve; the case system is notified")
def approve(hearing_id: str, doc_id: str, who: Approver, tx: Tx, request: Request) -> DocumentOut:
    hearing, doc = _doc(tx, who, hearing_id, doc_id)
    if who.kind != "user":
        raise HTTPException(403, detail="approval is a person's act — log in as a reviewer")
    settings = request.app.state.settings
    four_eyes.require_second_reviewer(tx, doc, who, enabled=settings.server.four_eyes)
    if doc.status == "draft":
        documents.finalise(tx, settings, doc, _registry(request), hearing)
    result = review.approve(tx, doc.id, who.name, settings=settings, base_url=str(request.base_url))
    services(request).lifecycle.approved(hearing)
    audit.record(tx, who, Action.APPROVE, "document", doc.id, office=hearing.office, version=result.version, message=result.message_id)
    tx.refresh(doc)
    return _out(request, tx, doc)


@router.post("/{doc_id}/return", response_model=DocumentOut, responses=R4, summary="Return the draft for changes")
def return_draft(hearing_id: str, doc_id: str, body: ReturnIn, who: Approver, tx: Tx, request: Request) -> DocumentOut:
    hearing, doc = _doc(tx, who, hearing_id, doc_id)
    if who.kind != "user":  # as approval: a token that may approve cannot send a draft back either
        raise ApiError(403, "return_by_person", "returning a document is a person's act — log in as a reviewer")
    review.return_for_changes(tx, doc.id, who.name, body.note)
    services(request).lifecycle.returned(hearing)
    audit.record(tx, who, Action.RETURN, "document", doc.id, office=hearing.office)
    tx.refresh(doc)
    return _out(request, tx, doc)


@router.get(
    "/{doc_id}/file/{kind}",
    response_class=FileResponse,
    responses={**R4, 200: {"content": {"application/octet-stream": {}}}},
    summary="Download the .docx or PDF",
)
def download(hearing_id: str, doc_id: str, kind: str, who: Reader, tx: Tx, request: Request) -> FileResponse:
    if kind not in ("docx", "pdf"):
        raise HTTPException(404, detail="files are docx or pdf")
    hearing, doc = _doc(tx, who, hearing_id, doc_id)
    path = documents.document_file(request.app.state.settings, doc, _registry(request), hearing, kind)
    audit.record(tx, who, Action.EXPORT, "document", doc.id, office=hearing.office, file=kind)
    name = f"{doc.kind}-{hearing.case_number or hearing.id}-v{doc.version}.{kind}"
    media = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "pdf": "application/pdf"}[kind]
    return FileResponse(path, media_type=media, filename=name)



class VersionOut(BaseModel):
    version: int
    current: bool
    made: str = Field(description="generated (生成草稿) | edited (edits after a return or an approval)")
    by: str | None
    at: str | None


@router.get("/{doc_id}/versions", response_model=list[VersionOut], responses=R, summary="Every version kept, oldest first")
def list_versions(hearing_id: str, doc_id: str, who: Reader, tx: Tx, request: Request) -> list[VersionOut]:
    _, doc = _doc(tx, who, hearing_id, doc_id)
    return [VersionOut(**v) for v in documents.versions(request.app.state.settings, doc)]


@router.get("/{doc_id}/versions/{version}/docx", response_class=FileResponse, responses=R4, summary="An earlier version's .docx")
def version_docx(hearing_id: str, doc_id: str, version: Annotated[int, PathParam(ge=1, le=100_000)], who: Reader, tx: Tx, request: Request) -> FileResponse:
    hearing, doc = _doc(tx, who, hearing_id, doc_id)
    path = documents.version_docx(request.app.state.settings, doc, _registry(request), hearing, version)
    audit.record(tx, who, Action.EXPORT, "document", doc.id, office=hearing.office, file="docx", version=version)
    name = f"{doc.kind}-{hearing.case_number or hearing.id}-v{version}.docx"
    return FileResponse(path, media_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document", filename=name)


class PagesOut(BaseModel):
    pages: int
    urls: list[str]


@router.get("/{doc_id}/pages", response_model=PagesOut, responses=R4, summary="The rendered document, one image a page")
def list_pages(hearing_id: str, doc_id: str, who: Reader, tx: Tx, request: Request) -> PagesOut:
    hearing, doc = _doc(tx, who, hearing_id, doc_id)
    images = documents.page_images(request.app.state.settings, doc, _registry(request), hearing)
    audit.record(tx, who, Action.VIEW, "document", doc.id, office=hearing.office, pages=len(images))
    key = images[0].parent.name[:12] if images else ""
    return PagesOut(pages=len(images), urls=[f"/api/hearings/{hearing.id}/documents/{doc.id}/pages/{i + 1}?k={key}"
                                             for i in range(len(images))])


@router.get("/{doc_id}/pages/{page}", response_class=FileResponse, responses={**R4, 200: {"content": {"image/png": {}}}},
            summary="One page of the rendered document as PNG")
def page_png(hearing_id: str, doc_id: str, page: Annotated[int, PathParam(ge=1, le=10_000)], who: Reader, tx: Tx, request: Request) -> FileResponse:
    hearing, doc = _doc(tx, who, hearing_id, doc_id)
    images = documents.page_images(request.app.state.settings, doc, _registry(request), hearing)
    if not 1 <= page <= len(images):
        raise HTTPException(404, detail=f"文书没有第 {page} 页")
    return FileResponse(images[page - 1], media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})
