"""The desk's ``LiveService`` (``scribe.live.service``), implemented over a ``SessionManager``.

A hearing opens one session; the browser then streams PCM to ``websocket_path(id)``; stop runs
the final pass in the background so the HTTP request returns at once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from scribe.errors import SessionError
from scribe.live.manager import SessionManager, valid_session_id
from scribe.live.archive import SessionMeta
from scribe.live import events as ev
from scribe.live.events import Event
from scribe.live.pipeline import LiveOptions
from scribe.live.service import LiveStart
from scribe.live.session import FINISHED, INTERRUPTED, UNFINISHED, LiveSession
from scribe.live.sources import PushSource
from scribe.live.transcripts import transcript_from_events


class ManagerBridge:
    def __init__(self, manager: SessionManager, *, ws_prefix: str = "/ws/sessions") -> None:
        self.manager = manager
        self.session_manager: SessionManager | None = manager
        self.ws_prefix = ws_prefix

    @staticmethod
    def session_id_for(hearing_id: str) -> str:
        """A hearing's session id: the hearing id when it is a valid id, else a digest of it."""
        if valid_session_id(f"h-{hearing_id}"):
            return f"h-{hearing_id}"
        return "h-" + hashlib.sha256(hearing_id.encode("utf-8")).hexdigest()[:24]

    def open(self, start: LiveStart) -> str:
        """Create (or find) the live session for a hearing."""
        session_id = self.session_id_for(str(start.hearing_id))
        if self.manager.get(session_id) is not None:
            return session_id
        base = self.manager.default_options
        casefile = dict(start.casefile or {})
        hotwords = tuple(dict.fromkeys([*start.hotwords, *(casefile.get("hotwords") or [])]))
        options = LiveOptions(**{**base.__dict__, "language": start.language, "hotwords": hotwords,
                                 "voiceprint_office": start.office})
        if (self.manager.root / session_id / "session.json").exists():
            folder = self.manager.folder(session_id)
            state = folder.meta().state
            if state in UNFINISHED:
                raise SessionError(f"the session of hearing {start.hearing_id} was interrupted",
                                   fix="finish it (`scribe sessions finish`) before recording again")
            if state == INTERRUPTED:
                # 继续录音 after a crash or a restart: the same archive goes on
                folder.update_meta(hotwords=list(hotwords))
                self.manager.reopen(session_id, options)
            return session_id
        self.manager.create(options, session_id=session_id, source="websocket",
                            title=str(casefile.get("case_number") or ""), case=casefile or None)
        return session_id

    def set_hotwords(self, session_id: str, hotwords: tuple[str, ...]) -> None:
        """New hotwords for a session still recording (a stopped one is left as it is)."""
        session = self.manager.get(session_id)
        if session is not None:
            session.set_hotwords(tuple(hotwords))

    def _live(self, session_id: str) -> LiveSession:
        session = self.manager.get(session_id)
        if session is None:
            raise SessionError(f"session {session_id} is not recording", fix="open it first")
        return session

    def pause(self, session_id: str) -> None:
        self._in_order(session_id, "pause")

    def resume(self, session_id: str) -> None:
        self._in_order(session_id, "resume")

    def notify(self, session_id: str, code: str, message: str, **detail: Any) -> None:
        session = self.manager.get(session_id)
        if session is not None:
            session.bus.publish(ev.warning(code, message, **detail))

    def _in_order(self, session_id: str, op: str) -> None:
        # after the audio already received, like the WebSocket's own pause/resume
        session = self._live(session_id)
        action = session.pause if op == "pause" else session.resume
        if isinstance(session.source, PushSource):
            session.source.call(action)
        else:
            action()

    def stop(self, session_id: str) -> None:
        session = self.manager.get(session_id)
        if session is None:
            folder = self.manager.folder(session_id)
            state = folder.meta().state
            if state == INTERRUPTED and not folder.final_transcript.exists():
                # 结束 after an interruption: the final pass over what was kept
                if self.manager.final_pass is not None:
                    self.manager.finish_later(session_id)
                return
            if state not in UNFINISHED:
                # already stopped (by a client over the WebSocket): the hearing only catches up
                return
        self._live(session_id).stop()
        if self.manager.final_pass is not None:
            self.manager.finish_later(session_id)

    def state(self, session_id: str) -> dict[str, Any]:
        folder = self.manager.folder(session_id)
        meta = folder.meta()
        live = self.manager.get(session_id)
        recorded = live.writer.duration if live is not None else (meta.duration or 0.0)
        return {  # JSON for the desk's GET /api/hearings/{id}/live
            "state": meta.state,
            "final_ready": meta.state == FINISHED and folder.final_transcript.exists(),
            "duration": meta.duration,
            "recorded_seconds": round(recorded, 3),  # archived so far (the desk's clock)
            "audio_sha256": meta.audio_sha256,
            # set when a crash ended the recording and the start-up recovery sealed it
            "interrupted_at": meta.interrupted_at,
            "recovered_seconds": meta.recovered_seconds,
        }

    def transcript(self, session_id: str) -> dict[str, Any] | None:
        folder = self.manager.folder(session_id)
        for path in (folder.final_transcript, folder.live_transcript):
            if path.exists():
                data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
                return data
        meta = folder.meta()
        session = self.manager.get(session_id)
        duration = session.writer.duration if session else (meta.duration or 0.0)
        events = folder.events()
        if not any(e.type == "final" for e in events):
            return None
        return transcript_from_events(events, duration, meta).to_dict()

    def audio_path(self, session_id: str) -> Path | None:
        folder = self.manager.folder(session_id)
        return folder.audio if folder.audio.exists() else None

    def session_dir(self, session_id: str) -> Path | None:
        folder = self.manager.root / session_id
        return folder if valid_session_id(session_id) and folder.exists() else None

    def websocket_path(self, session_id: str) -> str:
        return f"{self.ws_prefix}/{session_id}"

    def observe(self, listener: Callable[[Event], None]) -> None:
        self.manager.observe(listener)

    def recover_unfinished(self) -> list[SessionMeta]:
        return self.manager.recover_unfinished()

    def resumable(self) -> list[str]:
        return self.manager.resumable() if self.manager.final_pass is not None else []

    def finish_later(self, session_id: str) -> Future[Any]:
        return self.manager.finish_later(session_id)

    def close(self, final_pass_timeout: float | None = None) -> None:
        # a shutdown in the middle of a hearing interrupts it (the desk can record on after
        # the restart); it does not end it
        self.manager.close(final_pass_timeout, interrupt=True)

    def wait_finished(self, session_id: str, timeout: float | None = None) -> bool:
        """For tests and shutdown: wait for a background final pass."""
        return self.manager.wait_finished(session_id, timeout)
