"""Models for live sessions, loaded once per process and shared by every session.

The recogniser (``Transcriber``), the Silero file for the streaming VAD, and the diarizers when
the ``diarize`` package provides them. Builds the per-session pipeline (fresh VAD and diarizer
state each) and the session manager.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scribe.live.final_pass import FinalPass, OfflineDiarizerLike
from scribe.live.manager import SessionManager
from scribe.live.pipeline import Degrader, LiveOptions, StreamingDiarizer, StreamingPipeline
from scribe.live.recognise import TranscriberRecogniser
from scribe.live.vad_stream import SileroStream
from scribe.settings import Settings
from scribe.transcribe import Transcriber


@dataclass
class LiveEngine:
    settings: Settings
    transcriber: Transcriber
    vad_path: Path
    streaming_diarizer: Callable[[], StreamingDiarizer] | None = None
    offline_diarizer: OfflineDiarizerLike | None = None
    # the loaded ``diarize.DiarizationModels``, shared with voice enrolment (one copy in memory)
    diarization_models: Any = None

    @classmethod
    def load(cls, settings: Settings, *, model: str | None = None, diarize: bool = True) -> LiveEngine:
        from scribe.models import open_store

        store = open_store(settings)
        transcriber = Transcriber.load(settings, model)
        vad_path = store.path_for(settings.vad_model) / "silero_vad_v6.onnx"
        streaming, offline, models = (None, None, None)
        if diarize:
            streaming, offline, models = _diarizers(settings)
        return cls(settings, transcriber, vad_path, streaming, offline, models)

    def options(self, language: str = "auto", hotwords: tuple[str, ...] = ()) -> LiveOptions:
        s = self.settings
        return LiveOptions(
            language=language,
            hotwords=hotwords,
            min_silence=s.live_min_silence,
            max_utterance=s.live_max_utterance,
            partial_interval=s.live_partial_interval,
            final_beam=s.live_final_beam,
            context_seconds=s.live_context_seconds,
        )

    def pipeline(self, options: LiveOptions) -> StreamingPipeline:
        return StreamingPipeline(
            SileroStream(self.vad_path),
            TranscriberRecogniser(self.transcriber),
            options,
            diarizer=self.streaming_diarizer() if self.streaming_diarizer else None,
            degrader=Degrader(max_lag=self.settings.live_max_lag),
        )

    def final_pass(self) -> FinalPass:
        return FinalPass(self.transcriber, self.offline_diarizer, beam_size=self.settings.final_pass_beam)

    def manager(self, root: Path | None = None) -> SessionManager:
        return SessionManager(
            root or self.settings.sessions_path,
            self.pipeline,
            self.final_pass(),
            flush_interval=self.settings.live_flush_interval,
            live_model=self.transcriber.engine.name,
            default_options=self.options(),
        )


def _diarizers(
    settings: Settings,
) -> tuple[Callable[[], StreamingDiarizer], OfflineDiarizerLike, Any]:
    """The diarize package's models, loaded once: a fresh streaming diarizer per session (its
    state is the session's speakers) and one offline diarizer for every final pass."""
    from diarize import DiarizationModels, OfflineDiarizer, StreamingOptions, load_models
    from diarize import StreamingDiarizer as Streaming
    from diarize.offline import DiarizationOptions
    from scribe.models import open_store

    models: DiarizationModels = load_models(open_store(settings), settings)
    options = StreamingOptions(
        window=settings.diarize_live_window,
        step=settings.diarize_live_step,
        latency=settings.diarize_live_latency,
    )
    offline = OfflineDiarizer(models, DiarizationOptions(threshold=settings.diarize_cluster_threshold))
    return (lambda: Streaming(models, options)), offline, models
