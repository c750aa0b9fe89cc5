"""The second pass, alongside the hearing: the whole-recording pass run while it is recorded.

Today's final pass (scribe.live.final_pass) transcribes and diarizes the whole recording after
结束: minutes for an hour while the parties wait to sign. Here a background worker of low OS
priority runs the same pass on the archive as it grows, so that at 结束 only its end is left:

* the transcript: ``scribe.transcribe.GrowingTranscription`` with the final pass's own
  ``Transcriber`` and options (beam search, the session's hotwords, the style prompt, the
  coverage check). Whisper's 30 s windows are decoded as soon as they lie inside speech that is
  settled (``margin_s`` behind the archive's head, speech regions that can no longer change),
  in the same sequence and with the same earlier text as the whole-recording pass: the final
  transcript is the one ``FinalPass.run`` makes of the same archive, by construction (an
  earlier design cut the hearing into stretches and lost Whisper's context at every cut: +3 CER
  points on a 10-minute hearing);
* the offline diarizer's costly part (segmentation and embeddings of each 10 s window of the
  recording's grid, and the change-of-voice windows) is done for the settled audio once
  (diarize.incremental); at 结束 the embeddings of the whole hearing are clustered, which is
  cheap;
* the coverage check of what is settled: a stretch Whisper skipped inside a window is decoded
  again on its own as soon as nothing later can change it (``GrowingTranscription``), so the
  end does not decode again every skip of a long hearing;
* every decoded run of windows, stretch decoded again and diarization piece is written to ``second_pass/`` in the
  session folder (a journal, fsync-ed, plus one ``.npz`` per piece) *before* it counts as done,
  so a restart after a crash continues from there.

Priority: the worker thread lowers its own nice value (Linux threads have their own), so the
live path's threads win the cores; it also waits while the live path is behind (its queue is
the live lag) and loads its own copies of the models from that thread (the decoder's worker
threads inherit the nice value; sharing the live recogniser would make live finals wait for a
window's decode, which holds the model's lock).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from scribe.asr.whisper import RawSegment
from scribe.asr.windows import WindowState
from scribe.live.archive import WAV_HEADER_BYTES, SessionFolder
from scribe.live.final_pass import FinalPass, OfflineDiarizerLike, Progress
from scribe.native_memory import release_free_memory
from scribe.coverage import Stretch
from scribe.transcribe import CoveredGap, CoverKey, GrowingTranscription, Transcriber
from scribe.types import SAMPLE_RATE, SpeakerTurn, Transcript, TranscriptSegment, Word

if TYPE_CHECKING:
    from diarize import OfflineDiarizer
    from diarize.incremental import IncrementalDiarization, Piece

log = logging.getLogger(__name__)
JOURNAL_DIR = "second_pass"


@dataclass(frozen=True)
class AlongsideOptions:
    margin_s: float = 3.0  # audio this close to the archive's head is not settled yet (s)
    step_s: float = 10.0  # the worker looks again once this much more audio is in (s)
    poll_s: float = 1.0  # how often an idle worker looks for settled audio
    busy_lag_s: float = 2.0  # the worker waits while the live path is this far behind (s)...
    # ...but not for longer than this at a time: on a machine where the live path never
    # catches up, the second pass would otherwise never run (and all of it would be left for
    # 结束); past it the worker goes on at its lower OS priority, which still favours live
    max_yield_s: float = 10.0
    nice: int = 10  # added to the worker thread's nice value (lower OS priority)
    # after each unit of work, give the allocator's free pages back (scribe.native_memory):
    # without it the resident set grew with the hearing
    release_memory: bool = True


@dataclass(frozen=True)
class DecodedWindows:
    """What the window loop decoded while recording, as journalled: the segments (on the
    joined speech's clock, scribe.transcribe), where the loop resumes, and what it was made
    with (a name corrected at the desk since changes every window after it)."""

    hotwords: tuple[str, ...]
    language: str
    state: WindowState
    segments: tuple[RawSegment, ...]
    runs: int = 0  # journal lines (runs of the loop) these came from
    # uncovered stretches decoded again with these hotwords and language (GrowingTranscription)
    covered: tuple[tuple[CoverKey, CoveredGap], ...] = ()


@dataclass(frozen=True)
class SecondPassModels:
    """The worker's own copies (see the module docstring): recogniser and offline diarizer."""

    transcriber: Transcriber
    diarizer: OfflineDiarizer | None = None


class ArchiveAudio:
    """The session's ``audio.wav`` as float samples, read where asked (never all in memory):
    ``len()`` is what is on disk now, a slice reads only that part."""

    def __init__(self, path: Path, num_samples: int | None = None) -> None:
        self.path = path
        self._n = num_samples

    def __len__(self) -> int:
        if self._n is not None:
            return self._n
        return max(0, (self.path.stat().st_size - WAV_HEADER_BYTES) // 2) if self.path.exists() else 0

    @property
    def seconds(self) -> float:
        return len(self) / SAMPLE_RATE

    def __getitem__(self, index: slice) -> np.ndarray:
        a, b, _ = index.indices(len(self))
        if b <= a:
            return np.zeros(0, dtype=np.float32)
        with self.path.open("rb") as fh:
            fh.seek(WAV_HEADER_BYTES + 2 * a)
            pcm = np.frombuffer(fh.read(2 * (b - a)), dtype="<i2")
        return pcm.astype(np.float32) / 32768.0

    def frozen(self) -> ArchiveAudio:
        """The audio as it is now (a growing file keeps one length for one computation)."""
        return ArchiveAudio(self.path, len(self))


class SecondPassJournal:
    """``second_pass/journal.jsonl`` (one line per run of the window loop or diarization
    piece) and the pieces' ``.npz`` files, in the session folder."""

    def __init__(self, folder: SessionFolder) -> None:
        self.dir = folder.root / JOURNAL_DIR
        self.path = self.dir / "journal.jsonl"

    def load(self) -> tuple[DecodedWindows | None, list[Piece]]:
        """What was finished, in order; a torn last line, a run that does not continue the one
        before or a piece whose file is missing ends the list of its kind. A run made with other
        hotwords than the one before starts the windows again (as the worker did)."""
        from diarize.incremental import Piece

        windows: DecodedWindows | None = None
        pieces: list[Piece] = []
        covers: list[tuple[tuple[str, ...], str, CoverKey, CoveredGap]] = []
        if not self.path.exists():
            return windows, pieces
        pieces_ok = windows_ok = True
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                continue
            kind = data.get("kind")
            if kind == "windows" and windows_ok:
                try:
                    hotwords = tuple(data.get("hotwords") or ())
                    start = WindowState.from_json(data["from"])
                    run = DecodedWindows(hotwords, str(data["language"]), WindowState.from_json(data["state"]),
                                         tuple(_raw_from_json(x) for x in data["segments"]), 1)
                except (KeyError, TypeError, ValueError):
                    windows_ok = False
                    continue
                if start == WindowState():  # a loop started from the beginning
                    windows = run
                elif windows is not None and start == windows.state and hotwords == windows.hotwords:
                    windows = replace(windows, state=run.state, segments=windows.segments + run.segments,
                                      runs=windows.runs + 1)
                else:
                    windows_ok = False
            elif kind == "cover":
                try:
                    covers.append((tuple(data.get("hotwords") or ()), str(data["language"]),
                                   _key_from_json(data["key"]), _gap_from_json(data)))
                except (KeyError, TypeError, ValueError):
                    continue  # a torn line: decoded again at the end
            elif kind == "piece" and pieces_ok:
                file = self.dir / str(data.get("file", ""))
                try:
                    piece = Piece.from_npz(file.read_bytes())
                except (OSError, ValueError, KeyError):
                    pieces_ok = False
                    continue
                if piece.chunk0 == (pieces[-1].chunk0 + pieces[-1].num_chunks if pieces else 0):
                    pieces.append(piece)
        if windows is not None:
            # a stretch's decode depends on its audio, regions and these, not on the windows' run
            covered = tuple((k, g) for h, lang, k, g in covers
                            if h == windows.hotwords and lang == windows.language)
            windows = replace(windows, covered=covered)
        return windows, pieces

    def add_windows(self, hotwords: Sequence[str], language: str, start: WindowState, state: WindowState,
                    segments: Sequence[RawSegment]) -> None:
        self._append({"kind": "windows", "hotwords": list(hotwords), "language": language,
                      "from": start.to_json(), "state": state.to_json(),
                      "segments": [_raw_to_json(r) for r in segments]})

    def add_cover(self, hotwords: Sequence[str], language: str, key: CoverKey, gap: CoveredGap) -> None:
        a, b, speech_s, lo, hi, inside = key
        self._append({"kind": "cover", "hotwords": list(hotwords), "language": language,
                      "key": {"start": a, "end": b, "speech_s": speech_s, "from": lo, "to": hi,
                              "regions": [list(r) for r in inside]},
                      "found": [_segment_to_json(x) for x in gap.found],
                      "left": [[x.start, x.end, x.speech_s] for x in gap.left]})

    def add_piece(self, piece: Piece) -> None:
        name = f"piece-{piece.chunk0:06d}.npz"
        _write_durable(self.dir / name, piece.to_npz())
        self._append({"kind": "piece", "chunk0": piece.chunk0, "chunks": piece.num_chunks,
                      "grid0": piece.grid0, "file": name})

    def _append(self, data: dict[str, Any]) -> None:
        self.dir.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, (json.dumps(data, ensure_ascii=False) + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)


def _segment_to_json(seg: TranscriptSegment) -> dict[str, Any]:
    # full float precision (not the transcript's rounding): a restart must map the same times
    return {"start": seg.start, "end": seg.end, "text": seg.text,
            "words": [[w.start, w.end, w.word, w.probability] for w in seg.words]}


def _segment_from_json(d: dict[str, Any]) -> TranscriptSegment:
    words = tuple(Word(float(a), float(b), str(w), float(p)) for a, b, w, p in d["words"])
    return TranscriptSegment(float(d["start"]), float(d["end"]), str(d["text"]), words)


def _raw_to_json(r: RawSegment) -> dict[str, Any]:
    return {**_segment_to_json(r.segment),
            "avg_logprob": r.avg_logprob, "no_speech_prob": r.no_speech_prob,
            "compression_ratio": r.compression_ratio, "temperature": r.temperature}


def _raw_from_json(d: dict[str, Any]) -> RawSegment:
    return RawSegment(_segment_from_json(d), float(d["avg_logprob"]), float(d["no_speech_prob"]),
                      float(d["compression_ratio"]), float(d["temperature"]))


def _key_from_json(d: dict[str, Any]) -> CoverKey:
    return (float(d["start"]), float(d["end"]), float(d["speech_s"]), float(d["from"]), float(d["to"]),
            tuple((float(a), float(b)) for a, b in d["regions"]))


def _gap_from_json(d: dict[str, Any]) -> CoveredGap:
    return CoveredGap(tuple(_segment_from_json(x) for x in d["found"]),
                      tuple(Stretch(float(a), float(b), float(c)) for a, b, c in d["left"]))


def _write_durable(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


class SettledWork:
    """One session's second pass: the window loop and diarization pieces done so far, and the
    next unit of work. Owned by one thread at a time (the worker, then the final pass)."""

    def __init__(self, folder: SessionFolder, models: SecondPassModels, final_pass: FinalPass,
                 options: AlongsideOptions) -> None:
        from diarize.incremental import IncrementalDiarization

        self.folder = folder
        self.models = models
        self.final_pass = final_pass
        self.options = options
        self.journal = SecondPassJournal(folder)
        windows, pieces = self.journal.load()
        self.resumed_runs = windows.runs if windows else 0
        self.resumed_pieces = len(pieces)
        self.diarization: IncrementalDiarization | None = None
        if models.diarizer is not None:
            self.diarization = IncrementalDiarization(models.diarizer, pieces)
        self.hotwords: tuple[str, ...] = windows.hotwords if windows else tuple(folder.meta().hotwords)
        self.growing = self._growing(windows)
        self.looked_at = 0  # samples of the archive the last look saw
        self.done_while_recording = 0  # units of work finished by the worker in this process
        self.restarted_for_hotwords = 0
        self.work_s = 0.0  # compute time (wall) spent in units of work here

    def _growing(self, windows: DecodedWindows | None) -> GrowingTranscription:
        opts = self.final_pass.options_for(self.folder.meta())
        opts = replace(opts, hotwords=self.hotwords)
        if windows is None:
            return GrowingTranscription(self.models.transcriber, opts)
        return GrowingTranscription(self.models.transcriber, opts, language=windows.language,
                                    state=windows.state, raw=windows.segments,
                                    covered=dict(windows.covered))

    def step(self, audio: ArchiveAudio) -> bool:
        """One unit of work on what is settled now; False when there is none."""
        n = len(audio)
        if n - self.looked_at < self.options.step_s * SAMPLE_RATE:
            return False
        self.looked_at = n
        t0 = time.perf_counter()
        self._follow_hotwords()
        settled = max(0, n - int(self.options.margin_s * SAMPLE_RATE))
        did = self._advance(audio, settled)
        if self.diarization is not None:
            piece = self.diarization.settle(audio, settled / SAMPLE_RATE)
            if piece is not None:
                self.journal.add_piece(piece)
                did = True
        self.work_s += time.perf_counter() - t0
        return did

    def _follow_hotwords(self) -> None:
        """A name typed at the desk reaches every window, as in the whole-recording pass: the
        loop starts again (in the background while the hearing goes on, else at 结束)."""
        hotwords = tuple(self.folder.meta().hotwords)
        if hotwords != self.hotwords:
            self.hotwords = hotwords
            self.growing = self._growing(None)
            self.restarted_for_hotwords += 1

    def _advance(self, audio: ArchiveAudio, settled: int) -> bool:
        g = self.growing
        start, known = g.state, len(g.covered)
        new = g.advance(audio, settled)
        if g.state == start:
            return False
        self.journal.add_windows(self.hotwords, g.language or "und", start, g.state, new)
        for key, gap in list(g.covered.items())[known:]:
            self.journal.add_cover(self.hotwords, g.language or "und", key, gap)
        return True

    # -- at 结束 ----------------------------------------------------------------------------
    def finish(self, audio: ArchiveAudio, progress: Progress) -> tuple[Transcript, Any, dict[str, Any]]:
        """The rest (the windows after the last settled one, again from the start if the
        hotwords changed since, the diarization's tail and clustering): the final transcript
        (before speaker attribution), the diarization result (or None) and what was reused."""
        self._follow_hotwords()
        before_s = self.growing.decoded_s
        progress("transcribe", 0.0)
        transcript = self.growing.finish(audio, progress=lambda d, t: progress("transcribe", d / t if t else 1.0))
        progress("transcribe", 1.0)
        result = None
        if self.diarization is not None:
            progress("diarize", 0.0)
            result = self.diarization.result(audio)
            progress("diarize", 1.0)
        speech_s = float(transcript.info.get("speech_seconds", 0.0))
        reused = {
            "windows_runs_from_journal": self.resumed_runs,
            "while_recording": self.done_while_recording,
            "restarted_for_hotwords": self.restarted_for_hotwords,
            "speech_decoded_before_stop_s": round(before_s, 3),
            "speech_left_at_stop_s": round(max(0.0, speech_s - before_s), 3),
            "diarization_pieces_from_journal": self.resumed_pieces,
        }
        return transcript, result, reused


class _Diarized:
    """An ``OfflineDiarizerLike`` whose answer is already known (the incremental result), so
    the final pass's label keeping (live labels, voiceprints) runs unchanged on it."""

    def __init__(self, result: Any) -> None:
        self.result = result

    def analyse(self, samples: Any, **_bounds: Any) -> Any:
        return self.result

    def diarize(self, samples: Any, **_bounds: Any) -> Sequence[SpeakerTurn]:
        return list(self.result.turns)


class LiveLike(Protocol):
    """What the worker reads of a recording ``LiveSession``."""

    id: str
    folder: SessionFolder
    state: str
    stats: Any


class AlongsideWorker:
    """The second pass of every session of one manager, on one low-priority thread."""

    def __init__(self, models: Callable[[], SecondPassModels], final_pass: FinalPass,
                 options: AlongsideOptions | None = None) -> None:
        self._make_models = models
        self._models: SecondPassModels | None = None
        self.final_pass = final_pass
        self.options = options or AlongsideOptions()
        self._lock = threading.Lock()
        self._models_lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._watched: dict[str, LiveLike] = {}
        self._work: dict[str, SettledWork] = {}
        self._busy: str | None = None  # the session a unit of work is running for
        self._closed = False
        self._thread: threading.Thread | None = None
        self.nice_applied: int | None = None
        self._idle_passes: dict[str, int] = {}  # per session: looks that found nothing settled

    def idle_passes(self, session_id: str) -> int:
        """How often the worker looked at ``session_id`` and found nothing left to do (a driver
        that feeds faster than real time waits for this to grow: the worker has caught up)."""
        with self._lock:
            return self._idle_passes.get(session_id, 0)

    def work_of(self, session_id: str) -> SettledWork | None:
        with self._lock:
            return self._work.get(session_id)

    def models(self) -> SecondPassModels:
        with self._models_lock:
            if self._models is None:
                self._models = self._make_models()
            return self._models

    def loaded(self) -> SecondPassModels | None:
        with self._models_lock:
            return self._models

    def watch(self, session: LiveLike) -> None:
        """Work on ``session`` while it records (from its first settled stretch)."""
        with self._lock:
            self._watched[session.id] = session
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="second-pass", daemon=True)
                self._thread.start()
            self._wake.notify_all()

    def release(self, session_id: str) -> SettledWork | None:
        """Stop working on a session (after the unit of work under way) and hand over what
        was done, for the final pass."""
        with self._lock:
            self._watched.pop(session_id, None)
            while self._busy == session_id:
                self._wake.wait()
            self._idle_passes.pop(session_id, None)
            return self._work.pop(session_id, None)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._watched.clear()
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=600)

    def _live_busy(self) -> bool:
        for s in self._watched.values():
            stats = s.stats
            if stats.received_seconds - stats.processed_seconds > self.options.busy_lag_s:
                return True
        return False

    def _run(self) -> None:
        try:  # Linux: a thread's own nice value; its children (decoder threads) inherit it
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + self.options.nice)
            self.nice_applied = os.getpriority(os.PRIO_PROCESS, tid)
        except (OSError, AttributeError):
            log.info("the second pass runs at normal priority (no per-thread nice here)")
        try:
            self.models()
        except Exception:  # noqa: BLE001 - the final pass after 结束 still does all the work
            log.exception("the second pass could not load its models; it runs after 结束 instead")
            return
        yielding_since: float | None = None
        while True:
            with self._lock:
                if self._closed:
                    return
                chosen = None
                busy = self._live_busy()
                now = time.monotonic()
                if not busy:
                    yielding_since = None
                elif yielding_since is None:
                    yielding_since = now
                if not busy or now - yielding_since >= self.options.max_yield_s:  # type: ignore[operator]
                    yielding_since = None
                    for sid, s in self._watched.items():
                        if s.state in ("recording", "paused"):  # after 结束 the final pass has it
                            chosen = (sid, s)
                            break
                    # round robin: the session served goes to the back
                    if chosen is not None:
                        self._watched[chosen[0]] = self._watched.pop(chosen[0])
                self._busy = chosen[0] if chosen else None
            did = False
            if chosen is not None:
                sid, session = chosen
                try:
                    work = self._work.get(sid)
                    if work is None:
                        work = SettledWork(session.folder, self.models(), self.final_pass, self.options)
                        self._work[sid] = work
                    did = work.step(ArchiveAudio(session.folder.audio).frozen())
                    if did:
                        work.done_while_recording += 1
                        if self.options.release_memory:
                            release_free_memory()
                    else:
                        with self._lock:
                            self._idle_passes[sid] = self._idle_passes.get(sid, 0) + 1
                except Exception:  # noqa: BLE001 - the final pass after 结束 redoes what failed here
                    log.exception("the second pass of session %s failed a stretch; it is left to 结束", sid)
                    with self._lock:
                        self._watched.pop(sid, None)
            with self._lock:
                self._busy = None
                self._wake.notify_all()
                if not did and not self._closed:
                    self._wake.wait(self.options.poll_s)


class AlongsideFinalPass(FinalPass):
    """The final pass that finishes what the worker did alongside (or, after a restart, what
    its journal holds): the same transcript and speakers as ``FinalPass.run``."""

    def __init__(self, base: FinalPass, worker: AlongsideWorker) -> None:
        super().__init__(base.transcriber, base.diarizer, beam_size=base.beam_size)
        self.worker = worker

    def watch(self, session: Any) -> None:
        self.worker.watch(session)

    def close(self) -> None:
        self.worker.close()

    def run(self, folder: SessionFolder, progress: Progress, live_diarizer: Any = None) -> Transcript:
        t0 = time.perf_counter()
        work = self.worker.release(folder.id)
        if work is None:
            # after a restart (or in `scribe sessions finish`) nothing records beside it: the
            # main models do the rest, from the journal, unless the worker has its own loaded
            models = self.worker.loaded() or SecondPassModels(self.transcriber, self.diarizer)  # type: ignore[arg-type]
            work = SettledWork(folder, models, self, self.worker.options)
        audio = ArchiveAudio(folder.audio).frozen()
        transcript, result, reused = work.finish(audio, progress)
        diarizer: OfflineDiarizerLike | None = _Diarized(result) if result is not None else None
        transcript = replace(transcript, info=dict(transcript.info) | {
            "kind": "final", "session": folder.id,
            "second_pass": reused | {"after_stop_s": round(time.perf_counter() - t0, 3)},
        })
        return self.label(folder, audio, transcript, progress, live_diarizer, diarizer)
