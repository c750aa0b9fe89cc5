"""The live-session engine (``scribe.live``) behind the desk API's ``LiveBridge`` seam, and the
authentication of its WebSocket.

The server creates a live session when a mediator presses Record (after the consent check) and
starts a push source on it; the browser then attaches to ``/ws/sessions/<id>`` and streams PCM.
Stop seals the audio and runs the final pass in a background thread; its progress events reach
the desk on the same socket. The live session id is the hearing id.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from fastapi import WebSocket, WebSocketException, status
from sqlalchemy import select

from scribe.accounts import service
from scribe.accounts.principal import Principal, Scope
from scribe.errors import SessionError
from scribe.live import events as ev
from scribe.live.manager import SessionManager
from scribe.live.sources import PushSource
from scribe.live.transcripts import transcript_from_events
from scribe.settings import Settings
from scribe.web import hearings
from scribe.web.auth import COOKIE
from scribe.web.live_bridge import LiveStart
from scribe.web.models import Hearing

log = logging.getLogger(__name__)


class ManagerBridge:
    """``LiveBridge`` over a ``SessionManager`` whose models were loaded once."""

    def __init__(self, manager: SessionManager) -> None:
        self.manager = manager
        self._finishing: dict[str, threading.Thread] = {}

    def open(self, start: LiveStart) -> str:
        sid = start.hearing_id
        if self.manager.get(sid) is not None:
            return sid  # resuming after a pause, or a second Record click
        if (self.manager.root / sid / "session.json").exists():
            raise SessionError(
                f"the recording of hearing {sid} has already ended",
                fix="create a new session for a new hearing",
            )
        options = replace(
            self.manager.default_options,
            language=start.language,
            hotwords=tuple(start.hotwords),
        )
        session = self.manager.create(
            options, session_id=sid, source="websocket", title=start.casefile.get("case_number") or "", case=start.casefile
        )
        session.start_source(PushSource("websocket"))
        return sid

    def pause(self, session_id: str) -> None:
        # the desk stops sending audio; the journal notes the pause for the record
        session = self.manager.get(session_id)
        if session is not None:
            session.bus.publish(ev.state("paused"))

    def resume(self, session_id: str) -> None:
        session = self.manager.get(session_id)
        if session is not None:
            session.bus.publish(ev.state("recording", resumed=True))

    def stop(self, session_id: str) -> None:
        session = self.manager.get(session_id)
        if session is None:
            return
        session.stop()
        if self.manager.final_pass is None:
            self.manager.forget(session_id)
            return

        def finish() -> None:
            try:
                self.manager.finish(session_id)
            except Exception:  # noqa: BLE001 - published as an error event; the live text stays
                log.exception("final pass of session failed")
            finally:
                self.manager.forget(session_id)

        thread = threading.Thread(target=finish, name=f"final-pass-{session_id}", daemon=True)
        self._finishing[session_id] = thread
        thread.start()

    def wait_final(self, session_id: str, timeout: float | None = None) -> bool:
        thread = self._finishing.get(session_id)
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def _folder(self, session_id: str) -> Path:
        return self.manager.root / session_id

    def state(self, session_id: str) -> dict[str, Any]:
        root = self._folder(session_id)
        try:
            meta = json.loads((root / "session.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"state": "unknown", "final_ready": False}
        return {
            "state": meta.get("state"),
            "final_ready": (root / "final.json").exists(),
            "duration": meta.get("duration"),
        }

    def transcript(self, session_id: str) -> dict[str, Any] | None:
        root = self._folder(session_id)
        for name in ("final.json", "live.json"):
            path = root / name
            if path.exists():
                data = json.loads(path.read_text(encoding="utf-8"))
                data.setdefault("info", {})["source"] = name.removesuffix(".json")
                return data
        try:
            folder = self.manager.folder(session_id)
        except SessionError:
            return None
        data = transcript_from_events(folder.events(), 0.0, folder.read_meta()).to_dict()
        data.setdefault("info", {})["source"] = "journal"
        return data

    def audio_path(self, session_id: str) -> Path | None:
        path = self._folder(session_id) / "audio.wav"
        return path if path.exists() else None

    def websocket_path(self, session_id: str) -> str:
        return f"/ws/sessions/{session_id}"

    def open_count(self) -> int:
        return sum(1 for s in self.manager.list() if s.get("state") == "recording")

    def close(self) -> None:
        self.manager.close()
        for thread in list(self._finishing.values()):
            thread.join(timeout=600)


def build_live_bridge(settings: Settings, _metrics: Any = None) -> ManagerBridge:
    """Load the models once (whisper, VAD, diarizers when present) and build the bridge."""
    from scribe.live.engine import LiveEngine

    engine = LiveEngine.load(settings)
    return ManagerBridge(engine.manager())


# -- the WebSocket's authentication -------------------------------------------------------------
def _deny(reason: str) -> WebSocketException:
    return WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason=reason)


def get_manager(websocket: WebSocket) -> SessionManager:
    live = websocket.app.state.live
    if live is None or not hasattr(live, "manager"):
        raise WebSocketException(code=status.WS_1011_INTERNAL_ERROR, reason="the live engine is not running")
    return live.manager  # type: ignore[no-any-return]


def ws_principal(websocket: WebSocket, session_id: str) -> Principal:
    """Cookie (same-origin browsers) or bearer token (desk clients); the hearing must be the
    caller's office's, its parties must all have consented, and Record must have been pressed."""
    origin = websocket.headers.get("origin")
    host = websocket.headers.get("host", "")
    if origin is not None and origin.split("://", 1)[-1] != host:
        # cookies ride along on cross-site WebSocket handshakes: refuse other origins
        raise _deny("cross-origin WebSocket refused")
    db = websocket.app.state.db
    auth = websocket.headers.get("authorization", "")
    with db.transaction() as tx:
        principal: Principal | None = None
        if auth.lower().startswith("bearer "):
            principal = service.resolve_token(tx, auth[7:].strip())
        elif websocket.cookies.get(COOKIE):
            principal = service.resolve_login_session(tx, websocket.cookies[COOKIE])
        if principal is None:
            raise _deny("not logged in")
        if Scope.LIVE_STREAM not in principal.scopes:
            raise _deny("this needs the live:stream permission")
        hearing = tx.scalar(hearings.visible_query(principal).where(Hearing.live_session_id == session_id))
        if hearing is None:
            raise _deny("no such hearing in your office")
        if not hearings.all_consented(hearing):
            raise _deny("recording refused: a party has not consented")
    return principal


def build_ws_router() -> Any:
    from scribe.live.ws import build_router

    return build_router(get_manager, ws_principal)
