"""Voice activity detection with the locked Silero VAD v6 model.

Used to gate recognition: Whisper invents text ("谢谢观看", "字幕由Amara.org社区提供") when it is
fed silence or noise, so only stretches the VAD calls speech are ever decoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scribe.types import SAMPLE_RATE, SpeechRegion

WINDOW = 512  # samples per VAD decision (32 ms at 16 kHz), fixed by the model


@dataclass(frozen=True)
class VadOptions:
    threshold: float = 0.5  # speech starts when the probability rises above this
    neg_threshold: float = 0.35  # ...and ends when it stays below this
    min_speech_s: float = 0.25  # shorter bursts (clicks, coughs) are dropped
    min_silence_s: float = 0.6  # shorter pauses do not split a region
    pad_s: float = 0.2  # kept either side so word onsets/offsets are not clipped
    max_region_s: float = 25.0  # longer regions are split at their quietest frame


class SileroVad:
    """Loaded once from the model store; ``speech_probs`` is stateless and thread-safe, and
    ``stream()`` gives the same probabilities for a recording that is still growing."""

    def __init__(self, model_dir: Path) -> None:
        # faster-whisper's ONNX wrapper takes an explicit path, so the locked file is the one
        # used (its get_vad_model() would load the copy inside the package instead).
        from faster_whisper.vad import SileroVADModel

        self._model = SileroVADModel(str(model_dir / "silero_vad_v6.onnx"))

    def speech_probs(self, samples: np.ndarray) -> np.ndarray:
        """Speech probability per 512-sample window. shape: (ceil(num_samples / 512),)"""
        stream = self.stream()
        stream.finish(samples)
        return stream.probs

    def stream(self) -> VadStream:
        return VadStream(self._model.session)

    def speech_regions(
        self, samples: np.ndarray, options: VadOptions = VadOptions()
    ) -> list[SpeechRegion]:
        return regions_from_probs(self.speech_probs(samples), samples.size / SAMPLE_RATE, options)


class VadStream:
    """Speech probabilities of a recording read as it grows, window by window, carrying the
    model's state from one read to the next: the same numbers as one ``speech_probs`` call over
    the whole recording (checked in tests), so the second pass alongside a hearing finds the
    speech regions the whole-recording pass finds. (faster-whisper's ``SileroVADModel.__call__``
    does this over one array, 10 000 windows per run; here the runs follow what has arrived.)"""

    _CONTEXT = 64  # samples of the previous window the model sees before each window
    _BATCH = 10_000  # windows per model run

    def __init__(self, session) -> None:  # type: ignore[no-untyped-def]
        self._session = session
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(self._CONTEXT, dtype=np.float32)
        self._parts: list[np.ndarray] = []
        self._probs: np.ndarray | None = np.zeros(0, dtype=np.float32)
        self.consumed = 0  # samples whose windows are done
        self.finished = False

    @property
    def probs(self) -> np.ndarray:
        if self._probs is None:
            self._probs = np.concatenate(self._parts) if self._parts else np.zeros(0, dtype=np.float32)
            self._parts = [self._probs]
        return self._probs

    def extend(self, audio, upto: int) -> None:  # type: ignore[no-untyped-def]
        """Every whole window of ``audio[consumed:upto]`` (``audio`` sliceable to float32)."""
        if self.finished:
            raise ValueError("the recording has ended")
        end = self.consumed + (max(0, upto - self.consumed) // WINDOW) * WINDOW
        while self.consumed < end:
            b = min(end, self.consumed + self._BATCH * WINDOW)
            self._run(np.asarray(audio[self.consumed : b], dtype=np.float32))
            self.consumed = b

    def finish(self, audio) -> None:  # type: ignore[no-untyped-def]
        """The rest of ``audio``, its last window padded with zeros (as ``speech_probs`` pads)."""
        n = len(audio)
        self.extend(audio, n)
        if n > self.consumed:
            tail = np.asarray(audio[self.consumed : n], dtype=np.float32)
            self._run(np.pad(tail, (0, (-tail.size) % WINDOW)))
            self.consumed = n
        self.finished = True

    def _run(self, block: np.ndarray) -> None:
        windows = block.reshape(-1, WINDOW)
        context = np.concatenate([self._context[None, :], windows[:-1, -self._CONTEXT :]], 0)
        out, self._h, self._c = self._session.run(
            None, {"input": np.concatenate([context, windows], 1), "h": self._h, "c": self._c})
        self._context = windows[-1, -self._CONTEXT :].copy()
        self._parts.append(np.asarray(out, dtype=np.float32).reshape(-1))
        self._probs = None


def regions_from_probs(
    probs: np.ndarray, duration: float, options: VadOptions = VadOptions()
) -> list[SpeechRegion]:
    """Hysteresis over per-window probabilities -> padded, merged speech regions (seconds)."""
    step = WINDOW / SAMPLE_RATE
    raw: list[list[float]] = []
    start: float | None = None
    for i, p in enumerate(probs):
        t = i * step
        if start is None and p >= options.threshold:
            start = t
        elif start is not None and p < options.neg_threshold:
            raw.append([start, t])
            start = None
    if start is not None:
        raw.append([start, len(probs) * step])

    merged: list[list[float]] = []
    for s, e in raw:
        if merged and s - merged[-1][1] < options.min_silence_s:
            merged[-1][1] = e
        else:
            merged.append([s, e])
    kept = [r for r in merged if r[1] - r[0] >= options.min_speech_s]

    out: list[SpeechRegion] = []
    for s, e in kept:
        for s2, e2 in _split_long(probs, s, e, options.max_region_s, step):
            s2, e2 = max(0.0, s2 - options.pad_s), min(duration, e2 + options.pad_s)
            if out and s2 <= out[-1].end:
                out[-1] = SpeechRegion(out[-1].start, max(out[-1].end, e2))
            else:
                out.append(SpeechRegion(s2, e2))
    return out


def _split_long(
    probs: np.ndarray, start: float, end: float, limit: float, step: float
) -> list[tuple[float, float]]:
    if end - start <= limit:
        return [(start, end)]
    # cut at the least speech-like window in the middle half of the allowed span
    lo, hi = int((start + limit * 0.5) / step), int((start + limit) / step)
    cut = (lo + int(np.argmin(probs[lo:hi]))) * step if hi > lo else start + limit
    return [(start, cut)] + _split_long(probs, cut, end, limit, step)
