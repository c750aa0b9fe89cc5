"""Models for live sessions, shared by every session of a process.

The recogniser (``Transcriber``), the Silero file for the streaming VAD, and the diarizers when
the ``diarize`` package provides them; ``scribe.services.load_live_engine`` loads them (the one
place that does). Builds the per-session pipeline (fresh VAD and diarizer state each) and the
session manager.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scribe.live.alongside import AlongsideFinalPass, AlongsideOptions, AlongsideWorker, SecondPassModels
from scribe.live.final_pass import FinalPass, OfflineDiarizerLike
from scribe.live.manager import SessionManager
from scribe.live.pipeline import Degrader, LiveOptions, StreamingDiarizer, StreamingPipeline
from scribe.live.recognise import TranscriberRecogniser
from scribe.live.vad_stream import SileroStream
from scribe.settings import Settings
from scribe.transcribe import Transcriber

if TYPE_CHECKING:
    from diarize import DiarizationModels


@dataclass
class LiveEngine:
    settings: Settings
    transcriber: Transcriber
    vad_path: Path
    # called with ``office=`` for a hearing of an office (its voiceprints only), else with none
    streaming_diarizer: Callable[..., StreamingDiarizer] | None = None
    offline_diarizer: OfflineDiarizerLike | None = None
    # the loaded models, shared with voice enrolment (one copy in memory)
    diarization_models: DiarizationModels | None = None
    # the second pass alongside the hearing loads its own copies with this (scribe.live.alongside)
    second_pass_models: Callable[[], SecondPassModels] | None = None

    def options(self, language: str = "auto", hotwords: tuple[str, ...] = ()) -> LiveOptions:
        return LiveOptions.from_settings(self.settings, language, hotwords)

    def pipeline(self, options: LiveOptions) -> StreamingPipeline:
        return StreamingPipeline(
            SileroStream(self.vad_path),
            TranscriberRecogniser(self.transcriber),
            options,
            diarizer=self._diarizer(options),
            degrader=Degrader(max_lag=self.settings.live.max_lag),
        )

    def _diarizer(self, options: LiveOptions) -> StreamingDiarizer | None:
        if self.streaming_diarizer is None:
            return None
        if options.voiceprint_office is not None:
            return self.streaming_diarizer(office=options.voiceprint_office)
        return self.streaming_diarizer()

    def final_pass(self) -> FinalPass:
        base = FinalPass(self.transcriber, self.offline_diarizer, beam_size=self.settings.live.final_pass_beam)
        if self.second_pass_models is None or not self.settings.live.second_pass_alongside:
            return base
        options = AlongsideOptions(step_s=self.settings.live.second_pass_step,
                                   release_memory=self.settings.live.second_pass_release_memory)
        return AlongsideFinalPass(base, AlongsideWorker(self.second_pass_models, base, options))

    def manager(self, root: Path | None = None) -> SessionManager:
        return SessionManager(
            root or self.settings.sessions_path,
            self.pipeline,
            self.final_pass(),
            flush_interval=self.settings.live.flush_interval,
            live_model=self.transcriber.engine.name,
            default_options=self.options(),
        )

