"""Webhook payloads, version 1 (``docs/webhooks/payload-v1.schema.json``).

Every payload is an envelope ``{schema_version, type, timestamp, data}``. For
``document.approved`` the data holds the approved document's structured fields, the
GB/T 31000 case record a dispute platform routes by (``case_record``), and the files
(hash, size, a signed download link or the content inline). Minimisation (on by default)
leaves out ID numbers, phone numbers and addresses everywhere in the payload.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scribe.delivery.categories import category_code
from scribe.delivery.events import DOCUMENT_APPROVED, SESSION_COMPLETED
from scribe.settings import Settings

if TYPE_CHECKING:
    from scribe.review.models import Document

# 1.1: a missing field is null (it was the draft's internal {"source": "missing", ...} object),
# with its reason in data.document.missing; links use the server's public address.
SCHEMA_VERSION = "1.1"
SUMMARY_LIMIT = 2000  # 事件简述 is at most 2000 characters in GB/T 31000

# Keys that hold an ID number, a phone number or an address, in the forms the documents use.
MINIMISED_KEYS = frozenset(
    {
        "id_number", "phone", "mobile", "telephone", "contact", "address",
        "证件号码", "联系方式", "联系电话", "住址", "单位或住址", "居住详址",
    }
)  # fmt: skip

KIND_NAMES = {
    "mediation-agreement": "人民调解协议书",
    "consultation-record": "法律咨询记录",
    "hearing-record": "人民调解记录",
}
MEDIA_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
    "transcript": "application/json",
    "audio": "audio/flac",
}
# Roles that count as the people a case is about (涉及人数, the main parties).
_PARTY_ROLE_NAMES = ("被申请人", "申请人", "第三人", "咨询人")  # longest first: prefix match
_PARTY_ROLES = {*_PARTY_ROLE_NAMES, "applicant", "respondent", "third_party", "visitor"}
_STAFF_RESPONSIBLE = ("调解员", "接待人", "mediator", "consultant")


@dataclass(frozen=True)
class SessionSummary:
    """What ``session.completed`` tells a case system about a finished session."""

    session_id: str
    office: str
    session_type: str  # mediation | consultation
    started_at: dt.datetime
    ended_at: dt.datetime
    language: str = "zh"
    case_number: str | None = None
    transcript_path: Path | None = None
    audio_path: Path | None = None
    recorded_s: float | None = None  # seconds of audio archived (pauses left out)


def envelope(event_type: str, timestamp: dt.datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "type": event_type,
        "timestamp": _iso(timestamp),
        "data": data,
    }


def document_approved(
    doc: Document, settings: Settings, *, now: dt.datetime, base_url: str | None = None
) -> dict[str, Any]:
    """The ``document.approved`` payload for an approved ``doc`` (files already hashed).

    ``base_url`` is where the case system reaches this server (``public_base_url``)."""
    fields = values_of(doc.fields)
    missing = missing_fields(doc.fields)
    minimise = settings.delivery.minimise_payload
    record = case_record(doc.kind, doc.office, fields, settings)
    if minimise:
        fields = minimised(fields)
        record = minimised(record)
    data = {
        "document": {
            "id": doc.id,
            "kind": doc.kind,
            "kind_name": KIND_NAMES.get(doc.kind, doc.kind),
            "version": doc.version,
            "session_id": doc.hearing_id,  # the webhook contract keeps its name (webhooks.md)
            "office": doc.office,
            "number": _text(fields.get("case_number")),
            "approved_by": doc.approved_by,
            "approved_at": _iso(doc.approved_at) if doc.approved_at else None,
            "fields": fields,
            "missing": missing,
        },
        "case_record": record,
        "files": file_entries(doc, settings, now=now, base_url=base_url),
        "privacy": privacy_note(settings),
    }
    return envelope(DOCUMENT_APPROVED, now, data)


def session_completed(
    summary: SessionSummary, settings: Settings, *, now: dt.datetime
) -> dict[str, Any]:
    files = []
    for kind, path in (("transcript", summary.transcript_path), ("audio", summary.audio_path)):
        if path is None or (kind == "audio" and not settings.delivery.include_audio):
            continue
        files.append(_describe_file(kind, Path(path)))
    data = {
        "session": {
            "id": summary.session_id,
            "office": summary.office,
            "type": summary.session_type,
            "case_number": summary.case_number,
            "language": summary.language,
            "started_at": _iso(summary.started_at),
            "ended_at": _iso(summary.ended_at),
            "duration_s": round((summary.ended_at - summary.started_at).total_seconds(), 3),
            "recorded_s": summary.recorded_s,
        },
        "files": files,
        "privacy": privacy_note(settings),
    }
    return envelope(SESSION_COMPLETED, now, data)


def privacy_note(settings: Settings) -> dict[str, Any]:
    return {
        "minimised": settings.delivery.minimise_payload,
        "omitted": sorted(MINIMISED_KEYS) if settings.delivery.minimise_payload else [],
        "audio_included": settings.delivery.include_audio,
    }


# -- GB/T 31000 case record -----------------------------------------------------------------


def case_record(
    kind: str, office: str, fields: Mapping[str, Any], settings: Settings
) -> dict[str, Any]:
    """The document mapped onto the GB/T 31000-2015 矛盾纠纷 record (see docs/webhooks.md).

    ``fields`` follow ``doc_templates/schemas.py`` (MediationAgreement, ConsultationRecord,
    HearingRecord); the session-file shapes of ``scribe/casefile.py`` (``staff`` as objects,
    parties with ids) are read as well.
    """
    parties = _parties(fields)
    category = _text(
        fields.get("dispute_category")
        or fields.get("category")
        or fields.get("consultation_category")
    )
    outcomes = [t for t in (_text(o) for o in _list_or_one(fields.get("outcome"))) if t]
    resolved = _resolved(kind, fields)
    responsible_name, responsible_phone = _responsible(fields)
    if kind == "consultation-record":
        method = "法律咨询" + (f"（{'、'.join(outcomes)}）" if outcomes else "")
    else:
        method = "人民调解"
    summary = _join(
        fields.get("summary"), fields.get("facts"), fields.get("issues"), fields.get("question")
    ) or _join(fields.get("matter"))
    return {
        "event_name": _text(fields.get("matter"))
        or " ".join(x for x in (category, KIND_NAMES.get(kind, kind)) if x),
        "occurred_on": _date(fields.get("occurred_on") or fields.get("date") or fields.get("time")),
        "place": _text(fields.get("place")),
        "scale": _text(fields.get("event_scale")),
        "category_name": category,
        "category_code": category_code(category, settings.delivery.category_codes),
        "people_count": _int(fields.get("people_count")) or len(parties) or None,
        "summary": (summary or None) and summary[:SUMMARY_LIMIT],
        "organisations": [t for t in (_text(o) for o in _list(fields.get("organisations"))) if t],
        "parties": parties,
        "resolution_deadline": _date(fields.get("performance_deadline") or fields.get("deadline")),
        "resolution_method": method,
        "resolution_org": _text(fields.get("organisation")) or office,
        "responsible_person": {"name": responsible_name, "phone": responsible_phone},
        "resolved": resolved,
        "resolution_details": _join(fields.get("terms"), fields.get("answer"), fields.get("result"))
        or None,
        "evaluation_date": _date(fields.get("evaluation_date")),
        "evaluation_opinion": _text(fields.get("evaluation_opinion") or fields.get("follow_up")),
        "longitude": _float(fields.get("longitude")),
        "latitude": _float(fields.get("latitude")),
        "status": _status(kind, resolved, outcomes),
    }


def _parties(fields: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The main parties: the agreement's party objects, a consultation's visitor, or a hearing
    record's "申请人张三" strings."""
    raw: list[Any] = _list(fields.get("parties"))
    visitor = fields.get("visitor")
    if isinstance(visitor, Mapping):
        raw.append({"role": "咨询人", **visitor})
    out = []
    for p in raw:
        if isinstance(p, str):
            role = next((r for r in _PARTY_ROLE_NAMES if p.startswith(r)), None)
            name = p[len(role) :] if role else p
            p = {"role": role, "name": name.strip(" ，,：:")}
        if not isinstance(p, Mapping):
            continue
        role = _text(p.get("role"))
        if role is not None and role not in _PARTY_ROLES:
            continue  # an agent, relative or witness is not a main party
        out.append(
            {
                "role": role,
                "name": _text(p.get("name")),
                "gender": _text(p.get("gender")),
                "ethnicity": _text(p.get("ethnicity")),
                "id_type": _text(p.get("id_type")),
                "id_number": _text(p.get("id_number")),
                "address": _text(p.get("address")),
            }
        )
    return out


def _responsible(fields: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """化解责任人: the first mediator, or the consultation's staff member."""
    mediators = [m for m in _names(fields.get("mediators")) if m]
    if mediators:
        return mediators[0], None
    staff = fields.get("staff")
    if isinstance(staff, str):
        return _text(staff), None
    people = [s for s in _list(staff) if isinstance(s, Mapping)]
    chosen = next((s for s in people if _text(s.get("role")) in _STAFF_RESPONSIBLE), None)
    chosen = chosen or (people[0] if people else None)
    if chosen is None:
        return None, None
    return _text(chosen.get("name")), _text(chosen.get("phone"))


def _resolved(kind: str, fields: Mapping[str, Any]) -> bool | None:
    if kind == "mediation-agreement":
        return True  # an approved agreement is a resolved dispute
    if kind == "hearing-record":
        reached = fields.get("agreement_reached")
        return reached if isinstance(reached, bool) else None
    return None  # a consultation answers a question; it resolves no dispute by itself


def _status(kind: str, resolved: bool | None, outcomes: list[str]) -> str:
    if kind == "consultation-record":
        if any(o.startswith(("转", "引导")) for o in outcomes):
            return "已转办"
        return "化解中" if outcomes == ["约期答复"] else "已办结"
    if resolved is True:
        return "已化解"
    if resolved is False:
        return "化解不成功"
    return "化解中"


# -- files ----------------------------------------------------------------------------------


def file_entries(
    doc: Document, settings: Settings, *, now: dt.datetime, base_url: str | None = None
) -> list[dict[str, Any]]:
    """Hash, size and a signed link (or inline base64) for each of the document's files."""
    out = []
    for kind, info in sorted((doc.files or {}).items()):
        if kind == "audio" and not settings.delivery.include_audio:
            continue
        path = Path(info["path"])
        entry: dict[str, Any] = {
            "kind": kind,
            "media_type": info.get("media_type")
            or MEDIA_TYPES.get(kind, "application/octet-stream"),
            # never the stored name: it may carry a party's name
            "filename": f"{doc.id}-v{doc.version}-{kind}{_suffix(kind, path)}",
            "size": int(info["size"]),
            "sha256": info["sha256"],
        }
        if (
            settings.delivery.inline_files
            and int(info["size"]) <= settings.delivery.inline_max_bytes
        ):
            entry["content_base64"] = base64.b64encode(path.read_bytes()).decode("ascii")
        # Otherwise no link here: each endpoint is given its own (``scribe.delivery.views``),
        # so revoking one endpoint ends only its links; this body (the pull API's answer)
        # carries hashes and sizes only.
        out.append(entry)
    return out


def _describe_file(kind: str, path: Path) -> dict[str, Any]:
    from scribe.delivery.files import sha256_file

    return {
        "kind": kind,
        "media_type": MEDIA_TYPES.get(kind, "application/octet-stream"),
        "size": path.stat().st_size,
        "sha256": sha256_file(path),
    }


def _suffix(kind: str, path: Path) -> str:
    return {"docx": ".docx", "pdf": ".pdf", "transcript": ".json"}.get(kind, path.suffix)


# -- small helpers --------------------------------------------------------------------------


def values_of(value: Any) -> Any:
    """Fields with their provenance stripped: ``{"value": v, "source": ...}`` becomes ``v``.

    Drafts link every field to the transcript words it came from; a case system needs only
    the values (the spans would also repeat what parties said). A field nothing supports is
    stored without a value (``{"source": "missing", "note": ...}``): it becomes ``None``, and
    ``missing_fields`` gives the reason."""
    if isinstance(value, Mapping):
        if "value" in value and set(value) - {"value"} <= _PROVENANCE_KEYS:
            return values_of(value["value"])
        if _is_wrapper(value):
            return None
        return {str(k): values_of(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [values_of(v) for v in value]
    return value


_PROVENANCE_KEYS = frozenset(
    {"source", "sources", "spans", "evidence", "origin", "confidence", "segments", "words",
     "start", "end", "quote", "edited", "by", "note", "note_en", "items", "parts"}
)  # fmt: skip


def _is_wrapper(value: Mapping[str, Any]) -> bool:
    """A draft's field wrapper without a value (exclude_none dropped ``value: null``)."""
    return "source" in value and set(value) <= _PROVENANCE_KEYS and not isinstance(value["source"], Mapping)


def missing_fields(fields: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every field (dotted path, ``parties.1.phone``) that has no value, with the reason the
    draft gave (Chinese, and English where the draft has it)."""
    out: list[dict[str, Any]] = []

    def walk(path: str, node: Any) -> None:
        if not isinstance(node, Mapping) or "source" not in node:
            if node is None or node == "" or node == []:
                out.append({"field": path, "reason": None, "reason_en": None})
            return  # a plain value (a document saved without provenance)
        if node.get("items"):
            for i, item in enumerate(node["items"]):
                walk(f"{path}.{i}", item)
        elif node.get("parts"):
            for key, part in node["parts"].items():
                walk(f"{path}.{key}", part)
        elif node.get("source") == "missing" or node.get("value") in (None, "", []):
            out.append({"field": path, "reason": node.get("note"), "reason_en": node.get("note_en")})

    for name, node in fields.items():
        walk(str(name), node)
    return out


def minimised(value: Any) -> Any:
    """``value`` without any ID number, phone number or address, at any depth."""
    if isinstance(value, Mapping):
        return {k: minimised(v) for k, v in value.items() if k not in MINIMISED_KEYS}
    if isinstance(value, list):
        return [minimised(v) for v in value]
    return value


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _list_or_one(value: Any) -> list[Any]:
    return _list(value) if isinstance(value, (list, tuple)) else ([] if value is None else [value])


def _date(value: Any) -> str | None:
    """An ISO date from a date or datetime value ("2026-11-20T09:30:00" -> "2026-11-20")."""
    text = _text(value)
    if text and len(text) >= 10 and text[4] == "-" and text[7] == "-":
        return text[:10]
    return text


def _names(value: Any) -> list[str | None]:
    """Names from a list, or from one text of names joined with 、 (documents saved before
    mediators were edited as a list)."""
    if isinstance(value, str):
        return [_text(v) for v in re.split(r"[、,，;；]+", value)]
    return [_text(v) for v in _list(value)]


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _join(*values: Any) -> str:
    parts: list[str] = []
    for value in values:
        if isinstance(value, (list, tuple)):
            parts.extend(t for t in (_text(v) for v in value) if t)
        elif (t := _text(value)) is not None:
            parts.append(t)
    return "\n".join(parts)
