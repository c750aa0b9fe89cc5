"""Values that flow between stages. All times are seconds on one clock: the recording's.

``Transcript.to_dict`` / ``Transcript.from_dict`` are the JSON contract that other tools read
(documented in ``docs/transcript-format.md``); change them only with a version bump there.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

SAMPLE_RATE = 16_000  # every stage after decoding works on 16 kHz mono float32
UNRECOGNISED_TEXT = "【未能识别】"  # the text of a segment of speech no decode recognised


@dataclass(frozen=True)
class AudioChunk:
    """A piece of a stream: ``samples`` (float32, 16 kHz mono) starting at ``start`` seconds."""

    start: float
    samples: np.ndarray  # shape: (num_samples,)

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    @property
    def end(self) -> float:
        return self.start + self.duration


@dataclass(frozen=True, order=True)
class SpeechRegion:
    """A stretch the voice-activity detector judged to be speech."""

    start: float
    end: float


@dataclass(frozen=True, order=True)
class SpeakerTurn:
    """``speaker`` talks from ``start`` to ``end`` (turns of different speakers may overlap)."""

    start: float
    end: float
    speaker: str

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    word: str
    probability: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "word": self.word,
            "probability": round(self.probability, 4),
        }


@dataclass(frozen=True)
class TranscriptSegment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    speaker: str | None = None
    # live sessions only: a partial may still change, a final never does
    final: bool = True
    # speech the VAD heard that no decode could turn into text (scribe.coverage): ``text`` is
    # UNRECOGNISED_TEXT and ``words`` is empty; kept so nothing said vanishes from the record
    unrecognised: bool = False

    def with_text(self, text: str) -> TranscriptSegment:
        return replace(self, text=text)

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "speaker": self.speaker,
            "text": self.text,
            "words": [w.to_dict() for w in self.words],
            **({"unrecognised": True} if self.unrecognised else {}),
        }


@dataclass(frozen=True)
class Transcript:
    """A whole recording's text: the ``scribe transcribe`` JSON contract."""

    language: str
    duration: float
    model: str
    segments: tuple[TranscriptSegment, ...]
    # how it was made (options, timings); written as "info", never needed by readers
    info: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def text(self) -> str:
        """The recognised text (unrecognised stretches left out)."""
        sep = "" if self.language == "zh" else " "
        return sep.join(s.text for s in self.segments if not s.unrecognised).strip()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "language": self.language,
            "duration": round(self.duration, 3),
            "model": self.model,
            "segments": [s.to_dict() for s in self.segments],
        }
        if self.info:
            out["info"] = self.info
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        segments = tuple(
            TranscriptSegment(
                start=float(s["start"]),
                end=float(s["end"]),
                text=str(s["text"]),
                speaker=s.get("speaker"),
                words=tuple(
                    Word(float(w["start"]), float(w["end"]), str(w["word"]), float(w.get("probability", 1.0)))
                    for w in s.get("words") or ()
                ),
                unrecognised=bool(s.get("unrecognised", False)),
            )
            for s in data["segments"]
        )
        return cls(
            language=str(data["language"]),
            duration=float(data["duration"]),
            model=str(data.get("model", "")),
            segments=segments,
            info=dict(data.get("info") or {}),
        )
