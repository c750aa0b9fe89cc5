"""The live event stream: what a session tells its listeners (docs/events.md is the contract).

Every event is a JSON object with the same envelope::

    {"v": 1, "type": "final", "session": "...", "seq": 17, "emitted_at": 1763800000.123, ...}

``seq`` counts up per session and never repeats (a client that reconnects asks for the events
after the last ``seq`` it saw); ``emitted_at`` is wall-clock unix seconds. Times inside the
payload (``start``, ``end``, ``t``) are seconds on the session clock: samples received / 16 kHz.

Bump ``EVENT_VERSION`` (and docs/events.md) on any change a client could notice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from scribe.types import Word

EVENT_VERSION = 1

EventType = Literal[
    "state", "partial", "final", "speaker", "level", "warning", "error", "progress"
]
EVENT_TYPES: tuple[str, ...] = (
    "state", "partial", "final", "speaker", "level", "warning", "error", "progress"
)
# Kept out of the journal: levels arrive several times a second and are worthless afterwards.
NOT_JOURNALED = frozenset({"level"})


# -- payloads: one frozen dataclass per event type; JSON only at the journal and socket edge ------


def _detail(data: Mapping[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in known}


@dataclass(frozen=True)
class StatePayload:
    state: str  # recording | paused | stopping | stopped | finalizing | finished | interrupted
    # what the change carries: "at" (s), "resumed", "source", "recovered_seconds", ...
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, **self.detail}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> StatePayload:
        return cls(str(d.get("state") or ""), _detail(d, ("state",)))


@dataclass(frozen=True)
class PartialPayload:
    utterance: int
    start: float
    end: float
    text: str
    speaker: str | None

    def to_json(self) -> dict[str, Any]:
        return {"utterance": self.utterance, "start": round(self.start, 3), "end": round(self.end, 3),
                "text": self.text, "speaker": self.speaker}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> PartialPayload:
        return cls(int(d.get("utterance") or 0), float(d.get("start") or 0.0), float(d.get("end") or 0.0),
                   str(d.get("text") or ""), d.get("speaker"))


@dataclass(frozen=True)
class FinalPayload:
    id: str
    utterance: int
    start: float
    end: float
    text: str
    speaker: str | None
    language: str
    words: tuple[Word, ...] = ()
    # speech no decode recognised: text is 【未能识别】, staff play it back
    unrecognised: bool = False

    def to_json(self) -> dict[str, Any]:
        out = {"id": self.id, "utterance": self.utterance, "start": round(self.start, 3),
               "end": round(self.end, 3), "text": self.text, "speaker": self.speaker,
               "language": self.language, "words": [w.to_dict() for w in self.words]}
        if self.unrecognised:
            out["unrecognised"] = True
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> FinalPayload:
        words = tuple(Word(float(w["start"]), float(w["end"]), str(w["word"]), float(w.get("probability", 1.0)))
                      for w in d.get("words") or ())
        return cls(str(d.get("id") or ""), int(d.get("utterance") or 0), float(d.get("start") or 0.0),
                   float(d.get("end") or 0.0), str(d.get("text") or ""), d.get("speaker"),
                   str(d.get("language") or ""), words, bool(d.get("unrecognised", False)))


@dataclass(frozen=True)
class SpeakerPayload:
    id: str  # the final segment relabelled; "" for a role given to a label
    speaker: str | None
    role: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "speaker": self.speaker, "role": self.role}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> SpeakerPayload:
        return cls(str(d.get("id") or ""), d.get("speaker"), d.get("role"))


@dataclass(frozen=True)
class LevelPayload:
    t: float
    rms_dbfs: float = -120.0
    peak_dbfs: float = -120.0

    def to_json(self) -> dict[str, Any]:
        return {"t": round(self.t, 3), "rms_dbfs": round(self.rms_dbfs, 1), "peak_dbfs": round(self.peak_dbfs, 1)}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> LevelPayload:
        return cls(float(d.get("t") or 0.0), float(d.get("rms_dbfs", -120.0)), float(d.get("peak_dbfs", -120.0)))


@dataclass(frozen=True)
class NoticePayload:
    """A warning or an error: a stable ``code`` for clients, a message for people."""

    code: str
    message: str
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.detail}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> NoticePayload:
        return cls(str(d.get("code") or ""), str(d.get("message") or ""), _detail(d, ("code", "message")))


@dataclass(frozen=True)
class ProgressPayload:
    stage: str
    fraction: float
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"stage": self.stage, "fraction": round(self.fraction, 3), **self.detail}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ProgressPayload:
        return cls(str(d.get("stage") or ""), float(d.get("fraction") or 0.0), _detail(d, ("stage", "fraction")))


Payload = (StatePayload | PartialPayload | FinalPayload | SpeakerPayload | LevelPayload | NoticePayload
           | ProgressPayload)
_PAYLOADS: dict[str, Any] = {
    "state": StatePayload, "partial": PartialPayload, "final": FinalPayload, "speaker": SpeakerPayload,
    "level": LevelPayload, "warning": NoticePayload, "error": NoticePayload, "progress": ProgressPayload,
}


def payload_from_json(event_type: str, data: Mapping[str, Any]) -> Payload:
    cls = _PAYLOADS.get(event_type)
    if cls is None:
        raise ValueError(f"unknown event type {event_type!r}")
    payload: Payload = cls.from_json(data)
    return payload


@dataclass(frozen=True)
class Event:
    """One event of a session. ``payload`` is typed; ``data`` is its JSON object (the edge).
    A mapping given as ``payload`` (a journal line, a test) is parsed into the type's payload."""

    type: str
    payload: Payload
    session: str = ""
    seq: int = 0
    emitted_at: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        if isinstance(self.payload, Mapping):
            object.__setattr__(self, "payload", payload_from_json(self.type, self.payload))

    @property
    def data(self) -> dict[str, Any]:
        return self.payload.to_json()

    def stamped(self, session: str, seq: int, emitted_at: float) -> Event:
        return replace(self, session=session, seq=seq, emitted_at=emitted_at)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "v": EVENT_VERSION,
            "type": self.type,
            "session": self.session,
            "seq": self.seq,
            "emitted_at": round(self.emitted_at, 3),
        }
        out.update(self.data)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> Event:
        data = {
            k: v for k, v in obj.items() if k not in ("v", "type", "session", "seq", "emitted_at")
        }
        kind = str(obj["type"])
        return cls(
            type=kind,
            payload=payload_from_json(kind, data),
            session=str(obj.get("session", "")),
            seq=int(obj.get("seq", 0)),
            emitted_at=float(obj.get("emitted_at", 0.0)),
        )


# -- constructors: one per event type ------------------------------------------------------------


def state(name: str, **detail: Any) -> Event:
    return Event("state", StatePayload(name, detail))


def partial(utterance: int, start: float, end: float, text: str, speaker: str | None) -> Event:
    return Event("partial", PartialPayload(utterance, start, end, text, speaker))


def final(
    segment_id: str,
    utterance: int,
    start: float,
    end: float,
    text: str,
    speaker: str | None,
    language: str,
    words: Sequence[Word],
    *,
    unrecognised: bool = False,
) -> Event:
    return Event("final", FinalPayload(segment_id, utterance, start, end, text, speaker, language, tuple(words),
                                       unrecognised))


def speaker_update(segment_id: str, speaker: str | None, role: str | None = None) -> Event:
    return Event("speaker", SpeakerPayload(segment_id, speaker, role))


def level(t: float, rms_dbfs: float, peak_dbfs: float) -> Event:
    return Event("level", LevelPayload(t, rms_dbfs, peak_dbfs))


def warning(code: str, message: str, **detail: Any) -> Event:
    return Event("warning", NoticePayload(code, message, detail))


def error(code: str, message: str, **detail: Any) -> Event:
    return Event("error", NoticePayload(code, message, detail))


def progress(stage: str, fraction: float, **detail: Any) -> Event:
    return Event("progress", ProgressPayload(stage, fraction, detail))
