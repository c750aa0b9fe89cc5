"""The two diarization models, loaded once from the model store and shared by every diarizer.

The diarizers see the models through the small Protocols :class:`Segmenter`,
:class:`Embedder` and :class:`SpeechProbabilities`, so their label mapping is tested with dummy
models (tests/test_diarize_units.py). This module holds 3D-Speaker's CAM++ network
(``CamPlusEmbedder``); everything of pyannote — the segmentation model and the pure helpers the
offline pipeline runs on its output — is behind :mod:`diarize.pyannote_adapter`, the one module
that imports it.

* segmentation: pyannote segmentation-3.0 (PyanNet, 10 s windows, powerset of 3 local speakers
  with at most 2 overlapping), frame step ~16.9 ms.
* embedding: CAM++ zh-en (192-d) on 80-bin Kaldi fbank with per-utterance mean normalisation,
  the front end 3D-Speaker trained it with (``speakerlab.process.processor.FBank``).
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from pathlib import Path

import numpy as np
import torch

from scribe.errors import ModelError
from scribe.types import SAMPLE_RATE

if TYPE_CHECKING:
    from scribe.models import ModelStore
    from scribe.settings import Settings

EMBEDDING_FILE = "campplus_cn_en_common.pt"

# Kaldi fbank framing (25 ms window, 10 ms hop, snip_edges): frame j covers samples
# [j * 160, j * 160 + 400).
FBANK_HOP = 160
FBANK_WIN = 400
# CAM++ needs some context; fewer frames than this give unreliable embeddings.
MIN_EMBEDDING_FRAMES = 50  # 0.5 s


class Segmenter(Protocol):
    """Local speaker activity of short windows: up to 3 local speakers per window, 0/1 per frame."""

    #: the model's frame grid (``diarize.pyannote_adapter.Grid``), for the offline pipeline
    frames: Any

    def __call__(self, samples: np.ndarray) -> Any:
        """Whole recording (16 kHz float32) -> windowed activity
        (``diarize.pyannote_adapter.Windowed``) of shape (num_chunks, num_frames, 3), 0/1,
        chunks of ``duration`` s every ``step`` s; build one with
        ``pyannote_adapter.windowed(data, start, duration, step)``."""
        ...

    def window_with_speech(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One window (up to 10 s) -> activity (num_frames, 3) 0/1, and (num_frames,) the
        probability that anybody speaks in each frame. Frames span the window evenly."""
        ...


class Embedder(Protocol):
    """Speaker embeddings: vectors compared by cosine similarity, NaN where too little speech."""

    dimension: int

    def features(self, samples: np.ndarray) -> torch.Tensor:
        """Audio -> features (num_feature_frames, F); feature frame j starts 10 ms * j in."""
        ...

    def embed(self, samples: np.ndarray) -> np.ndarray:
        """One embedding of a whole clip: (dimension,)."""
        ...

    def embed_features(self, feats: torch.Tensor) -> np.ndarray:
        """One embedding of the given feature frames: (dimension,)."""
        ...

    def embed_masked(self, feats: torch.Tensor, masks: np.ndarray) -> np.ndarray:
        """``feats`` of a window and ``masks`` (num_frames, S) on the segmentation grid ->
        (S, dimension), one row per local speaker, NaN rows for too little speech."""
        ...

    def embed_windows(self, feats: torch.Tensor, starts: list[int], width: int) -> np.ndarray:
        """Embeddings of ``feats[f : f + width]`` for f in ``starts``: (len(starts), dimension)."""
        ...


class SpeechProbabilities(Protocol):
    """A voice-activity detector (``scribe.asr.vad.SileroVad``): its pauses cut stretches."""

    def speech_probs(self, samples: np.ndarray) -> np.ndarray:
        """(num_windows,) speech probability per 512-sample window."""
        ...


class CamPlusEmbedder:
    """CAM++ zh-en speaker embeddings (192-d, compare with cosine similarity); an ``Embedder``."""

    dimension = 192

    def __init__(self, model_dir: Path) -> None:
        from speakerlab.models.campplus.DTDNN import CAMPPlus

        path = model_dir / EMBEDDING_FILE
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ModelError(
                f"cannot load the speaker-embedding model from {path} ({exc})",
                fix="run `scribe models install campplus-zh-en`",
            ) from None
        self.net = CAMPPlus(feat_dim=80, embedding_size=self.dimension)
        missing, unexpected = self.net.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ModelError(
                f"{path} is not a CAM++ zh-en state_dict ({len(missing)} missing, "
                f"{len(unexpected)} unexpected keys)",
                fix="check the campplus-zh-en entry of models.lock",
            )
        self.net.eval()
        self._lock = threading.Lock()

    @staticmethod
    def features(samples: np.ndarray) -> torch.Tensor:
        """80-bin Kaldi fbank, shape (num_frames, 80); frame j starts at sample 160 * j."""
        import torchaudio.compliance.kaldi as kaldi

        if len(samples) < FBANK_WIN:
            return torch.zeros((0, 80))
        wav = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))[None]
        with torch.inference_mode():
            feats: torch.Tensor = kaldi.fbank(
                wav, num_mel_bins=80, sample_frequency=SAMPLE_RATE, dither=0.0
            )
        return feats

    def embed_features(self, feats: torch.Tensor) -> np.ndarray:
        """One embedding from fbank frames (num_frames, 80); NaNs when too few frames."""
        if feats.shape[0] < MIN_EMBEDDING_FRAMES:
            return np.full(self.dimension, np.nan, dtype=np.float32)
        with torch.inference_mode():  # eval-mode forward: safe from several threads
            x = feats - feats.mean(dim=0, keepdim=True)
            out: np.ndarray = self.net(x[None])[0].numpy().astype(np.float32)
            return out

    def embed_windows(self, feats: torch.Tensor, starts: list[int], width: int) -> np.ndarray:
        """Embeddings of the equal windows ``feats[f : f + width]``, f in ``starts``: shape
        (len(starts), 192). Batched 8 at a time: one pass per 1.5 s window cost twice as
        much on a CPU, and larger batches only add memory."""
        if not starts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if width < MIN_EMBEDDING_FRAMES or starts[-1] + width > feats.shape[0]:
            return np.stack([self.embed_features(feats[f : f + width]) for f in starts])
        out = []
        with torch.inference_mode():
            for i in range(0, len(starts), 8):
                x = torch.stack([feats[f : f + width] for f in starts[i : i + 8]])
                x = x - x.mean(dim=1, keepdim=True)
                out.append(self.net(x).numpy().astype(np.float32))
        return np.concatenate(out)

    def embed(self, samples: np.ndarray) -> np.ndarray:
        """One embedding of a whole clip (16 kHz mono float32)."""
        return self.embed_features(self.features(samples))

    def embed_masked(self, feats: torch.Tensor, masks: np.ndarray) -> np.ndarray:
        """Embeddings of each local speaker of a window.

        ``feats``: fbank of the window, (num_fbank_frames, 80). ``masks``: (num_frames, S)
        activity on the segmentation frame grid, stretched over the window. Returns (S, 192),
        NaN rows for speakers with too little speech.
        """
        num_frames, num_speakers = masks.shape
        out = np.full((num_speakers, self.dimension), np.nan, dtype=np.float32)
        if feats.shape[0] == 0:
            return out
        # nearest segmentation frame for every fbank frame
        idx = np.minimum(
            (np.arange(feats.shape[0]) * num_frames / feats.shape[0]).astype(int), num_frames - 1
        )
        for s in range(num_speakers):
            active = masks[idx, s] > 0.5
            if active.sum() >= MIN_EMBEDDING_FRAMES:
                out[s] = self.embed_features(feats[torch.from_numpy(active)])
        return out


@dataclass(frozen=True)
class DiarizationModels:
    """Both models, loaded once (about 1 s) and shared by offline and streaming diarizers."""

    segmenter: Segmenter
    embedder: Embedder
    # Silero VAD (scribe.asr.vad.SileroVad): its pauses cut speaker stretches; optional
    vad: SpeechProbabilities | None = None


def load_models(store: ModelStore, settings: Settings) -> DiarizationModels:
    """Load the locked segmentation and embedding models from ``store``. Torch's thread count
    is the process's, set once by ``scribe.services.configure_torch``."""
    seg_dir = store.path_for(settings.diarize.segmentation_model)
    emb_dir = store.path_for(settings.diarize.embedding_model)
    from scribe.asr.vad import SileroVad

    from diarize.pyannote_adapter import PyannoteSegmenter

    return DiarizationModels(
        segmenter=PyannoteSegmenter(seg_dir, step=settings.diarize.segmentation_step),
        embedder=CamPlusEmbedder(emb_dir),
        vad=SileroVad(store.path_for(settings.vad_model)),
    )
