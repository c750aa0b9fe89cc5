"""The seam between the desk API and the live-session engine (``scribe.live``).

The desk API speaks to whatever sits in ``app.state.live`` through this small interface, so the
routes, their access checks and their tests do not depend on how the engine is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class LiveStart:
    """What the engine needs to open a session for a hearing."""

    hearing_id: str
    language: str  # zh | en | auto
    hotwords: tuple[str, ...]
    casefile: dict[str, Any] = field(default_factory=dict)


class LiveBridge(Protocol):
    """What the server needs from live capture. A bridge may also carry ``diarization_models``
    (the loaded ``diarize.DiarizationModels``): voice enrolment then uses that copy."""

    def open(self, start: LiveStart) -> str:
        """Create (or find) the live session for a hearing; returns its id."""
        ...

    def pause(self, session_id: str) -> None: ...

    def set_hotwords(self, session_id: str, hotwords: tuple[str, ...]) -> None:
        """The hearing's names changed while recording: later decodes and the final pass use these."""
        ...

    def resume(self, session_id: str) -> None: ...

    def stop(self, session_id: str) -> None:
        """Stop capture; the final pass may run afterwards in the background."""
        ...

    def state(self, session_id: str) -> dict[str, Any]:
        """At least {"state": "...", "final_ready": bool}."""
        ...

    def transcript(self, session_id: str) -> dict[str, Any] | None:
        """The best transcript so far (final pass if done, else live finals) as the JSON contract."""
        ...

    def audio_path(self, session_id: str) -> Any:
        """Path of the archived 16 kHz WAV, or None."""
        ...

    def websocket_path(self, session_id: str) -> str:
        """Where the browser sends PCM and reads events (relative URL)."""
        ...
