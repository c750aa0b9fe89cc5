"""The offline diarization of a recording that is still growing: embed as it settles, cluster once.

:class:`OfflineDiarizer` spends nearly all its time in two places that depend only on the audio
near each moment: the segmentation + CAM++ embedding of each 10 s window (``prepare``), and the
short-window embeddings that look for a change of voice inside long turns (``split_by_voice``).
Clustering and reconstruction are cheap. So while a hearing is recorded:

* every segmentation window of the *whole recording's* grid (start ``k * step``) whose audio is
  settled is segmented and embedded once, exactly as ``prepare`` does it for the whole file
  (same window, same stretches, same masks), and kept as a :class:`Piece`;
* 1.5 s windows every 0.5 s on one global grid are embedded once where the VAD hears speech.

At the end, :meth:`IncrementalDiarization.result` prepares only what is left (the windows that
reach into the last seconds), stitches the pieces into one ``Prepared``, clusters and
reconstructs with ``OfflineDiarizer.finish`` and runs the change-of-voice vote from the cached
windows. The one difference from the whole-file pass: the vote's windows sit on a global 0.5 s
grid instead of one starting at each turn's start (a block boundary moves by < 0.5 s), and each
piece's VAD pauses come from its own slice (Silero's state starts fresh at the slice).
Pieces are plain arrays (``to_npz`` / ``from_npz``), so a restart continues from them.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol, Union

import numpy as np

from diarize.labels import merge_turns
from diarize.offline import DiarizationResult, OfflineDiarizer, Prepared, labelled_result
from diarize.resegment import VoiceSplitOptions, window_vote
from scribe.types import SAMPLE_RATE, SpeakerTurn

_TOUCHING = 1e-6


class AudioLike(Protocol):
    """A recording read where asked (``scribe.live.alongside.ArchiveAudio``): float samples."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: slice) -> np.ndarray: ...


Samples = Union[np.ndarray, AudioLike]
FBANK_HOP_S = 0.01  # CAM++ fbank frames (diarize.models.CamPlusEmbedder.features)


@dataclass(frozen=True)
class Piece:
    """Windows ``chunk0 .. chunk0 + n - 1`` of the recording's segmentation grid, prepared, and
    the change-of-voice windows ``grid0 .. grid0 + len(grid_embeddings) - 1``."""

    chunk0: int
    num_chunks: int
    # (num_chunks, num_frames, V) 0/1; None when the windows hold no speech at all
    segmentations: np.ndarray | None = field(repr=False)
    embeddings: np.ndarray | None = field(repr=False)  # (num_chunks, V, 192), NaN for silent slots
    grid0: int = 0
    grid_embeddings: np.ndarray = field(default_factory=lambda: np.zeros((0, 192), np.float32), repr=False)

    def to_npz(self) -> bytes:
        buf = io.BytesIO()
        arrays = {"meta": np.array([self.chunk0, self.num_chunks, self.grid0], dtype=np.int64),
                  "grid": self.grid_embeddings.astype(np.float32)}
        if self.segmentations is not None and self.embeddings is not None:
            arrays["seg"] = self.segmentations.astype(np.uint8)
            arrays["emb"] = self.embeddings.astype(np.float32)
        np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]
        return buf.getvalue()

    @classmethod
    def from_npz(cls, data: bytes) -> Piece:
        with np.load(io.BytesIO(data)) as z:
            chunk0, n, grid0 = (int(v) for v in z["meta"])
            seg = z["seg"].astype(np.float32) if "seg" in z else None
            emb = z["emb"] if "emb" in z else None
            return cls(chunk0, n, seg, emb, grid0, z["grid"])


class IncrementalDiarization:
    """One recording's diarization, prepared piece by piece as its audio settles.

    ``settle(samples, upto)`` prepares every window that ends by ``upto`` s (``samples``: the
    recording from its start, at least up to ``upto``) and returns the new :class:`Piece` (or
    None when no window is complete yet); ``result(samples)`` at the end. Not thread-safe: one
    owner (the second-pass worker, then the final pass) at a time.
    """

    def __init__(self, offline: OfflineDiarizer, pieces: Sequence[Piece] = ()) -> None:
        self.offline = offline
        self.options = offline.options
        segmenter = offline.models.segmenter
        self.step = float(getattr(segmenter, "step", 1.0))
        self.window = float(getattr(segmenter, "duration", 10.0))
        self.vote = self.options.split_by_voice
        self.pieces: list[Piece] = []
        for p in pieces:
            self.add(p)

    # -- bookkeeping ------------------------------------------------------------------------
    @property
    def next_chunk(self) -> int:
        return self.pieces[-1].chunk0 + self.pieces[-1].num_chunks if self.pieces else 0

    @property
    def next_grid(self) -> int:
        return self.pieces[-1].grid0 + len(self.pieces[-1].grid_embeddings) if self.pieces else 0

    @property
    def settled_s(self) -> float:
        """Audio whose windows are all prepared (s from the start)."""
        return self.next_chunk * self.step

    def add(self, piece: Piece) -> None:
        if piece.chunk0 != self.next_chunk or piece.grid0 != self.next_grid:
            raise ValueError(f"piece at window {piece.chunk0} / grid {piece.grid0} does not follow "
                             f"{self.next_chunk} / {self.next_grid}")
        self.pieces.append(piece)

    # -- while recording ----------------------------------------------------------------------
    def settle(self, samples: Samples, upto: float) -> Piece | None:
        last = int(np.floor((upto - self.window) / self.step + 1e-9))
        if last < self.next_chunk:
            return None
        piece = self._prepare(samples, self.next_chunk, last + 1)
        self.add(piece)
        return piece

    def _prepare(self, samples: Samples, c0: int, c1: int | None) -> Piece:
        """Windows c0 .. c1 - 1 (None: to the end, the last one padded as pyannote pads it)."""
        a = int(round(c0 * self.step * SAMPLE_RATE))
        b = len(samples) if c1 is None else int(round(((c1 - 1) * self.step + self.window) * SAMPLE_RATE))
        part = np.ascontiguousarray(samples[a:b], dtype=np.float32)
        n = _num_chunks(len(part), self.window, self.step) if c1 is None else c1 - c0
        seg = emb = None
        if n and len(part) / SAMPLE_RATE >= 0.5:
            prepared = self.offline.prepare(part)
            if prepared is not None:
                seg = np.nan_to_num(prepared.segmentations.data, nan=0.0)
                emb = prepared.embeddings
                n = seg.shape[0]
        # change-of-voice windows that end inside this part and start after the previous part's
        g0 = self.next_grid
        end_s = b / SAMPLE_RATE
        grid = self._grid_embeddings(samples, g0, end_s)
        return Piece(c0, n, seg, emb, g0, grid)

    def _grid_embeddings(self, samples: Samples, g0: int, end_s: float) -> np.ndarray:
        """Embeddings of the vote windows g0, g0 + 1, ... that end by ``end_s`` (NaN rows where
        the VAD hears no speech: those are never needed)."""
        dim = int(getattr(self.offline.models.embedder, "dimension", 192))
        if self.vote is None:
            return np.zeros((0, dim), np.float32)
        hop, win = self.vote.hop, self.vote.window
        g1 = int(np.floor((end_s - win) / hop + 1e-9)) + 1
        if g1 <= g0:
            return np.zeros((0, dim), np.float32)
        out = np.full((g1 - g0, dim), np.nan, dtype=np.float32)
        a = int(round(g0 * hop * SAMPLE_RATE))
        b = min(len(samples), int(round(((g1 - 1) * hop + win) * SAMPLE_RATE)))
        part = np.ascontiguousarray(samples[a:b], dtype=np.float32)
        vad = self.offline.models.vad
        keep = np.ones(g1 - g0, dtype=bool)
        if vad is not None and len(part):
            probs = vad.speech_probs(part)
            per = 512 / SAMPLE_RATE
            for i in range(g1 - g0):
                lo, hi = int(i * hop / per), int(np.ceil((i * hop + win) / per))
                keep[i] = bool(np.any(probs[lo:hi] >= 0.5))
        if not keep.any():
            return out
        embedder = self.offline.models.embedder
        feats = embedder.features(part)
        width = int(round(win / FBANK_HOP_S))
        starts = [int(round(i * hop / FBANK_HOP_S)) for i in range(g1 - g0) if keep[i]]
        fit = [f for f in starts if f + width <= feats.shape[0]]
        if fit:
            embs = embedder.embed_windows(feats, fit, width)
            index = {f: i for i, f in enumerate(fit)}
            for i in range(g1 - g0):
                f = int(round(i * hop / FBANK_HOP_S))
                if keep[i] and f in index:
                    out[i] = embs[index[f]]
        return out

    # -- at the end -----------------------------------------------------------------------
    def finish_pieces(self, samples: Samples) -> Piece | None:
        """Prepare what is left (the windows reaching into the recording's last seconds)."""
        expected = _num_chunks(len(samples), self.window, self.step)
        if self.next_chunk >= expected:
            return None
        piece = self._prepare(samples, self.next_chunk, None)
        self.add(piece)
        return piece

    def result(
        self,
        samples: Samples,
        *,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
    ) -> DiarizationResult:
        """What ``OfflineDiarizer.analyse(samples)`` gives, from the pieces (plus the tail)."""
        from pyannote.audio.pipelines.utils.diarization import SpeakerDiarizationMixin
        from pyannote.core import SlidingWindow, SlidingWindowFeature

        duration = len(samples) / SAMPLE_RATE
        if duration < 0.5:
            return DiarizationResult((), {}, duration)
        self.finish_pieces(samples)
        shaped = [p for p in self.pieces if p.segmentations is not None]
        if not shaped:
            return DiarizationResult((), {}, duration)
        frames = shaped[0].segmentations.shape[1]  # type: ignore[union-attr]
        width = max(p.segmentations.shape[2] for p in shaped)  # type: ignore[union-attr]
        dim = shaped[0].embeddings.shape[2]  # type: ignore[union-attr]
        segs, embs = [], []
        for p in self.pieces:
            seg = np.zeros((p.num_chunks, frames, width), dtype=np.float32)
            emb = np.full((p.num_chunks, width, dim), np.nan, dtype=np.float32)
            if p.segmentations is not None and p.embeddings is not None:
                v = p.segmentations.shape[2]
                seg[:, :, :v] = p.segmentations
                emb[:, :v] = p.embeddings
            segs.append(seg)
            embs.append(emb)
        chunks = SlidingWindow(start=0.0, duration=self.window, step=self.step)
        segmentations = SlidingWindowFeature(np.concatenate(segs), chunks)
        count = SpeakerDiarizationMixin.speaker_count(
            segmentations, self.offline.models.segmenter.frames, warm_up=(0.0, 0.0)
        )
        if np.nanmax(count.data) == 0:
            return DiarizationResult((), {}, duration)
        # clustering and reconstruction as the whole-file pass; the change-of-voice vote and the
        # tidying are done here, from the cached windows
        plain = OfflineDiarizer(
            self.offline.models, replace(self.options, split_by_voice=None, tidy=None),
            workers=self.offline.workers,
        )
        first = plain.finish(
            Prepared(segmentations, count, np.concatenate(embs)), duration,
            num_speakers, min_speakers, max_speakers,
        )
        raw = list(first.turns)
        if self.vote is not None:
            raw = self._split_by_voice(raw, first.centroids)
        return labelled_result(raw, first.centroids, duration, self.options.tidy)

    def _split_by_voice(
        self, turns: Sequence[SpeakerTurn], centroids: Mapping[str, np.ndarray]
    ) -> list[SpeakerTurn]:
        """``diarize.resegment.split_by_voice`` on the global window grid (cached embeddings)."""
        opts = self.vote or VoiceSplitOptions()
        labels = [k for k in centroids if np.isfinite(centroids[k]).all()]
        if len(labels) < 2:
            return sorted(turns)
        cents = np.stack([_unit(centroids[k]) for k in labels])
        grid = np.concatenate([p.grid_embeddings for p in self.pieces]) if self.pieces else np.zeros((0, 192))
        hop, win = opts.hop, opts.window
        out: list[SpeakerTurn] = []
        for turn in turns:
            if turn.duration < opts.min_turn or turn.speaker not in labels:
                out.append(turn)
                continue
            own = labels.index(turn.speaker)
            k0 = int(np.ceil(turn.start / hop - 1e-9))
            k1 = int(np.floor((turn.end - win) / hop + 1e-9))  # last window inside the turn
            votes: dict[int, int] = {}
            for k in range(k0, min(k1, len(grid) - 1) + 1):
                emb = grid[k]
                votes[k] = own if np.isnan(emb).any() else window_vote(cents @ _unit(emb), own, opts)
            # blocks between grid points (the first and last may be shorter than a hop)
            edges = [turn.start] + [k * hop for k in range(k0, int(np.floor(turn.end / hop - 1e-9)) + 1)
                                    if turn.start < k * hop < turn.end] + [turn.end]
            blocks = []
            for lo, hi in zip(edges[:-1], edges[1:]):
                cover = [v for k, v in votes.items() if k * hop <= lo + 1e-9 and k * hop + win >= hi - 1e-9]
                blocks.append(max(set(cover), key=cover.count) if cover else own)
            min_blocks = int(np.ceil(opts.min_stretch / hop - 1e-9))
            i = 0
            while i < len(blocks):
                j = i
                while j < len(blocks) and blocks[j] == blocks[i]:
                    j += 1
                who = blocks[i] if (blocks[i] == own or j - i >= min_blocks) else own
                out.append(SpeakerTurn(edges[i], edges[j], labels[who]))
                i = j
        return merge_turns(out, max_gap=_TOUCHING)


def _num_chunks(num_samples: int, window: float, step: float) -> int:
    """How many windows pyannote's sliding inference makes over ``num_samples``."""
    w, s = int(round(window * SAMPLE_RATE)), int(round(step * SAMPLE_RATE))
    if num_samples < w:
        return 1 if num_samples else 0
    full = (num_samples - w) // s + 1
    return full + int((num_samples - w) % s > 0)


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    unit: np.ndarray = v / (np.linalg.norm(v) + 1e-9)
    return unit
