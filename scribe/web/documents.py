"""Drafts of a hearing for the review page: make, edit, render, approve, return.

A ``review_documents`` row (``scribe.review``) holds the fields the payload needs; beside it on
disk, ``<data_dir>/documents/<doc id>/v<version>/`` keeps the whole draft (``draft.json``:
fields with evidence, missing, problems), the rendered ``document.docx`` / ``document.pdf`` and
the transcript it was drafted from, so every version stays as it was approved.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from scribe.casefile import CaseFile
from scribe.errors import DocumentError
from scribe.extract.builders import validate_fields
from scribe.extract.draft import Draft
from scribe.extract.fields import FieldValue, Source
from scribe.extract.notes import edited_by
from scribe.review import service as review
from scribe.review.models import APPROVED, RETURNED, Document
from scribe.settings import Settings
from scribe.types import Transcript
from scribe.web.casefile_map import to_casefile
from scribe.web.models import Hearing
from scribe.web.schemas import CATEGORIES

DEFAULT_TEMPLATES = {"mediation": "mediation-agreement", "consultation": "consultation-record"}
CATEGORY_FIELDS = ("dispute_category", "category")
_INT_LEAVES = {"age", "copies", "satisfaction"}


def folder(settings: Settings, doc_id: str, version: int) -> Path:
    return settings.data_dir / "documents" / doc_id / f"v{version}"


def corrected_transcript(data: dict[str, Any], corrections: dict[str, dict[str, Any]]) -> Transcript:
    """The transcript with staff corrections in place (the original stays in the archive)."""
    segments = list(data.get("segments") or [])
    for key, fix in (corrections or {}).items():
        i = int(key)
        if 0 <= i < len(segments):
            segments[i] = {**segments[i], "text": fix["text"], "words": []}
    return Transcript.from_dict({**data, "segments": segments})


def make_draft(
    tx: Session,
    settings: Settings,
    hearing: Hearing,
    transcript_data: dict[str, Any],
    template: str | None,
    registry: Any,
) -> Document:
    from scribe.drafting import draft_document

    spec = registry.get(template or DEFAULT_TEMPLATES[hearing.kind])
    casefile = CaseFile.from_dict(to_casefile(hearing), origin=f"hearing {hearing.id}")
    transcript = corrected_transcript(transcript_data, hearing.corrections or {})
    draft = draft_document(transcript, casefile, kind=spec.document, template=spec.name, title=spec.title)
    doc = review.save_draft(tx, hearing_id=hearing.id, office=hearing.office, kind=spec.document, fields={})
    _store(tx, settings, doc, draft, registry, casefile, transcript)
    return doc


def _store(
    tx: Session, settings: Settings, doc: Document, draft: Draft, registry: Any, casefile: CaseFile,
    transcript: Transcript | None = None,
) -> None:
    from doc_templates.render import render_docx

    spec = registry.get(draft.template)
    # saving over a returned or approved document starts its next version (review.save_draft):
    # write into that version's folder, never over the files of the approved one
    version = doc.version + 1 if doc.status in (APPROVED, RETURNED) else doc.version
    where = folder(settings, doc.id, version)
    where.mkdir(parents=True, exist_ok=True)
    draft.dump(where / "draft.json")
    docx = render_docx(draft, spec, where / "document.docx", custom=casefile.custom)
    files: dict[str, Path] = {"docx": docx}
    tpath = where / "transcript.json"
    if transcript is not None:
        tpath.write_text(json.dumps(transcript.to_dict(), ensure_ascii=False), encoding="utf-8")
    else:
        previous = _find_previous(settings, doc.id, "transcript.json")
        if previous is not None and previous != tpath:
            tpath.write_bytes(previous.read_bytes())
    if tpath.exists():
        files["transcript"] = tpath
    fields = {name: fv.model_dump(mode="json", exclude_none=True) for name, fv in draft.fields.items()}
    review.save_draft(
        tx, hearing_id=doc.hearing_id, office=doc.office, kind=doc.kind, fields=fields, files=files, document_id=doc.id
    )


def _find_previous(settings: Settings, doc_id: str, name: str) -> Path | None:
    root = settings.data_dir / "documents" / doc_id
    found = sorted(root.glob(f"v*/{name}"), key=lambda p: int(p.parent.name[1:]))
    return found[-1] if found else None


def load_draft(settings: Settings, doc: Document) -> Draft:
    path = folder(settings, doc.id, doc.version) / "draft.json"
    if not path.exists():
        path = _find_previous(settings, doc.id, "draft.json") or path
    return Draft.load(path)


def _leaf(fields: dict[str, Any], path: str) -> tuple[dict[str, Any], str]:
    """The FieldValue dict at a dotted path (``facts``, ``terms.2``, ``parties.0.phone``)."""
    parts = path.split(".")
    if parts[0] not in fields:
        raise DocumentError(f"the draft has no field {parts[0]!r}", fix="pick a field shown on the page")
    node = fields[parts[0]]
    for step in parts[1:]:
        if node.get("items") is not None and step.isdigit() and int(step) < len(node["items"]):
            node = node["items"][int(step)]
        elif node.get("parts") is not None and step in node["parts"]:
            node = node["parts"][step]
        else:
            raise DocumentError(f"the draft has no field {path!r}", fix="pick a field shown on the page")
    return node, parts[-1]


def _typed(value: Any, leaf_name: str, old: Any) -> Any:
    if isinstance(value, str) and isinstance(old, list):
        # a list leaf (mediators, legal bases) is shown joined with 、 and edited as text
        return [part.strip() for part in re.split(r"[、,，;；\n]+", value) if part.strip()]
    if isinstance(value, str):
        text = value.strip()
        if (leaf_name in _INT_LEAVES or isinstance(old, int)) and re.fullmatch(r"\d{1,6}", text):
            return int(text)
        return text
    return value


def edit(settings: Settings, tx: Session, doc: Document, registry: Any, hearing: Hearing, user: str,
         *, path: str | None = None, value: Any = None, add_term: str | None = None) -> Draft:
    """Apply one reviewer change; the draft is re-checked and re-rendered as a new file set."""
    draft = load_draft(settings, doc)
    fields = {n: fv.model_dump(mode="json") for n, fv in draft.fields.items()}
    edited = edited_by(user)
    if add_term is not None:
        text = add_term.strip()
        if not text:
            raise DocumentError("an empty term cannot be added", fix="type the term's text")
        if "terms" not in fields:
            raise DocumentError("this document has no agreed terms", fix="terms belong to a mediation agreement")
        term = {"value": text, "source": Source.SESSION.value, "evidence": [], "confidence": 1.0,
                "note": edited.zh, "note_en": edited.en}
        fields["terms"]["items"] = [*(fields["terms"].get("items") or []), term]
    elif path is not None:
        top = path.split(".")[0]
        if top in CATEGORY_FIELDS and value not in CATEGORIES:
            raise DocumentError(f"unknown dispute category {value!r}", fix=f"use one of: {'、'.join(CATEGORIES)}")
        node, leaf_name = _leaf(fields, path)
        if node.get("items") or node.get("parts"):
            raise DocumentError(f"{path} is made of several fields", fix="edit its parts one by one")
        node["value"] = _typed(value, leaf_name, node.get("value"))
        node["source"] = Source.SESSION.value if node["value"] not in (None, "") else Source.MISSING.value
        node["confidence"] = 1.0 if node["value"] not in (None, "") else 0.0
        node["note"], node["note_en"] = edited.zh, edited.en
    else:
        raise DocumentError("nothing to change", fix="give a field and its new value, or a term to add")
    new_fields = {n: FieldValue.model_validate(v) for n, v in fields.items()}
    missing = [p for n, fv in new_fields.items() for p in fv.missing_paths(n)]
    updated = draft.model_copy(
        update={"fields": new_fields, "missing": missing, "problems": validate_fields(draft.document, new_fields)}
    )
    casefile = CaseFile.from_dict(to_casefile(hearing), origin=f"hearing {hearing.id}")
    _store(tx, settings, doc, updated, registry, casefile)
    return updated


def ensure_pdf(settings: Settings, doc: Document, registry: Any) -> Path:
    from doc_templates.render import docx_to_pdf

    where = folder(settings, doc.id, doc.version)
    pdf = where / "document.pdf"
    if not pdf.exists():
        draft = load_draft(settings, doc)
        docx_to_pdf(where / "document.docx", pdf, registry.get(draft.template),
                    soffice=settings.soffice_binary, timeout_s=settings.pdf_timeout_s)
    return pdf


def attach_pdf(tx: Session, settings: Settings, doc: Document, registry: Any) -> None:
    """Render the PDF (when LibreOffice is there) and add it to the document's files."""
    from doc_templates.render import find_soffice

    if find_soffice(settings.soffice_binary) is None:
        return
    pdf = ensure_pdf(settings, doc, registry)
    files = {k: v["path"] for k, v in doc.files.items()} | {"pdf": str(pdf)}
    review.save_draft(tx, hearing_id=doc.hearing_id, office=doc.office, kind=doc.kind, fields=doc.fields,
                      files=files, document_id=doc.id)
