"""Traceable field values: what ``draft.json`` is made of.

Every field of a draft is a :class:`FieldValue`: the value, where it came from (``source``),
the words that support it (``evidence``: segment times, speaker, quoted text) and a
confidence. Lists and objects (agreed terms, parties) keep their members' provenance in
``items`` / ``parts`` so a reviewer sees, for each term, the sentence it was dictated in.
A field nothing supports is ``missing`` with ``value`` null: never a guess.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from scribe.extract import notes
from scribe.extract.notes import Note


class Source(StrEnum):
    SESSION = "session"  # typed by staff (S.json)
    TRANSCRIPT = "transcript"  # extracted by rules from what was said
    MODEL = "model"  # rewritten by the drafting model, checked against the transcript
    MISSING = "missing"  # nothing supports a value; the reviewer must fill it


class Evidence(BaseModel):
    """Where in the recording a value was said."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: float = Field(description="segment start, seconds on the recording clock")
    end: float
    speaker: str | None = Field(default=None, description="diarization label, e.g. SPEAKER_01")
    role: str | None = Field(default=None, description="role from the session file, e.g. 调解员")
    name: str | None = None
    quote: str = Field(description="the words, verbatim from the transcript segment")
    segment: int | None = Field(default=None, description="index of the transcript segment")


class FieldValue(BaseModel):
    """One field of a draft with its provenance."""

    model_config = ConfigDict(extra="forbid")

    value: Any = None
    source: Source = Source.MISSING
    evidence: list[Evidence] = Field(default_factory=list)
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    note: str | None = Field(default=None, description="why missing, or how it was derived (Chinese)")
    note_en: str | None = Field(default=None, description="the same note in English, for the English review page")
    items: list[FieldValue] | None = None
    parts: dict[str, FieldValue] | None = None

    @model_validator(mode="after")
    def _derive(self) -> FieldValue:
        # A composite's value is its members' values, so a reviewer's edit of one part is
        # reflected everywhere; its source and confidence summarise the members.
        children: list[FieldValue] = []
        if self.items is not None:
            children = list(self.items)
            self.value = [c.value for c in self.items] if self.items else self.value
        elif self.parts is not None:
            children = list(self.parts.values())
            self.value = {k: c.value for k, c in self.parts.items()}
        if children:
            self.source = _combined_source([c.source for c in children])
            present = [c.confidence for c in children if c.source is not Source.MISSING]
            self.confidence = round(min(present), 3) if present else 0.0
        if self.source is Source.MISSING:
            self.confidence = 0.0
        return self

    @property
    def is_missing(self) -> bool:
        return self.source is Source.MISSING or self.value in (None, "")

    def missing_paths(self, path: str) -> list[str]:
        """Dotted paths of every missing leaf under this field (``parties.1.phone``)."""
        if self.items:
            return [p for i, c in enumerate(self.items) for p in c.missing_paths(f"{path}.{i}")]
        if self.parts:
            return [p for k, c in self.parts.items() for p in c.missing_paths(f"{path}.{k}")]
        # a session-sourced None means "does not apply" (no reason for an agreed hearing), not a gap
        if self.source is Source.SESSION and self.value is None:
            return []
        return [path] if self.is_missing else []


def _combined_source(sources: list[Source]) -> Source:
    real = [s for s in sources if s is not Source.MISSING]
    if not real:
        return Source.MISSING
    for kind in (Source.MODEL, Source.TRANSCRIPT):
        if kind in real:
            return kind
    return Source.SESSION


def _notes(note: Note | None) -> dict[str, str | None]:
    return {"note": note.zh, "note_en": note.en} if note else {"note": None, "note_en": None}


def from_session(value: Any, note: Note | None = None) -> FieldValue:
    """A value staff typed; absent (None/empty) values are ``missing``."""
    if value is None or value == "" or value == []:
        return missing(note or notes.NOT_GIVEN)
    return FieldValue(value=value, source=Source.SESSION, confidence=1.0, **_notes(note))


def from_transcript(
    value: Any, evidence: list[Evidence], confidence: float, note: Note | None = None
) -> FieldValue:
    return FieldValue(
        value=value,
        source=Source.TRANSCRIPT,
        evidence=evidence,
        confidence=round(max(0.0, min(1.0, confidence)), 3),
        **_notes(note),
    )


def missing(note: Note) -> FieldValue:
    return FieldValue(value=None, source=Source.MISSING, confidence=0.0, **_notes(note))


def composite_items(items: list[FieldValue], note_if_empty: Note | None) -> FieldValue:
    if not items:
        return FieldValue(value=[], source=Source.MISSING, **_notes(note_if_empty))
    return FieldValue(items=items)


def composite_parts(parts: dict[str, FieldValue]) -> FieldValue:
    return FieldValue(parts=parts)
