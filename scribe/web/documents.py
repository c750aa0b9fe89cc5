"""Drafts of a hearing for the review page: make, edit, render, approve, return.

A ``review_documents`` row (``scribe.review``) holds the fields the payload needs; beside it on
disk, ``<data_dir>/documents/<doc id>/v<version>/`` keeps the whole draft (``draft.json``:
fields with evidence, missing, problems) and the transcript it was drafted from, so every version
stays as it was approved. The .docx and PDF are rendered from that ``draft.json`` into
``<data_dir>/documents/<doc id>/rendered/<content hash>.docx|.pdf`` (``doc_templates.cache``):
a download always prints the version being downloaded, an approved version prints without the
draft banner, and the files an approval hashed are never written over.
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
from scribe.extract.notes import Note, edited_by
from scribe.review import service as review
from scribe.review.models import APPROVED, RETURNED, Document
from scribe.settings import Settings
from scribe.storage import utcnow
from scribe.types import Transcript
from scribe.web.casefile_map import to_casefile
from scribe.web.models import Hearing
from scribe.web.schemas import CATEGORIES

DEFAULT_TEMPLATES = {"mediation": "mediation-agreement", "consultation": "consultation-record"}
CATEGORY_FIELDS = ("dispute_category", "category")
_INT_LEAVES = {"age", "copies", "satisfaction"}


def folder(settings: Settings, doc_id: str, version: int) -> Path:
    return settings.data_dir / "documents" / doc_id / f"v{version}"


def rendered_folder(settings: Settings, doc_id: str) -> Path:
    return settings.data_dir / "documents" / doc_id / "rendered"


def corrected_transcript(data: dict[str, Any], corrections: dict[str, Any]) -> Transcript:
    """The transcript with staff corrections in place: retyped lines, speakers changed, turns
    split or merged (the original stays in the archive; ``scribe.review.transcript_edits``)."""
    from scribe.review.transcript_edits import corrected_segments

    segments = corrected_segments(corrections, list(data.get("segments") or []))
    return Transcript.from_dict({**data, "segments": segments})


def make_draft(
    tx: Session,
    settings: Settings,
    hearing: Hearing,
    transcript_data: dict[str, Any],
    template: str | None,
    registry: Any,
    generator: Any = None,
    by: str = "",
) -> Document:
    """A draft of the hearing; ``generator``: the site's drafting model (None: rules only)."""
    from scribe.drafting import draft_document

    spec = registry.get(template or DEFAULT_TEMPLATES[hearing.kind])
    casefile = CaseFile.from_dict(to_casefile(hearing), origin=f"hearing {hearing.id}")
    transcript = corrected_transcript(transcript_data, hearing.corrections or {})
    draft = draft_document(transcript, casefile, kind=spec.document, template=spec.name, title=spec.title,
                           generator=generator, timeout_s=settings.drafting_timeout_s,
                           max_new_tokens=settings.drafting_max_new_tokens)
    # 生成草稿 again replaces the hearing's document of that kind: its next version, the earlier
    # ones kept in their folders and listed (``versions``), never a second current draft
    same = [d for d in review.documents_of_hearing(tx, hearing.id) if d.kind == spec.document]
    if same:
        doc = max(same, key=lambda d: d.updated_at)
        if doc.status not in (APPROVED, RETURNED):  # those start their next version themselves
            doc.version += 1
    else:
        doc = review.save_draft(tx, hearing_id=hearing.id, office=hearing.office, kind=spec.document, fields={})
    _store(tx, settings, doc, draft, registry, casefile, transcript, made="generated", by=by)
    return doc


def _store(
    tx: Session, settings: Settings, doc: Document, draft: Draft, registry: Any, casefile: CaseFile,
    transcript: Transcript | None = None, *, made: str = "edited", by: str = "",
) -> None:
    from doc_templates.cache import rendered_docx

    spec = registry.get(draft.template)
    # saving over a returned or approved document starts its next version (review.save_draft):
    # write into that version's folder, never over the files of the approved one
    version = doc.version + 1 if doc.status in (APPROVED, RETURNED) else doc.version
    where = folder(settings, doc.id, version)
    where.mkdir(parents=True, exist_ok=True)
    draft.dump(where / "draft.json")
    meta = where / "version.json"
    if made == "generated" or not meta.exists():  # how the version began: drafted, or edited on
        meta.write_text(json.dumps({"made": made, "by": by, "at": utcnow().isoformat()}, ensure_ascii=False),
                        encoding="utf-8")
    # rendered now (a template that cannot print these values fails the edit, not a later
    # download); a draft always carries the draft banner
    docx = rendered_docx(draft, spec, rendered_folder(settings, doc.id), custom=casefile.custom, final=False)
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
    # a PDF belongs to the version it was printed from: a new draft has none until approval
    doc.files = {k: v for k, v in doc.files.items() if k != "pdf"}


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


def list_fields(document: str) -> frozenset[str]:
    """Top-level fields the document's schema types as a list of texts (mediators, terms,
    legal_bases, outcome, others ...): they are edited as lists, never as one string."""
    import typing

    from doc_templates.schemas import DOCUMENT_MODELS

    out = set()
    for name, info in DOCUMENT_MODELS[document].model_fields.items():
        ann = info.annotation
        if typing.get_origin(ann) is list:
            (arg,) = typing.get_args(ann)
            if arg is str or typing.get_origin(arg) is typing.Literal:
                out.add(name)
    return frozenset(out)


def date_fields(document: str) -> frozenset[str]:
    """Top-level fields the document's schema types as a date (or a date and time)."""
    import datetime as dt
    import typing

    from doc_templates.schemas import DOCUMENT_MODELS

    out = set()
    for name, info in DOCUMENT_MODELS[document].model_fields.items():
        ann = info.annotation
        if ann is dt.date or dt.date in typing.get_args(ann):
            out.add(name)
    return frozenset(out)


def _typed_date(value: str, hearing: Hearing) -> str:
    """A date typed as people write it (2026年12月31日前, 12月31日, 2026/12/31), as ISO."""
    import datetime as dt

    from scribe.review.typed_dates import parse_typed_date

    text = value.strip()
    try:
        return dt.datetime.fromisoformat(text).isoformat(timespec="minutes") if "T" in text or " " in text.strip() \
            else dt.date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    found = parse_typed_date(text, hearing.hearing_date)
    if found is None:
        raise DocumentError(f"无法把“{text}”读成一个日期", fix="写成 2026年12月31日、12月31日 或 2026/12/31")
    return found.isoformat()


def list_choices(document: str) -> dict[str, list[str]]:
    """The fixed values of a list field (a consultation's outcome: 已解答, 转法律援助 …)."""
    import typing

    from doc_templates.schemas import DOCUMENT_MODELS

    out = {}
    for name, info in DOCUMENT_MODELS[document].model_fields.items():
        if typing.get_origin(info.annotation) is list:
            (arg,) = typing.get_args(info.annotation)
            if typing.get_origin(arg) is typing.Literal:
                out[name] = [str(v) for v in typing.get_args(arg)]
    return out


# Lists of names or short labels; a text typed for one of them is split at 、，,；; too. The
# other list fields hold sentences (terms, legal bases), which such marks do not end.
NAME_LISTS = frozenset({"mediators", "others", "outcome", "parties"})


def as_list(value: Any, name: str) -> list[str]:
    """A list field's new value: a list as given, or a text split into entries: at line ends,
    and for a list of names also at 、，,；; (what a person types into one box)."""
    if value is None:
        return []
    if isinstance(value, list):
        parts = value
    else:
        parts = re.split(r"[、,，;；\n]+" if name in NAME_LISTS else r"\n+", str(value))
    return [text for text in (str(p).strip() for p in parts) if text]


def _typed(value: Any, leaf_name: str, old: Any) -> Any:
    if isinstance(value, list):
        raise DocumentError(f"{leaf_name} takes one value, not a list", fix="send the text of the field")
    if isinstance(value, str):
        text = value.strip()
        if (leaf_name in _INT_LEAVES or isinstance(old, int)) and re.fullmatch(r"\d{1,6}", text):
            return int(text)
        return text
    return value


def _set_list(node: dict[str, Any], values: list[str], edited: Note) -> None:
    """Make a list field hold ``values``, one item each. An item whose text is unchanged keeps
    its evidence (a reviewer reordering or deleting terms keeps the words each was said in)."""
    old_items = list(node.get("items") or [])
    if not old_items and isinstance(node.get("value"), list):  # a list drafted as one value
        old_items = [{"value": v, "source": node.get("source", Source.SESSION.value), "evidence": [],
                      "confidence": node.get("confidence", 1.0)} for v in node["value"]]
    items = []
    for text in values:
        same = next((it for it in old_items if it.get("value") == text), None)
        if same is not None:
            old_items.remove(same)
            items.append(same)
        else:
            items.append({"value": text, "source": Source.SESSION.value, "evidence": [], "confidence": 1.0,
                          "note": edited.zh, "note_en": edited.en})
    node.clear()
    if items:
        node.update(items=items, note=edited.zh, note_en=edited.en)
    else:
        node.update(value=[], source=Source.MISSING.value, confidence=0.0,
                    note=f"{edited.zh}：已清空", note_en=f"{edited.en}: emptied")


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
        if path in list_fields(draft.document):
            _set_list(node, as_list(value, path), edited)
        elif node.get("items") or node.get("parts"):
            raise DocumentError(f"{path} is made of several fields", fix="edit its parts one by one")
        elif top == path and top in date_fields(draft.document) and isinstance(value, str) and value.strip():
            node["value"] = _typed_date(value, hearing)
            node["source"], node["confidence"] = Source.SESSION.value, 1.0
            node["note"], node["note_en"] = edited.zh, edited.en
        else:
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


def document_file(settings: Settings, doc: Document, registry: Any, hearing: Hearing, kind: str) -> Path:
    """The .docx or PDF of the document's current version, as it stands now.

    An approved version serves the very file its approval hashed (and delivered); anything else
    is rendered from the version's ``draft.json``: a draft (or returned) version with the draft
    banner, an approved one without it."""
    from doc_templates.cache import rendered_docx, rendered_pdf

    final = doc.status == APPROVED
    approved = (doc.files or {}).get(kind) if final else None
    if approved is not None and Path(approved["path"]).is_file():
        return Path(approved["path"])
    draft = load_draft(settings, doc)
    spec = registry.get(draft.template)
    custom = CaseFile.from_dict(to_casefile(hearing), origin=f"hearing {hearing.id}").custom
    where = rendered_folder(settings, doc.id)
    if kind == "docx":
        return rendered_docx(draft, spec, where, custom=custom, final=final)
    return rendered_pdf(draft, spec, where, custom=custom, final=final,
                        soffice=settings.soffice_binary, timeout_s=settings.pdf_timeout_s)


def finalise(tx: Session, settings: Settings, doc: Document, registry: Any, hearing: Hearing) -> None:
    """Render the version being approved as the final document (no draft banner): the .docx,
    and the PDF when LibreOffice is installed; these become the files the approval hashes."""
    from doc_templates.cache import rendered_docx, rendered_pdf
    from doc_templates.render import find_soffice

    draft = load_draft(settings, doc)
    spec = registry.get(draft.template)
    custom = CaseFile.from_dict(to_casefile(hearing), origin=f"hearing {hearing.id}").custom
    where = rendered_folder(settings, doc.id)
    files = {k: v["path"] for k, v in doc.files.items() if k not in ("docx", "pdf")}
    files["docx"] = str(rendered_docx(draft, spec, where, custom=custom, final=True))
    if find_soffice(settings.soffice_binary) is not None:
        files["pdf"] = str(rendered_pdf(draft, spec, where, custom=custom, final=True,
                                        soffice=settings.soffice_binary, timeout_s=settings.pdf_timeout_s))
    review.save_draft(tx, hearing_id=doc.hearing_id, office=doc.office, kind=doc.kind, fields=doc.fields,
                      files=files, document_id=doc.id)
    doc.files = {k: v for k, v in doc.files.items() if k in files}  # nothing of an earlier version


# -- versions and pages --------------------------------------------------------------------
def versions(settings: Settings, doc: Document) -> list[dict[str, Any]]:
    """Every version of the document kept on disk, oldest first: how it began, who, when."""
    root = settings.data_dir / "documents" / doc.id
    out = []
    for where in sorted(root.glob("v*/draft.json"), key=lambda p: int(p.parent.name[1:])):
        n = int(where.parent.name[1:])
        meta_path = where.parent / "version.json"
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
        out.append({"version": n, "current": n == doc.version, "made": meta.get("made", "generated"),
                    "by": meta.get("by") or None, "at": meta.get("at")})
    return out


def version_docx(settings: Settings, doc: Document, registry: Any, hearing: Hearing, version: int) -> Path:
    """An earlier version as it was (draft banner unless it was the approved one)."""
    from doc_templates.cache import rendered_docx

    path = folder(settings, doc.id, version) / "draft.json"
    if not path.exists():
        raise DocumentError(f"这份文书没有第 {version} 版", fix="从版本列表中选择")
    draft = Draft.load(path)
    custom = CaseFile.from_dict(to_casefile(hearing), origin=f"hearing {hearing.id}").custom
    final = doc.status == APPROVED and version == doc.version
    return rendered_docx(draft, registry.get(draft.template), rendered_folder(settings, doc.id), custom=custom, final=final)


PAGE_DPI = 80  # a page about 660 px wide: readable beside the fields on a 1366-px desk screen


def page_images(settings: Settings, doc: Document, registry: Any, hearing: Hearing) -> list[Path]:
    """The current version's PDF as one PNG per page (``pdftoppm``), kept beside the PDF under
    the same content hash: a page is drawn once per content."""
    import shutil
    import subprocess

    pdf = document_file(settings, doc, registry, hearing, "pdf")
    tool = shutil.which("pdftoppm")
    if tool is None:
        raise DocumentError("本机未安装 pdftoppm，无法显示文书页面", fix="安装 poppler-utils，或下载 PDF 查看")
    pages = pdf.parent / f"{pdf.stem}-pages"
    if not pages.is_dir():
        tmp = pdf.parent / f".{pdf.stem}-pages-{utcnow().timestamp():.0f}"
        tmp.mkdir(parents=True, exist_ok=True)
        subprocess.run([tool, "-png", "-r", str(PAGE_DPI), str(pdf), str(tmp / "p")], check=True,
                       timeout=settings.pdf_timeout_s, capture_output=True)
        try:
            tmp.rename(pages)
        except OSError:  # another request drew them first
            shutil.rmtree(tmp, ignore_errors=True)
    return sorted(pages.glob("p*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[-1]))
