"""The one module that imports pyannote: its segmentation model and the pure helpers the offline
pipeline runs on the model's output.

Everything else in :mod:`diarize` sees pyannote's two data types only as the opaque
:data:`Windowed` (a ``SlidingWindowFeature``: ``.data`` of shape (num_chunks, num_frames, S) and
``.sliding_window``, the chunk grid) and :data:`Grid` (a ``SlidingWindow``: ``start``,
``duration``, ``step``), built here by :func:`windowed` and :func:`grid`, so a dummy segmenter in
the tests makes the same objects the real one does and the label mapping runs unchanged.
"""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import torch

from scribe.errors import ModelError
from scribe.types import SAMPLE_RATE

# pyannote.audio reports usage to a server unless told not to (see docs/style.md); this must be
# set before the first pyannote import.
os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")

with warnings.catch_warnings():
    # torchcodec (an optional pyannote decoder) cannot load next to CPU torch; pyannote warns
    # and we always hand it audio in memory, so the warning says nothing useful here.
    warnings.simplefilter("ignore")
    from pyannote.audio.pipelines.clustering import AgglomerativeClustering
    from pyannote.audio.pipelines.utils.diarization import SpeakerDiarizationMixin
    from pyannote.audio.utils.powerset import Powerset
    from pyannote.core import SlidingWindow, SlidingWindowFeature

SEGMENTATION_FILE = "pytorch_model.bin"

# pyannote ships no type information, so its types are Any to mypy; these names say which is which.
#: (num_chunks, num_frames, S) activity on a grid of chunks (pyannote ``SlidingWindowFeature``)
Windowed: TypeAlias = Any
#: a regular grid of chunks or frames (pyannote ``SlidingWindow``)
Grid: TypeAlias = Any

__all__ = [
    "SEGMENTATION_FILE",
    "AgglomerativeClustering",
    "Grid",
    "PyannoteSegmenter",
    "Windowed",
    "grid",
    "speaker_count",
    "to_turns",
    "windowed",
]


def grid(*, start: float = 0.0, duration: float, step: float) -> Grid:
    """Chunks (or frames) of ``duration`` s every ``step`` s from ``start``."""
    return SlidingWindow(start=start, duration=duration, step=step)


def windowed(data: np.ndarray, chunks: Grid) -> Windowed:
    """(num_chunks, num_frames, S) activity on the chunk grid ``chunks``."""
    return SlidingWindowFeature(data, chunks)


def speaker_count(segmentations: Windowed, frames: Grid) -> Windowed:
    """How many speak in each frame of the whole recording: shape (total_frames, 1)."""
    return SpeakerDiarizationMixin.speaker_count(segmentations, frames, warm_up=(0.0, 0.0))


def to_turns(
    clustered: np.ndarray,
    segmentations: Windowed,
    count: Windowed,
    *,
    min_duration_on: float,
    min_duration_off: float,
) -> list[tuple[float, float, str]]:
    """Per-chunk activity of *global* speakers (num_chunks, num_frames, K) and the frame count
    -> (start, end, cluster index as text) turns: per frame the ``count`` most active speakers,
    short turns dropped and short gaps of one speaker filled."""
    discrete = SpeakerDiarizationMixin.to_diarization(
        SlidingWindowFeature(clustered, segmentations.sliding_window), count
    )
    annotation = SpeakerDiarizationMixin.to_annotation(
        discrete, min_duration_on=min_duration_on, min_duration_off=min_duration_off
    )
    return [
        (float(seg.start), float(seg.end), str(label))
        for seg, _, label in annotation.itertracks(yield_label=True)
    ]


def _quiet_import_model() -> tuple[Any, Any]:
    # torchcodec (an optional pyannote decoder) cannot load next to CPU torch; pyannote warns
    # and we always hand it audio in memory, so the warning says nothing useful here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pyannote.audio import Model
        from pyannote.audio.core.inference import Inference
    return Model, Inference


class PyannoteSegmenter:
    """Local speaker activity in 10 s windows (pyannote segmentation-3.0); a ``Segmenter``.

    ``__call__(samples)`` returns a ``SlidingWindowFeature`` of shape
    (num_chunks, num_frames, 3) with 0/1 activity per local speaker (the powerset output turned
    into multi-label); ``frames`` is the model's frame grid.
    """

    def __init__(self, model_dir: Path, *, step: float = 1.0, batch_size: int = 16) -> None:
        Model, Inference = _quiet_import_model()
        path = model_dir / SEGMENTATION_FILE
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.model = Model.from_pretrained(str(path))
        except Exception as exc:  # pyannote raises many kinds; the fix is the same
            raise ModelError(
                f"cannot load the segmentation model from {path} ({exc})",
                fix="run `scribe models install pyannote-segmentation-3.0`",
            ) from None
        if self.model is None:
            raise ModelError(
                f"cannot load the segmentation model from {path}",
                fix="run `scribe models install pyannote-segmentation-3.0`",
            )
        self.model.eval()
        self.duration: float = float(self.model.specifications.duration)
        self.step = step
        self._inference = Inference(
            self.model,
            duration=self.duration,
            step=step,
            skip_aggregation=True,
            batch_size=batch_size,
        )
        self.frames = self.model.receptive_field
        specs = self.model.specifications
        self._powerset = Powerset(len(specs.classes), specs.powerset_max_classes)
        self._lock = threading.Lock()

    def __call__(self, samples: np.ndarray) -> Windowed:
        waveform = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))[None]
        with self._lock, torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self._inference({"waveform": waveform, "sample_rate": SAMPLE_RATE})

    def window(self, samples: np.ndarray) -> np.ndarray:
        """Activity of one window (``samples`` up to 10 s): shape (num_frames, 3), 0/1."""
        return self.window_with_speech(samples)[0]

    def window_with_speech(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``window(samples)`` and, per frame, the probability that anybody speaks.

        The hard activity is the most likely powerset class; the speech probability
        (1 - P(nobody)) says how close a silent frame came to being speech.
        """
        waveform = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))[None, None]
        with self._lock, torch.inference_mode():
            scores = self.model(waveform)  # shape: (1, num_frames, num_powerset_classes)
            multilabel = self._powerset.to_multilabel(scores)
            # class 0 of the powerset is the empty set; the scores are log-probabilities
            speech = 1.0 - scores[0, :, 0].exp()
        return multilabel[0].numpy(), speech.numpy()
