"""The evidence check of a drafting model's values: each must cite what was said, verbatim.

A model value (the facts, one agreed term) comes with ``quotes``: the words of the transcript
it rests on. A value is kept only when

- every quote is verbatim in one utterance of the transcript — compared after Unicode NFKC and
  with whitespace and punctuation ignored, since recognisers and models punctuate differently,
  but not one character of wording changed;
- every quote shares wording with the value (a quote that says nothing of it is no evidence);
- every amount and every date the value states is in its quotes (numbers are where a rewrite
  most easily goes wrong, and the dates resolve against the session date on both sides).

The evidence kept is the quoted words themselves, with the time, speaker and segment of the
utterance they were found in; the text of the quote is the transcript's, not the model's.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property

from scribe.extract.dialogue import Dialogue, Utterance
from scribe.extract.fields import Evidence
from scribe.extract.quantities import find_amounts, find_deadlines


def _normal(text: str) -> tuple[str, list[int]]:
    """The text without whitespace and punctuation, NFKC, lower case; and each kept
    character's offset in the original, so a match maps back to the words as written."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch):
            if c.isspace() or unicodedata.category(c)[0] in "PZC":
                continue
            out.append(c.lower())
            where.append(i)
    return "".join(out), where


@dataclass(frozen=True)
class CheckedValue:
    evidence: list[Evidence]
    problem: str | None  # why the value is dropped; None when it stands


class QuoteIndex:
    """The utterances of one hearing, ready to find quotes in."""

    def __init__(self, dialogue: Dialogue) -> None:
        self.dialogue = dialogue
        self.session_date: dt.date = dialogue.casefile.date

    @cached_property
    def _normalised(self) -> list[tuple[Utterance, str, list[int]]]:
        return [(u, *_normal(u.text)) for u in self.dialogue]

    def locate(self, quote: str) -> Evidence | None:
        """The utterance holding ``quote`` verbatim, as evidence quoting the transcript's words."""
        q, _ = _normal(quote)
        if not q:
            return None
        for u, text, where in self._normalised:
            pos = text.find(q)
            if pos >= 0:
                return u.evidence(quote=u.text[where[pos]: where[pos + len(q) - 1] + 1])
        return None

    def check(self, value: str, quotes: list[str]) -> CheckedValue:
        found: list[Evidence] = []
        for quote in quotes:
            ev = self.locate(quote)
            if ev is None:
                return CheckedValue([], f"its quote “{_clip(quote)}” is not in the transcript")
            if not bigrams(value) & bigrams(ev.quote):
                return CheckedValue([], f"its quote “{_clip(quote)}” says nothing of it")
            if ev not in found:
                found.append(ev)
        quoted = "\n".join(e.quote for e in found)
        said = {a.yuan for a in find_amounts(quoted)}
        for a in find_amounts(value):
            if a.yuan not in said:
                return CheckedValue([], f"it states an amount its quotes do not ({a.phrase})")
        dates = {d.date for d in find_deadlines(quoted, self.session_date)}
        for d in find_deadlines(value, self.session_date):
            if d.date not in dates:
                return CheckedValue([], f"it states a date its quotes do not ({d.phrase})")
        return CheckedValue(sorted(found, key=lambda e: (e.start, e.segment or 0)), None)


def bigrams(text: str) -> set[str]:
    han = re.sub(r"[^\u4e00-\u9fff0-9A-Za-z]", "", text)
    return {han[i:i + 2] for i in range(len(han) - 1)}


def support(text: str, source: str) -> float:
    """Share of the text's character bigrams that occur in ``source``."""
    grams = bigrams(text)
    if not grams:
        return 0.0
    return len(grams & bigrams(source)) / len(grams)


def json_block(text: str) -> str | None:
    """The JSON object in a model's answer (bare, or in a ```json fence)."""
    text = text.strip()
    fence = re.search(r"```(?:json)?\s*(\{.*?\})\s*```", text, re.DOTALL)
    if fence:
        return fence.group(1)
    start, end = text.find("{"), text.rfind("}")
    if start == -1 or end <= start:
        return None
    return text[start:end + 1]


def _clip(text: str, n: int = 30) -> str:
    return text if len(text) <= n else text[:n] + "…"
