"""The live pipeline's recogniser: the product's ``Transcriber`` on one utterance.

Live text goes through exactly the code ``scribe transcribe`` uses (VAD gate, Whisper, the
hallucination filter, Simplified Chinese with Chinese punctuation), only with faster settings:
a smaller beam and no temperature fallback, so one doubtful utterance cannot stall the stream.
"""

from __future__ import annotations

import numpy as np

from scribe.live.pipeline import Recognition, RecognitionRequest
from scribe.transcribe import TranscribeOptions, Transcriber


class TranscriberRecogniser:
    def __init__(self, transcriber: Transcriber) -> None:
        self.transcriber = transcriber

    @property
    def model_name(self) -> str:
        return self.transcriber.engine.name

    def recognise(self, samples: np.ndarray, request: RecognitionRequest) -> Recognition:
        options = TranscribeOptions(
            language=request.language or "auto",
            hotwords=request.hotwords,
            beam_size=request.beam_size,
            word_timestamps=request.word_timestamps,
            temperature=(0.0,),
        )
        result = self.transcriber.transcribe(samples, options)
        language = "" if result.language == "und" else result.language
        return Recognition(result.segments, language)
