"""Drafting a document: the rule-based draft, optionally improved by a drafting model.

The rule-based draft (``scribe.extract``) is always made first and is always a valid answer:
it is the offline default and the fallback. A drafting model, when a site has one, may rewrite
the facts summary (咨询事项 for a consultation) and, for an agreement, restate the terms. Two
backends take the same prompt and the same JSON Schema: a transformers model from
``models.lock`` (``SCRIBE_DRAFTING_MODEL``) or a model the site serves behind an
OpenAI-compatible chat-completions endpoint (``SCRIBE_DRAFTING_URL``).

Every value of the model's answer cites ``quotes`` from the transcript. The answer is used
only when it arrived in time and is JSON of the schema; then each value separately must pass the
evidence check (``scribe.drafting.evidence``: verbatim quotes holding every amount and date it
states) and be worded from what was said, or it is dropped and the rule-based value stands.
Every drop and every fallback is said in the draft's ``warnings`` and in ``drafter``.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scribe.casefile import CaseFile
from scribe.drafting.evidence import QuoteIndex, json_block, support
from scribe.drafting.generator import Generation, TextGenerator, TransformersGenerator
from scribe.drafting.openai_chat import OpenAIChatGenerator
from scribe.errors import DrafterFailed
from scribe.extract import Dialogue, Draft, finish_draft, rule_draft
from scribe.extract.draft import DrafterInfo
from scribe.extract.fields import FieldValue, Source, composite_items
from scribe.extract.notes import Note
from scribe.types import Transcript

__all__ = ["ModelDraft", "OpenAIChatGenerator", "TextGenerator", "TransformersGenerator", "answer_schema",
           "build_messages", "draft_document", "load_generator"]

# Overlap of the model's character bigrams with what was said; below it the text is not
# the speakers' content any more (measured: faithful rewrites of the test dialogues keep
# 0.55-0.9 of bigrams, invented content < 0.3).
MIN_SUPPORT_FACTS = 0.45
MIN_SUPPORT_TERMS = 0.6


class CitedFacts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=10, max_length=800, description="纠纷主要事实、争议事项 / 咨询事项, neutral, third person")
    quotes: list[str] = Field(min_length=1, max_length=12, description="记录原话，逐字摘抄，支持 text 的每一点")


class CitedTerm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=4, max_length=300, description="一条协议条款")
    quotes: list[str] = Field(min_length=1, max_length=6, description="记录原话，逐字摘抄，含条款中的金额和日期")


class ModelDraft(BaseModel):
    """The JSON the drafting model must answer with (given to it as a JSON Schema)."""

    model_config = ConfigDict(extra="forbid")

    facts: CitedFacts
    terms: list[CitedTerm] | None = Field(default=None, description="agreed terms, one per item (agreements only)")


SYSTEM_PROMPT = (
    "你是人民调解委员会的书记员。根据调解或咨询的逐字记录，用中立、简洁的书面语写出纠纷主要事实和争议事项（facts）；"
    "如果是调解协议，再逐条列出双方同意的协议条款（terms）。每一项都要在 quotes 中逐字摘抄记录里支持它的原话："
    "从记录中原样复制，不改字、不加字、不带说话人；该项写到的每个金额和日期都必须出现在摘抄中。"
    "只能使用记录中出现的事实、人名、金额和日期，找不到原话依据的内容不要写。"
    "只输出符合以下JSON Schema的JSON，不要输出其他文字。\n"
)


class ModelFacts(BaseModel):
    """The answer for a document without terms (a consultation record)."""

    model_config = ConfigDict(extra="forbid")

    facts: CitedFacts


def _answer_model(kind: str) -> type[ModelDraft] | type[ModelFacts]:
    return ModelDraft if kind == "mediation-agreement" else ModelFacts


def answer_schema(kind: str) -> dict[str, Any]:
    schema = _answer_model(kind).model_json_schema()
    schema.pop("description", None)  # the docstring is for developers, not part of the prompt
    return schema


def build_messages(dialogue: Dialogue, kind: str) -> list[dict[str, str]]:
    lines = "\n".join(f"{u.display}：{u.text}" for u in dialogue)
    return [
        {"role": "system", "content": SYSTEM_PROMPT + json.dumps(answer_schema(kind), ensure_ascii=False)},
        {"role": "user", "content": f"记录：\n{lines}"},
    ]


def load_generator(settings) -> TextGenerator | None:  # type: ignore[no-untyped-def]
    """The configured drafting model; None when the site drafts with the rules alone.

    ``SCRIBE_DRAFTING_URL`` set: the model served there (``SCRIBE_DRAFTING_MODEL`` is then the
    name the server knows it by, or unset to take the one it lists). Otherwise
    ``SCRIBE_DRAFTING_MODEL`` names a ``role = "drafting"`` entry of models.lock, loaded in this
    process from its verified directory.
    """
    if settings.drafting_url:
        key = settings.drafting_api_key.get_secret_value() if settings.drafting_api_key else None
        return OpenAIChatGenerator(settings.drafting_url, model=settings.drafting_model, api_key=key,
                                   response_format=settings.drafting_response_format)
    if not settings.drafting_model:
        return None
    from scribe.errors import ModelError
    from scribe.models import open_store

    store = open_store(settings)
    entry = store.lock.get(settings.drafting_model)
    if entry.role != "drafting":
        raise ModelError(f"model {entry.name!r} has role {entry.role!r}, not 'drafting'",
                         fix="set SCRIBE_DRAFTING_MODEL to a models.lock entry with role = \"drafting\"")
    if entry.format == "gguf":
        path = store.model_dir(entry) / entry.files[0].path
        raise ModelError(f"drafting model {entry.name!r} is a GGUF file, which a llama.cpp server runs, "
                         "not this process",
                         fix=f"start `python -m llama_cpp.server --model {path} --port 8080` (or llama-server) "
                             "and set SCRIBE_DRAFTING_URL=http://127.0.0.1:8080/v1 (docs/documents.md)")
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
    schema = answer_schema(kind)
    gen: Generation | None = None
    notes: list[str] = []  # values of the answer that were dropped, and why
    try:
        try:
            gen = generator.generate(build_messages(dialogue, kind), max_new_tokens=max_new_tokens,
                                     timeout_s=timeout_s, json_schema=schema)
        except DrafterFailed as exc:
            raise _Rejected(exc.message) from exc
        except (RuntimeError, ValueError, MemoryError) as exc:
            # e.g. out of memory on a long hearing: the rule-based draft is still a draft
            raise _Rejected(f"generation failed ({type(exc).__name__}: {str(exc)[:120]})") from exc
        answer = _parse(gen, kind, timeout_s, max_new_tokens)
        fields, used, notes = _apply(base, answer, dialogue, kind, generator.name)
        if not used:
            raise _Rejected("no value of its answer passed the evidence check")
    except _Rejected as exc:
        return base.model_copy(update={
            "warnings": [*base.warnings, *notes,
                         f"drafting model {generator.name}: {exc}; kept the rule-based draft"],
            "drafter": DrafterInfo(method="rules", model=generator.name, backend=generator.backend,
                                   seconds=round(gen.seconds, 2) if gen else None, fallback=str(exc)),
        })
    return finish_draft(
        template=template, kind=kind, title=title, fields=fields, transcript=transcript, casefile=casefile,
        drafter=DrafterInfo(method="model", model=generator.name, backend=generator.backend,
                            seconds=round(gen.seconds, 2)),
        warnings=[*base.warnings, *notes],
    )


class _Rejected(Exception):
    pass


def _parse(gen: Generation, kind: str, timeout_s: float, max_new_tokens: int) -> ModelDraft | ModelFacts:
    if gen.hit_time_limit or gen.seconds > timeout_s:
        raise _Rejected(f"no complete answer within {timeout_s:g} s")
    raw = json_block(gen.text)
    cut = f" (it stopped at the {max_new_tokens}-token limit)" if gen.truncated else ""
    if raw is None:
        raise _Rejected(f"the output is not JSON{cut}")
    try:
        return _answer_model(kind).model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise _Rejected(f"the output does not fit the schema ({where}: {first['msg']}){cut}") from None


def _apply(base: Draft, answer: ModelDraft | ModelFacts, dialogue: Dialogue, kind: str,
           name: str) -> tuple[dict[str, FieldValue], list[str], list[str]]:
    """The draft's fields with the model's values that pass; which were used; what was dropped."""
    index = QuoteIndex(dialogue)
    said = dialogue.text
    fields = dict(base.fields)
    used: list[str] = []
    notes: list[str] = []
    facts_key = "facts" if kind == "mediation-agreement" else "question"
    checked = index.check(answer.facts.text, answer.facts.quotes)
    s = support(answer.facts.text, said)
    problem = checked.problem or (None if s >= MIN_SUPPORT_FACTS else
                                  f"its wording is not supported by the transcript ({s:.0%} of it was said)")
    if problem:
        notes.append(f"drafting model {name}: dropped its {facts_key}: {problem}; kept the rule-based {facts_key}")
    else:
        fields[facts_key] = _model_value(answer.facts.text, checked.evidence, s)
        used.append(facts_key)
    if isinstance(answer, ModelDraft) and answer.terms:
        if base.fields["terms"].source is Source.MISSING:
            # an agreement drafted by a model alone is the worst thing this product could file
            notes.append(f"drafting model {name}: dropped its {len(answer.terms)} terms: the rules found no "
                         "agreed terms in the hearing; kept none")
        else:
            items, dropped = [], []
            for term in answer.terms:
                checked = index.check(term.text, term.quotes)
                s = support(term.text, said)
                problem = checked.problem or (None if s >= MIN_SUPPORT_TERMS else
                                              f"its wording is not what was said ({s:.0%})")
                if problem:
                    dropped.append(f"“{term.text[:30]}”: {problem}")
                else:
                    items.append(_model_value(term.text, checked.evidence, s))
            if dropped:
                # a list with a term left out would look complete and lose an obligation
                notes.append(f"drafting model {name}: dropped {len(dropped)} of its {len(answer.terms)} terms "
                             f"({'; '.join(dropped)}); kept the rule-based terms")
            else:
                fields["terms"] = composite_items(items, None)
                used.append("terms")
                rules_n = len(base.fields["terms"].items or [])
                if len(items) != rules_n:
                    notes.append(f"the drafting model restated {rules_n} terms found by the rules as {len(items)}; "
                                 "check them against the evidence")
    return fields, used, notes


def _model_value(text: str, evidence: list, s: float) -> FieldValue:  # type: ignore[type-arg]
    note = Note(f"由起草模型改写，依据{len(evidence)}处原话（{s:.0%}的措辞来自原话）",
                f"rewritten by the drafting model from {len(evidence)} verbatim quotes ({s:.0%} of wording said)")
    return FieldValue(value=text, source=Source.MODEL, evidence=evidence, confidence=round(0.5 * s + 0.3, 3),
                      note=note.zh, note_en=note.en)
