"""Offline diarization of a whole recording.

pyannote's recipe, with CAM++ in place of its hub-only embedding model:

1. segmentation-3.0 over sliding 10 s windows -> per window, up to 3 *local* speakers, frame
   by frame, overlap included;
2. each local speaker is cut at its pauses into stretches (segmentation-3.0 often keeps one
   local speaker across a pause in which the voice changes); one CAM++ embedding per
   (window, stretch), from the frames where it is the only voice (all of them when it never is);
3. agglomerative clustering (average linkage, cosine; see :mod:`diarize.clustering`) of those
   embeddings into *global* speakers, honouring a known count or bounds, with the threshold
   deciding the count otherwise; a small cluster of a voice unlike all others stays a speaker;
   stretches too short to shape the clusters are assigned to the nearest one;
4. reconstruction: per frame, the estimated number of simultaneous speakers, taken from the
   most active global speakers -> turns, overlapping where people talk at once;
5. a second look with the speakers known (:mod:`diarize.resegment`): short windows along long
   turns give a stretch that clearly sounds like another speaker to them (a change of voice
   without a pause), then same-speaker pauses under 0.3 s are bridged and edges padded 50 ms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from diarize.labels import first_appearance_order, unknown_label
from diarize.models import DiarizationModels, Embedder
from diarize.resegment import TidyOptions, VoiceSplitOptions, split_by_voice, tidy_turns
from scribe.errors import DiarizationError

if TYPE_CHECKING:
    from scribe.settings import Settings
from scribe.types import SAMPLE_RATE, SpeakerTurn


@dataclass(frozen=True)
class DiarizationOptions:
    """Knobs of the offline pipeline (defaults come from ``Settings``)."""

    # Agglomerative clustering cut: average linkage, cosine distance of CAM++ embeddings
    # (0.6 = two groups of stretches are one voice when their average similarity is above
    # 0.4). Used only when the speaker count is not given. Chosen on the four diarization files
    # of ../shared/data plus the tests' 8 kHz, single-speaker and enrolment recordings
    # together, not per file: 0.58-0.62 gives every one of them its right count, 0.55 splits
    # the AMI speaker, 0.65 merges the two callers of the pyannote sample (docs/diarization.md).
    threshold: float = 0.6
    # linkage of the agglomerative clustering (see diarize.clustering for why "average")
    linkage: str = "average"
    # a small cluster less similar than this to every large one is a speaker of its own
    # (a short turn of a distinct voice); None folds every small cluster, as pyannote does.
    # On the 13 development files the small clusters were a distinct voice at 0.12 and
    # fragments of a known voice (a far, reverberant party) at 0.29 and 0.39: 0.2 is the middle
    # of that gap (0.3, chosen on four clean files, sat 0.014 above the 0.29 fragment)
    distinct_similarity: float | None = 0.2
    # a local speaker needs this much solo speech in a window to shape the clusters (s);
    # shorter ones are only assigned to the nearest cluster afterwards
    min_clean_speech: float = 1.0
    # clusters with fewer embeddings are folded into the nearest large one
    min_cluster_size: int = 6
    # gaps of the same speaker shorter than this are filled (s)
    min_duration_off: float = 0.1
    # turns shorter than this are dropped (s): clicks and breaths
    min_duration_on: float = 0.1
    # segmentation-3.0 often keeps one local speaker across a pause in which the voice
    # changes (measured on ../shared/data: 8-10 s "local speakers" spanning two people). So
    # every stretch of a local speaker between pauses is embedded and clustered on its own;
    # stretches shorter than min_run (s) stay joined to their neighbour.
    split_runs: bool = True
    min_run: float = 0.75
    # a pause the voice-activity detector hears for this long (s) also cuts a stretch
    min_pause: float = 0.25
    # after clustering: short windows along long turns find a change of voice without a
    # pause; then short same-speaker pauses are bridged and edges padded (diarize.resegment).
    # None turns a step off.
    split_by_voice: VoiceSplitOptions | None = field(default_factory=VoiceSplitOptions)
    tidy: TidyOptions | None = field(default_factory=TidyOptions)

    @classmethod
    def from_settings(cls, settings: Settings) -> DiarizationOptions:
        """The site's settings (the one place they are copied into these options)."""
        if settings.diarize.cluster_threshold is None:
            return cls()
        return cls(threshold=settings.diarize.cluster_threshold)


@dataclass(frozen=True)
class Prepared:
    """The costly part of a diarization (``OfflineDiarizer.prepare``), before clustering."""

    segmentations: Any  # pyannote_adapter.Windowed (num_chunks, num_frames, V), 0/1
    count: Any  # pyannote_adapter.Windowed (total_frames, 1): how many speak in each frame
    embeddings: np.ndarray = field(repr=False)  # (num_chunks, V, 192), NaN for silent slots


@dataclass(frozen=True)
class DiarizationResult:
    """Turns plus one centroid embedding per speaker label (for voiceprint matching)."""

    turns: tuple[SpeakerTurn, ...]
    centroids: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)
    duration: float = 0.0

    @property
    def speakers(self) -> list[str]:
        return list(self.centroids)


def labelled_result(
    raw: Sequence[SpeakerTurn], centroids: Mapping[str, np.ndarray], duration: float,
    tidy: TidyOptions | None,
) -> DiarizationResult:
    """The turns tidied and named 说话人1, 2, ... by first appearance, each label with its
    cluster's centroid: the one ending of the whole-recording and the incremental passes."""
    turns_in = tidy_turns(raw, duration, tidy) if tidy is not None else list(raw)
    turns_in.sort()
    order = {k: unknown_label(i + 1) for i, k in enumerate(first_appearance_order(turns_in))}
    turns = tuple(SpeakerTurn(round(t.start, 3), round(t.end, 3), order[t.speaker]) for t in turns_in)
    return DiarizationResult(turns, {order[k]: centroids[k] for k in order if k in centroids}, duration)


def check_speaker_bounds(
    num_speakers: int | None, min_speakers: int | None, max_speakers: int | None
) -> None:
    for name, value in (
        ("num_speakers", num_speakers),
        ("min_speakers", min_speakers),
        ("max_speakers", max_speakers),
    ):
        if value is not None and value < 1:
            raise DiarizationError(
                f"{name.replace('_', '-')} must be at least 1 (got {value})",
                fix="give a positive number of speakers, or leave it out to let it be estimated",
            )
    if min_speakers and max_speakers and min_speakers > max_speakers:
        raise DiarizationError(
            f"min-speakers ({min_speakers}) is larger than max-speakers ({max_speakers})",
            fix="swap them or widen the range",
        )


def _check_samples(samples: np.ndarray) -> np.ndarray:
    samples = np.asarray(samples)
    if samples.ndim != 1:
        raise DiarizationError(
            f"audio must be mono, shape (num_samples,); got shape {samples.shape}",
            fix="decode with scribe.audio.decode_audio, which mixes down to 16 kHz mono",
        )
    if not np.issubdtype(samples.dtype, np.floating):
        raise DiarizationError(
            f"audio must be float samples in [-1, 1]; got {samples.dtype}",
            fix="decode with scribe.audio.decode_audio",
        )
    return samples.astype(np.float32, copy=False)


class OfflineDiarizer:
    """Who spoke when in a whole recording. Build once (models load once), reuse for many files.

    >>> diarizer = scribe.services.offline_diarizer(settings, load_diarization(settings))
    >>> turns = diarizer.diarize(decode_audio(path).samples, max_speakers=6)

    ``diarize(samples, *, num_speakers=None, min_speakers=None, max_speakers=None)`` takes 16 kHz
    mono float32 and returns ``SpeakerTurn``s sorted by start, labelled 说话人1, 说话人2, ... in order
    of first appearance; turns of different speakers overlap where people talk at once.
    Silence or noise alone gives ``[]``. Thread-safe (the models serialise their own calls).
    """

    def __init__(
        self,
        models: DiarizationModels,
        options: DiarizationOptions | None = None,
        *,
        workers: int = 1,
    ) -> None:
        self.models = models
        self.options = options or DiarizationOptions()
        # threads computing embeddings side by side (torch itself runs one thread per call)
        self.workers = max(1, workers)

    # -- public ---------------------------------------------------------------------------
    def diarize(
        self,
        samples: np.ndarray,
        *,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
    ) -> list[SpeakerTurn]:
        """Speaker turns of ``samples`` (see the class docstring)."""
        result = self.analyse(
            samples,
            num_speakers=num_speakers,
            min_speakers=min_speakers,
            max_speakers=max_speakers,
        )
        return list(result.turns)

    def analyse(
        self,
        samples: np.ndarray,
        *,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
    ) -> DiarizationResult:
        """Like :meth:`diarize`, plus each speaker's centroid embedding."""
        check_speaker_bounds(num_speakers, min_speakers, max_speakers)
        samples = _check_samples(samples)
        duration = len(samples) / SAMPLE_RATE
        if duration < 0.5:
            return DiarizationResult((), {}, duration)

        prepared = self.prepare(samples)
        if prepared is None:
            return DiarizationResult((), {}, duration)
        return self.finish(
            prepared, duration, num_speakers, min_speakers, max_speakers, samples=samples
        )

    def prepare(self, samples: np.ndarray) -> Prepared | None:
        """Segmentation, speaker count and embeddings (the costly part); None when silent."""
        from diarize import pyannote_adapter as pa

        segmenter = self.models.segmenter
        segmentations = segmenter(samples)
        # shape: (num_chunks, num_frames, 3), 0/1
        count = pa.speaker_count(segmentations, segmenter.frames)
        # shape: (total_frames, 1)
        if np.nanmax(count.data) == 0:
            return None
        if self.options.split_runs:
            pauses = None
            if self.models.vad is not None:
                pauses = silent_frames(
                    self.models.vad.speech_probs(samples), self.options.min_pause
                )
            segmentations = split_runs(segmentations, self.options.min_run, pauses)
            # shape: (num_chunks, num_frames, V): one slot per stretch of one local speaker
        embeddings = self._embeddings(samples, segmentations)
        # shape: (num_chunks, 3, 192), NaN for inactive local speakers
        return Prepared(segmentations, count, embeddings)

    def finish(
        self,
        prepared: Prepared,
        duration: float,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        *,
        samples: np.ndarray | None = None,
    ) -> DiarizationResult:
        """Clustering and reconstruction from :meth:`prepare`'s output; with ``samples``,
        changes of voice without a pause are found too (:mod:`diarize.resegment`)."""
        from diarize import pyannote_adapter as pa

        segmentations, count, embeddings = prepared.segmentations, prepared.count, prepared.embeddings
        binarized = segmentations
        count = pa.windowed(count.data.copy(), count.sliding_window)
        hard_clusters, centroids = self._cluster(
            embeddings, binarized, num_speakers, min_speakers, max_speakers
        )
        inactive = np.sum(binarized.data, axis=1) == 0
        hard_clusters[inactive] = -2
        num_chunks, num_frames, _ = segmentations.data.shape
        num_clusters = int(np.max(hard_clusters)) + 1 if np.any(hard_clusters >= 0) else 0
        if num_clusters == 0:
            return DiarizationResult((), {}, duration)
        # the frame-level count can exceed the speakers found (segmentation over-counts in
        # noise); pyannote would invent a nameless extra speaker for those frames
        count.data = np.minimum(count.data, num_clusters).astype(np.int8)
        clustered = np.full((num_chunks, num_frames, num_clusters), np.nan)
        for c, (cluster, (_, seg)) in enumerate(zip(hard_clusters, segmentations)):
            for k in np.unique(cluster):
                if k == -2:
                    continue
                clustered[c, :, k] = np.max(seg[:, cluster == k], axis=1)
        raw = [
            SpeakerTurn(max(0.0, start), min(duration, end), label)
            for start, end, label in pa.to_turns(
                clustered,
                segmentations,
                count,
                min_duration_on=self.options.min_duration_on,
                min_duration_off=self.options.min_duration_off,
            )
            if end > start
        ]
        by_cluster = {str(k): centroids[k] for k in range(len(centroids))}
        if samples is not None and self.options.split_by_voice is not None:
            raw = split_by_voice(
                samples,
                raw,
                by_cluster,
                self.models.embedder,
                self.options.split_by_voice,
                workers=self.workers,
            )
        return labelled_result(raw, by_cluster, duration, self.options.tidy)

    # -- steps ----------------------------------------------------------------------------
    def _embeddings(self, samples: np.ndarray, binarized) -> np.ndarray:  # type: ignore[no-untyped-def]
        embedder: Embedder = self.models.embedder
        window = binarized.sliding_window
        num_chunks, num_frames, num_speakers = binarized.data.shape
        chunk_len = int(round(window.duration * SAMPLE_RATE))
        out = np.full((num_chunks, num_speakers, embedder.dimension), np.nan, dtype=np.float32)
        min_frames = self.options.min_clean_speech * num_frames / window.duration

        def one(c: int) -> None:
            chunk = window[c]
            masks = np.nan_to_num(binarized.data[c], nan=0.0)
            if not masks.any():
                return
            start = int(round(chunk.start * SAMPLE_RATE))
            piece = samples[start : start + chunk_len]
            if len(piece) < chunk_len:
                piece = np.pad(piece, (0, chunk_len - len(piece)))
            feats = embedder.features(piece)
            solo = masks * (masks.sum(axis=1, keepdims=True) < 2)
            use = np.where(solo.sum(axis=0, keepdims=True) >= min_frames, solo, masks)
            out[c] = embedder.embed_masked(feats, use)

        if self.workers > 1 and num_chunks > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(self.workers) as pool:
                list(pool.map(one, range(num_chunks)))
        else:
            for c in range(num_chunks):
                one(c)
        return out

    def _cluster(
        self,
        embeddings: np.ndarray,
        binarized: Any,  # pyannote_adapter.Windowed
        num_speakers: int | None,
        min_speakers: int | None,
        max_speakers: int | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        from diarize.clustering import cluster_embeddings

        return cluster_embeddings(
            embeddings,
            binarized,
            # stretches of one voice in one window may legitimately share a cluster
            constrained=not self.options.split_runs,
            threshold=self.options.threshold,
            method=self.options.linkage,
            distinct_similarity=self.options.distinct_similarity,
            min_clean_seconds=self.options.min_clean_speech,
            min_cluster_size=self.options.min_cluster_size,
            num_speakers=num_speakers,
            min_speakers=min_speakers,
            max_speakers=max_speakers,
        )


def split_slots(
    data: np.ndarray, min_frames: int, pauses: np.ndarray | None = None
) -> list[np.ndarray]:
    """Stretches (between pauses) of each local speaker of one window: a list of 0/1 masks.

    ``data``: (num_frames, S) activity. ``pauses``: (num_frames,) frames the voice-activity
    detector hears as silence; a stretch is also cut there even when the segmentation bridges
    the pause (the cut frames go to the neighbouring stretches, so no speech is lost).
    Stretches shorter than ``min_frames`` are merged into the stretch before (or after) them in
    the same slot, so every mask has enough speech for an embedding.
    """
    num_frames, num_local = data.shape
    slots: list[np.ndarray] = []
    for s in range(num_local):
        full = data[:, s] > 0.5
        if not full.any():
            continue
        act = full & ~pauses if pauses is not None else full
        if not act.any():
            act = full
        edges = np.diff(np.concatenate([[0], act.astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        groups: list[list[int]] = []  # [start, end) frame ranges
        for a, b in zip(starts.tolist(), ends.tolist()):
            if groups and (b - a < min_frames or groups[-1][1] - groups[-1][0] < min_frames):
                groups[-1][1] = b  # too short to stand alone: join the previous stretch
            else:
                groups.append([a, b])
        for g, (a, b) in enumerate(groups):
            # cut halfway through the gap to the next stretch: bridged pause frames are kept
            lo = 0 if g == 0 else (groups[g - 1][1] + a) // 2
            hi = num_frames if g == len(groups) - 1 else (b + groups[g + 1][0]) // 2
            mask = np.zeros(num_frames, dtype=data.dtype)
            mask[lo:hi] = full[lo:hi]
            slots.append(mask)
    return slots


def split_runs(segmentations, min_run: float, pause_probs: np.ndarray | None = None):  # type: ignore[no-untyped-def]
    """(num_chunks, num_frames, S) -> (num_chunks, num_frames, V): one slot per stretch of
    each local speaker of each window (see :func:`split_slots`); V is the most stretches any
    window has, unused slots are silent. ``pause_probs``: Silero speech probability per 32 ms
    of the recording, when a voice-activity detector is loaded."""
    from diarize import pyannote_adapter as pa

    data = np.nan_to_num(segmentations.data, nan=0.0)
    num_chunks, num_frames, _ = data.shape
    window = segmentations.sliding_window
    min_frames = int(min_run * num_frames / window.duration)
    per_chunk = []
    for c in range(num_chunks):
        pauses = None
        if pause_probs is not None:
            t = window[c].start + (np.arange(num_frames) + 0.5) * window.duration / num_frames
            idx = np.minimum((t * SAMPLE_RATE / 512).astype(int), len(pause_probs) - 1)
            pauses = pause_probs[np.maximum(idx, 0)]
        per_chunk.append(split_slots(data[c], min_frames, pauses))
    width = max(1, max(len(s) for s in per_chunk))
    out = np.zeros((num_chunks, num_frames, width), dtype=data.dtype)
    for c, slots in enumerate(per_chunk):
        for v, mask in enumerate(slots):
            out[c, :, v] = mask
    return pa.windowed(out, segmentations.sliding_window)


def silent_frames(probs: np.ndarray, min_pause: float) -> np.ndarray:
    """Silero speech probabilities (per 32 ms) -> True where a pause of ``min_pause`` s runs."""
    quiet = probs < 0.35
    need = max(1, int(round(min_pause * SAMPLE_RATE / 512)))
    out = np.zeros_like(quiet)
    edges = np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]]))
    for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        if b - a >= need:
            out[a:b] = True
    return out
