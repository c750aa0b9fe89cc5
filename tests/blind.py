"""The blind evaluation set of tests/data/blind: hearings and consultations written by helpers who saw
only ../shared/docs/domain.md and a one-line brief (tests/data/blind/README.md), never the drafting
code, its tests or the other dialogues.

Each ``<id>.json`` holds the session as staff would type it, the segments as a recogniser would cut
them (``style`` ``clean`` or ``asr``: whisper-base-like, with ``‖`` where the speaker pauses inside a
segment) and the facts a clerk expects (``expected``). This module turns one into the product's own
inputs: a :class:`Transcript` with synthetic but consistent timing (0.22 s a character, 0.45 s at a
``‖``, 0.4 s between segments) and per-character word timings, and a :class:`CaseFile`.

``dev/`` is the half the drafting rules may be tuned on, ``dev2/`` a second development set written
later by another writer (scored first, before any rule was changed for it), ``dev3/`` a third one by two
more writers (scored first on main and then on rules tuned without it); together they are the
development set (``DEV_PARTS``). ``frozen/`` is never read while tuning and only scored, in aggregate,
by ``benchmarks/blind.py``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scribe.casefile import CaseFile
from scribe.types import Transcript, TranscriptSegment, Word

BLIND_DIR = Path(__file__).resolve().parent / "data" / "blind"
PARTS = ("dev", "dev2", "dev3", "dev4", "dev5", "dev6", "dev7", "frozen")
# may be tuned on; their misses may be read (dev3 only after its first scores: README)
DEV_PARTS = ("dev", "dev2", "dev3", "dev4", "dev5", "dev6", "dev7")

CHAR_SECONDS = 0.22
PAUSE_MARK = "‖"
PAUSE_SECONDS = 0.45
SEGMENT_GAP = 0.4
_PUNCT = re.compile(r"[，。！？、；：,.!?;:…“”\"'（）()《》\s]")


@dataclass(frozen=True)
class BlindItem:
    id: str
    part: str
    brief: str
    style: str
    transcript: Transcript
    casefile: CaseFile
    expected: dict[str, Any]
    raw: dict[str, Any]

    @property
    def session_type(self) -> str:
        return self.casefile.session_type.value


def ids(part: str) -> list[str]:
    return sorted(p.stem for p in (BLIND_DIR / part).glob("*.json"))


def load(part: str, item_id: str) -> BlindItem:
    data = json.loads((BLIND_DIR / part / f"{item_id}.json").read_text(encoding="utf-8"))
    return BlindItem(
        id=data["id"],
        part=part,
        brief=data.get("brief", ""),
        style=data.get("style", "clean"),
        transcript=to_transcript(data["segments"]),
        casefile=CaseFile.from_dict(data["session"], origin=f"blind item {item_id}"),
        expected=data["expected"],
        raw=data,
    )


def load_all(part: str) -> list[BlindItem]:
    return [load(part, i) for i in ids(part)]


def to_transcript(segments: list[dict[str, Any]]) -> Transcript:
    out = []
    t = 0.6
    for seg in segments:
        words: list[Word] = []
        start = t
        for piece in seg["text"].split(PAUSE_MARK):
            for ch in piece:
                if words and (_PUNCT.fullmatch(ch)):
                    # punctuation and spaces ride on the word before them, as Whisper's tokens do
                    last = words[-1]
                    words[-1] = Word(last.start, last.end, last.word + ch, last.probability)
                    continue
                words.append(Word(round(t, 3), round(t + CHAR_SECONDS, 3), ch, 0.9))
                t += CHAR_SECONDS
            t += PAUSE_SECONDS
        t -= PAUSE_SECONDS
        text = seg["text"].replace(PAUSE_MARK, "")
        out.append(TranscriptSegment(round(start, 3), round(t, 3), text, tuple(words), speaker=seg["speaker"]))
        t += SEGMENT_GAP
    return Transcript("zh", round(t, 3), "blind evaluation dialogue", tuple(out))
