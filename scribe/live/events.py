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
from dataclasses import dataclass, field
from typing import Any, Literal

EVENT_VERSION = 1

EventType = Literal[
    "state", "partial", "final", "speaker", "level", "warning", "error", "progress"
]
EVENT_TYPES: tuple[str, ...] = (
    "state", "partial", "final", "speaker", "level", "warning", "error", "progress"
)
# Kept out of the journal: levels arrive several times a second and are worthless afterwards.
NOT_JOURNALED = frozenset({"level"})


@dataclass(frozen=True)
class Event:
    type: str
    data: dict[str, Any]
    session: str = ""
    seq: int = 0
    emitted_at: float = field(default_factory=time.time)

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
        return cls(
            type=str(obj["type"]),
            data=data,
            session=str(obj.get("session", "")),
            seq=int(obj.get("seq", 0)),
            emitted_at=float(obj.get("emitted_at", 0.0)),
        )


# -- constructors: one per event type, so the payload shapes live in one place -------------


def state(name: str, **detail: Any) -> Event:
    return Event("state", {"state": name, **detail})


def partial(utterance: int, start: float, end: float, text: str, speaker: str | None) -> Event:
    return Event(
        "partial",
        {
            "utterance": utterance,
            "start": round(start, 3),
            "end": round(end, 3),
            "text": text,
            "speaker": speaker,
        },
    )


def final(
    segment_id: str,
    utterance: int,
    start: float,
    end: float,
    text: str,
    speaker: str | None,
    language: str,
    words: list[dict[str, Any]],
    *,
    unrecognised: bool = False,
) -> Event:
    return Event(
        "final",
        {
            "id": segment_id,
            "utterance": utterance,
            "start": round(start, 3),
            "end": round(end, 3),
            "text": text,
            "speaker": speaker,
            "language": language,
            "words": words,
            # speech no decode recognised: text is 【未能识别】, staff play it back
            **({"unrecognised": True} if unrecognised else {}),
        },
    )


def speaker_update(segment_id: str, speaker: str | None, role: str | None = None) -> Event:
    return Event("speaker", {"id": segment_id, "speaker": speaker, "role": role})


def level(t: float, rms_dbfs: float, peak_dbfs: float) -> Event:
    return Event("level", {"t": round(t, 3), "rms_dbfs": round(rms_dbfs, 1), "peak_dbfs": round(peak_dbfs, 1)})


def warning(code: str, message: str, **detail: Any) -> Event:
    return Event("warning", {"code": code, "message": message, **detail})


def error(code: str, message: str, **detail: Any) -> Event:
    return Event("error", {"code": code, "message": message, **detail})


def progress(stage: str, fraction: float, **detail: Any) -> Event:
    return Event("progress", {"stage": stage, "fraction": round(fraction, 3), **detail})
