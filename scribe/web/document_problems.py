"""What keeps a draft from being a finished document, as problems the pages can say in words.

The draft keeps its problems as text (``scribe.extract.builders.validate_fields``: "parties.0.
gender: Field required"); this runs the same document model again and names the person and the
field instead ("申请人 张三：缺少性别"), in the catalogue's terms (``scribe.web.messages``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from doc_templates.schemas import DOCUMENT_MODELS
from scribe.extract.fields import FieldValue
from scribe.web.messages import _PYDANTIC

# a document model's own rules (their English sentences) -> the catalogue's problem kinds
_RULES: list[tuple[str, str]] = [
    (r"^本协议一式(?P<copies>\d+)份 but there are (?P<n>\d+) parties", "copies_mismatch"),
    (r"judicial confirmation deadline must be date \+ 30 days \((?P<expected>[\d-]+)\)", "confirmation_deadline"),
    (r"performance deadline lies before", "deadline_before_date"),
    (r"each party needs its own side", "sides_repeat"),
    (r"visitor's name is missing", "visitor_name_missing"),
    (r"编号 should read like", "case_number_format"),
    (r"speaker", "speaker_unknown"),
]


def document_problems(kind: str, fields: Mapping[str, FieldValue]) -> list[dict[str, Any]]:
    model = DOCUMENT_MODELS.get(kind)
    if model is None:
        return []
    values = _strip_none({k: v.value for k, v in fields.items()})
    try:
        model.model_validate(values)
    except ValidationError as exc:
        return [_problem(e, values) for e in exc.errors()]
    return []


def _problem(err: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    loc = list(err.get("loc", ()))
    kind = _PYDANTIC.get(str(err.get("type")), "document_invalid")
    out: dict[str, Any] = {"kind": kind}
    if err.get("type") == "value_error":
        message = str(err.get("msg", ""))
        for pattern, found in _RULES:
            m = re.search(pattern, message)
            if m:
                out["kind"] = found
                out.update(m.groupdict())
                if found == "copies_mismatch":
                    out["want"] = int(out["n"]) + 1
                break
    # the person: a party of an agreement (parties.N.field) or the visitor of a consultation
    if len(loc) >= 2 and loc[0] == "parties" and isinstance(loc[1], int):
        out["party"] = loc[1]
        party = _at(values, "parties", loc[1])
        if isinstance(party, dict):
            out["role_label"] = str(party.get("role") or "")
            out["name"] = str(party.get("name") or "")
        rest = [str(x) for x in loc[2:] if not isinstance(x, int)]
        out["field"] = rest[0] if rest else "parties"
    elif loc and loc[0] == "visitor" and len(loc) >= 2:
        out["party"] = 0
        out["role"] = "visitor"
        visitor = values.get("visitor")
        out["name"] = str(visitor.get("name") or "") if isinstance(visitor, dict) else ""
        out["field"] = str(loc[-1])
    else:
        names = [str(x) for x in loc if not isinstance(x, int)]
        out["field"] = names[0] if names else kind
    ctx = err.get("ctx") or {}
    for key in ("max_length", "min_length", "ge", "gt", "le", "lt"):
        if key in ctx:
            out["limit"] = ctx[key]
    if out["kind"] == "too_short" and out.get("limit") == 1:
        out["kind"] = "missing"
    if out["kind"] == "list_too_short" and out.get("limit") == 1:
        out["kind"] = "missing"
    return {k: v for k, v in out.items() if v not in ("", None)}


def _at(values: Mapping[str, Any], name: str, index: int) -> Any:
    items = values.get(name)
    return items[index] if isinstance(items, list) and index < len(items) else None


def _strip_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(v) for v in value]
    return value
