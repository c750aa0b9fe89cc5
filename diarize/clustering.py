"""Grouping per-window speaker embeddings into the speakers of the whole recording.

pyannote's agglomerative clustering (centroid linkage on unit-length embeddings, small
clusters folded into large ones, a known count or bounds honoured by cutting the dendrogram
elsewhere) with two changes for short hearings: a local speaker counts as "clean" from
``min_clean_seconds`` of solo speech (pyannote asks for 20 % of the 10 s window, which drops
a party who only says a sentence or two), and each window's local speakers are assigned to
distinct clusters.
"""

from __future__ import annotations

import warnings

import numpy as np


def _clustering_class():  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pyannote.audio.pipelines.clustering import AgglomerativeClustering

    class _ShortTurnAgglomerative(AgglomerativeClustering):
        min_active_ratio: float = 0.2

        def filter_embeddings(self, embeddings, segmentations=None, min_active_ratio=0.2):  # type: ignore[no-untyped-def,override]
            return super().filter_embeddings(
                embeddings, segmentations=segmentations, min_active_ratio=self.min_active_ratio
            )

    return _ShortTurnAgglomerative


def cluster_embeddings(
    embeddings: np.ndarray,
    binarized,  # type: ignore[no-untyped-def]  # SlidingWindowFeature (num_chunks, num_frames, S)
    *,
    threshold: float,
    min_clean_seconds: float,
    min_cluster_size: int,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster (num_chunks, S, D) embeddings -> hard clusters (num_chunks, S) and centroids (K, D).

    Raises nothing on degenerate input: with no usable embedding everything is one speaker.
    """
    num_chunks, num_local, dim = embeddings.shape
    valid = ~np.isnan(embeddings).any(axis=2)
    if not valid.any():
        return np.zeros((num_chunks, num_local), dtype=np.int8), np.zeros((1, dim))
    cls = _clustering_class()
    clustering = cls(metric="cosine", constrained_assignment=True)
    clustering.min_active_ratio = min_clean_seconds / binarized.sliding_window.duration
    clustering.instantiate(
        {"method": "centroid", "min_cluster_size": min_cluster_size, "threshold": threshold}
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
    return np.asarray(hard, dtype=np.int64), np.asarray(centroids)
