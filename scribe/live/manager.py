"""Sessions of this machine: create, look up, list, recover after a crash, finish.

One ``SessionManager`` per process (the CLI makes one, the server makes one in its lifespan);
the models it uses are loaded once by whoever builds it and injected as a pipeline factory and
a final pass.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from scribe.errors import SessionError
from scribe.live import events as ev
from scribe.live.archive import (
    Journal,
    SessionFolder,
    SessionLock,
    iter_session_folders,
    repair_wav,
    sha256_of,
)
from scribe.live.events import Event
from scribe.live.final_pass import FinalPass
from scribe.live.pipeline import LiveOptions, StreamingPipeline
from scribe.live.session import (
    FINALIZING,
    FINISHED,
    INTERRUPTED,
    RECORDING,
    STOPPED,
    UNFINISHED,
    EventBus,
    LiveSession,
    _next_seq,
    _write_json,
    utc_iso,
)
from scribe.live.transcripts import transcript_from_events
from scribe.types import SAMPLE_RATE, Transcript

PipelineFactory = Callable[[LiveOptions], StreamingPipeline]
Listener = Callable[[Event], None]


def new_session_id() -> str:
    return f"{dt.datetime.now(dt.timezone.utc):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def valid_session_id(session_id: str) -> bool:
    return 1 <= len(session_id) <= 64 and all(c.isalnum() or c in "-_" for c in session_id)


class SessionManager:
    def __init__(
        self,
        root: Path,
        pipeline_factory: PipelineFactory,
        final_pass: FinalPass | None = None,
        *,
        flush_interval: float = 1.0,
        live_model: str = "",
        default_options: LiveOptions | None = None,
    ) -> None:
        # what a session created over the WebSocket starts from (the site's settings)
        self.default_options = default_options or LiveOptions()
        self.root = root
        self.pipeline_factory = pipeline_factory
        self.final_pass = final_pass
        self.flush_interval = flush_interval
        self.live_model = live_model
        self._live: dict[str, LiveSession] = {}
        self._lock = threading.Lock()
        root.mkdir(parents=True, exist_ok=True)

    # -- creating and finding -----------------------------------------------------------

    def create(
        self,
        options: LiveOptions,
        *,
        session_id: str | None = None,
        source: str = "",
        title: str = "",
        case: dict[str, Any] | None = None,
    ) -> LiveSession:
        session_id = session_id or new_session_id()
        if not valid_session_id(session_id):
            raise SessionError(
                f"{session_id!r} is not a valid session id",
                fix="use up to 64 letters, digits, '-' or '_'",
            )
        folder = SessionFolder(self.root / session_id)
        with self._lock:
            if folder.exists() or session_id in self._live:
                raise SessionError(
                    f"session {session_id} already exists",
                    fix="choose another id, or omit it to get a new one",
                )
            folder.root.mkdir(parents=True, exist_ok=False)
            folder.root.chmod(0o700)  # hearing audio is sensitive personal information
            folder.write_meta({
                "id": session_id,
                "v": 1,
                "created_at": utc_iso(),
                "title": title,
                "source": source,
                "language": options.language,
                "hotwords": list(options.hotwords),
                "case": case,
                "live_model": self.live_model,
                "state": RECORDING,
            })
            session = LiveSession(
                folder, self.pipeline_factory(options), flush_interval=self.flush_interval
            )
            self._live[session_id] = session
        return session

    def get(self, session_id: str) -> LiveSession | None:
        with self._lock:
            return self._live.get(session_id)

    def folder(self, session_id: str) -> SessionFolder:
        if not valid_session_id(session_id):
            raise SessionError(f"{session_id!r} is not a valid session id",
                               fix="run `scribe sessions list` to see ids")
        folder = SessionFolder(self.root / session_id)
        folder.read_meta()  # raises "does not exist" with the fix
        return folder

    def list(self) -> list[dict[str, Any]]:
        out = []
        for folder in iter_session_folders(self.root):
            meta = folder.read_meta()
            if meta.get("state") in UNFINISHED and self.get(folder.id) is None \
                    and not SessionLock(folder.lock_path).held_elsewhere():
                meta["state"] = INTERRUPTED + " (not yet recovered)"
            out.append(meta)
        return out

    # -- crashes ------------------------------------------------------------------------

    def unfinished(self) -> list[SessionFolder]:
        """Sessions whose recorder died (state says recording, nobody holds the lock)."""
        found = []
        for folder in iter_session_folders(self.root):
            if folder.read_meta().get("state") in UNFINISHED and self.get(folder.id) is None:
                if not SessionLock(folder.lock_path).held_elsewhere():
                    found.append(folder)
        return found

    def recover_unfinished(self) -> list[dict[str, Any]]:
        """At start-up (server lifespan, CLI): seal every session a crash left behind."""
        return [self.recover(folder.id) for folder in self.unfinished()]

    def recover(self, session_id: str) -> dict[str, Any]:
        """Seal a crashed session: audio up to the last write, every journalled final kept."""
        folder = self.folder(session_id)
        lock = SessionLock(folder.lock_path)
        if not lock.acquire():
            raise SessionError(f"session {session_id} is still being recorded by another process",
                               fix="stop it there first")
        try:
            meta = folder.read_meta()
            if meta.get("state") not in UNFINISHED:
                return meta
            samples = repair_wav(folder.audio) if folder.audio.exists() else 0
            duration = samples / SAMPLE_RATE
            bus = EventBus(session_id, Journal(folder.journal), next_seq=_next_seq(folder))
            live = transcript_from_events(folder.events(), duration, meta)
            _write_json(folder.live_transcript, live.to_dict())
            meta = folder.update_meta(
                state=INTERRUPTED,
                duration=round(duration, 3),
                audio_sha256=sha256_of(folder.audio) if folder.audio.exists() else None,
                recovered_at=utc_iso(),
            )
            bus.publish(ev.state(INTERRUPTED, recovered_seconds=round(duration, 3),
                                 finals=len(live.segments)))
            bus.journal.close()
            return meta
        finally:
            lock.release()

    # -- finishing ------------------------------------------------------------------------

    def stop(self, session_id: str) -> dict[str, Any]:
        session = self.get(session_id)
        if session is None:
            raise SessionError(f"session {session_id} is not recording in this process",
                               fix="use `scribe sessions finish` for a stopped or crashed session")
        return session.stop()

    def finish(self, session_id: str, listener: Listener | None = None) -> Transcript:
        """The final pass over a stopped (or crashed) session; writes ``final.json``."""
        if self.final_pass is None:
            raise SessionError("no final pass is configured here",
                               fix="run `scribe sessions finish ID` on the desk machine")
        live = self.get(session_id)
        if live is not None and live.state not in (STOPPED, FINISHED):
            raise SessionError(f"session {session_id} is still recording", fix="stop it first")
        folder = self.folder(session_id)
        if folder.read_meta().get("state") in UNFINISHED:
            self.recover(session_id)
        lock = SessionLock(folder.lock_path)
        if not lock.acquire():
            raise SessionError(f"session {session_id} is busy in another process", fix="wait for it")
        own_bus = live is None
        bus = live.bus if live is not None else EventBus(
            session_id, Journal(folder.journal), next_seq=_next_seq(folder))
        unsubscribe = bus.subscribe(listener) if listener is not None else None
        try:
            before = folder.read_meta().get("state")
            folder.update_meta(state=FINALIZING)
            bus.publish(ev.state(FINALIZING))
            try:
                transcript = self.final_pass.run(
                    folder,
                    lambda stage, f: bus.publish(ev.progress(stage, f)),
                    live_diarizer=live.pipeline.diarizer if live is not None else None,  # type: ignore[arg-type]
                )
            except Exception as exc:
                folder.update_meta(state=before)
                bus.publish(ev.error("final_pass_failed", f"the final pass failed: {exc}; the "
                                     "recording and live text are kept, run it again"))
                raise
            roles = dict((transcript_from_events(folder.events(), 0.0, {}).info.get("roles") or {}))
            transcript = replace(transcript, info=dict(transcript.info) | {"roles": roles})
            _write_json(folder.final_transcript, transcript.to_dict())
            folder.update_meta(state=FINISHED, finished_at=utc_iso(), final_model=transcript.model)
            bus.publish(ev.state(FINISHED, segments=len(transcript.segments)))
            return transcript
        finally:
            if unsubscribe:
                unsubscribe()
            if own_bus:
                bus.journal.close()
            lock.release()

    def forget(self, session_id: str) -> None:
        """Drop a stopped session from the in-process table (its folder stays)."""
        with self._lock:
            session = self._live.pop(session_id, None)
        if session is not None:
            session.bus.journal.close()

    def close(self) -> None:
        """Stop every session still recording (server shutdown): nothing captured is lost."""
        with self._lock:
            sessions = list(self._live.values())
        for s in sessions:
            s.stop()
            s.bus.journal.close()
