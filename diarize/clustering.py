"""Grouping per-window speaker embeddings into the speakers of the whole recording.

pyannote's agglomerative clustering (small clusters folded into large ones, a known count or
bounds honoured by cutting the dendrogram elsewhere) with three changes for short hearings:

* average linkage on cosine distance rather than pyannote's centroid linkage on unit vectors.
  A centroid of unit vectors shrinks when a voice is spread out (far-field, telephone), so two
  spread-out speakers look closer than they are: on the pyannote sample resampled to 8 kHz the
  centroid cut merged both callers at 0.89 while the AMI clip got 5 speakers at 0.85. The
  average similarity between two groups does not shrink that way; the cuts that give every
  file of ``../shared/data`` (and the tests' cases) its right count are 0.58-0.62 cosine
  distance (docs/diarization.md has the sweep).
* a small cluster is folded into the nearest large one only when it sounds like it: a short
  turn of a voice unlike everyone else (a party who says one sentence) stays a speaker of its
  own. pyannote folds every cluster under ``min_cluster_size`` embeddings, which dropped the
  1.8 s speaker of the English conversation into a 10 s one. On the 13 development files
  (docs/diarization.md) the only small clusters were that distinct voice (0.12 average
  similarity to the nearest large cluster) and two fragments of a known voice in the
  reverberant generated hearings (0.29, 0.39); the bar is 0.2.
* a local speaker counts as "clean" from ``min_clean_seconds`` of solo speech (pyannote asks for
  20 % of the 10 s window, which drops a party who only says a sentence or two), and, when the
  slots are stretches of speech rather than pyannote's local speakers, plain nearest-centroid
  assignment (two stretches of one window may be the same person).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np


def _clustering_class() -> Any:
    from scipy.cluster.hierarchy import fcluster, linkage

    from diarize.pyannote_adapter import AgglomerativeClustering

    class _ShortTurnAgglomerative(AgglomerativeClustering):
        min_active_ratio: float = 0.2
        # a small cluster whose average cosine similarity to every large cluster is below
        # this is a speaker of its own (None: pyannote's rule, every small cluster is folded)
        distinct_similarity: float | None = None

        def filter_embeddings(self, embeddings, segmentations=None, min_active_ratio=0.2):  # type: ignore[no-untyped-def]
            return super().filter_embeddings(
                embeddings, segmentations=segmentations, min_active_ratio=self.min_active_ratio
            )

        def cluster(self, embeddings, min_clusters, max_clusters, num_clusters=None):  # type: ignore[no-untyped-def,override]
            num_embeddings = len(embeddings)
            if num_clusters is not None or num_embeddings < 2 or self.distinct_similarity is None:
                return super().cluster(embeddings, min_clusters, max_clusters, num_clusters)
            unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
            if self.metric == "cosine":
                dendrogram = linkage(cosine_distances(unit), method=self.method)
            else:
                dendrogram = linkage(unit, method=self.method, metric=self.metric)
            clusters = fcluster(dendrogram, self.threshold, criterion="distance") - 1
            ids, counts = np.unique(clusters, return_counts=True)
            # pyannote's size rule (at most 10 % of the embeddings on short files)
            min_size = min(self.min_cluster_size, max(1, round(0.1 * num_embeddings)))
            large = counts >= min_size
            if not large.any():
                return super().cluster(embeddings, min_clusters, max_clusters, num_clusters)
            # mean of unit vectors: the dot product of two means is the average pairwise
            # cosine similarity of the two groups
            means = np.stack([unit[clusters == k].mean(axis=0) for k in ids])
            to_large = means @ means[large].T  # shape: (clusters, large clusters)
            large |= to_large.max(axis=1) < self.distinct_similarity
            if not min_clusters <= int(large.sum()) <= max_clusters:
                # the bounds overrule the threshold: pyannote's search of the dendrogram
                return super().cluster(embeddings, min_clusters, max_clusters, num_clusters)
            to_large = means @ means[large].T  # again: the rescued clusters are large now
            target = np.where(large, ids, ids[large][np.argmax(to_large, axis=1)])
            clusters = target[np.searchsorted(ids, clusters)]
            _, clusters = np.unique(clusters, return_inverse=True)
            return clusters

    return _ShortTurnAgglomerative


def cosine_distances(unit: np.ndarray, block: int = 1024) -> np.ndarray:
    """``scipy.spatial.distance.pdist(unit, "cosine")`` for unit rows, as matrix products.

    pdist computes each of the n(n-1)/2 distances in a scalar loop: 13 s of the 25 s that
    clustering a three-hour hearing took (about 18 000 embeddings); a block of rows times all
    rows is one BLAS call. The same numbers to rounding (float64; checked in the tests); rows at
    a time, so no n x n matrix is held beside the condensed one."""
    unit = np.asarray(unit, dtype=np.float64)
    n = len(unit)
    out = np.empty(n * (n - 1) // 2, dtype=np.float64)
    pos = 0
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        sims = unit[lo:hi] @ unit[lo:].T  # rows lo..hi against every row from lo on
        for i in range(lo, hi):
            row = sims[i - lo, i - lo + 1 :]
            out[pos : pos + row.size] = 1.0 - row
            pos += row.size
    np.clip(out, 0.0, 2.0, out=out)
    return out


def cluster_embeddings(
    embeddings: np.ndarray,
    binarized: Any,  # pyannote_adapter.Windowed (num_chunks, num_frames, S)
    *,
    threshold: float,
    min_clean_seconds: float,
    min_cluster_size: int,
    distinct_similarity: float | None = None,
    method: str = "average",
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    constrained: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster (num_chunks, S, D) embeddings -> hard clusters (num_chunks, S) and centroids (K, D).

    ``threshold``: the dendrogram cut (cosine distance for ``method="average"``).
    Raises nothing on degenerate input: with no usable embedding everything is one speaker.
    """
    num_chunks, num_local, dim = embeddings.shape
    valid = ~np.isnan(embeddings).any(axis=2)
    if not valid.any():
        return np.zeros((num_chunks, num_local), dtype=np.int8), np.zeros((1, dim))
    cls = _clustering_class()
    clustering = cls(metric="cosine", constrained_assignment=constrained)
    clustering.min_active_ratio = min_clean_seconds / binarized.sliding_window.duration
    clustering.distinct_similarity = distinct_similarity
    clustering.instantiate(
        {"method": method, "min_cluster_size": min_cluster_size, "threshold": threshold}
    )
    # embeddings with too little clean speech are still assigned, through their own vector
    # when it exists; pyannote gives NaN rows the worst score in the Hungarian step
    train, _, _ = clustering.filter_embeddings(embeddings, segmentations=binarized)
    if len(train) == 0:
        # every speaker turn is shorter than min_clean_seconds: cluster whatever is valid
        clustering.min_active_ratio = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hard, _, centroids = clustering(
            embeddings=embeddings,
            segmentations=binarized,
            num_clusters=num_speakers,
            min_clusters=min_speakers,
            max_clusters=max_speakers,
        )
    hard = np.asarray(hard, dtype=np.int64)
    if not constrained:
        # pyannote's plain argmax sends embedding-less slots (NaN) to cluster 0; those slots
        # had too little speech to say anything, so they are dropped from reconstruction
        hard[~valid] = -2
    return hard, np.asarray(centroids)
