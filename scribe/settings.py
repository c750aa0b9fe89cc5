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

    # --- documents (templates, drafting, PDF) ------------------------------------------
    # A site's own templates: folders with template.docx + template.json; a folder named like a
    # built-in replaces it (docs/documents.md).
    template_dir: Path | None = None
    # Name of a `role = "drafting"` entry in models.lock; None: rule-based drafting only.
    drafting_model: str | None = None
    # The model's output is thrown away (rule-based draft kept) if it takes longer than this:
    # staff wait at the desk for the draft.
    drafting_timeout_s: float = 120.0
    drafting_max_new_tokens: int = 1024
    soffice_binary: str = "soffice"
    pdf_timeout_s: float = 180.0

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
