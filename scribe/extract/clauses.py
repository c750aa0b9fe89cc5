"""Clauses: the pieces of an utterance a value can be found in and quoted from.

whisper-base often writes a long turn with no punctuation, or with spaces for commas, so a
sentence split alone would hand the later stages a paragraph. An utterance is cut

1. at punctuation and whitespace, as written;
2. where the word timings show a pause (``PAUSE_S``): speakers breathe between clauses;
3. inside a piece still longer than ``MAX_CHARS``, before a discourse connective found by the
   word segmenter (jieba): 但是, 然后, 如果 … begin a clause whatever the office or speaker.

A clause keeps its offsets in the utterance, so its quote is verbatim and carries the times of
its own words. ``stop`` marks the end of a sentence (。！？, the end of the turn or a long pause).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from scribe.extract.dialogue import Utterance
from scribe.extract.fields import Evidence

PAUSE_S = 0.3  # a gap between two words this long ends a clause
STOP_PAUSE_S = 0.8  # ... and this long ends a sentence
MAX_CHARS = 24  # a piece longer than this is cut before a connective

SOFT = set("，,；;：:…—-~～ 　\t")  # 、 lists things inside one clause
HARD = set("。！？!?")
# Closed class of connectives that open a clause (grammar, not any one office's wording).
CONNECTIVES = frozenset((
    "但是", "可是", "不过", "然后", "而且", "并且", "另外", "还有", "如果", "要是", "假如", "万一",
    "所以", "因为", "那么", "否则", "不然", "同时", "其次", "最后", "首先", "再说", "就是说",
))


@dataclass(frozen=True)
class Clause:
    utt: Utterance
    a: int  # offsets in utt.text
    b: int
    stop: bool  # a sentence ends after this clause

    @property
    def text(self) -> str:
        return self.utt.text[self.a:self.b]

    def evidence(self) -> Evidence:
        return self.utt.span_evidence(self.a, self.b)

    @property
    def times(self) -> tuple[float, float]:
        return self.utt.span_times(self.a, self.b)


@lru_cache(maxsize=1)
def _jieba():  # type: ignore[no-untyped-def]
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def clauses_of(u: Utterance) -> list[Clause]:
    text = u.text
    cuts: dict[int, bool] = {}  # offset -> is a sentence stop
    for i, ch in enumerate(text):
        if ch in HARD:
            cuts[i + 1] = True
        elif ch in SOFT:
            cuts.setdefault(i + 1, False)
    spans = u.word_spans
    for (_, e1, _, t1), (s2, _, t2, _) in zip(spans, spans[1:], strict=False):
        gap = t2 - t1
        if gap >= PAUSE_S:
            cuts[s2] = cuts.get(s2, False) or gap >= STOP_PAUSE_S
    cuts[len(text)] = True
    pieces: list[tuple[int, int, bool]] = []
    a = 0
    for b in sorted(cuts):
        if b > a:
            pieces.append((a, b, cuts[b]))
            a = b
    out: list[Clause] = []
    for a, b, stop in pieces:
        for x, y in _split_long(text, a, b):
            core_a, core_b = _trim(text, x, y)
            if core_b > core_a:
                out.append(Clause(u, core_a, core_b, stop and y == b))
            elif out and stop and y == b:
                last = out[-1]
                out[-1] = Clause(u, last.a, last.b, True)
    return out


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and (text[a] in SOFT or text[a] in HARD):
        a += 1
    while b > a and (text[b - 1] in SOFT or text[b - 1] in HARD):
        b -= 1
    return a, b


def _split_long(text: str, a: int, b: int) -> list[tuple[int, int]]:
    if b - a <= MAX_CHARS:
        return [(a, b)]
    out = []
    start = a
    at = a
    for word in _jieba().cut(text[a:b], HMM=False):
        if word in CONNECTIVES and at - start >= 4:
            out.append((start, at))
            start = at
        at += len(word)
    out.append((start, b))
    return out


def sentences_of(clauses: list[Clause]) -> list[list[Clause]]:
    """Clauses grouped into sentences (``stop`` ends one)."""
    groups: list[list[Clause]] = []
    current: list[Clause] = []
    for c in clauses:
        current.append(c)
        if c.stop:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups
