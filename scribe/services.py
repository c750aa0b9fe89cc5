"""The composition root: every long-lived component, built once from the settings.

``scribe serve`` (the server's lifespan), the CLI commands and the benchmarks all build their
models and engines here, so what a benchmark measures is what production runs: the same
diarizer options, the same worker threads, the same enrolled voiceprints. Library code below
this module takes its options as arguments and never reads the settings itself.

- ``load_live_engine(settings)``: the recogniser, the streaming VAD and the diarizers;
- ``offline_diarizer(settings, models)``: the final pass's and ``scribe diarize``'s diarizer;
- ``build_app_services(settings)``: the above plus the database and the hearing lifecycle, for
  the server (``AppServices``, injected into routes with ``Depends(services)``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scribe.lifecycle import HearingLifecycle
from scribe.live.engine import LiveEngine
from scribe.live.service import LiveService
from scribe.models import ModelStore, open_store
from scribe.settings import Settings
from scribe.storage import Database
from scribe.torch_threads import configure_torch

from fastapi import Request  # at run time: FastAPI reads the annotation of ``services``

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from scribe.web.models import Hearing
    from diarize import DiarizationModels, OfflineDiarizer, StreamingDiarizer, Voiceprint
    from scribe.live.alongside import SecondPassModels

log = logging.getLogger(__name__)

def load_diarization(settings: Settings, store: ModelStore | None = None) -> DiarizationModels:
    from diarize import load_models

    configure_torch(settings)
    return load_models(store or open_store(settings), settings)


def offline_diarizer(settings: Settings, models: DiarizationModels) -> OfflineDiarizer:
    from diarize import DiarizationOptions, OfflineDiarizer

    return OfflineDiarizer(models, DiarizationOptions.from_settings(settings), workers=settings.threads)


def load_live_engine(
    settings: Settings,
    *,
    model: str | None = None,
    diarize: bool = True,
    db: Database | None = None,
) -> LiveEngine:
    """Models for live sessions, loaded once: whisper, the Silero file, the diarizers.

    With ``db``, the voiceprints enrolled there are loaded at the start of every session, so a
    voice enrolled a minute ago is recognised in the next hearing (server and CLI alike).
    """
    from scribe.transcribe import Transcriber

    store = open_store(settings)
    transcriber = Transcriber.load(settings, model)
    vad_path = store.path_for(settings.vad_model) / "silero_vad_v6.onnx"
    if not diarize:
        return LiveEngine(settings, transcriber, vad_path, second_pass_models=second_pass_models(settings, model, False))
    from scribe.privacy.voiceprints import loader

    models = load_diarization(settings, store)
    # a hearing's diarizer knows only its own office's enrolled voices (scribe.privacy.voiceprints)
    streaming = streaming_diarizers(settings, models, loader(db) if db else None)
    return LiveEngine(settings, transcriber, vad_path, streaming, offline_diarizer(settings, models), models,
                      second_pass_models=second_pass_models(settings, model, True))


def second_pass_models(settings: Settings, model: str | None, diarize: bool) -> Callable[[], SecondPassModels]:
    """The second pass's own recogniser and offline diarizer (scribe.live.alongside), loaded
    by its low-priority thread the first time a hearing records."""
    from scribe.live.alongside import SecondPassModels
    from scribe.transcribe import Transcriber

    def load() -> SecondPassModels:
        transcriber = Transcriber.load(settings, model)
        diarizer = offline_diarizer(settings, load_diarization(settings)) if diarize else None
        return SecondPassModels(transcriber, diarizer)

    return load


def streaming_diarizers(
    settings: Settings, models: DiarizationModels,
    voiceprints: Callable[..., Sequence[Voiceprint]] | None = None,
) -> Callable[..., StreamingDiarizer]:
    """A fresh live diarizer per session (its state is the session's speakers), with the
    site's options and the voiceprints enrolled when the session starts: those of the
    hearing's ``office`` when one is given (``voiceprints(office)``)."""
    from diarize import StreamingDiarizer, StreamingOptions

    options = StreamingOptions.from_settings(settings)

    def streaming(office: str | None = None) -> StreamingDiarizer:
        if voiceprints is None:
            return StreamingDiarizer(models, options, ())
        return StreamingDiarizer(models, options, voiceprints(office) if office is not None else voiceprints())

    return streaming


@dataclass
class AppServices:
    """What the server's routes use, built once in the lifespan."""

    settings: Settings
    db: Database
    live: LiveService | None
    lifecycle: HearingLifecycle
    engine: LiveEngine | None = None  # None when the server runs without speech models
    # the live engine's copy when it has one; else loaded on first use (voice enrolment)
    diarization: DiarizationModels | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def diarization_models(self) -> DiarizationModels:
        """Blocks for seconds the first time: call it off the event loop."""
        with self._lock:
            if self.diarization is None:
                self.diarization = load_diarization(self.settings)
            return self.diarization

    def close(self) -> None:
        if self.live is not None:
            # stops what records, then lets the final passes already asked for finish
            self.live.close(self.settings.server.final_pass_wait_s)


def build_app_services(settings: Settings, db: Database, *, live: LiveService | None = None) -> AppServices:
    """The server's components. ``live`` replaces the engine (tests inject one); otherwise
    the models load here when ``settings.server.load_models``."""
    from scribe.live.bridge import ManagerBridge

    engine = None
    configure_torch(settings)  # before any model: the server diarizes and may draft
    if live is None and settings.server.load_models:
        engine = load_live_engine(settings, db=db)
        live = ManagerBridge(engine.manager())
    return AppServices(settings, db, live, HearingLifecycle(db, live, _session_completed(settings, live)), engine,
                       engine.diarization_models if engine else None)


def _session_completed(settings: Settings, live: LiveService | None) -> Callable[[Session, Hearing], None] | None:
    """The lifecycle's ``on_stopped``: ``session.completed`` for every hearing stopped, by the
    desk's Stop, a WebSocket client's stop or 结束 after an interruption."""
    if live is None:
        return None

    def enqueue(tx: Session, hearing: Hearing) -> None:
        from scribe.web.hearing_events import session_completed

        session_completed(tx, settings, hearing, live)

    return enqueue


def services(request: Request) -> AppServices:
    """The ``Depends`` of every route that needs a component."""
    built: AppServices | None = getattr(request.app.state, "services", None)
    if built is None:
        raise RuntimeError("the app's lifespan has not run: serve it with uvicorn (lifespan on)")
    return built
