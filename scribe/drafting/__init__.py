"""Drafting a document: the rule-based draft, optionally improved by a local drafting model.

The rule-based draft (``scribe.extract``) is always made first and is always a valid answer.
A drafting model, when configured, may rewrite the facts summary (and, for agreements,
restate the terms) under a strict JSON schema. Its output replaces rule-based fields only if
it is valid JSON of that schema, arrived in time, and is supported by the transcript: every
amount and date it states was said, and its wording overlaps what was said. Otherwise the
rule-based draft stands and ``warnings`` says why.
"""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scribe.casefile import CaseFile, StaffRole
from scribe.drafting.generator import Generation, TextGenerator, TransformersGenerator
from scribe.extract import Dialogue, Draft, finish_draft, rule_draft
from scribe.extract.dialogue import Utterance
from scribe.extract.draft import DrafterInfo
from scribe.extract import notes as N
from scribe.extract.fields import FieldValue, Source, composite_items
from scribe.extract.quantities import find_amounts, find_deadlines
from scribe.types import Transcript

__all__ = ["ModelDraft", "TextGenerator", "TransformersGenerator", "draft_document", "load_generator"]

# Overlap of the model's character bigrams with what was said; below it the text is not
# the speakers' content any more (measured: faithful rewrites of the test dialogues keep
# 0.55-0.9 of bigrams, invented content < 0.3).
MIN_SUPPORT_FACTS = 0.45
MIN_SUPPORT_TERMS = 0.6


class ModelDraft(BaseModel):
    """The JSON the drafting model must answer with (given to it as a JSON Schema)."""

    model_config = ConfigDict(extra="forbid")

    facts: str = Field(min_length=10, max_length=800, description="纠纷主要事实、争议事项 / 咨询事项, neutral, third person")
    terms: list[str] | None = Field(default=None, description="agreed terms as dictated, one per item (agreements only)")


SYSTEM_PROMPT = (
    "你是人民调解委员会的书记员。根据调解或咨询的逐字记录，用中立、简洁的书面语写出纠纷主要事实和争议事项；"
    "如果是调解协议，再按调解员宣读的内容逐条列出协议条款。只能使用记录中出现的事实、人名、金额和日期，"
    "不得添加记录中没有的内容。只输出符合以下JSON Schema的JSON，不要输出其他文字。\n"
)


def build_messages(dialogue: Dialogue, kind: str) -> list[dict[str, str]]:
    schema = ModelDraft.model_json_schema()
    if kind != "mediation-agreement":
        schema["properties"].pop("terms", None)
    lines = "\n".join(f"{u.display}：{u.text}" for u in dialogue)
    return [
        {"role": "system", "content": SYSTEM_PROMPT + json.dumps(schema, ensure_ascii=False)},
        {"role": "user", "content": f"记录：\n{lines}"},
    ]


def load_generator(settings) -> TextGenerator | None:  # type: ignore[no-untyped-def]
    """The configured drafting model, loaded from its verified directory; None if none is set."""
    if not settings.drafting_model:
        return None
    from scribe.errors import ModelError
    from scribe.models import open_store

    store = open_store(settings)
    entry = store.lock.get(settings.drafting_model)
    if entry.role != "drafting":
        raise ModelError(f"model {entry.name!r} has role {entry.role!r}, not 'drafting'",
                         fix="set SCRIBE_DRAFTING_MODEL to a models.lock entry with role = \"drafting\"")
    from scribe.torch_threads import configure_torch

    configure_torch(settings, settings.threads)  # a drafting-only process uses every core
    return TransformersGenerator.load(store.path_for(entry.name), name=entry.name)


def draft_document(
    transcript: Transcript,
    casefile: CaseFile,
    *,
    kind: str,
    template: str,
    title: str,
    generator: TextGenerator | None = None,
    timeout_s: float = 120.0,
    max_new_tokens: int = 1024,
) -> Draft:
    base = rule_draft(transcript, casefile, kind=kind, template=template, title=title)
    if generator is None or kind == "hearing-record":  # a record is verbatim: nothing to rewrite
        return base
    dialogue = Dialogue.build(transcript, casefile)
    gen: Generation | None = None
    try:
        try:
            gen = generator.generate(build_messages(dialogue, kind), max_new_tokens=max_new_tokens,
                                     timeout_s=timeout_s)
        except (RuntimeError, ValueError, MemoryError) as exc:
            # e.g. out of memory on a long hearing: the rule-based draft is still a draft
            raise _Rejected(f"generation failed ({type(exc).__name__}: {str(exc)[:120]})") from exc
        fields, notes = _apply(base, gen, dialogue, kind, timeout_s)
    except _Rejected as exc:
        return base.model_copy(update={
            "warnings": [*base.warnings, f"drafting model {generator.name}: {exc}; kept the rule-based draft"],
            "drafter": DrafterInfo(method="rules", model=generator.name,
                                   seconds=round(gen.seconds, 2) if gen else None),
        })
    return finish_draft(
        template=template, kind=kind, title=title, fields=fields, transcript=transcript, casefile=casefile,
        drafter=DrafterInfo(method="model", model=generator.name, seconds=round(gen.seconds, 2)),
        warnings=[*base.warnings, *notes],
    )


class _Rejected(Exception):
    pass


def _apply(base: Draft, gen: Generation, dialogue: Dialogue, kind: str, timeout_s: float) -> tuple[dict[str, FieldValue], list[str]]:
    if gen.hit_time_limit or gen.seconds > timeout_s:
        raise _Rejected(f"no complete answer within {timeout_s:.0f} s")
    raw = _json_block(gen.text)
    if raw is None:
        raise _Rejected("the output is not JSON")
    try:
        out = ModelDraft.model_validate_json(raw)
    except ValidationError as exc:
        raise _Rejected(f"the output does not fit the schema ({exc.errors()[0]['msg']})") from None
    utterances = list(dialogue)
    said = "".join(u.text for u in utterances)
    _check_numbers(out.facts, said, dialogue)
    fields = dict(base.fields)
    notes: list[str] = []
    facts_key = "facts" if kind == "mediation-agreement" else "question"
    sources = dialogue.parties()  # facts and questions are what the parties said
    support = _bigram_support(out.facts, "".join(u.text for u in utterances))
    if support < MIN_SUPPORT_FACTS:
        raise _Rejected(f"its facts are not supported by the transcript ({support:.0%} of wording was said)")
    fields[facts_key] = FieldValue(
        value=out.facts, source=Source.MODEL, evidence=[u.evidence() for u in _best(out.facts, sources or utterances, 4)],
        confidence=round(0.5 * support + 0.3, 3),
        note=N.rewritten_by_model(support).zh, note_en=N.rewritten_by_model(support).en)
    if kind == "mediation-agreement" and out.terms:
        mediator = [u for u in utterances if u.role is StaffRole.MEDIATOR]
        dictated = "".join(u.text for u in mediator)
        items = []
        for term in out.terms:
            _check_numbers(term, dictated, dialogue)
            s = _bigram_support(term, dictated)
            if s < MIN_SUPPORT_TERMS:
                raise _Rejected(f"term “{term[:30]}” was not dictated by the mediator ({s:.0%} of wording said)")
            items.append(FieldValue(value=term, source=Source.MODEL, evidence=[u.evidence() for u in _best(term, mediator, 2)],
                                    confidence=round(0.5 * s + 0.3, 3)))
        if base.fields["terms"].source is Source.MISSING:
            raise _Rejected("it states terms although the mediator dictated none")
        fields["terms"] = composite_items(items, None)
        if len(items) != len(base.fields["terms"].items or []):
            notes.append(f"the drafting model restated {len(base.fields['terms'].items or [])} dictated terms "
                         f"as {len(items)}; check them against the evidence")
    return fields, notes


def _json_block(text: str) -> str | None:
    text = text.strip()
    fence = re.search(r"```(?:json)?\s*(\{.*?\})\s*```", text, re.DOTALL)
    if fence:
        return fence.group(1)
    start, end = text.find("{"), text.rfind("}")
    if start == -1 or end <= start:
        return None
    return text[start:end + 1]


def _check_numbers(text: str, said: str, dialogue: Dialogue) -> None:
    said_amounts = {a.yuan for a in find_amounts(said)}
    for a in find_amounts(text):
        if a.yuan not in said_amounts:
            raise _Rejected(f"it states an amount nobody said ({a.phrase})")
    date = dialogue.casefile.date
    said_dates = {d.date for d in find_deadlines(said, date)}
    for d in find_deadlines(text, date):
        if d.date not in said_dates:
            raise _Rejected(f"it states a date nobody said ({d.phrase})")


def _bigrams(text: str) -> set[str]:
    han = re.sub(r"[^\u4e00-\u9fff0-9A-Za-z]", "", text)
    return {han[i:i + 2] for i in range(len(han) - 1)}


def _bigram_support(text: str, source: str) -> float:
    grams = _bigrams(text)
    if not grams:
        return 0.0
    return len(grams & _bigrams(source)) / len(grams)


def _best(text: str, utterances: list[Utterance], k: int) -> list[Utterance]:
    grams = _bigrams(text)
    scored = sorted(utterances, key=lambda u: len(grams & _bigrams(u.text)), reverse=True)
    top = [u for u in scored[:k] if grams & _bigrams(u.text)]
    return sorted(top, key=lambda u: u.start)


