"""The message catalogue covers what the code can send: every warning and error code the live
area publishes (found in its source), every document field the review page names."""

from __future__ import annotations

import re
from pathlib import Path

from doc_templates.schemas import DOCUMENT_MODELS
from scribe.web import i18n, messages

ROOT = Path(__file__).resolve().parent.parent
# ev.warning("code", ...), ev.error("code", ...), _reply_error("code", ...), notify(sid, "code", ...)
SENT = re.compile(r"(?:ev\.warning|ev\.error|_reply_error|\.notify)\(\s*(?:\w+,\s*)?\"(\w+)\"", re.S)


def _live_codes() -> set[str]:
    codes: set[str] = set()
    for folder in ("scribe", "diarize"):
        for path in (ROOT / folder).rglob("*.py"):
            codes |= set(SENT.findall(path.read_text(encoding="utf-8")))
    return codes


def test_every_live_event_code_is_in_the_catalogue_in_both_languages() -> None:
    codes = _live_codes()
    assert {"bad_message", "refused", "consent_paused", "no_signal", "final_pass_failed"} <= codes  # the scan works
    said = {c for c in messages.LIVE} | {"degraded"}
    assert codes - said == set(), f"live codes without words: {sorted(codes - said)}"
    assert {f"degraded_{n}" for n in (0, 1, 2)} <= set(messages.LIVE)
    for code, (zh, en) in messages.LIVE.items():
        assert re.search(r"[\u4e00-\u9fff]", zh) and not re.search(r"[\u4e00-\u9fff]", en), code
        assert set(re.findall(r"\{(\w+)", zh)) == set(re.findall(r"\{(\w+)", en)), code  # same params
    for lang in ("zh", "en"):
        words = i18n.table(lang)
        assert words["live_consent_paused"] and words["consent_reason_consent_refused"]


def test_a_live_event_is_said_from_its_details() -> None:
    words = i18n.word("zh")
    said = messages.fill(messages.LIVE["consent_paused"][0], {"names": "李四", "reason": "consent_refused"}, words)
    assert said == "录音已暂停：李四 尚未同意录音（当事人拒绝录音）。宣读录音告知并确认同意后才能继续录音"
    said = messages.fill(messages.LIVE["frame_too_large"][1], {"bytes": 300000, "limit": 256000}, i18n.word("en"))
    assert said == "An audio frame was too large (300000 bytes, limit 256000) and was dropped"


def test_every_document_field_has_its_words_written_once() -> None:
    """The review page names a draft's fields with the catalogue's docfield_ words (no list of
    its own); every field of every document model, and of their parties, has words in both
    languages."""
    names: set[str] = set()

    def walk(t: object) -> None:  # a model, or a type made of models (list[Party] | None)
        fields = getattr(t, "model_fields", None)
        if isinstance(fields, dict) and t not in seen:
            seen.add(t)
            names.update(fields)
            for f in fields.values():
                walk(f.annotation)
        for arg in getattr(t, "__args__", ()) or ():
            walk(arg)

    seen: set[object] = set()
    for model in DOCUMENT_MODELS.values():
        walk(model)
    assert {"organisation", "terms", "visitor", "gender", "turns"} <= names  # the walk works
    zh, en = i18n.table("zh"), i18n.table("en")
    missing = sorted(n for n in names if f"docfield_{n}" not in zh or f"docfield_{n}" not in en)
    assert missing == [], missing
    assert zh["docfield_case_number"] == "编号" and zh["field_case_number"] == "案号"  # a document says 编号
    review_js = (ROOT / "scribe" / "web" / "static" / "review.js").read_text(encoding="utf-8")
    assert "LABELS_ZH" not in review_js and "人民调解委员会/单位" not in review_js
