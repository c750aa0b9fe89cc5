"""Second look at the turns once the speakers are known: changes without a pause, and edges.

Two steps after the clustering (offline) or on the settled timeline (live):

* :func:`split_by_voice` — segmentation-3.0 keeps one local speaker across a speaker change
  when there is no pause between the voices (on the AMI clip it kept one local speaker for
  10 s windows holding both people, and a 1 s reply inside the other person's turn was lost).
  Once the speakers' centroids are known, short windows (1.5 s every 0.5 s) along each long
  turn are embedded; a stretch of the turn where most windows sound clearly like *another*
  known speaker for at least 1 s is given to that speaker. Short windows are noisy, so a window
  only counts when it is both close to the other speaker and much closer to them than to the
  turn's own speaker.
* :func:`tidy_turns` — a same-speaker pause under 0.3 s is not a turn break (the NIST RT
  convention; a breath inside a sentence should not split it), and each turn is widened by
  50 ms into the silence around it: the segmentation's frames switch on after a word's onset
  and off before its tail, and words whose timestamps start a little before their turn would
  otherwise be given to nobody.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from diarize.labels import merge_turns
from diarize.models import Embedder
from scribe.types import SAMPLE_RATE, SpeakerTurn

# pieces of one turn meet exactly; padded turns may meet within float rounding
_TOUCHING = 1e-6


@dataclass(frozen=True)
class VoiceSplitOptions:
    window: float = 1.5  # seconds per embedding window
    hop: float = 0.5  # seconds between windows (also the resolution of a relabelled stretch)
    min_turn: float = 2.0  # shorter turns are left alone (s)
    # a window counts for another speaker when it is this similar to them...
    min_similarity: float = 0.4
    # ...and this much more similar to them than to the turn's own speaker
    margin: float = 0.3
    min_stretch: float = 1.0  # the shortest stretch that changes hands (s)


@dataclass(frozen=True)
class TidyOptions:
    bridge: float = 0.3  # same-speaker pauses shorter than this are filled (s)
    pad: float = 0.05  # each turn widened this much into the silence around it (s)


def split_by_voice(
    samples: np.ndarray,
    turns: Sequence[SpeakerTurn],
    centroids: Mapping[str, np.ndarray],
    embedder: Embedder,
    options: VoiceSplitOptions | None = None,
    workers: int = 1,
) -> list[SpeakerTurn]:
    """``turns`` with stretches that sound like another known speaker given to them
    (``workers`` threads embed the windows of different turns)."""
    opts = options or VoiceSplitOptions()
    labels = [k for k in centroids if np.isfinite(centroids[k]).all()]
    if len(labels) < 2:
        return sorted(turns)
    cents = np.stack([_unit(centroids[k]) for k in labels])
    win, hop = int(round(opts.window * 100)), int(round(opts.hop * 100))  # fbank frames (10 ms)

    def windows(turn: SpeakerTurn) -> tuple[list[int], np.ndarray]:
        a, b = int(turn.start * SAMPLE_RATE), int(turn.end * SAMPLE_RATE)
        feats = embedder.features(samples[a:b])  # frame j starts j * 10 ms into the turn
        starts = list(range(0, max(1, feats.shape[0] - win + 1), hop))
        return starts, embedder.embed_windows(feats, starts, win)

    long = [t for t in turns if t.duration >= opts.min_turn and t.speaker in labels]
    if workers > 1 and len(long) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            heard = dict(zip(long, pool.map(windows, long)))
    else:
        heard = {t: windows(t) for t in long}
    out: list[SpeakerTurn] = []
    for turn in turns:
        start, end, speaker = turn.start, turn.end, turn.speaker
        if turn not in heard:
            out.append(turn)
            continue
        own = labels.index(speaker)
        starts, embs = heard[turn]
        votes = []
        for emb in embs:
            if np.isnan(emb).any():
                votes.append(own)
                continue
            votes.append(window_vote(cents @ _unit(emb), own, opts))
        # each hop-long block goes to the majority of the windows covering it
        num_blocks = int(np.ceil((end - start) / opts.hop - 1e-9))
        blocks = []
        for i in range(num_blocks):
            lo, hi = i * hop, (i + 1) * hop
            cover = [v for f, v in zip(starts, votes) if f <= lo and f + win >= hi]
            blocks.append(max(set(cover), key=cover.count) if cover else own)
        min_blocks = int(np.ceil(opts.min_stretch / opts.hop - 1e-9))
        i = 0
        while i < num_blocks:
            j = i
            while j < num_blocks and blocks[j] == blocks[i]:
                j += 1
            who = blocks[i] if (blocks[i] == own or j - i >= min_blocks) else own
            out.append(SpeakerTurn(start + i * opts.hop, min(end, start + j * opts.hop), labels[who]))
            i = j
    return merge_turns(out, max_gap=_TOUCHING)


def window_vote(
    sims: np.ndarray, own: int, options: VoiceSplitOptions, floor: float | None = None
) -> int:
    """The speaker one short window votes for, given its similarity to each speaker: the
    closest one when that is clear (``floor``, default ``options.min_similarity``, and
    ``options.margin`` over ``own``), else ``own``."""
    best = int(np.argmax(sims))
    floor = options.min_similarity if floor is None else floor
    clear = sims[best] >= floor and sims[best] - sims[own] >= options.margin
    return best if clear else own


def tidy_turns(
    turns: Sequence[SpeakerTurn], duration: float, options: TidyOptions | None = None
) -> list[SpeakerTurn]:
    """Bridge short same-speaker pauses (when nobody else speaks in them), then pad edges.

    Each turn looks only at the other speakers' turns around it, through sorted starts and
    ends (bisection), not at all of them: a three-hour hearing has thousands of turns."""
    opts = options or TidyOptions()
    by_speaker: dict[str, list[list[float]]] = {}
    for t in sorted(turns):
        by_speaker.setdefault(t.speaker, []).append([t.start, t.end])
    bridged: list[SpeakerTurn] = []
    for k, spans in by_speaker.items():
        # someone else speaks between ``prev`` and ``s`` when a turn of theirs that starts
        # before ``s`` ends after ``prev``: the latest end among turns starting before ``s``
        others = sorted((t.start, t.end) for t in turns if t.speaker != k)
        starts = [o[0] for o in others]
        latest_end = list(itertools.accumulate((o[1] for o in others), max, initial=-math.inf))
        merged = [spans[0]]
        for s, e in spans[1:]:
            prev = merged[-1]
            gap_free = not latest_end[bisect.bisect_left(starts, s)] > prev[1]
            if s - prev[1] <= opts.bridge and gap_free:
                prev[1] = max(prev[1], e)
            else:
                merged.append([s, e])
        bridged += [SpeakerTurn(s, e, k) for s, e in merged]
    if opts.pad <= 0:
        return sorted(bridged)
    rival_ends: dict[str, list[float]] = {}
    rival_starts: dict[str, list[float]] = {}
    for k in by_speaker:
        rival_ends[k] = sorted(o.end for o in bridged if o.speaker != k)
        rival_starts[k] = sorted(o.start for o in bridged if o.speaker != k)
    out: list[SpeakerTurn] = []
    for t in bridged:
        ends, starts = rival_ends[t.speaker], rival_starts[t.speaker]
        i = bisect.bisect_right(ends, t.start)  # rivals' ends <= t.start: ends[:i]
        j = bisect.bisect_left(starts, t.end)  # rivals' starts >= t.end: starts[j:]
        lo = max(([ends[i - 1]] if i else []) + [t.start - opts.pad, 0.0])
        hi = min(([starts[j]] if j < len(starts) else []) + [t.end + opts.pad, duration])
        out.append(SpeakerTurn(min(t.start, lo), max(t.end, hi), t.speaker))
    return merge_turns(out, max_gap=_TOUCHING)


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    unit: np.ndarray = v / (np.linalg.norm(v) + 1e-9)
    return unit
