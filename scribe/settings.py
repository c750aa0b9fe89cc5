"""Settings in one place, read once from the environment (``SCRIBE_*``) or a ``.env`` file.

Tests build their own ``Settings(...)`` and pass it down; nothing reads the environment at
import time.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


def _user_data_home() -> Path:
    # XDG on Linux desk PCs; a site can point SCRIBE_DATA_DIR anywhere (a shared disk, say).
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mediation-scribe"


def project_root() -> Path:
    """The checkout (or installed tree) holding ``models.lock``."""
    return Path(__file__).resolve().parent.parent


class _Group(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LiveSettings(_Group):
    """Live sessions (scribe/live): ``SCRIBE_LIVE__<NAME>``; options built by
    ``LiveOptions.from_settings`` and the live engine."""

    sessions_dir: Path | None = None  # default: <data_dir>/sessions
    flush_interval: float = 1.0  # s between fsyncs of the audio: the most a power cut loses
    min_silence: float = 0.5  # s of silence that ends an utterance (final-text latency)
    max_utterance: float = 15.0  # s; longer speech is cut so finals keep coming
    partial_interval: float = 1.0  # s of new audio between partial texts
    # Partials decode like finals, with a beam: with the encoder's input cut to the audio
    # (encoder_pad_s) beam 5 costs about 1.4x greedy (1.12 vs 0.79 s for 3.5 s after 6.8 s of
    # context), and greedy live finals were worse on 9 of 11 development files (fast-fed,
    # docs/benchmarks.md, live section, session 15). Under the whole 30 s window it cost next
    # to nothing and gave 3 errors fewer in 328 English words.
    final_beam: int = 5
    context_seconds: float = 8.0  # earlier speech each utterance is recognised after
    # Live decodes: seconds of padding the encoder sees after the audio, instead of Whisper's
    # whole 30 s window (None: the whole window). 5 s: decodes cost 0.56x; in three real-time
    # replays final latency p50 was lower on 9 of 9 conversation-runs, p95 on 8 of 9, live CER
    # a little worse in 2 runs of 3; fast-fed live finals were better on 8 of 11 development
    # files, 3 of 8 frozen ones (4 worse). 2 s drops clauses (docs/benchmarks.md, live).
    encoder_pad_s: float | None = 5.0
    max_lag: float = 30.0  # s behind real time before the live text skips ahead
    max_frame_bytes: int = 256_000  # one WebSocket audio frame: 8 s of 16 kHz s16le
    final_pass_beam: int = 5  # same as `scribe transcribe`, so the final pass equals offline
    # the final pass runs while the hearing is recorded (scribe.live.alongside), so the final
    # record is ready seconds after 结束; False: the whole recording after 结束
    second_pass_alongside: bool = True
    # s of new audio before the second pass looks again (it decodes whole 30 s windows only, so
    # this only bounds how often it reads the archive)
    second_pass_step: float = 10.0
    # give freed native memory back to the OS after each unit of the second pass
    # (scribe.native_memory): without it the resident set grew with the hearing
    second_pass_release_memory: bool = True


class DiarizeSettings(_Group):
    """Speaker separation (diarize): ``SCRIBE_DIARIZE__<NAME>``; options built by
    ``DiarizationOptions.from_settings`` and ``StreamingOptions.from_settings``."""

    segmentation_model: str = "pyannote-segmentation-3.0"
    embedding_model: str = "campplus-zh-en"
    # Sliding-window step of the 10 s segmentation windows (s). Smaller steps see each moment
    # in more windows (better short turns) but cost proportionally more CPU.
    segmentation_step: float = 2.0
    # Agglomerative clustering cut, cosine distance (None: diarize.DiarizationOptions.threshold,
    # where the default and why it was chosen are written once). Used only when the speaker
    # count is not given.
    cluster_threshold: float | None = None
    # Live diarization (None: diarize.StreamingOptions' own default, written there once):
    # right context (s) before a frame is settled (a turn is at most latency + step behind the
    # audio); window and step of the rolling segmentation.
    live_latency: float | None = None
    live_window: float | None = None
    live_step: float | None = None
    # Cosine similarity above which a voice is taken for an enrolled person's voiceprint, live
    # and in `scribe diarize --voiceprints` (None: StreamingOptions.voiceprint_similarity).
    voiceprint_match_threshold: float | None = None


class DeliverySettings(_Group):
    """Case-system webhooks (scribe/delivery): ``SCRIBE_DELIVERY__<NAME>``."""

    # Outbound safety: a webhook URL that resolves to loopback, private, link-local or cloud
    # metadata addresses is refused (SSRF), unless a site opens exactly what it needs here.
    allow_http: bool = False  # development only: production case systems use HTTPS
    allow_loopback: bool = False  # tests and a receiver on the same desk PC
    # The one setting for a development receiver on this machine (http://127.0.0.1:9000/...):
    # opens loopback destinations and plain HTTP to them only; an http:// URL whose host
    # resolves to anything but loopback stays refused. Read alike by `scribe endpoints add`,
    # `scribe deliveries worker`, `scribe serve` and the admin page (all check through
    # scribe.delivery.safety with these settings). allow_http + allow_loopback, as before,
    # open more (plain HTTP anywhere) and still work.
    allow_loopback_http: bool = False
    allow_private: bool = False  # RFC 1918 / ULA: a county intranet case system
    allowed_networks: list[str] = Field(default_factory=list)  # CIDRs opened one by one
    # Standard Webhooks asks receivers to answer within 15-30 s; slower counts as a failure.
    timeout_s: float = 15.0
    # Seconds after the FIRST attempt at which retries fall due (domain.md): the last retry is
    # about a day after the first; then the delivery is marked failed and waits for a replay.
    retry_schedule_s: list[float] = Field(
        default_factory=lambda: [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 50400.0, 72000.0, 86400.0]
    )
    jitter: float = 0.2  # +/- share of each gap, so retries of many messages spread out
    max_retry_after_s: float = 86400.0  # a receiver cannot park a message for longer
    batch_size: int = 50  # deliveries claimed per poll
    concurrency: int = 8  # requests in flight per worker
    poll_interval_s: float = 1.0
    # A claimed delivery is another worker's again after this long (a killed worker's claims
    # expire); it must exceed the request timeout or a slow answer would be sent twice.
    lease_s: float = 60.0
    rotation_grace_h: float = 24.0  # both signatures are sent this long after a rotation
    # Payload: minimisation leaves out ID numbers, phone numbers and addresses (PIPL Art 6/19).
    minimise_payload: bool = True
    include_audio: bool = False  # hearing audio is sensitive (PIPL Art 28)
    inline_files: bool = False  # base64 the files into the payload instead of links
    inline_max_bytes: int = 5_000_000  # larger files are linked even when inlining
    # Where case systems pull files (the links in a payload). None: SCRIBE_PUBLIC_URL, else the
    # address the approving request came in on (scribe.delivery.pull.public_base_url).
    public_base_url: str | None = None
    # Signed download links expire after a day: long enough for a case system that was down
    # overnight, short enough that a link copied into a log or an e-mail soon stops working
    # (late pulls use an API token). Each link opens one file and can be revoked.
    link_ttl_s: int = 24 * 3600
    link_secret: SecretStr | None = None  # default: a random key kept in <data_dir>
    # Site-specific 事件类型编码 of the receiving platform: {"婚姻家庭": "0101", ...}.
    category_codes: dict[str, str] = Field(default_factory=dict)


class ServerSettings(_Group):
    """The desk and review server (server.py, scribe/web, scribe/accounts): ``SCRIBE_SERVER__<NAME>``."""

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
    load_models: bool = True
    # the server sends approved documents itself; False when `scribe deliveries worker` runs apart
    delivery_worker: bool = True
    # at shutdown, final passes already running or queued may finish for this long; one not
    # finished by then is run again by the next start (nothing is lost either way)
    final_pass_wait_s: float = 600.0
    # Logins (scribe.accounts.throttle; docs/security.md): an account is locked for
    # login_lockout_s after login_max_failures wrong passwords in that time (an admin can
    # unlock it); one client address may fail login_address_failures times a minute, then waits.
    login_max_failures: int = 5
    login_lockout_s: float = 900.0
    login_address_failures: int = 10
    # Argon2id takes 64 MiB and a CPU core per check: at most this many run at once; a login
    # that waits longer than login_hash_wait_s for its turn is answered 429 (server busy).
    login_hash_concurrency: int = 2
    login_hash_wait_s: float = 3.0
    # Reverse proxies (addresses or CIDRs) whose X-Forwarded-For names the real client; from
    # anyone else the header is ignored (uvicorn is run without its own proxy-header trust).
    trusted_proxies: list[str] = Field(default_factory=list)
    # Four-eyes review (scribe.review.four_eyes): a reviewer who generated a version of a
    # document or edited its fields cannot approve that version; another reviewer must. Off by
    # default: a one-desk office (one reviewer) must still be able to approve its documents.
    four_eyes: bool = False
    # Retention (PIPL Art. 19, 47): days after a hearing closed (stopped, drafted, approved,
    # delivered) that its recording is kept; then the audio is purged (transcript, documents
    # and the audit log stay). Per office, "*" for every other office; an office in neither
    # keeps its audio until deleted by hand. ``scribe retention purge`` and the server's
    # scheduled job (every ``retention_interval_h``) apply it.
    audio_retention_days: dict[str, float] = Field(default_factory=dict)
    retention_interval_h: float = 6.0  # 0: no scheduled purge in the server


# Before the groups, these were flat names (``SCRIBE_LIVE_MAX_LAG``, ``Settings(live_max_lag=...)``).
# They still work, in the environment and as keyword arguments, and land in their group.
_GROUPS: dict[str, type[_Group]] = {
    "live": LiveSettings, "diarize": DiarizeSettings, "delivery": DeliverySettings, "server": ServerSettings,
}
_FLAT: dict[str, tuple[str, str]] = {
    **{f"live_{n}": ("live", n) for n in LiveSettings.model_fields if n not in ("sessions_dir", "final_pass_beam")},
    "sessions_dir": ("live", "sessions_dir"),
    "final_pass_beam": ("live", "final_pass_beam"),
    **{f"diarize_{n}": ("diarize", n) for n in DiarizeSettings.model_fields if n != "voiceprint_match_threshold"},
    "voiceprint_match_threshold": ("diarize", "voiceprint_match_threshold"),
    **{f"delivery_{n}": ("delivery", n) for n in DeliverySettings.model_fields},
    **{f"server_{n}": ("server", n) for n in ("load_models", "delivery_worker", "final_pass_wait_s")},
    **{n: ("server", n) for n in ServerSettings.model_fields
       if n not in ("load_models", "delivery_worker", "final_pass_wait_s")},
}


def _nest(data: dict[str, Any], *, override: bool) -> dict[str, Any]:
    """Move flat names (``live_max_lag``) of ``data`` into their group (``live.max_lag``)."""
    data = dict(data)
    for flat, (group, name) in _FLAT.items():
        if flat not in data:
            continue
        value = data.pop(flat)
        if isinstance(value, str) and value[:1] in "[{":
            value = json.loads(value)  # lists and maps come as JSON, as pydantic-settings reads them
        current = data.get(group)
        merged = current.model_dump() if isinstance(current, BaseModel) else dict(current or {})
        if override:
            merged[name] = value
        else:
            merged.setdefault(name, value)  # the nested name, in the same source, wins
        data[group] = merged
    return data


class _FlatNames(PydanticBaseSettingsSource):
    """One settings source (the environment or .env) with the flat names nested."""

    def __init__(
        self, settings_cls: type[BaseSettings], inner: PydanticBaseSettingsSource, *, environ: bool = False
    ) -> None:
        super().__init__(settings_cls)
        self.inner = inner
        self.environ = environ

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False  # unused: __call__ is overridden

    def __call__(self) -> dict[str, Any]:
        data = dict(self.inner())
        if self.environ:
            # the environment source returns known fields only; the old flat names are read here
            for flat in _FLAT:
                value = os.environ.get(f"SCRIBE_{flat.upper()}")
                if value is not None:
                    data.setdefault(flat, value)
        return _nest(data, override=False)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SCRIBE_", env_nested_delimiter="__", env_file=".env", extra="ignore", frozen=True
    )

    # --- where things live -------------------------------------------------------------
    data_dir: Path = Field(default_factory=_user_data_home)
    model_dir: Path | None = None  # default: <data_dir>/models
    lock_file: Path = Field(default_factory=lambda: project_root() / "models.lock")
    database_url: str | None = None  # default: sqlite:///<data_dir>/scribe.db
    # The key of the secrets kept sealed in a database other than SQLite (webhook signing keys;
    # scribe.storage.sealed). Default <data_dir>/secrets.key; every host and worker that opens
    # the same PostgreSQL must point here at the same key file.
    secrets_key_file: Path | None = None

    # --- speech recognition -----------------------------------------------------------
    asr_model: str = "whisper-base"
    asr_model_en: str = "whisper-tiny.en"  # used when the language is known to be English
    compute_type: str = "int8"
    cpu_threads: int = 0  # 0: one per core
    # torch's intra-op threads, one number per process (scribe.services.configure_torch sets
    # it once): 1 because torch's OpenMP threads spin waiting for a core on a shared 2-core
    # desk PC (a 2-thread CAM++ call measured 20x slower under load); the diarizer gets its
    # parallelism from worker threads instead. 0: cpu_threads.
    torch_threads: int = 1
    vad_model: str = "silero-vad"
    # The languages this office hears, its usual one first: `--language auto` chooses among
    # them and takes the first when Whisper's detector is unsure (scribe.transcribe.choose_language)
    languages: list[str] = Field(default_factory=lambda: ["zh", "en"])

    # --- documents (templates, drafting, PDF) ------------------------------------------
    # A site's own templates: folders with template.docx + template.json; a folder named like a
    # built-in replaces it (docs/documents.md).
    template_dir: Path | None = None
    # Name of a `role = "drafting"` entry in models.lock; None: rule-based drafting only.
    # With drafting_url set, the name of the model the server serves instead (sent as `model`;
    # None: the first one the server lists at GET <url>/models).
    drafting_model: str | None = None
    # A model the site already serves behind an OpenAI-compatible chat-completions endpoint
    # (llama.cpp server, vLLM, Ollama): its base URL, e.g. http://127.0.0.1:8080/v1. The
    # transcript is sent there: keep it on the desk PC or the office network (docs/documents.md).
    drafting_url: str | None = None
    drafting_api_key: SecretStr | None = None  # sent as `Authorization: Bearer`, if the server wants one
    # How to ask for JSON of the schema: "auto" tries response_format json_schema (OpenAI, vLLM,
    # Ollama, llama-server) and then json_object + schema (llama-cpp-python); "none" asks for
    # nothing. The answer is validated against the schema either way.
    drafting_response_format: Literal["auto", "json_schema", "json_object", "none"] = "auto"
    # The model's output is thrown away (rule-based draft kept) if it takes longer than this:
    # staff wait at the desk for the draft. For a server, the whole exchange is held to it.
    drafting_timeout_s: float = 120.0
    drafting_max_new_tokens: int = 1024
    soffice_binary: str = "soffice"
    pdf_timeout_s: float = 180.0

    # --- the stages' groups --------------------------------------------------------------
    live: LiveSettings = Field(default_factory=LiveSettings)
    diarize: DiarizeSettings = Field(default_factory=DiarizeSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    server: ServerSettings = Field(default_factory=ServerSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # flat names land in their group within each source, so the sources keep their order
        # (keywords, then the environment, then .env) for old and new names alike
        return (
            init_settings,
            _FlatNames(settings_cls, env_settings, environ=True),
            _FlatNames(settings_cls, dotenv_settings),
            file_secret_settings,
        )

    @model_validator(mode="before")
    @classmethod
    def _flat_keywords(cls, data: Any) -> Any:
        """``Settings(live_max_lag=...)`` -> ``live.max_lag`` (a keyword beats every other source)."""
        if isinstance(data, dict):
            data = _nest(data, override=True)
        return data

    @property
    def models_path(self) -> Path:
        return self.model_dir or (self.data_dir / "models")

    @property
    def secrets_key_path(self) -> Path:
        """The key of the secrets sealed in the database (scribe.storage.sealed)."""
        return self.secrets_key_file or (self.data_dir / "secrets.key")

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'scribe.db'}"

    @property
    def threads(self) -> int:
        return self.cpu_threads or (os.cpu_count() or 1)

    @property
    def sessions_path(self) -> Path:
        return self.live.sessions_dir or (self.data_dir / "sessions")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests construct ``Settings`` directly instead)."""
    return Settings()
