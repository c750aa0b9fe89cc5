"""A live session: capture -> archive -> streaming pipeline -> events, on its own threads.

Threads, and why: the capture source runs on one (PortAudio, a socket or a file clock must
never wait for the recogniser); ``feed`` writes the audio to the archive *before* anything else,
so what was heard is on disk whatever happens later; a worker thread runs the pipeline from a
queue whose length is the live lag. The event bus numbers events, journals them and hands them
to listeners (terminal, WebSocket clients).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scribe.errors import SessionError
from scribe.live import events as ev
from scribe.live.archive import (
    AudioWriter,
    Journal,
    SessionFolder,
    SessionLock,
    SessionMeta,
    sha256_of,
    to_pcm16,
)
from scribe.live.events import Event
from scribe.live.pipeline import DEGRADE_MESSAGES, LiveOptions, StreamingPipeline
from scribe.live.sources import CaptureSource
from scribe.live.transcripts import transcript_from_events
from scribe.types import SAMPLE_RATE

log = logging.getLogger(__name__)

Listener = Callable[[Event], None]

# states a session folder can be in (session.json "state")
RECORDING, PAUSED, STOPPING, STOPPED, FINALIZING, FINISHED, INTERRUPTED = (
    "recording", "paused", "stopping", "stopped", "finalizing", "finished", "interrupted",
)
UNFINISHED = frozenset({RECORDING, PAUSED, STOPPING})
# input checks: digital silence this long means a muted or unplugged microphone
SILENT_DBFS, SILENT_WARN_S = -70.0, 10.0
CLIP_PEAK = 0.999  # full scale
INPUT_WARN_EVERY_S = 30.0  # at most one input warning per this many seconds of audio
# a recogniser that keeps failing is reported once, then at most this often (s of audio), not
# once per audio block (10 a second): the desk shows one message, the journal stays small
RECOGNITION_ERROR_EVERY_S = 60.0
# queued for the worker on pause: close the utterance in progress (an empty block, by identity)
_CLOSE_UTTERANCE = np.zeros(0, dtype=np.float32)


def utc_iso(t: float | None = None) -> str:
    return dt.datetime.fromtimestamp(t or time.time(), dt.timezone.utc).isoformat(timespec="milliseconds")


class EventBus:
    """Numbers, journals and fans out one session's events (thread-safe)."""

    def __init__(self, session_id: str, journal: Journal, next_seq: int = 1) -> None:
        self.session_id = session_id
        self.journal = journal
        self._seq = next_seq
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def publish(self, event: Event) -> Event:
        with self._lock:
            stamped = event.stamped(self.session_id, self._seq, time.time())
            self._seq += 1
            self.journal.write(stamped)
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(stamped)
            except Exception:  # noqa: BLE001 - a broken display must never stop a recording
                log.exception("event listener failed; it is removed (the journal has the event)")
                with self._lock:
                    if listener in self._listeners:
                        self._listeners.remove(listener)
        return stamped

    @property
    def last_seq(self) -> int:
        return self._seq - 1


@dataclass
class LiveStats:
    received_seconds: float = 0.0
    processed_seconds: float = 0.0
    skipped_seconds: float = 0.0
    max_lag: float = 0.0
    degrade_changes: int = 0
    degraded_levels: list[list[float]] = field(default_factory=list)  # [session time, new level]


class _WorkQueue:
    """Blocks of audio for the worker; its length in samples is the live lag."""

    def __init__(self) -> None:
        self._items: deque[np.ndarray | None] = deque()
        self._cond = threading.Condition()
        self.samples = 0

    def put(self, item: np.ndarray | None) -> None:
        with self._cond:
            self._items.append(item)
            if item is not None:
                self.samples += len(item)
            self._cond.notify()

    def get(self) -> np.ndarray | None:
        with self._cond:
            while not self._items:
                self._cond.wait()
            item = self._items.popleft()
            if item is not None:
                self.samples -= len(item)
            self._cond.notify_all()
            return item

    def wait_below(self, samples: int) -> None:
        with self._cond:
            while self.samples > samples:
                self._cond.wait()

    def drop_oldest(self, keep_samples: int) -> int:
        """Drop queued audio (never the end marker) until at most ``keep_samples`` remain."""
        dropped = 0
        with self._cond:
            while self.samples > keep_samples and self._items and self._items[0] is not None:
                item = self._items.popleft()
                assert item is not None
                self.samples -= len(item)
                dropped += len(item)
        return dropped


class LiveSession:
    def __init__(
        self,
        folder: SessionFolder,
        pipeline: StreamingPipeline,
        *,
        flush_interval: float = 1.0,
        level_interval: float = 0.25,
        listeners: tuple[Listener, ...] = (),
        resume: bool = False,
    ) -> None:
        self.folder = folder
        self.id = folder.id
        self.pipeline = pipeline
        self.lock = SessionLock(folder.lock_path)
        if not self.lock.acquire():
            raise SessionError(
                f"session {self.id} is being recorded by another process",
                fix="stop that recording first, or start a new session",
            )
        self.meta = folder.meta()
        # resume: a session a crash or a shutdown interrupted records on into the same archive
        self.resumed = resume
        self.writer = AudioWriter(folder.audio, flush_interval=flush_interval, append=resume)
        if resume:
            # the session clock and the utterance numbers go on where the archive ends, so the
            # new finals' times and ids follow the old ones (a fresh pipeline starts at 0)
            pipeline.samples_in = self.writer.samples
            pipeline.utterance = _next_utterance(folder)
        self.bus = EventBus(self.id, Journal(folder.journal), next_seq=_next_seq(folder))
        # subscribed before the first event: the hearing lifecycle must see "recording" too
        for listener in listeners:
            self.bus.subscribe(listener)
        self.stats = LiveStats(received_seconds=self.writer.duration)
        self._level_every = int(level_interval * SAMPLE_RATE)
        self._level_acc: list[np.ndarray] = []
        self._level_n = 0
        self._silent_since: float | None = None
        self._last_input_warning = -INPUT_WARN_EVERY_S
        self._feed_lock = threading.Lock()
        self._work = _WorkQueue()
        self._stop_source = threading.Event()
        self._source_thread: threading.Thread | None = None
        self.source: CaptureSource | None = None
        self._backpressure = False
        self._backpressure_samples = 5 * SAMPLE_RATE
        self._source_error: BaseException | None = None
        self._worker = threading.Thread(target=self._run_worker, name=f"live-{self.id}", daemon=True)
        self._stopped = False
        self._paused = False
        self.state = RECORDING
        self.started_at = time.time()
        self._worker.start()
        if resume:
            self._set_state(RECORDING, source=self.meta.source or None, resumed=True,
                            at=round(self.writer.duration, 3))
        else:
            self._set_state(RECORDING, source=self.meta.source or None)

    # -- input ----------------------------------------------------------------------------

    def feed(self, samples: np.ndarray) -> None:
        """Audio from the source: archive it, meter it, queue it for recognition."""
        if samples.size == 0:
            return
        with self._feed_lock:
            if self._stopped:
                raise SessionError(f"session {self.id} is stopped", fix="start a new session")
            if self._paused:
                return  # off the record: neither archived nor transcribed
            self.writer.append(to_pcm16(samples))
            t = self.writer.duration
            self.stats.received_seconds = t
            self._meter(samples.astype(np.float32, copy=False), t)
            self._work.put(samples)
        if self._backpressure:
            # a source with no clock of its own (a file replayed as fast as possible) waits for
            # the recogniser instead of being skipped: bounded memory, every word recognised
            self._work.wait_below(self._backpressure_samples)

    def _meter(self, samples: np.ndarray, t: float) -> None:
        self._level_acc.append(samples)
        self._level_n += len(samples)
        if self._level_n >= self._level_every:
            block = np.concatenate(self._level_acc)
            self._level_acc, self._level_n = [], 0
            rms = float(np.sqrt(np.mean(block.astype(np.float64) ** 2)))
            peak = float(np.max(np.abs(block)))
            self.bus.publish(ev.level(t, _dbfs(rms), _dbfs(peak)))
            self._check_input(t, _dbfs(rms), peak)

    def _check_input(self, t: float, rms_dbfs: float, peak: float) -> None:
        """Tell the user about a muted or overdriven microphone while it can still be fixed."""
        if rms_dbfs < SILENT_DBFS:
            self._silent_since = t if self._silent_since is None else self._silent_since
            if t - self._silent_since >= SILENT_WARN_S and t - self._last_input_warning >= INPUT_WARN_EVERY_S:
                self._last_input_warning = t
                self.bus.publish(ev.warning(
                    "no_signal", f"the input has been silent for {t - self._silent_since:.0f} s: "
                    "check that the microphone is connected and not muted", t=round(t, 3),
                    seconds=round(t - self._silent_since)))
        else:
            self._silent_since = None
        if peak >= CLIP_PEAK and t - self._last_input_warning >= INPUT_WARN_EVERY_S:
            self._last_input_warning = t
            self.bus.publish(ev.warning(
                "clipping", "the input is clipping (too loud): lower the microphone gain or move "
                "it away from the speaker", t=round(t, 3)))

    def start_source(self, source: CaptureSource) -> None:
        self.source = source
        self._backpressure = not getattr(source, "clocked", True)
        def run() -> None:
            try:
                source.run(self.feed, self._stop_source)
            except BaseException as exc:  # noqa: BLE001 - reported as an event, then re-raised by wait()
                self._source_error = exc
                self.bus.publish(ev.error("capture_failed", str(exc)))

        self._source_thread = threading.Thread(target=run, name=f"capture-{self.id}", daemon=True)
        self._source_thread.start()

    def wait_taken(self) -> None:
        """Block until the worker has taken every queued block (the live lag is back to 0):
        a caller that feeds audio itself can keep pace with recognition this way."""
        self._work.wait_below(0)

    def wait_source(self, timeout: float | None = None) -> bool:
        """Wait for the source to end by itself (end of file); True when it has."""
        if self._source_thread is None:
            return True
        self._source_thread.join(timeout)
        return not self._source_thread.is_alive()

    # -- worker ----------------------------------------------------------------------------

    def _run_worker(self) -> None:
        degrader = self.pipeline.degrader
        failures, reported_at = 0, -RECOGNITION_ERROR_EVERY_S
        while True:
            block = self._work.get()
            if block is None:
                break
            if block is _CLOSE_UTTERANCE:
                for e in self.pipeline.end_utterance():
                    self.bus.publish(e)
                continue
            lag = self._work.samples / SAMPLE_RATE
            self.stats.max_lag = max(self.stats.max_lag, lag)
            if self._backpressure:
                lag = 0.0  # the source waits for us: being "behind" costs nothing here
            if lag > degrader.max_lag:
                dropped = self._work.drop_oldest(int(degrader.max_lag / 2 * SAMPLE_RATE))
                at = self.pipeline.clock
                for e in self.pipeline.skip(len(block) + dropped):
                    self.bus.publish(e)
                skipped = (len(block) + dropped) / SAMPLE_RATE
                self.stats.skipped_seconds += skipped
                self.bus.publish(ev.warning(
                    "live_gap",
                    f"live text skips {skipped:.1f} s to catch up; the audio is recorded and the "
                    "final pass transcribes it",
                    start=round(at, 3), end=round(at + skipped, 3), seconds=round(skipped, 1),
                ))
                continue
            # judged on the session's audio clock (see Degrader): seconds of audio processed
            changed = degrader.update(lag, self.pipeline.clock)
            if changed is not None:
                self.stats.degrade_changes += 1
                self.stats.degraded_levels.append([round(self.pipeline.clock, 2), changed])
                self.bus.publish(ev.warning("degraded", DEGRADE_MESSAGES[changed], level=changed,
                                            lag=round(lag, 2)))
            recognised = self.pipeline.partials + self.pipeline.finals
            try:
                # behind (audio already queued after this block): the pipeline decodes only
                # what the audio decides, and its partials wait for the newest block. A source
                # that waits for us (backpressure) is never "behind": its queue is always full
                more = not self._backpressure and self._work.samples > 0
                for e in self.pipeline.feed(block, more_queued=more):
                    self.bus.publish(e)
            except Exception as exc:  # noqa: BLE001 - recognition failing must not stop the recording
                failures += 1
                at = self.pipeline.clock
                if failures == 1 or at - reported_at >= RECOGNITION_ERROR_EVERY_S:
                    reported_at = at
                    log.exception("live recognition failed (%d time(s) so far)", failures)
                    self.bus.publish(ev.error(
                        "recognition_failed", f"live recognition failed: {exc}; the audio is still "
                        "being recorded and the final pass will transcribe it", failures=failures))
            else:
                # most blocks ask the recogniser nothing: only a new text shows it works again
                if failures and self.pipeline.partials + self.pipeline.finals > recognised:
                    self.bus.publish(ev.warning("recognition_recovered", "live recognition works "
                                                f"again after {failures} failed block(s)"))
                    failures = 0
            self.stats.processed_seconds = self.pipeline.clock
        try:
            for e in self.pipeline.flush():
                self.bus.publish(e)
        except Exception as exc:  # noqa: BLE001
            log.exception("live recognition failed at the end")
            self.bus.publish(ev.error("recognition_failed", f"live recognition failed: {exc}"))

    # -- pausing ------------------------------------------------------------------------------

    def pause(self) -> None:
        """Off the record (a private word with one party): audio is dropped until resume.

        The session clock stops with it (it counts recorded audio), so the archive and the
        transcript stay aligned.
        """
        with self._feed_lock:
            if self._stopped or self._paused:
                return
            self._paused = True
            self._work.put(_CLOSE_UTTERANCE)
        self._set_state(PAUSED, at=round(self.writer.duration, 3))

    def resume(self) -> None:
        with self._feed_lock:
            if self._stopped or not self._paused:
                return
            self._paused = False
        self._set_state(RECORDING, at=round(self.writer.duration, 3), resumed=True)

    def set_hotwords(self, hotwords: tuple[str, ...]) -> None:
        """Hotwords changed while recording (a party's name corrected at the desk): the live
        decodes from now on, and the final pass (it reads them from session.json), use them."""
        words = tuple(dict.fromkeys(w.strip() for w in hotwords if w and w.strip()))
        with self._feed_lock:
            if self._stopped:
                return
            self.pipeline.set_hotwords(words)
            self.meta = self.folder.update_meta(hotwords=list(words))

    # -- stopping ----------------------------------------------------------------------------

    def stop(self, *, interrupted: bool = False) -> SessionMeta:
        """Stop capture, finish the live text, seal the audio; returns the session metadata.

        ``interrupted``: the server is shutting down in the middle of the hearing; the session
        is sealed like a crashed one (state ``interrupted``, ``recovered_seconds``), so the desk
        offers to record on into it or to end it, instead of ending the hearing by itself."""
        if self._stopped:
            return self.meta
        self._set_state(STOPPING)
        self._stop_source.set()
        if self._source_thread is not None:
            self._source_thread.join()
        with self._feed_lock:
            self._stopped = True
        self._work.put(None)
        self._worker.join()
        self.writer.close()
        live = transcript_from_events(self.bus_events(), self.writer.duration, self.meta)
        _write_json(self.folder.live_transcript, live.to_dict())
        self.meta = self.folder.update_meta(
            duration=round(self.writer.duration, 3),
            audio_sha256=sha256_of(self.folder.audio),
            stopped_at=utc_iso(),
            live_stats=asdict(self.stats) | {
                "recognition_seconds": round(self.pipeline.recognition_seconds, 3),
                "partials": self.pipeline.partials,
                "finals": self.pipeline.finals,
                "commits": dict(self.pipeline.commits),
                "diarize_paused_seconds": round(self.pipeline.diarize_paused_seconds, 3),
            },
        )
        if interrupted:
            now = utc_iso()
            self.meta = self.folder.update_meta(interrupted_at=now, recovered_at=now,
                                                recovered_seconds=round(self.writer.duration, 3))
            self._set_state(INTERRUPTED, recovered_seconds=round(self.writer.duration, 3),
                            interrupted_at=now, finals=len(live.segments))
        else:
            self._set_state(STOPPED)
        self.lock.release()
        if self._source_error is not None and not isinstance(self._source_error, Exception):
            raise self._source_error
        return self.meta

    def bus_events(self) -> list[Event]:
        return self.folder.events()

    def _set_state(self, name: str, **detail: Any) -> None:
        self.state = name
        self.meta = self.folder.update_meta(state=name)
        self.bus.publish(ev.state(name, **{k: v for k, v in detail.items() if v is not None}))

    @property
    def source_error(self) -> BaseException | None:
        return self._source_error


def _next_utterance(folder: SessionFolder) -> int:
    """The first utterance number not used by the session's journal."""
    used = [e.data.get("utterance") for e in folder.events() if e.type in ("partial", "final")]
    return max((int(u) for u in used if isinstance(u, int)), default=-1) + 1


def _next_seq(folder: SessionFolder) -> int:
    events = folder.events()
    return (max(e.seq for e in events) + 1) if events else 1


def _dbfs(x: float) -> float:
    return 20.0 * float(np.log10(max(x, 1e-6)))


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)

