"""The second pass, alongside the hearing: settled stretches re-recognised while it is recorded.

Today's final pass (scribe.live.final_pass) transcribes and diarizes the whole recording after
结束: minutes for an hour while the parties wait to sign. Here a background worker of low OS
priority does the same work stretch by stretch while the hearing goes on, so that at 结束 only
the last stretch is left:

* a *stretch* is archived audio behind the archive's head by ``margin_s`` that ends in a VAD
  pause (the middle of the first silence after ``min_stretch_s``); it is transcribed with the
  final pass's own ``Transcriber`` and options (beam search, the session's hotwords, the style
  prompt, full context inside the stretch, the coverage check of scribe.coverage);
* the offline diarizer's costly part (segmentation and embeddings of each 10 s window of the
  recording's grid, and the change-of-voice windows) is done for the settled audio once
  (diarize.incremental); at 结束 the embeddings of the whole hearing are clustered, which is
  cheap;
* every finished stretch and diarization piece is written to ``second_pass/`` in the session
  folder (a journal, fsync-ed, plus one ``.npz`` per piece) *before* it counts as done, so a
  restart after a crash continues from there.

Priority: the worker thread lowers its own nice value (Linux threads have their own), so the
live path's threads win the cores; it also waits while the live path is behind (its queue is
the live lag) and loads its own copies of the models from that thread (the decoder's worker
threads inherit the nice value; sharing the live recogniser would make live finals wait for a
stretch's decode, which holds the model's lock).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from scribe.asr.vad import VadOptions, regions_from_probs
from scribe.live.archive import WAV_HEADER_BYTES, SessionFolder, SessionMeta
from scribe.live.final_pass import FinalPass, OfflineDiarizerLike, Progress
from scribe.transcribe import TranscribeOptions, Transcriber
from scribe.types import SAMPLE_RATE, SpeakerTurn, Transcript

if TYPE_CHECKING:
    from diarize import OfflineDiarizer
    from diarize.incremental import IncrementalDiarization, Piece

log = logging.getLogger(__name__)
JOURNAL_DIR = "second_pass"


@dataclass(frozen=True)
class AlongsideOptions:
    margin_s: float = 3.0  # a stretch ends at least this far behind the archive's head (s)
    min_stretch_s: float = 60.0  # a stretch is at least this long, then ends at the next pause
    max_stretch_s: float = 90.0  # ...or at its quietest moment when nobody pauses for this long
    min_pause_s: float = 0.3  # the silence between two VAD regions (after their padding) to cut in
    poll_s: float = 1.0  # how often an idle worker looks for settled audio
    busy_lag_s: float = 2.0  # the worker waits while the live path is this far behind (s)...
    # ...but not for longer than this at a time: on a machine where the live path never
    # catches up, the second pass would otherwise never run (and all of it would be left for
    # 结束); past it the worker goes on at its lower OS priority, which still favours live
    max_yield_s: float = 10.0
    nice: int = 10  # added to the worker thread's nice value (lower OS priority)
    # give each stretch the text of the one before as the decoder's earlier text. Off: on
    # conv_zh_dev_02 it sent whisper-base into repetition (CER 62.7% against 29.2% without)
    previous_text: bool = False


@dataclass(frozen=True)
class DoneStretch:
    """One stretch's transcript, times on the recording's clock, and what it was made with."""

    start: float
    end: float
    hotwords: tuple[str, ...]
    transcript: Transcript

    def to_json(self) -> dict[str, Any]:
        return {"kind": "stretch", "start": round(self.start, 3), "end": round(self.end, 3),
                "hotwords": list(self.hotwords), "transcript": self.transcript.to_dict()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DoneStretch:
        return cls(float(data["start"]), float(data["end"]), tuple(data.get("hotwords") or ()),
                   Transcript.from_dict(data["transcript"]))


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


class StretchJournal:
    """``second_pass/journal.jsonl`` (one line per finished stretch or diarization piece) and
    the pieces' ``.npz`` files, in the session folder."""

    def __init__(self, folder: SessionFolder) -> None:
        self.dir = folder.root / JOURNAL_DIR
        self.path = self.dir / "journal.jsonl"

    def load(self) -> tuple[list[DoneStretch], list[Piece]]:
        """What was finished, in order; a torn last line or a piece whose file is missing ends
        the list of its kind (stretches and pieces must each follow one another)."""
        from diarize.incremental import Piece

        stretches: list[DoneStretch] = []
        pieces: list[Piece] = []
        if not self.path.exists():
            return stretches, pieces
        pieces_ok = True
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                continue
            kind = data.get("kind")
            if kind == "stretch":
                done = DoneStretch.from_json(data)
                if not stretches or abs(stretches[-1].end - done.start) < 1e-3:
                    stretches.append(done)
            elif kind == "piece" and pieces_ok:
                file = self.dir / str(data.get("file", ""))
                try:
                    piece = Piece.from_npz(file.read_bytes())
                except (OSError, ValueError, KeyError):
                    pieces_ok = False
                    continue
                if piece.chunk0 == (pieces[-1].chunk0 + pieces[-1].num_chunks if pieces else 0):
                    pieces.append(piece)
        return stretches, pieces

    def add_stretch(self, done: DoneStretch) -> None:
        self._append(done.to_json())

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


def next_cut(probs: np.ndarray, start: float, settled: float, options: AlongsideOptions,
             vad: VadOptions = VadOptions()) -> float | None:
    """Where the stretch from ``start`` ends, from the VAD probabilities of
    ``start .. settled`` (None: not settled far enough yet). The middle of the first pause
    between two speech regions after ``min_stretch_s``; with none within ``max_stretch_s``,
    the quietest moment of its second half; all silence: ``settled`` itself."""
    if settled - start < options.min_stretch_s:
        return None
    regions = regions_from_probs(probs, settled - start, vad)
    if not regions:
        return settled
    for prev, nxt in zip(regions, regions[1:]):
        if nxt.start - prev.end >= options.min_pause_s and (prev.end + nxt.start) / 2 >= options.min_stretch_s:
            return start + (prev.end + nxt.start) / 2
    last = regions[-1]
    if settled - start - last.end >= options.min_pause_s + 0.5 and last.end >= options.min_stretch_s:
        return start + last.end + options.min_pause_s / 2  # speech ended: cut in the silence after it
    if settled - start >= options.max_stretch_s:
        step = 512 / SAMPLE_RATE
        lo, hi = int(options.max_stretch_s / 2 / step), int(options.max_stretch_s / step)
        return start + (lo + int(np.argmin(probs[lo:hi]))) * step
    return None


class SettledWork:
    """One session's second pass: stretches and diarization pieces done so far, and the next
    unit of work. Owned by one thread at a time (the worker, then the final pass)."""

    def __init__(self, folder: SessionFolder, models: SecondPassModels, final_pass: FinalPass,
                 options: AlongsideOptions) -> None:
        from diarize.incremental import IncrementalDiarization

        self.folder = folder
        self.models = models
        self.final_pass = final_pass
        self.options = options
        self.journal = StretchJournal(folder)
        self.stretches, pieces = self.journal.load()
        self.resumed_stretches = len(self.stretches)
        self.resumed_pieces = len(pieces)
        self.diarization: IncrementalDiarization | None = None
        if models.diarizer is not None:
            self.diarization = IncrementalDiarization(models.diarizer, pieces)
        self.language: str | None = self.stretches[0].transcript.language if self.stretches else None
        self.done_while_recording = 0  # stretches finished by the worker in this process
        self.work_s = 0.0  # compute time (wall) spent in units of work here

    @property
    def transcribed_s(self) -> float:
        return self.stretches[-1].end if self.stretches else 0.0

    def options_for(self, meta: SessionMeta) -> TranscribeOptions:
        opts = self.final_pass.options_for(meta)
        # the whole-file pass detects the language once, on its first 30 s of speech: the
        # first stretch's detection stands for the rest (it heard the same speech)
        if opts.language == "auto" and self.language:
            opts = replace(opts, language=self.language)
        return opts

    def step(self, audio: ArchiveAudio) -> bool:
        """One unit of work on what is settled now; False when there is none."""
        settled = audio.seconds - self.options.margin_s
        start = self.transcribed_s
        if settled - start >= self.options.min_stretch_s:
            probs = self.models.transcriber.vad.speech_probs(
                audio[int(start * SAMPLE_RATE) : int(settled * SAMPLE_RATE)])
            cut = next_cut(probs, start, settled, self.options)
            if cut is not None:
                self._transcribe(audio, start, cut)
                self._diarize_upto(audio, cut)
                return True
        return False

    def _transcribe(self, audio: ArchiveAudio, start: float, end: float) -> DoneStretch:
        t0 = time.perf_counter()
        meta = self.folder.meta()
        opts = replace(self.options_for(meta), previous_text=self._text_before(len(self.stretches)))
        a, b = int(round(start * SAMPLE_RATE)), int(round(end * SAMPLE_RATE))
        part = self.models.transcriber.transcribe(audio[a:b], opts)
        done = DoneStretch(a / SAMPLE_RATE, b / SAMPLE_RATE, tuple(meta.hotwords), _shifted(part, a / SAMPLE_RATE))
        self.journal.add_stretch(done)
        self.stretches.append(done)
        if self.language is None and part.segments:
            self.language = part.language
        self.work_s += time.perf_counter() - t0
        return done

    def _text_before(self, i: int) -> str | None:
        """The text of the stretch before stretch ``i`` (the decoder's earlier text), when it
        ends in a short pause: after a long silence Whisper's own window would not reach back."""
        if not self.options.previous_text or i == 0 or i > len(self.stretches):
            return None
        prev = self.stretches[i - 1]
        segs = [s for s in prev.transcript.segments if not s.unrecognised]
        if not segs or prev.end - segs[-1].end > 30.0:
            return None
        return "".join(s.text for s in segs) if prev.transcript.language == "zh" \
            else " ".join(s.text for s in segs)

    def _diarize_upto(self, audio: ArchiveAudio, upto: float) -> None:
        if self.diarization is None:
            return
        t0 = time.perf_counter()
        piece = self.diarization.settle(audio, upto)
        if piece is not None:
            self.journal.add_piece(piece)
        self.work_s += time.perf_counter() - t0

    # -- at 结束 ----------------------------------------------------------------------------
    def finish(self, audio: ArchiveAudio, progress: Progress) -> tuple[Transcript, Any, dict[str, Any]]:
        """The rest (the last stretch, stretches whose hotwords changed since, the diarization's
        tail and clustering): the final transcript (before speaker attribution), the
        diarization result (or None) and what was reused."""
        meta = self.folder.meta()
        end = audio.seconds
        hotwords = tuple(meta.hotwords)
        stale = [i for i, s in enumerate(self.stretches) if s.hotwords != hotwords]
        redone = 0
        progress("transcribe", 0.0)
        for i in stale:  # a name corrected at the desk after its stretch was done: again
            s = self.stretches[i]
            a, b = int(round(s.start * SAMPLE_RATE)), int(round(s.end * SAMPLE_RATE))
            opts = replace(self.options_for(meta), previous_text=self._text_before(i))
            part = self.models.transcriber.transcribe(audio[a:b], opts)
            self.stretches[i] = DoneStretch(s.start, s.end, hotwords, _shifted(part, s.start))
            redone += 1
        tail_s = end - self.transcribed_s
        if tail_s > 0:
            self._transcribe(audio, self.transcribed_s, end)
        progress("transcribe", 1.0)
        transcript = _joined(self.stretches, end, self.models.transcriber.engine.name,
                             self.options_for(meta), self.language or "und")
        result = None
        if self.diarization is not None:
            progress("diarize", 0.0)
            result = self.diarization.result(audio)
            progress("diarize", 1.0)
        reused = {
            "stretches": len(self.stretches),
            "from_journal": self.resumed_stretches,
            "while_recording": self.done_while_recording,
            "redone_for_hotwords": redone,
            "last_stretch_s": round(tail_s, 3),
            "diarization_pieces_from_journal": self.resumed_pieces,
        }
        return transcript, result, reused


def _shifted(t: Transcript, offset: float) -> Transcript:
    """A stretch's transcript on the recording's clock."""
    if not offset:
        return t
    segs = tuple(
        replace(s, start=s.start + offset, end=s.end + offset,
                words=tuple(replace(w, start=w.start + offset, end=w.end + offset) for w in s.words))
        for s in t.segments
    )
    info = dict(t.info)
    cov = info.get("coverage")
    if isinstance(cov, dict):
        info["coverage"] = dict(cov) | {"stretches": [
            dict(x) | {"start": round(x["start"] + offset, 3), "end": round(x["end"] + offset, 3)}
            for x in cov.get("stretches", [])]}
    return replace(t, segments=segs, info=info)


def _joined(stretches: Sequence[DoneStretch], duration: float, model: str,
            options: TranscribeOptions, language: str) -> Transcript:
    """The stretches' transcripts as one, with the whole-file pass's ``info`` fields summed."""
    segments = tuple(s for d in stretches for s in d.transcript.segments)
    keys = ("speech_s", "covered_s", "rerecognised_s", "unrecognised_s")
    coverage: dict[str, Any] = {k: 0.0 for k in keys} | {"stretches": []}
    info: dict[str, Any] = {"speech_regions": 0, "speech_seconds": 0.0, "dropped_segments": []}
    for d in stretches:
        i = d.transcript.info
        info["speech_regions"] += int(i.get("speech_regions", 0))
        info["speech_seconds"] += float(i.get("speech_seconds", 0.0))
        info["dropped_segments"] += [x | {"start": x["start"] + d.start, "end": x.get("end", x["start"]) + d.start}
                                     for x in i.get("dropped_segments", [])]
        for k in keys:
            coverage[k] += float((i.get("coverage") or {}).get(k, 0.0))
        coverage["stretches"] += (i.get("coverage") or {}).get("stretches", [])
    coverage = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in coverage.items()}
    first = next((d.transcript.info for d in stretches if d.transcript.segments), {})
    info |= {
        "options": first.get("options") or {},
        "speech_seconds": round(info["speech_seconds"], 3),
        "coverage": coverage,
        "detected_language": first.get("detected_language"),
        "language_probability": first.get("language_probability"),
    }
    if language == "und" and options.language != "auto":
        language = "zh" if options.language in ("zh", "yue") else options.language
    return Transcript(language, duration, model, segments, info)


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
