"""What the server needs from live capture: the ``LiveService`` Protocol and its ``LiveStart``.

``scribe.live.bridge.ManagerBridge`` implements it over a ``SessionManager``; the hearing
lifecycle (``scribe.lifecycle``) and the desk routes speak only to this Protocol, so their
access checks and tests do not depend on how the engine is built.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from scribe.live.archive import SessionMeta
from scribe.live.events import Event

if TYPE_CHECKING:
    from scribe.live.manager import SessionManager


@dataclass(frozen=True)
class LiveStart:
    """What the engine needs to open the live session of a hearing."""

    hearing_id: str
    language: str  # zh | en | auto
    hotwords: tuple[str, ...]
    casefile: dict[str, Any] = field(default_factory=dict)
    office: str | None = None  # the hearing's office (whose voiceprints the diarizer loads)


class LiveService(Protocol):
    """Live sessions as the desk sees them (one per hearing)."""

    #: the manager behind the WebSocket route; None for an engine without one (tests)
    session_manager: SessionManager | None

    def session_id_for(self, hearing_id: str) -> str:
        """The live session id a hearing gets (stable: the same hearing, the same id)."""
        ...

    def open(self, start: LiveStart) -> str:
        """Create (or find) the live session for a hearing; returns its id."""
        ...

    def pause(self, session_id: str) -> None: ...

    def resume(self, session_id: str) -> None: ...

    def notify(self, session_id: str, code: str, message: str, **detail: Any) -> None:
        """Tell the session's listeners (the desk) something, as a journalled warning event."""
        ...

    def set_hotwords(self, session_id: str, hotwords: tuple[str, ...]) -> None:
        """The hearing's names changed while recording: later decodes and the final pass use these."""
        ...

    def stop(self, session_id: str) -> None:
        """Stop capture; the final pass follows in the background."""
        ...

    def state(self, session_id: str) -> dict[str, Any]:
        """At least {"state": "...", "final_ready": bool}; after a crash also
        ``interrupted_at`` (ISO) and ``recovered_seconds``."""
        ...

    def transcript(self, session_id: str) -> dict[str, Any] | None:
        """The best transcript so far (final pass if done, else live finals) as the JSON contract."""
        ...

    def audio_path(self, session_id: str) -> Path | None:
        """Path of the archived 16 kHz WAV, or None."""
        ...

    def session_dir(self, session_id: str) -> Path | None:
        """The folder holding the session's audio, journal and transcripts (deleted with it)."""
        ...

    def websocket_path(self, session_id: str) -> str:
        """Where the browser sends PCM and reads events (relative URL)."""
        ...

    def observe(self, listener: Callable[[Event], None]) -> None:
        """Report every event of every session to ``listener`` before any client."""
        ...

    def recover_unfinished(self) -> list[SessionMeta]:
        """Seal the sessions a crash left recording; their metadata."""
        ...

    def resumable(self) -> list[str]:
        """Sessions whose final pass never ran to the end."""
        ...

    def finish_later(self, session_id: str) -> Future[Any]: ...

    def wait_finished(self, session_id: str, timeout: float | None = None) -> bool: ...

    def close(self, final_pass_timeout: float | None = None) -> None:
        """Shutdown: stop what records, let the final passes asked for finish."""
        ...
