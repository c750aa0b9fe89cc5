"""Coverage: is every stretch the VAD calls speech covered by recognised words?

Whisper decodes 30 s windows and sometimes skips a stretch inside one (a long utterance between
short ones comes back as nothing, the timestamps jumping over it), and the hallucination filter
may drop a segment that was real speech. Neither leaves a trace in the text. This module finds
such stretches from two independent measurements that need no tuning on any clip: the VAD's
per-window speech decisions and the times of the words the recogniser placed.

A window is *voiced* when its VAD probability reaches the speech threshold. A word covers its
own span widened by ``tolerance`` either side (aligned word times run a little early or late,
and the VAD still hears a word's decay). The stretches between covered spans that hold at least
``min_speech_s`` of voiced windows are *uncovered*: speech the text does not account for.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from scribe.types import SAMPLE_RATE, TranscriptSegment

VAD_WINDOW = 512  # samples per VAD decision (Silero), as scribe.asr.vad.WINDOW
STEP = VAD_WINDOW / SAMPLE_RATE


@dataclass(frozen=True)
class CoverageOptions:
    threshold: float = 0.5  # a window is speech from this VAD probability (the VAD's own)
    tolerance: float = 0.25  # s either side of a word that it covers
    min_speech_s: float = 0.5  # voiced seconds in a stretch before it counts as lost speech
    # A word the aligner stretched over seconds (it happens at a skip) does not prove the whole
    # span was said: a word covers at most this long from its start.
    max_word_s: float = 2.0
    # False for live utterances: they are cut at VAD pauses already and decoded without word
    # times, and Whisper's segment times are too coarse to test against the VAD (a segment
    # often ends a syllable early), so any text covers the utterance and only an utterance
    # with no text at all is re-recognised (the live recogniser checks the amount of text).
    by_words: bool = True


@dataclass(frozen=True)
class Stretch:
    """Voiced audio not covered by any word: ``start``..``end`` (first to last voiced window)."""

    start: float
    end: float
    speech_s: float  # voiced seconds inside

    @property
    def duration(self) -> float:
        return self.end - self.start


Span = tuple[float, float] | tuple[float, float, bool]  # (start, end[, is a word])


def spans_of(segments: Iterable[TranscriptSegment]) -> list[Span]:
    """What each segment accounts for: its words, or the whole segment when it has no word
    times (an unrecognised segment, a live final)."""
    out: list[Span] = []
    for s in segments:
        if s.words:
            out.extend((w.start, w.end, True) for w in s.words)
        else:
            out.append((s.start, s.end, False))
    return out


def voiced_seconds(probs: np.ndarray, start: float, end: float, threshold: float = 0.5) -> float:
    a, b = _index(start), min(len(probs), _index(end, up=True))
    return float(np.count_nonzero(probs[a:b] >= threshold)) * STEP if b > a else 0.0


def uncovered(
    probs: np.ndarray,
    spans: Sequence[Span],
    options: CoverageOptions = CoverageOptions(),
    *,
    start: float = 0.0,
    end: float = math.inf,
    open_end: bool = True,
) -> list[Stretch]:
    """Stretches of voiced windows inside [start, end) that no span covers.

    ``open_end=False`` leaves out a stretch still open at ``end`` (no covered window between
    it and ``end``): with more audio it may go on, so it is not known yet.

    ``probs``: VAD speech probability per 512-sample window from the recording's start.
    ``spans``: (start, end) seconds of every recognised word; (start, end, False) for a span
    covered as a whole (a segment without word times), which ``max_word_s`` does not cut.
    """
    n = len(probs)
    if n == 0:
        return []
    voiced = probs >= options.threshold
    covered = np.zeros(n, dtype=bool)
    for span in spans:
        s, e = span[0], span[1]
        if len(span) < 3 or span[2]:  # type: ignore[misc]
            e = min(e, s + options.max_word_s)
        a, b = _index(s - options.tolerance), _index(e + options.tolerance, up=True)
        covered[max(0, a) : max(0, min(n, b))] = True
    lo, hi = max(0, _index(start)), min(n, _index(end, up=True) if math.isfinite(end) else n)
    out: list[Stretch] = []
    i = lo
    while i < hi:
        if covered[i]:
            i += 1
            continue
        j = i
        while j < hi and not covered[j]:
            j += 1
        idx = np.flatnonzero(voiced[i:j])
        if j >= hi and not open_end:
            break
        if idx.size * STEP >= options.min_speech_s - 1e-9:
            out.append(Stretch(round((i + idx[0]) * STEP, 3), round((i + idx[-1] + 1) * STEP, 3),
                               round(idx.size * STEP, 3)))
        i = j
    return out


def _index(t: float, *, up: bool = False) -> int:
    x = t / STEP
    return int(math.ceil(x - 1e-9)) if up else int(math.floor(x + 1e-9))
