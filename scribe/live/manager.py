"""Sessions of this machine: create, look up, list, recover after a crash, finish.

One ``SessionManager`` per process (the CLI makes one, the server makes one in its lifespan);
the models it uses are loaded once by whoever builds it and injected as a pipeline factory and
a final pass.
"""

from __future__ import annotations

import builtins
import datetime as dt
import logging
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import replace
from pathlib import Path
from typing import Any

from scribe.errors import SessionError
from scribe.live import events as ev
from scribe.live.archive import (
    Journal,
    SessionFolder,
    SessionLock,
    SessionMeta,
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
    PAUSED,
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
log = logging.getLogger(__name__)


def new_session_id() -> str:
    return f"{dt.datetime.now(dt.timezone.utc):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def _publish(bus: EventBus, event: Event) -> None:
    bus.publish(event)


def _last_write(folder: SessionFolder) -> float:
    """When a crashed recorder last wrote: its audio (fsync-ed every second) or its journal."""
    times = [p.stat().st_mtime for p in (folder.audio, folder.journal) if p.exists()]
    events = folder.events()
    if events:
        times.append(max(e.emitted_at for e in events))
    return max(times) if times else os.path.getmtime(folder.meta_path)


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
        # every bus of this manager reports to these (the hearing lifecycle), before any client
        self._observers: list[Listener] = []
        # final passes run here, one at a time (each uses every core); not daemon threads:
        # ``close`` waits for them, so a shutdown never cuts a final pass or its journal
        self._final_passes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="final-pass")
        self._finishing: dict[str, Future[Transcript | None]] = {}
        root.mkdir(parents=True, exist_ok=True)

    def observe(self, listener: Listener) -> None:
        """Report every event of every session of this manager to ``listener`` (first)."""
        self._observers.append(listener)

    def _bus(self, session_id: str, folder: SessionFolder) -> EventBus:
        bus = EventBus(session_id, Journal(folder.journal), next_seq=_next_seq(folder))
        for listener in self._observers:
            bus.subscribe(listener)
        return bus

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
                folder, self.pipeline_factory(options), flush_interval=self.flush_interval,
                listeners=tuple(self._observers),
            )
            self._live[session_id] = session
        if self.final_pass is not None:
            self.final_pass.watch(session)  # the second pass runs alongside (scribe.live.alongside)
        return session

    def reopen(self, session_id: str, options: LiveOptions | None = None) -> LiveSession:
        """Record again into a session a crash or a shutdown interrupted (the desk's 继续录音):
        the same folder, its audio appended to, its journal and seq numbers going on."""
        folder = self.folder(session_id)
        with self._lock:
            live = self._live.get(session_id)
            if live is not None:
                return live
            running = self._finishing.get(session_id)
            if running is not None and not running.done():
                raise SessionError(f"the final pass of session {session_id} is running",
                                   fix="wait for it to finish; the hearing can then be drafted")
            meta = folder.meta()
            if meta.state != INTERRUPTED or folder.final_transcript.exists():
                raise SessionError(f"session {session_id} is {meta.state}, not interrupted",
                                   fix="only an interrupted recording can go on; start a new session")
            base = options or self.default_options
            options = replace(base, language=meta.language or base.language, hotwords=meta.hotwords)
            session = LiveSession(
                folder, self.pipeline_factory(options), flush_interval=self.flush_interval,
                listeners=tuple(self._observers), resume=True,
            )
            self._live[session_id] = session
        if self.final_pass is not None:
            # the second pass goes on alongside from its journal (scribe.live.alongside)
            self.final_pass.watch(session)
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

    def list(self) -> builtins.list[dict[str, Any]]:
        out = []
        for folder in iter_session_folders(self.root):
            meta = folder.read_meta()
            if meta.get("state") in UNFINISHED and self.get(folder.id) is None \
                    and not SessionLock(folder.lock_path).held_elsewhere():
                meta["state"] = INTERRUPTED + " (not yet recovered)"
            out.append(meta)
        return out

    # -- crashes ------------------------------------------------------------------------

    def unfinished(self) -> builtins.list[SessionFolder]:
        """Sessions whose recorder died (state says recording, nobody holds the lock)."""
        found = []
        for folder in iter_session_folders(self.root):
            if folder.meta().state in UNFINISHED and self.get(folder.id) is None:
                if not SessionLock(folder.lock_path).held_elsewhere():
                    found.append(folder)
        return found

    def recover_unfinished(self) -> builtins.list[SessionMeta]:
        """At start-up (server lifespan, CLI): seal every session a crash left behind."""
        return [self.recover(folder.id) for folder in self.unfinished()]

    def recover(self, session_id: str) -> SessionMeta:
        """Seal a crashed session: audio up to the last write, every journalled final kept."""
        folder = self.folder(session_id)
        lock = SessionLock(folder.lock_path)
        if not lock.acquire():
            raise SessionError(f"session {session_id} is still being recorded by another process",
                               fix="stop it there first")
        try:
            meta = folder.meta()
            if meta.state not in UNFINISHED:
                return meta
            interrupted_at = _last_write(folder)
            samples = repair_wav(folder.audio) if folder.audio.exists() else 0
            duration = samples / SAMPLE_RATE
            bus = self._bus(session_id, folder)
            live = transcript_from_events(folder.events(), duration, meta)
            _write_json(folder.live_transcript, live.to_dict())
            meta = folder.update_meta(
                state=INTERRUPTED,
                duration=round(duration, 3),
                audio_sha256=sha256_of(folder.audio) if folder.audio.exists() else None,
                interrupted_at=utc_iso(interrupted_at),
                recovered_at=utc_iso(),
                recovered_seconds=round(duration, 3),
            )
            bus.publish(ev.state(INTERRUPTED, recovered_seconds=round(duration, 3),
                                 interrupted_at=meta.interrupted_at, finals=len(live.segments)))
            bus.journal.close()
            return meta
        finally:
            lock.release()

    # -- finishing ------------------------------------------------------------------------

    def stop(self, session_id: str) -> SessionMeta:
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
        if folder.meta().state in UNFINISHED:
            self.recover(session_id)
        lock = SessionLock(folder.lock_path)
        if not lock.acquire():
            raise SessionError(f"session {session_id} is busy in another process", fix="wait for it")
        own_bus = live is None
        bus = live.bus if live is not None else self._bus(session_id, folder)
        unsubscribe = bus.subscribe(listener) if listener is not None else None
        try:
            before = folder.meta().state
            folder.update_meta(state=FINALIZING)
            bus.publish(ev.state(FINALIZING))
            try:
                transcript = self.final_pass.run(
                    folder,
                    lambda stage, f: _publish(bus, ev.progress(stage, f)),
                    # a resumed session's live diarizer heard only the part after the
                    # interruption: the journal's labels (all of them) are kept instead
                    live_diarizer=live.pipeline.diarizer if live is not None and not live.resumed else None,  # type: ignore[arg-type]
                )
            except Exception as exc:
                folder.update_meta(state=before)
                bus.publish(ev.error("final_pass_failed", f"the final pass failed: {exc}; the "
                                     "recording and live text are kept, run it again"))
                raise
            roles = dict((transcript_from_events(folder.events(), 0.0, None).info.get("roles") or {}))
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

    def finish_later(self, session_id: str) -> Future[Transcript | None]:
        """Queue the final pass of a stopped session (the desk's Stop, the WebSocket's stop,
        recovery at start-up). Its failure is published as an error event and logged."""
        with self._lock:
            running = self._finishing.get(session_id)
            if running is not None and not running.done():
                return running

            def job() -> Transcript | None:
                try:
                    return self.finish(session_id)
                except Exception:  # noqa: BLE001 - published on the bus; the recording is kept
                    log.exception("the final pass of session %s failed", session_id)
                    return None
                finally:
                    self.forget(session_id)

            future = self._final_passes.submit(job)
            self._finishing[session_id] = future
            return future

    def wait_finished(self, session_id: str, timeout: float | None = None) -> bool:
        """True once no final pass of ``session_id`` is queued or running."""
        future = self._finishing.get(session_id)
        if future is None:
            return True
        wait([future], timeout)
        return future.done()

    def resumable(self) -> builtins.list[str]:
        """Sessions of the desk whose final pass never ran to the end (a shutdown or a crash
        during it, or a recording recovered after a crash): ``finish_later`` each at start-up."""
        out = []
        for folder in iter_session_folders(self.root):
            meta = folder.meta()
            if folder.final_transcript.exists() or self.get(folder.id) is not None:
                continue
            if meta.state == FINALIZING or (
                meta.source == "websocket" and meta.state in (STOPPED, INTERRUPTED)
            ):
                out.append(folder.id)
        return out

    def forget(self, session_id: str) -> None:
        """Drop a stopped session from the in-process table (its folder stays)."""
        with self._lock:
            session = self._live.pop(session_id, None)
        if session is not None:
            session.bus.journal.close()

    def close(self, final_pass_timeout: float | None = None, *, interrupt: bool = False) -> None:
        """Server shutdown: stop every session still recording (nothing captured is lost), then
        let the final passes already asked for finish (up to ``final_pass_timeout`` s; one
        that has not started by then stays "stopped" and the next start resumes it).
        ``interrupt``: sessions still recording are sealed as interrupted, not stopped (the
        desk's hearing goes on after the restart if staff choose 继续录音)."""
        with self._lock:
            sessions = list(self._live.values())
        for s in sessions:
            s.stop(interrupted=interrupt and s.state in (RECORDING, PAUSED))
        pending = [f for f in self._finishing.values() if not f.done()]
        wait(pending, final_pass_timeout)
        self._final_passes.shutdown(wait=final_pass_timeout is None, cancel_futures=True)
        if self.final_pass is not None:
            self.final_pass.close()
        with self._lock:
            idle = [sid for sid in self._live if self._finishing.get(sid) is None
                    or self._finishing[sid].done()]
        for sid in idle:
            self.forget(sid)
