"""A transcript seen through the session file: who (role, name) said what, when.

Extraction rules ask role-aware questions ("what did the mediator say after the cue?"), so
they work on :class:`Utterance` values rather than raw segments. Text is normalised to
Simplified Chinese (whisper sometimes writes Traditional characters) before any rule runs;
the quote kept as evidence is the normalised segment text, with its segment index so the
original can always be found.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from scribe.casefile import CaseFile, PartyRole, StaffRole
from scribe.extract.fields import Evidence
from scribe.types import Transcript, TranscriptSegment


@lru_cache(maxsize=1)
def _t2s():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _t2s().convert(text)


@dataclass(frozen=True)
class Utterance:
    """One transcript segment with its speaker resolved to a role and a name."""

    index: int  # position in the transcript's segments
    start: float
    end: float
    speaker: str | None
    role: PartyRole | StaffRole | None
    name: str | None
    text: str  # Simplified Chinese
    confidence: float  # mean word probability, 1.0 when the transcript has no words
    # speech no decode recognised (text 【未能识别】): only the verbatim record shows it
    unrecognised: bool = False
    # the segment's own text (stripped) when it lines up character for character with ``text``,
    # so a quote cut from ``text`` can be given verbatim as the transcript wrote it
    raw: str | None = None
    # (first char, end char, start s, end s) of each recognised word within ``text``
    word_spans: tuple[tuple[int, int, float, float], ...] = ()
    @property
    def is_staff(self) -> bool:
        return isinstance(self.role, StaffRole)

    def span_quote(self, a: int, b: int) -> str:
        """``text[a:b]`` as the transcript wrote it (Traditional characters and all)."""
        source = self.raw if self.raw is not None else self.text
        return source[a:b]

    def span_times(self, a: int, b: int) -> tuple[float, float]:
        inside = [(s, e) for i, j, s, e in self.word_spans if i < b and j > a]
        if not inside:
            return self.start, self.end
        return inside[0][0], inside[-1][1]

    def span_evidence(self, a: int, b: int) -> Evidence:
        """The clause ``text[a:b]``: verbatim, with the times of its own words."""
        start, end = self.span_times(a, b)
        return Evidence(start=round(start, 3), end=round(end, 3), speaker=self.speaker,
                        role=self.role.value if self.role else None, name=self.name,
                        quote=self.span_quote(a, b), segment=self.index)

    def evidence(self, quote: str | None = None) -> Evidence:
        if quote is not None and quote in self.text and self.raw is not None:
            at = self.text.find(quote)
            return self.span_evidence(at, at + len(quote))
        return Evidence(
            start=round(self.start, 3),
            end=round(self.end, 3),
            speaker=self.speaker,
            role=self.role.value if self.role else None,
            name=self.name,
            quote=quote if quote is not None else (self.raw if self.raw is not None else self.text),
            segment=self.index,
        )

    @property
    def display(self) -> str:
        """How a record prints the speaker: ``调解员王建国`` or ``未确认发言人(SPEAKER_03)``."""
        if self.role is None:
            return f"未确认发言人（{self.speaker or '无标签'}）"
        return f"{self.role.value}{self.name or ''}"


class Dialogue:
    """The utterances of one session in time order."""

    def __init__(self, utterances: Sequence[Utterance], casefile: CaseFile) -> None:
        # The rules read what was said; a stretch no decode recognised says nothing to them,
        # but the verbatim record (人民调解记录) must show it: ``record`` keeps it in place.
        self.record = tuple(utterances)
        self.utterances = tuple(u for u in utterances if not u.unrecognised)
        self.casefile = casefile

    @classmethod
    def build(cls, transcript: Transcript, casefile: CaseFile) -> Dialogue:
        out = []
        for i, seg in enumerate(transcript.segments):
            raw = seg.text.strip()
            text = to_simplified(raw)
            if not text:
                continue
            person = casefile.person_for_speaker(seg.speaker)
            out.append(
                Utterance(
                    index=i,
                    start=seg.start,
                    end=seg.end,
                    speaker=seg.speaker,
                    role=person.role if person else None,
                    name=person.name if person else None,
                    text=text,
                    confidence=0.0 if seg.unrecognised else _mean_probability(seg),
                    unrecognised=seg.unrecognised,
                    raw=raw if len(raw) == len(text) else None,
                    word_spans=_word_spans(seg, text),
                )
            )
        out.sort(key=lambda u: (u.start, u.index))
        return cls(out, casefile)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.utterances)

    def by_roles(self, *roles: PartyRole | StaffRole) -> list[Utterance]:
        return [u for u in self.utterances if u.role in roles]

    def staff(self) -> list[Utterance]:
        return [u for u in self.utterances if u.is_staff]

    def parties(self) -> list[Utterance]:
        return [u for u in self.utterances if u.role is not None and not u.is_staff]

    def unmapped_speakers(self) -> list[str]:
        seen: dict[str, None] = {}
        for u in self.utterances:
            if u.role is None:
                seen[u.speaker or "(none)"] = None
        return list(seen)

    @property
    def text(self) -> str:
        return "".join(u.text for u in self.utterances)


def _word_spans(seg: TranscriptSegment, text: str) -> tuple[tuple[int, int, float, float], ...]:
    """Where each recognised word lies in the utterance text; () when they do not line up."""
    spans = []
    at = 0
    for w in seg.words:
        piece = to_simplified(w.word.strip())
        if not piece:
            continue
        found = text.find(piece, at)
        if found < 0 or found - at > 2:
            return ()
        spans.append((found, found + len(piece), w.start, w.end))
        at = found + len(piece)
    return tuple(spans)


def _mean_probability(seg: TranscriptSegment) -> float:
    if not seg.words:
        return 1.0
    return sum(w.probability for w in seg.words) / len(seg.words)


def mean_confidence(utterances: Iterable[Utterance]) -> float:
    values = [u.confidence for u in utterances]
    return sum(values) / len(values) if values else 0.0
