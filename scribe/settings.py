"""Settings in one place, read once from the environment (``SCRIBE_*``) or a ``.env`` file.

Tests build their own ``Settings(...)`` and pass it down; nothing reads the environment at
import time.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _user_data_home() -> Path:
    # XDG on Linux desk PCs; a site can point SCRIBE_DATA_DIR anywhere (a shared disk, say).
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mediation-scribe"


def project_root() -> Path:
    """The checkout (or installed tree) holding ``models.lock``."""
    return Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SCRIBE_", env_file=".env", extra="ignore", frozen=True
    )

    # --- where things live -------------------------------------------------------------
    data_dir: Path = Field(default_factory=_user_data_home)
    model_dir: Path | None = None  # default: <data_dir>/models
    lock_file: Path = Field(default_factory=lambda: project_root() / "models.lock")
    database_url: str | None = None  # default: sqlite:///<data_dir>/scribe.db

    # --- speech recognition -----------------------------------------------------------
    asr_model: str = "whisper-base"
    asr_model_en: str = "whisper-tiny.en"  # used when the language is known to be English
    compute_type: str = "int8"
    cpu_threads: int = 0  # 0: one per core
    vad_model: str = "silero-vad"

    # --- diarization ---------------------------------------------------------------------
    diarize_segmentation_model: str = "pyannote-segmentation-3.0"
    diarize_embedding_model: str = "campplus-zh-en"
    # Sliding-window step of the 10 s segmentation windows (s). Smaller steps see each moment
    # in more windows (better short turns) but cost proportionally more CPU.
    diarize_segmentation_step: float = 2.0
    # Agglomerative clustering cut (centroid linkage, euclidean distance of unit-length CAM++
    # embeddings; 0.88 is cosine similarity ~0.61). Used only when the speaker count is not
    # given. Chosen on the four diarization files of ../shared/data together (mean DER), not
    # per file; the range that works is narrow (0.88-0.90 there, 0.85-0.88 for the sample at
    # 8 kHz): see docs/diarization.md.
    diarize_cluster_threshold: float = 0.88
    # Live diarization: right context (s) before a frame is settled; a turn is at most
    # latency + step behind the audio. Window and step of the rolling segmentation.
    diarize_live_latency: float = 1.5
    diarize_live_window: float = 5.0
    diarize_live_step: float = 0.5
    # Cosine similarity above which a voice is taken for an enrolled person's voiceprint.
    voiceprint_match_threshold: float = 0.55

    @property
    def models_path(self) -> Path:
        return self.model_dir or (self.data_dir / "models")

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'scribe.db'}"

    @property
    def threads(self) -> int:
        return self.cpu_threads or (os.cpu_count() or 1)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests construct ``Settings`` directly instead)."""
    return Settings()
