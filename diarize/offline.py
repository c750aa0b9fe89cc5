"""Offline diarization of a whole recording.

pyannote's recipe, with CAM++ in place of its hub-only embedding model:

1. segmentation-3.0 over sliding 10 s windows -> per window, up to 3 *local* speakers, frame
   by frame, overlap included;
2. one CAM++ embedding per (window, local speaker), from the frames where that speaker talks
   alone (all of its frames when it never does);
3. agglomerative clustering of those embeddings into *global* speakers, honouring a known count
   or bounds, with the threshold deciding the count otherwise; each window's local speakers
   then go to distinct global speakers (Hungarian assignment);
4. reconstruction: per frame, the estimated number of simultaneous speakers, taken from the
   most active global speakers -> turns, overlapping where people talk at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from diarize.labels import unknown_label
from diarize.models import DiarizationModels, SpeakerEmbedder
from scribe.errors import DiarizationError
from scribe.types import SAMPLE_RATE, SpeakerTurn


@dataclass(frozen=True)
class DiarizationOptions:
    """Knobs of the offline pipeline (defaults come from ``Settings``)."""

    # centroid-linkage cut on unit-length embeddings (euclidean); 1.0 ~ cosine 0.5
    threshold: float = 1.0
    # a local speaker needs this much solo speech in a window to shape the clusters (s);
    # shorter ones are only assigned to the nearest cluster afterwards
    min_clean_speech: float = 1.0
    # clusters with fewer embeddings are folded into the nearest large one
    min_cluster_size: int = 6
    # gaps of the same speaker shorter than this are filled (s)
    min_duration_off: float = 0.1
    # turns shorter than this are dropped (s): clicks and breaths
    min_duration_on: float = 0.1


@dataclass(frozen=True)
class DiarizationResult:
    """Turns plus one centroid embedding per speaker label (for voiceprint matching)."""

    turns: tuple[SpeakerTurn, ...]
    centroids: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)
    duration: float = 0.0

    @property
    def speakers(self) -> list[str]:
        return list(self.centroids)


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

    >>> diarizer = OfflineDiarizer.from_store(open_store(settings), settings)
    >>> turns = diarizer.diarize(decode_audio(path).samples, max_speakers=6)

    ``diarize(samples, *, num_speakers=None, min_speakers=None, max_speakers=None)`` takes 16 kHz
    mono float32 and returns ``SpeakerTurn``s sorted by start, labelled 说话人1, 说话人2, ... in order
    of first appearance; turns of different speakers overlap where people talk at once.
    Silence or noise alone gives ``[]``. Thread-safe (the models serialise their own calls).
    """

    def __init__(self, models: DiarizationModels, options: DiarizationOptions | None = None) -> None:
        self.models = models
        self.options = options or DiarizationOptions()

    @classmethod
    def from_store(cls, store, settings=None) -> OfflineDiarizer:  # type: ignore[no-untyped-def]
        from diarize.models import load_models
        from scribe.settings import get_settings

        settings = settings or get_settings()
        return cls(
            load_models(store, settings),
            DiarizationOptions(threshold=settings.diarize_cluster_threshold),
        )

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

        from pyannote.audio.pipelines.utils.diarization import SpeakerDiarizationMixin
        from pyannote.core import SlidingWindowFeature

        segmenter = self.models.segmenter
        segmentations = segmenter(samples)
        # shape: (num_chunks, num_frames, 3), 0/1
        binarized = segmentations
        count = SpeakerDiarizationMixin.speaker_count(
            binarized, segmenter.frames, warm_up=(0.0, 0.0)
        )
        # shape: (total_frames, 1)
        if np.nanmax(count.data) == 0:
            return DiarizationResult((), {}, duration)

        embeddings = self._embeddings(samples, binarized)
        # shape: (num_chunks, 3, 192), NaN for inactive local speakers
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
        discrete = SpeakerDiarizationMixin.to_diarization(
            SlidingWindowFeature(clustered, segmentations.sliding_window), count
        )
        annotation = SpeakerDiarizationMixin.to_annotation(
            discrete,
            min_duration_on=self.options.min_duration_on,
            min_duration_off=self.options.min_duration_off,
        )
        raw: list[tuple[float, float, int]] = [
            (max(0.0, seg.start), min(duration, seg.end), int(label))
            for seg, _, label in annotation.itertracks(yield_label=True)
            if seg.end > seg.start
        ]
        raw.sort()
        order: dict[int, str] = {}
        for _, _, k in raw:
            if k not in order:
                order[k] = unknown_label(len(order) + 1)
        turns = tuple(SpeakerTurn(round(s, 3), round(e, 3), order[k]) for s, e, k in raw)
        return DiarizationResult(
            turns, {order[k]: centroids[k] for k in order if k < len(centroids)}, duration
        )

    # -- steps ----------------------------------------------------------------------------
    def _embeddings(self, samples: np.ndarray, binarized) -> np.ndarray:  # type: ignore[no-untyped-def]
        embedder: SpeakerEmbedder = self.models.embedder
        window = binarized.sliding_window
        num_chunks, num_frames, num_speakers = binarized.data.shape
        chunk_len = int(round(window.duration * SAMPLE_RATE))
        out = np.full((num_chunks, num_speakers, embedder.dimension), np.nan, dtype=np.float32)
        min_frames = self.options.min_clean_speech * num_frames / window.duration
        for c, (chunk, masks) in enumerate(binarized):
            masks = np.nan_to_num(masks, nan=0.0)
            if not masks.any():
                continue
            start = int(round(chunk.start * SAMPLE_RATE))
            piece = samples[start : start + chunk_len]
            if len(piece) < chunk_len:
                piece = np.pad(piece, (0, chunk_len - len(piece)))
            feats = embedder.features(piece)
            solo = masks * (masks.sum(axis=1, keepdims=True) < 2)
            use = np.where(solo.sum(axis=0, keepdims=True) >= min_frames, solo, masks)
            out[c] = embedder.embed_masked(feats, use)
        return out

    def _cluster(
        self,
        embeddings: np.ndarray,
        binarized,  # type: ignore[no-untyped-def]
        num_speakers: int | None,
        min_speakers: int | None,
        max_speakers: int | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        from diarize.clustering import cluster_embeddings

        return cluster_embeddings(
            embeddings,
            binarized,
            threshold=self.options.threshold,
            min_clean_seconds=self.options.min_clean_speech,
            min_cluster_size=self.options.min_cluster_size,
            num_speakers=num_speakers,
            min_speakers=min_speakers,
            max_speakers=max_speakers,
        )
