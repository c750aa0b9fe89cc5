"""Live diarization: audio chunks in, speaker turns out, at most ~2 s behind the audio.

At each step (every ``step`` seconds of audio) the segmentation model looks at the last
``window`` seconds. Its local speakers are tied to the session's speakers in two ways:

* continuity: a local speaker whose activity agrees with a local speaker of the previous
  window (they share ``window - step`` seconds) inherits its session label, no embedding needed;
* voice: a local speaker that is new, or due for a check, gets a CAM++ embedding of its last
  ``embed_seconds`` that is matched (cosine) against the enrolled voiceprints and the
  session's speaker centroids; too far from all of them, with enough solo speech, it founds a
  new speaker. Local speakers are stretches of speech between pauses, so two of one window
  may be the same person: only stretches heard at the same time are kept apart (a one-to-one
  assignment there made the second stretch of one voice found a second speaker: the AMI clip
  got three speakers live). A stretch too short to found a speaker takes the nearest one at
  a looser similarity rather than being settled as nobody's speech.

Two corrections before a stretch is settled (both measured on the AMI clip, where the live
diarizer missed them; docs/diarization.md):

* quiet speech: segmentation-3.0 calls a quiet voice at the end of a 5 s window silence when
  loud speech comes before it, until it has ~2.5 s of right context. Silent frames beside a
  voice whose speech probability still reaches ``quiet_speech`` are given to that voice.
* a change of voice with no pause just before the stream ends: the segmentation keeps one
  local speaker across it. During the stream the label check every second follows the new
  voice within about two seconds, but the last ``latency`` seconds are settled by
  :meth:`StreamingDiarizer.flush` with no later step. There each 0.5 s block is heard again
  in 1.5 s windows (the live form of :func:`diarize.resegment.split_by_voice`); when it
  clearly sounds like another known speaker, and so does the next block or the one before,
  it is given to them. (Doing this at every step changed nothing on the benchmark files and
  cost a 1.5 s embedding per step: a centroid that has absorbed some of the mixed speech
  keeps the margin below the bar.)

The frames ``latency`` seconds before the end of the window (they have seen that much right
context) are then settled: at audio time *t* the diarizer outputs the speakers of
``[t - latency - step, t - latency)``, so a settled turn is at most ``latency + step`` behind
what was fed (1.5 + 0.5 = 2 s by default). Settled output never changes; a final offline pass
(:meth:`StreamingDiarizer.final_pass`) re-diarizes the whole recording at the end and keeps the
live labels where the speakers agree.

Memory is bounded: one window of audio, one centroid per speaker (at most ``max_speakers``),
and the turn list itself (a few thousand tuples for a 3 h hearing). Audio is not kept; the
caller archives it and hands it back for the final pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from diarize.labels import is_unknown_label, match_by_overlap, unknown_label
from diarize.models import DiarizationModels
from diarize.offline import split_slots
from diarize.resegment import VoiceSplitOptions, window_vote
from diarize.voiceprints import Voiceprint
from scribe.errors import DiarizationError
from scribe.types import SAMPLE_RATE, AudioChunk, SpeakerTurn

if TYPE_CHECKING:
    from diarize.offline import OfflineDiarizer
    from scribe.settings import Settings


@dataclass(frozen=True)
class StreamingOptions:
    window: float = 5.0  # seconds of audio the segmentation sees at each step
    step: float = 0.5  # seconds between steps
    latency: float = 1.5  # right context before frames are settled (s)
    # cosine similarity to a speaker centroid needed to be that speaker
    same_speaker_similarity: float = 0.48
    # cosine similarity to an enrolled voiceprint needed to take that person's label
    voiceprint_similarity: float = 0.55
    # solo speech (s) a local speaker needs in the window to found a new speaker
    min_new_speaker_speech: float = 1.5
    # re-check an inherited label with an embedding this often (s)
    recheck_every: float = 1.0
    # the embedding of a local speaker uses its speech in the last this-many seconds
    embed_seconds: float = 2.5
    max_speakers: int = 12
    # stretches of speech shorter than this join their neighbour (s)
    min_run: float = 0.75
    # gap (s) under which two pieces of the same speaker form one turn
    merge_gap: float = 0.5
    # a stretch too short to found a speaker takes the nearest one from this similarity on
    # (otherwise it is settled as nobody's speech)
    short_stretch_similarity: float = 0.35
    # two stretches active together this long (s) are two different people
    overlap_seconds: float = 0.2
    # silent frames next to a speaker's speech whose speech probability reaches this are
    # given to that speaker (None: off). A quiet voice at the end of a 5 s window, with loud
    # speech before it, comes out as silence until it has seconds of right context.
    quiet_speech: float | None = 0.4
    # at the end of the stream, the tail that had no later step is heard again in short
    # windows, 0.5 s at a time (see diarize.resegment.split_by_voice); None: off
    voice_check: VoiceSplitOptions | None = VoiceSplitOptions(margin=0.25)

    @classmethod
    def from_settings(cls, settings: Settings) -> StreamingOptions:
        """The site's settings (the one place they are copied into these options); a setting
        left unset keeps the default written here."""
        d, o = settings.diarize, cls()
        return cls(
            window=o.window if d.live_window is None else d.live_window,
            step=o.step if d.live_step is None else d.live_step,
            latency=o.latency if d.live_latency is None else d.live_latency,
            voiceprint_similarity=o.voiceprint_similarity if d.voiceprint_match_threshold is None
            else d.voiceprint_match_threshold,
        )

    def __post_init__(self) -> None:
        if not 0 < self.step <= self.latency < self.window:
            raise DiarizationError(
                f"live diarization needs 0 < step <= latency < window (got step={self.step}, "
                f"latency={self.latency}, window={self.window})",
                fix="check SCRIBE_DIARIZE_LIVE_* settings",
            )


class _Speaker:
    __slots__ = ("label", "centroid", "weight", "fixed")

    def __init__(self, label: str, centroid: np.ndarray, weight: float, fixed: bool) -> None:
        self.label = label
        self.centroid = centroid / (np.linalg.norm(centroid) + 1e-9)
        self.weight = weight
        self.fixed = fixed  # enrolled: the voiceprint is not adapted to the room

    def update(self, emb: np.ndarray, weight: float) -> None:
        if self.fixed:
            return
        total = self.centroid * self.weight + emb * weight
        self.weight = min(self.weight + weight, 60.0)  # keep adapting slowly in long sessions
        self.centroid = total / (np.linalg.norm(total) + 1e-9)


class StreamingDiarizer:
    """Incremental diarizer for one live session.

    ``feed(chunk)`` takes consecutive ``AudioChunk``s (16 kHz mono float32, any length) and
    returns the speaker-turn pieces settled by that call: each ends at most
    ``latency + step`` (2 s by default) before the end of the audio fed so far, and
    consecutive calls never return the same stretch twice. ``turns`` is the whole settled
    timeline with pieces of one speaker joined. ``flush()`` settles the tail at the end.

    Labels are stable for the session: unknown voices are 说话人1, 说话人2, ... in order of first
    appearance, and a voice matching an enrolled ``Voiceprint`` is labelled with that person's
    ``label`` (their name). ``final_pass(samples, offline)`` re-diarizes the whole recording and
    returns corrected turns that keep these labels.
    """

    def __init__(
        self,
        models: DiarizationModels,
        options: StreamingOptions | None = None,
        voiceprints: Sequence[Voiceprint] = (),
    ) -> None:
        self.models = models
        self.options = opts = options or StreamingOptions()
        self._win = int(round(opts.window * SAMPLE_RATE))
        self._hop = int(round(opts.step * SAMPLE_RATE))
        self._speakers: list[_Speaker] = [
            _Speaker(vp.label, vp.embedding.astype(np.float64), 1e9, True) for vp in voiceprints
        ]
        self._enrolled = {vp.label for vp in voiceprints}
        self._next_unknown = 1
        self._t0: float | None = None
        self._buffer = np.zeros(0, dtype=np.float32)  # the last `window` seconds at most
        self._buffer_start = 0  # sample index (session clock) of _buffer[0]
        self._fed = 0  # samples fed so far
        self._next_step_end = self._hop  # sample index where the next window ends
        # the last window: (activity, mapping, start sample, activity as settled)
        self._prev: tuple[np.ndarray, list[int | None], int, np.ndarray] | None = None
        self._last_check: dict[int, int] = {}  # speaker index -> sample of last embedding
        self._settled = 0  # samples settled so far
        self._turns: list[list[Any]] = []  # [start, end, label]
        self._open: dict[str, int] = {}  # label -> index in _turns of its latest turn

    # -- public ---------------------------------------------------------------------------
    @property
    def settled_until(self) -> float:
        """Session time (s) up to which turns are final."""
        return (self._t0 or 0.0) + self._settled / SAMPLE_RATE

    @property
    def turns(self) -> list[SpeakerTurn]:
        """All settled turns so far, sorted, one speaker's touching pieces joined."""
        return sorted(SpeakerTurn(round(s, 3), round(e, 3), lab) for s, e, lab in self._turns)

    @property
    def speakers(self) -> list[str]:
        """Labels of the voices heard so far (enrolled ones only once heard)."""
        heard = {lab for _, _, lab in self._turns}
        return [s.label for s in self._speakers if s.label in heard]

    def feed(self, chunk: AudioChunk) -> list[SpeakerTurn]:
        samples = np.asarray(chunk.samples, dtype=np.float32).reshape(-1)
        if self._t0 is None:
            self._t0 = chunk.start
        expected = self._t0 + self._fed / SAMPLE_RATE
        gap = int(round((chunk.start - expected) * SAMPLE_RATE))
        if gap > 0:  # a dropped chunk: keep the clock right with silence
            samples = np.concatenate([np.zeros(gap, dtype=np.float32), samples])
        elif gap < 0:  # a repeated stretch: skip what was already fed
            samples = samples[-gap:]
        self._buffer = np.concatenate([self._buffer, samples])
        self._fed += len(samples)
        out: list[SpeakerTurn] = []
        while self._next_step_end <= self._fed:
            out += self._step(self._next_step_end)
            self._next_step_end += self._hop
        self._trim_buffer()
        return _merge(out)

    def flush(self) -> list[SpeakerTurn]:
        """End of the stream: settle everything fed so far."""
        if self._fed == 0:
            return []
        out: list[SpeakerTurn] = []
        end = self._fed
        if self._prev is not None and self._settled < end:
            _, mapping, win_start, seg = self._prev
            embeddings: dict[tuple[int, int], np.ndarray | None] = {}  # short windows, by span
            switched: tuple[int, int, int] | None = None
            for lo in range(self._settled, end, self._hop):
                hi = min(lo + self._hop, end)
                voices, switched = self._voice_check(
                    seg, mapping, win_start, lo, hi, embeddings, switched
                )
                out += self._settle(seg, voices, win_start, lo, hi)
        return _merge(out)

    def skip_to(self, t: float) -> None:
        """Go on from session time ``t`` (s): the audio before it will not be fed (the live
        path fell behind and paused speaker labels). Nothing is settled for the gap and no
        compute is spent on it; the speakers heard so far are kept, so a voice heard again
        gets its label back. ``flush()`` first settles what was fed before the gap."""
        if self._t0 is None:
            return  # nothing fed yet: the first chunk sets the clock
        target = int(round((t - self._t0) * SAMPLE_RATE))
        if target <= self._fed:
            return
        self._fed = self._settled = self._buffer_start = target
        self._buffer = np.zeros(0, dtype=np.float32)
        self._next_step_end = target + self._hop
        self._prev = None  # no continuity across the gap: every stretch is checked by voice
        self._last_check = {}
        self._open = {}

    def final_pass(
        self,
        samples: np.ndarray,
        offline: OfflineDiarizer,
        *,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
    ) -> list[SpeakerTurn]:
        """Re-diarize the whole session (``samples`` from its start) offline, keeping labels.

        Offline speakers whose centroid matches an enrolled voiceprint take that label; the
        others take the live label they overlap most (one-to-one), and voices the live pass
        never separated get the next free 说话人N. The result replaces ``turns``.
        """
        result = offline.analyse(
            samples, num_speakers=num_speakers, min_speakers=min_speakers, max_speakers=max_speakers
        )
        t0 = self._t0 or 0.0
        offline_turns = [SpeakerTurn(t.start + t0, t.end + t0, t.speaker) for t in result.turns]
        labels = sorted({t.speaker for t in offline_turns})
        mapping: dict[str, str] = {}
        # 1. enrolled voices by voiceprint
        enrolled = [s for s in self._speakers if s.fixed]
        if enrolled and labels:
            sims = np.array(
                [[float(_unit(result.centroids[lab]) @ s.centroid) if lab in result.centroids
                  else -1.0 for s in enrolled] for lab in labels]
            )
            rows, cols = linear_sum_assignment(sims, maximize=True)
            for r, c in zip(rows, cols):
                if sims[r, c] >= self.options.voiceprint_similarity:
                    mapping[labels[r]] = enrolled[c].label
        # 2. the rest by overlap with the live labels
        taken = set(mapping.values())
        mapping |= match_by_overlap(
            [t for t in offline_turns if t.speaker not in mapping],
            [t for t in self.turns if t.speaker not in taken],
        )
        # 3. voices the live pass did not separate
        for lab in labels:
            if lab not in mapping:
                mapping[lab] = self._new_label()
        final = sorted(SpeakerTurn(t.start, t.end, mapping[t.speaker]) for t in offline_turns)
        self._turns = [[t.start, t.end, t.speaker] for t in final]
        self._open = {}
        return final

    # -- steps ----------------------------------------------------------------------------
    def _step(self, end: int) -> list[SpeakerTurn]:
        opts = self.options
        win_start = end - self._win
        window = self._window(win_start, end)
        # shape: (num_frames, 3), 0/1; and (num_frames,) P(anybody speaks)
        raw, speech = self.models.segmenter.window_with_speech(window)
        # a local slot can carry two voices across a pause (see diarize.offline.split_runs):
        # each stretch of speech is its own local speaker, so a new stretch is checked by voice
        num_frames = raw.shape[0]
        slots = split_slots(raw, int(opts.min_run * num_frames / opts.window))
        seg = np.stack(slots, axis=1) if slots else np.zeros((num_frames, 0), dtype=raw.dtype)
        # shape: (num_frames, V)
        mapping = self._map_speakers(seg, window, win_start, end)
        if opts.quiet_speech is not None:
            settle = _fill_quiet(seg, speech, opts.quiet_speech)
        else:
            settle = seg
        self._prev = (seg, mapping, win_start, settle)
        settle_to = end - int(round(opts.latency * SAMPLE_RATE))
        if settle_to <= self._settled:
            return []
        return self._settle(settle, mapping, win_start, self._settled, settle_to)

    def _window(self, start: int, end: int) -> np.ndarray:
        """Samples [start, end) of the session; zeros before the session began."""
        lo = start - self._buffer_start
        if lo < 0:
            return np.concatenate(
                [np.zeros(-lo, dtype=np.float32), self._buffer[: end - self._buffer_start]]
            )
        return self._buffer[lo : end - self._buffer_start]

    def _trim_buffer(self) -> None:
        keep_from = self._next_step_end - self._win
        drop = keep_from - self._buffer_start
        if drop > 0:
            self._buffer = self._buffer[drop:].copy()
            self._buffer_start += drop

    def _frame_times(self, num_frames: int, win_start: int) -> np.ndarray:
        """Sample index of the middle of each segmentation frame."""
        return win_start + (np.arange(num_frames) + 0.5) * self._win / num_frames

    def _map_speakers(
        self, seg: np.ndarray, window: np.ndarray, win_start: int, end: int
    ) -> list[int | None]:
        opts = self.options
        num_frames, num_local = seg.shape
        frame_dur = opts.window / num_frames
        mapping: list[int | None] = [None] * num_local
        active = seg.sum(axis=0) * frame_dur  # seconds of speech per local speaker
        # continuity with the previous window
        if self._prev is not None:
            prev_seg, prev_map, prev_start, _ = self._prev
            shift = int(round((win_start - prev_start) / self._win * num_frames))
            if 0 < shift < num_frames:
                a = prev_seg[shift:]  # previous window, frames shared with this one
                b = seg[: num_frames - shift]
                inter = b.T @ a  # (local now, local before)
                sizes = np.maximum(b.sum(axis=0)[:, None], a.sum(axis=0)[None, :])
                agree = np.where(sizes > 0, inter / np.maximum(sizes, 1), 0.0)
                rows, cols = linear_sum_assignment(agree, maximize=True)
                for r, c in zip(rows, cols):
                    if agree[r, c] >= 0.5 and prev_map[c] is not None:
                        mapping[r] = prev_map[c]
        # voice: new local speakers, and inherited ones due for a check
        need = [
            s
            for s in range(num_local)
            if active[s] >= 0.5
            and (
                (m := mapping[s]) is None
                or end - self._last_check.get(m, -(10**12))
                >= opts.recheck_every * SAMPLE_RATE
            )
        ]
        if not need:
            return mapping
        # who a local speaker is *now*: only its recent speech counts (a window's local slot
        # can drift from one voice to another across a turn change)
        recent = (np.arange(num_frames) * frame_dur) >= opts.window - opts.embed_seconds
        seg_recent = seg * recent[:, None]
        solo = seg_recent * (seg.sum(axis=1, keepdims=True) < 2)
        solo_secs = solo.sum(axis=0) * frame_dur
        masks = np.where(solo_secs[None, :] >= 0.5, solo, seg_recent)
        feats = self.models.embedder.features(window)
        embs = self.models.embedder.embed_masked(feats, masks[:, need])
        ok = [i for i in range(len(need)) if not np.isnan(embs[i]).any()]
        if not ok:
            return mapping
        embs = np.stack([_unit(embs[i]) for i in ok])
        need = [need[i] for i in ok]
        # Slots are stretches of speech, so two slots of one window may well be one person
        # (one voice before and after a pause); only slots heard *at the same time* must be
        # different people. Best-evidenced slots choose first.
        both = (seg.T @ seg) * frame_dur  # seconds two slots are active together
        assigned: dict[int, int] = {}
        for r in sorted(range(len(need)), key=lambda r: -solo_secs[need[r]]):
            if not self._speakers:
                break
            s = need[r]
            banned = {
                mapping[j] for j in range(num_local)
                if j not in need and mapping[j] is not None and both[s, j] >= opts.overlap_seconds
            } | {k for q, k in assigned.items() if both[s, need[q]] >= opts.overlap_seconds}
            sims = np.stack([sp.centroid for sp in self._speakers]) @ embs[r]
            best = next((int(k) for k in np.argsort(-sims) if int(k) not in banned), None)
            if best is None:
                continue
            spk = self._speakers[best]
            if spk.fixed:
                limit = opts.voiceprint_similarity
            elif solo_secs[s] < opts.min_new_speaker_speech:
                # too short to found a speaker: the nearest one is a better guess than nobody
                limit = opts.short_stretch_similarity
            else:
                limit = opts.same_speaker_similarity
            if sims[best] >= limit:
                assigned[r] = best
        for r, s in enumerate(need):
            k = assigned.get(r)
            if k is None:
                if mapping[s] is not None:
                    continue  # keep the inherited label: one embedding is not enough to switch
                if solo_secs[s] < opts.min_new_speaker_speech:
                    continue  # too little to found a speaker; it stays unlabelled
                if len(self._speakers) >= opts.max_speakers + len(self._enrolled):
                    # no room: the nearest speaker takes it
                    k = int(np.argmax([embs[r] @ sp.centroid for sp in self._speakers]))
                else:
                    self._speakers.append(_Speaker(self._new_label(), embs[r], 0.0, False))
                    k = len(self._speakers) - 1
            mapping[s] = k
            self._last_check[k] = end
            if solo_secs[s] >= 0.5:
                self._speakers[k].update(embs[r], float(solo_secs[s]))
        return mapping

    def _voice_check(
        self,
        seg: np.ndarray,
        mapping: list[int | None],
        win_start: int,
        lo: int,
        hi: int,
        embeddings: dict[tuple[int, int], np.ndarray | None],
        switched: tuple[int, int, int] | None,
    ) -> tuple[list[int | None], tuple[int, int, int] | None]:
        """``mapping`` with local speakers that sound like another known speaker in the
        block [lo, hi) given to them.

        The block is heard in the short windows that cover it (``embeddings`` caches them
        across blocks). A change of hands needs two blocks in a row: this one and the next,
        or this one and the block before it (``switched``: the last block given to another
        voice, as (own speaker, new speaker, block end); returned updated).
        """
        vc = self.options.voice_check
        if vc is None or len(self._speakers) < 2:
            return mapping, switched
        times = self._frame_times(seg.shape[0], win_start)
        sel = (times >= lo) & (times < hi)
        if not sel.any():
            return mapping, switched
        busy = seg[sel].sum(axis=1)
        out = list(mapping)
        for s, k in enumerate(mapping):
            # only a voice heard alone through most of the block
            if k is None or (seg[sel, s] * (busy == 1)).mean() < 0.5:
                continue
            who = self._block_vote(lo, hi, k, vc, embeddings)
            if who == k:
                continue
            after = (
                self._block_vote(hi, hi + (hi - lo), k, vc, embeddings) if hi < self._fed else None
            )
            if after == who or switched == (k, who, lo):
                out[s] = who
                switched = (k, who, hi)
        return out, switched

    def _block_vote(
        self,
        lo: int,
        hi: int,
        own: int,
        vc: VoiceSplitOptions,
        embeddings: dict[tuple[int, int], np.ndarray | None],
    ) -> int:
        """The speaker most windows covering [lo, hi) clearly sound like (``own`` if none)."""
        win = int(round(vc.window * SAMPLE_RATE))
        votes = []
        for start in range(hi - win, lo + 1, self._hop):  # windows covering [lo, hi)
            a, b = max(start, 0, self._buffer_start), min(start + win, self._fed)
            if b - a < win * 2 // 3:  # the start or the end of the session
                continue
            if (a, b) not in embeddings:
                raw = self.models.embedder.embed(
                    self._buffer[a - self._buffer_start : b - self._buffer_start]
                )
                embeddings[(a, b)] = None if np.isnan(raw).any() else _unit(raw)
            emb = embeddings[(a, b)]
            if emb is None:
                votes.append(own)
                continue
            sims = np.stack([sp.centroid for sp in self._speakers]) @ emb
            floor = vc.min_similarity
            if self._speakers[int(np.argmax(sims))].fixed:  # an enrolled person: their own bar
                floor = max(floor, self.options.voiceprint_similarity)
            votes.append(window_vote(sims, own, vc, floor))
        if not votes:
            return own
        best = max(set(votes), key=votes.count)
        return best if votes.count(best) * 2 > len(votes) else own

    def _new_label(self) -> str:
        used = {s.label for s in self._speakers} | {t[2] for t in self._turns}
        while unknown_label(self._next_unknown) in used:
            self._next_unknown += 1
        label = unknown_label(self._next_unknown)
        self._next_unknown += 1
        return label

    def _settle(
        self, seg: np.ndarray, mapping: list[int | None], win_start: int, lo: int, hi: int
    ) -> list[SpeakerTurn]:
        """Turn pieces of session samples [lo, hi) from one window's segmentation."""
        num_frames = seg.shape[0]
        times = self._frame_times(num_frames, win_start)
        sel = (times >= lo) & (times < hi)
        self._settled = hi
        if not sel.any():
            return []
        t0 = self._t0 or 0.0
        frame_len = self._win / num_frames
        out: list[SpeakerTurn] = []
        for s, k in enumerate(mapping):
            if k is None:
                continue
            label = self._speakers[k].label
            act = seg[sel, s] > 0.5
            idx = np.flatnonzero(sel)
            run_start: int | None = None
            for j, on in zip(idx.tolist(), act):
                if on and run_start is None:
                    run_start = j
                if (not on or j == idx[-1]) and run_start is not None:
                    last = j if on else j - 1
                    a = max(lo, times[run_start] - frame_len / 2)
                    b = min(hi, times[last] + frame_len / 2)
                    piece = SpeakerTurn(
                        float(t0 + a / SAMPLE_RATE), float(t0 + b / SAMPLE_RATE), label
                    )
                    out.append(piece)
                    self._record(piece)
                    run_start = None
        return out

    def _record(self, piece: SpeakerTurn) -> None:
        i = self._open.get(piece.speaker)
        if i is not None and piece.start - self._turns[i][1] <= self.options.merge_gap:
            self._turns[i][1] = max(self._turns[i][1], piece.end)
            return
        self._open[piece.speaker] = len(self._turns)
        self._turns.append([piece.start, piece.end, piece.speaker])


def _fill_quiet(seg: np.ndarray, speech: np.ndarray, threshold: float) -> np.ndarray:
    """``seg`` with runs of silent frames whose speech probability reaches ``threshold``
    given to the local speaker(s) heard right before (first half) and after (second half)."""
    silent = seg.sum(axis=1) == 0
    quiet = silent & (speech >= threshold)
    if not quiet.any():
        return seg
    out = seg.copy()
    n = len(seg)
    i = 0
    while i < n:
        if not quiet[i]:
            i += 1
            continue
        j = i
        while j < n and quiet[j]:
            j += 1
        left = seg[i - 1] if i > 0 and not silent[i - 1] else None
        right = seg[j] if j < n and not silent[j] else None
        if left is not None and right is not None:
            mid = (i + j) // 2
            out[i:mid] = left
            out[mid:j] = right
        elif left is not None:
            out[i:j] = left
        elif right is not None:
            out[i:j] = right
        i = j
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    unit: np.ndarray = v / (np.linalg.norm(v) + 1e-9)
    return unit


def _merge(pieces: list[SpeakerTurn]) -> list[SpeakerTurn]:
    out: list[SpeakerTurn] = []
    for p in sorted(pieces, key=lambda t: (t.speaker, t.start)):
        if out and out[-1].speaker == p.speaker and p.start - out[-1].end <= 1e-3:
            out[-1] = SpeakerTurn(out[-1].start, max(out[-1].end, p.end), p.speaker)
        else:
            out.append(p)
    return sorted(SpeakerTurn(round(t.start, 3), round(t.end, 3), t.speaker) for t in out)


__all__ = ["StreamingDiarizer", "StreamingOptions", "is_unknown_label"]
