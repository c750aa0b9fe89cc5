"""WebSocket protocol for live sessions (docs/events.md has the client's view).

``build_router(get_manager, auth)`` returns a FastAPI ``APIRouter`` with one route,
``/ws/sessions/{session_id}``; the server mounts it with its real auth dependency. Frames:

- client -> server, binary: 16 kHz mono s16le PCM (at most ``max_frame_bytes`` per frame);
- client -> server, text: JSON control messages ``{"op": "start" | "stop" | "role", ...}``;
- server -> client, text: events (JSON), the same objects the journal and ``--jsonl`` carry.

A malformed or oversized frame is answered with an ``error`` event and dropped; the session goes
on. A client that disconnects leaves the session recording; connecting again to the same URL
with ``?after=<last seq seen>`` replays what it missed from the journal and continues live.

Audio survives a lost connection too. The server counts the samples it has accepted for the
session and tells the client in ``{"type": "audio", "received": N, "active": true}`` messages
(not events: neither numbered nor journaled): in reply to ``start``, and about twice a second
while audio arrives. A client keeps what it captured until it is acknowledged; after a
reconnect it sends ``start`` again and resends from sample ``N`` of the reply, so nothing is
archived twice and nothing is left out. One connection at a time is a session's audio source:
the latest ``start`` takes over (a reloaded page, a second tab), and the one it replaced gets
``{"type": "audio", "active": false, "reason": "taken_over"}``; the reply to the new source then
says how long ago the replaced one's audio last arrived (``replaced_last_audio_ms``), so a second
window of the same room keeps only what it captured after that moment. A session a crash or a restart
interrupted answers ``start`` with its ``interrupted`` state and ``active: false`` (``received``
is what the archive kept) until the desk records on into it (``POST .../record``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Depends, Query, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from scribe.errors import ScribeError
from scribe.live import events as ev
from scribe.live.events import Event
from scribe.live.manager import SessionManager, valid_session_id
from scribe.live.archive import WAV_HEADER_BYTES
from scribe.live.session import INTERRUPTED, LiveSession
from scribe.live.sources import PushSource, pcm16_bytes_to_float

log = logging.getLogger(__name__)

LANGUAGES = ("auto", "zh", "en")
_QUEUE_EVENTS = 5000  # per client; a client this far behind is disconnected and must resume
_ACK_EVERY = 8000  # samples (0.5 s): how often an audio source hears how much was received
# a source whose audio arrived this recently is recording (a window reconnecting after it was cut
# off does not take over from it); a vanished connection is silent far longer (the desk gives up
# on one after 4 s without acknowledgements)
_LIVE_SOURCE_S = 2.0
# a source silent longer than that is given this long to send its next frame before a rejoining
# window takes the recording back: a busy server reads sockets late, and a desk that records
# sends a frame every 0.1-0.25 s, so its frame comes once the loop gets to it
_LIVE_SOURCE_WAIT_S = 5.0
# the connection that is each live session's audio source, per manager (one per server)
_sources: weakref.WeakKeyDictionary[SessionManager, dict[str, _Connection]] = weakref.WeakKeyDictionary()


def build_router(
    get_manager: Callable[..., SessionManager],
    auth: Callable[..., Any],
    *,
    max_frame_bytes: int = 256_000,
    run_final_pass: bool = True,
    gate: Callable[..., Any] | None = None,
) -> APIRouter:
    """``gate``: a dependency giving ``check(session_id, op)`` that the server runs before a
    ``start`` or ``resume`` keeps any audio (its consent check, status change and audit entry;
    for ``resume`` it resumes the session itself). It raises ``ScribeError`` to refuse."""
    router = APIRouter()

    def no_gate() -> None:
        return None

    # Dependencies as defaults, not Annotated[...]: with postponed annotations FastAPI resolves
    # Annotated strings in module globals, where these closure variables do not exist.
    @router.websocket("/ws/sessions/{session_id}")
    async def session_socket(
        websocket: WebSocket,
        session_id: str,
        manager: SessionManager = Depends(get_manager),  # noqa: B008
        _user: Any = Depends(auth),  # noqa: B008
        after: int = Query(0, ge=0, description="replay journal events after this seq"),
        check: Any = Depends(gate or no_gate),  # noqa: B008
    ) -> None:
        await websocket.accept()
        conn = _Connection(websocket, manager, session_id, max_frame_bytes, run_final_pass)
        conn.gate = check
        await conn.serve(after)

    return router


class _Connection:
    def __init__(self, ws: WebSocket, manager: SessionManager, session_id: str,
                 max_frame_bytes: int, run_final_pass: bool) -> None:
        self.ws = ws
        self.manager = manager
        self.session_id = session_id
        self.max_frame_bytes = max_frame_bytes
        self.run_final_pass = run_final_pass
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=_QUEUE_EVENTS)
        self.sent_seq = 0
        self.session: LiveSession | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._overflow = False
        self.gate: Callable[[str, str], None] | None = None  # build_router's gate
        self._acked = 0  # samples received when this source was last told
        self._refused = False  # one "not recording" error per start, not one per frame
        self.last_audio_at: float | None = None  # monotonic: when this source's audio last arrived
        self.window: str | None = None  # the client's window (start's "window"), its own reconnects
        self.source_since: float | None = None  # monotonic: when this connection became the source

    # -- events to the client --------------------------------------------------------------

    def _listener(self, event: Event) -> None:  # called on the session's threads
        self.loop.call_soon_threadsafe(self._enqueue, event)

    def _enqueue(self, event: Event | None) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self._overflow = True  # the sender closes the socket; the client resumes by seq

    async def _send(self, event: Event) -> None:
        if event.seq and event.seq <= self.sent_seq:
            return  # already sent from the journal replay
        self.sent_seq = max(self.sent_seq, event.seq)
        await self.ws.send_text(event.to_json())

    async def _sender(self) -> None:
        while True:
            event = await self.queue.get()
            if event is None or self._overflow:
                await self.ws.close(code=1013, reason="client too slow; reconnect with ?after=")
                return
            await self._send(event)

    async def _reply_error(self, code: str, message: str, **params: Any) -> None:
        """An error about this client's own frame: journaled when a session exists. ``params``
        are what a page needs to say it in its own words (the message catalogue of the desk
        server, scribe/web/messages.py ``LIVE``); ``message`` is English, for logs and tools."""
        event = ev.error(code, message, **params)
        if self.session is not None:
            self.session.bus.publish(event)  # reaches this client through its subscription
        else:
            await self.ws.send_text(replace(event, session=self.session_id).to_json())

    # -- the audio source ---------------------------------------------------------------------

    def _owners(self) -> dict[str, _Connection]:
        return _sources.setdefault(self.manager, {})

    def _is_source(self) -> bool:
        return self._owners().get(self.session_id) is self

    async def _audio_status(self, active: bool, **extra: Any) -> None:
        received = self._received()
        self._acked = received
        await self.ws.send_text(json.dumps({"type": "audio", "session": self.session_id, "seq": 0,
                                            "received": received, "active": active, **extra}))

    def _received(self) -> int:
        """Samples of this session's audio the server holds (the client resends from here)."""
        session = self.session
        if session is not None and self.manager.get(self.session_id) is session:
            if isinstance(session.source, PushSource):
                return session.source.received
            return session.writer.samples
        audio = self.manager.root / self.session_id / "audio.wav"
        try:
            return max(0, (audio.stat().st_size - WAV_HEADER_BYTES) // 2)
        except OSError:
            return 0

    async def _take_source(self) -> None:
        """This connection sends the session's audio from now on (the latest start wins)."""
        session = self.session
        assert session is not None
        if session.source is None:  # opened by the desk API (or reopened): this socket feeds it
            session.start_source(PushSource("websocket", received=session.writer.samples))
        owners = self._owners()
        before = owners.get(self.session_id)
        owners[self.session_id] = self
        self._refused = False
        if before is not self:
            self.source_since = time.monotonic()
        log.info("session %s: audio source is window %s (was %s)", self.session_id, self.window,
                 "none" if before is None else "itself" if before is self else before.window)
        extra: dict[str, Any] = {}
        if before is not None and before is not self:
            if before.last_audio_at is not None:
                # a second window of the same room: what it captured since the replaced window's
                # last frame arrived is new, what it captured before is in the archive already
                extra["replaced_last_audio_ms"] = round((time.monotonic() - before.last_audio_at) * 1000)
            try:
                await before._audio_status(False, reason="taken_over")
            except Exception:  # noqa: BLE001 - that client is gone already
                pass
        await self._audio_status(True, **extra)

    async def _recording_elsewhere(self, msg: dict[str, Any]) -> bool:
        """A window reconnecting (``rejoin``) after another window took the recording over while
        it was cut off (a second tab opened meanwhile, and records): it does not take the
        recording back by reconnecting; its user can, on purpose (a start without ``rejoin``).
        "Records" is decided by the other window's frames as this server reads them, not by the
        wall clock alone: a loaded server may read a live window's socket seconds late, and taking
        the recording from a window that records would cut the room off."""
        if not msg.get("rejoin"):
            return False
        owner = self._owners().get(self.session_id)
        if owner is None or owner is self or owner.window == self.window or owner.last_audio_at is None:
            return False
        if time.monotonic() - owner.last_audio_at < _LIVE_SOURCE_S:
            return True
        asked = time.monotonic()
        while time.monotonic() - asked < _LIVE_SOURCE_WAIT_S:
            await asyncio.sleep(0.1)
            if self._owners().get(self.session_id) is not owner:
                return False  # it disconnected: nothing records
            if owner.last_audio_at > asked:
                return True
        return False

    def _release_source(self) -> None:
        owners = self._owners()
        if owners.get(self.session_id) is self:
            del owners[self.session_id]

    # -- attaching -------------------------------------------------------------------------

    async def _attach(self, session_bus_owner: LiveSession | None, after: int) -> None:
        """Subscribe first, then replay the journal, so no event falls between the two."""
        if session_bus_owner is not None:
            self._unsubscribe = session_bus_owner.bus.subscribe(self._listener)
        folder = self.manager.folder(self.session_id)
        for event in await run_in_threadpool(folder.events):
            if event.seq > after:
                await self._send(event)
        self.sent_seq = max(self.sent_seq, after)

    # -- main loop ---------------------------------------------------------------------------

    async def serve(self, after: int) -> None:
        sender: asyncio.Task[None] | None = None
        try:
            if not valid_session_id(self.session_id):
                await self._reply_error("bad_session_id", "session ids are up to 64 letters, "
                                        "digits, '-' or '_'")
                await self.ws.close(code=1008)
                return
            self.session = self.manager.get(self.session_id)
            if self.session is not None or (self.manager.root / self.session_id / "session.json").exists():
                await self._attach(self.session, after)
            sender = asyncio.create_task(self._sender())
            while True:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("bytes") is not None:
                    await self._audio(message["bytes"])
                elif message.get("text") is not None:
                    await self._control(message["text"])
        except WebSocketDisconnect:
            pass
        finally:
            self._release_source()
            if self._unsubscribe:
                self._unsubscribe()
            if sender is not None:
                sender.cancel()

    async def _audio(self, data: bytes) -> None:
        if len(data) > self.max_frame_bytes:
            await self._reply_error(
                "frame_too_large",
                f"an audio frame of {len(data)} bytes was dropped: the limit is "
                f"{self.max_frame_bytes} bytes; send 16 kHz s16le PCM in frames of 0.1-1 s",
                bytes=len(data), limit=self.max_frame_bytes,
            )
            return
        if self.session is None or self.session.state not in ("recording", "paused") \
                or self.manager.get(self.session_id) is not self.session:
            if not self._refused:
                self._refused = True
                log.info("session %s: audio from window %s refused: the session is not recording",
                         self.session_id, self.window)
                await self._reply_error("not_recording", "audio arrived but the session is not "
                                        "recording; send {\"op\": \"start\"} first")
            return
        try:
            samples = pcm16_bytes_to_float(data)
        except ScribeError as exc:
            await self._reply_error("bad_frame", str(exc), bytes=len(data))
            return
        if not self._is_source():
            if self.session_id in self._owners():
                # another window took over: this one's audio would be archived twice
                if not self._refused:
                    self._refused = True
                    log.info("session %s: audio from window %s refused: another window records",
                             self.session_id, self.window)
                    await self._audio_status(False, reason="taken_over")
                return
            await self._take_source()  # a client that streams without start (older desks)
        source = self.session.source
        if isinstance(source, PushSource):
            source.push(samples)
            self.last_audio_at = time.monotonic()
            if source.received - self._acked >= _ACK_EVERY:
                await self._audio_status(True)
        else:
            await self._reply_error("not_recording", "this session records from "
                                    f"{source.description if source else 'nothing'}, not this socket")

    async def _control(self, text: str) -> None:
        try:
            msg = json.loads(text)
            if not isinstance(msg, dict):
                raise ValueError("not an object")
        except ValueError:
            await self._reply_error("bad_message", "a text frame must be a JSON object such as "
                                    "{\"op\": \"start\", \"language\": \"zh\"}")
            return
        op = msg.get("op")
        if op == "start":
            await self._start(msg)
        elif op == "watch":
            await self._start(msg, take_source=False)
        elif op == "sync":
            # a client about to pause or stop asks what has arrived (the last ack may be older)
            await self._audio_status(self._is_source())
        elif op == "stop":
            await self._stop(bool(msg.get("final_pass", True)))
        elif op in ("pause", "resume"):
            if self.session is None:
                await self._reply_error("not_recording", f"nothing to {op}: send start first", op=op)
                return
            if op == "resume" and self.gate is not None:
                await self._through_gate("resume")  # the server's gate resumes it, or refuses
                return
            action = self.session.pause if op == "pause" else self.session.resume
            if isinstance(self.session.source, PushSource):
                self.session.source.call(action)  # in order with the audio frames before it
            else:
                await run_in_threadpool(action)
        elif op == "role":
            if self.session is None or not isinstance(msg.get("speaker"), str):
                await self._reply_error("bad_message", "role needs a recording session and "
                                        "{\"speaker\": \"S1\", \"role\": \"申请人\"}")
                return
            self.session.bus.publish(ev.speaker_update("", msg["speaker"], str(msg.get("role") or "") or None))
        else:
            await self._reply_error("unknown_op", f"unknown op {op!r}; use start, watch, sync, "
                                    "pause, resume, stop or role", op=str(op)[:32])

    async def _through_gate(self, op: str) -> bool:
        if self.gate is None:
            return True
        try:
            await run_in_threadpool(self.gate, self.session_id, op)
        except ScribeError as exc:
            # reason + params: the refusal's own catalogue code (consent_missing with the names...)
            await self._reply_error("refused", str(exc), op=op, reason=exc.code, params=exc.params)
            return False
        return True

    async def _start(self, msg: dict[str, Any], *, take_source: bool = True) -> None:
        """``start``; ``watch`` (``take_source=False``) is the same answer without becoming the
        audio source: a window that only shows the hearing (a stopped one, or before Record)."""
        self.window = str(msg.get("window") or "") or None
        live = self.manager.get(self.session_id)
        if live is not None and live is not self.session:
            # opened (or reopened after an interruption) since this socket connected: follow it,
            # with the events it journaled meanwhile
            if self._unsubscribe:
                self._unsubscribe()
            self.session = live
            await self._attach(live, self.sent_seq)
        if self.session is not None and live is self.session:
            # a reconnecting client sends start again: it resumes the same session and its
            # socket becomes the audio source (a session the desk API opened has none yet)
            elsewhere = take_source and await self._recording_elsewhere(msg)
            if take_source and not elsewhere and self.session.state in ("recording", "paused") \
                    and not await self._through_gate("start"):
                return  # the server's one consent check and status change refused it
            await self._send(replace(ev.state(self.session.state, resumed=True), session=self.session_id))
            if self.session.state in ("recording", "paused") and take_source:
                if elsewhere:
                    owner = self._owners().get(self.session_id)
                    if owner is not None and owner is not self:
                        log.info("session %s: window %s rejoined; window %s records, it stays the source",
                                 self.session_id, self.window, owner.window)
                        # what this window captured before the other one started is in neither
                        # archive nor the other window: the page says how much (it cannot be spliced in)
                        since = round((time.monotonic() - (owner.source_since or time.monotonic())) * 1000)
                        await self._audio_status(False, reason="taken_over", owner_since_ms=since)
                        return
                    # the other window went while this answer was being sent: this one records on
                    if not await self._through_gate("start"):
                        return
                await self._take_source()
            return
        if (self.manager.root / self.session_id / "session.json").exists():
            meta = await run_in_threadpool(self.manager.folder(self.session_id).meta)
            if meta.state == INTERRUPTED:
                # a crash or a restart cut it off: the desk offers to record on or to end it
                await self._send(replace(ev.state(INTERRUPTED, resumed=True,
                                                  recovered_seconds=meta.recovered_seconds,
                                                  interrupted_at=meta.interrupted_at),
                                         session=self.session_id))
                await self._audio_status(False, reason="interrupted")
                return
            if not take_source:
                await self._send(replace(ev.state(meta.state, resumed=True), session=self.session_id))
                return
            await self._reply_error("session_closed", f"session {self.session_id} is no longer "
                                    "recording; start a new session id")
            return
        if not take_source:
            return  # nothing to watch yet: the events come once the session is opened
        if not await self._through_gate("start"):
            return
        language = str(msg.get("language") or "auto")
        hotwords = msg.get("hotwords") or []
        if language not in LANGUAGES or not isinstance(hotwords, list) or \
                not all(isinstance(h, str) for h in hotwords):
            await self._reply_error("bad_message", "start takes language auto|zh|en and "
                                    "hotwords as a list of strings")
            return
        def create() -> LiveSession:
            base = self.manager.default_options
            options = replace(base, language=language, hotwords=tuple(h.strip() for h in hotwords if h.strip()))
            return self.manager.create(options, session_id=self.session_id, source="websocket",
                                       title=str(msg.get("title") or ""), case=msg.get("case"))

        try:
            session = await run_in_threadpool(create)
        except ScribeError as exc:
            await self._reply_error("start_failed", str(exc), reason=exc.code, params=exc.params)
            return
        self.session = session
        self._unsubscribe = session.bus.subscribe(self._listener)
        # the session's own first events were published before we subscribed: replay them
        for event in await run_in_threadpool(session.folder.events):
            await self._send(event)
        await self._take_source()

    async def _stop(self, final_pass: bool) -> None:
        session = self.session
        if session is None:
            await self._reply_error("not_recording", "nothing to stop: no session is recording here")
            return
        # the same stop as the desk's Stop button: the manager's observer (the hearing
        # lifecycle on the server) records it before this client hears "stopped"
        await run_in_threadpool(session.stop)
        if final_pass and self.run_final_pass and self.manager.final_pass is not None:
            self.manager.finish_later(self.session_id)  # tracked: a shutdown waits for it
