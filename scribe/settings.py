"""Settings in one place, read once from the environment (``SCRIBE_*``) or a ``.env`` file.

Tests build their own ``Settings(...)`` and pass it down; nothing reads the environment at
import time.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
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

    # --- server (desk and review pages, accounts) ----------------------------------------
    host: str = "127.0.0.1"  # a desk PC serves itself; a site opens it up on purpose
    port: int = 8000
    # the address people type; used in printed links and to decide cookie security
    public_url: str | None = None
    # None: Secure cookies exactly when public_url is https (plain http on loopback otherwise)
    cookie_secure: bool | None = None
    login_session_hours: float = 12.0  # one working day; a desk left logged in overnight expires
    # first start: the admin is created from these (never a default password)
    admin_username: str = "admin"
    admin_password: SecretStr | None = None
    # False only for tests and tools that need the pages without loading speech models
    server_load_models: bool = True
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

    # --- live sessions (scribe/live) ---------------------------------------------------
    sessions_dir: Path | None = None  # default: <data_dir>/sessions
    live_flush_interval: float = 1.0  # s between fsyncs of the audio: the most a power cut loses
    live_min_silence: float = 0.5  # s of silence that ends an utterance (final-text latency)
    live_max_utterance: float = 15.0  # s; longer speech is cut so finals keep coming
    live_partial_interval: float = 1.0  # s of new audio between partial texts
    live_partial_beam: int = 1
    live_final_beam: int = 2  # the final pass uses final_pass_beam on the whole recording
    live_max_lag: float = 30.0  # s behind real time before the live text skips ahead
    live_max_frame_bytes: int = 256_000  # one WebSocket audio frame: 8 s of 16 kHz s16le
    final_pass_beam: int = 5  # same as `scribe transcribe`, so the final pass equals offline

    @property
    def sessions_path(self) -> Path:
        return self.sessions_dir or (self.data_dir / "sessions")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests construct ``Settings`` directly instead)."""
    return Settings()
