"""The live pipeline's recogniser: the product's ``Transcriber`` on one utterance.

Live text goes through exactly the code ``scribe transcribe`` uses (VAD gate, Whisper, the
hallucination filter, Simplified Chinese with Chinese punctuation), only with faster settings:
no temperature fallback, so one doubtful utterance cannot stall the stream. The session's
preceding speech, when the pipeline gives it, is decoded in front of the utterance with its
text as the decoder's prefix; only the utterance's own text comes back.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from scribe.asr.vad import WINDOW
from scribe.coverage import CoverageOptions
from scribe.live.pipeline import Recognition, RecognitionRequest
from scribe.transcribe import TranscribeOptions, Transcriber
from scribe.types import SAMPLE_RATE, TranscriptSegment


class TranscriberRecogniser:
    def __init__(self, transcriber: Transcriber) -> None:
        self.transcriber = transcriber

    @property
    def model_name(self) -> str:
        return self.transcriber.engine.name

    def recognise(self, samples: np.ndarray, request: RecognitionRequest) -> Recognition:
        context = request.context if request.context is not None and request.context_text else None
        audio = samples if context is None else np.concatenate([context, samples])
        options = TranscribeOptions(
            language=request.language or "auto",
            hotwords=request.hotwords,
            beam_size=request.beam_size,
            word_timestamps=request.word_timestamps,
            temperature=(0.0,),
            prefix=request.context_text if context is not None else None,
            context_s=len(context) / SAMPLE_RATE if context is not None else 0.0,
            coverage=CoverageOptions(by_words=False),
            # context + utterance fit in one window (MAX_DECODE_SECONDS): no second encoder
            # pass for the tail after the last aligned word (see DecodeOptions.single_window)
            single_window=True,
            encoder_pad_s=request.encoder_pad,
            max_new_tokens=max_new_tokens(len(samples) / SAMPLE_RATE),
        )
        result = self.transcriber.transcribe(audio, options)
        language = "" if result.language == "und" else result.language
        segments = result.segments
        if context is not None:
            shift = len(context) / SAMPLE_RATE
            segments = tuple(_after(s, shift) for s in segments if s.end > shift)
            if not self._plausible(segments, samples, result.language):
                # After a prefix Whisper sometimes stops early or skips a sentence, most often
                # when a new voice follows (measured on the shared conversations): too little
                # text for the speech heard, so the utterance is decoded again on its own.
                return self.recognise(samples, replace(request, context=None, context_text=""))
        return Recognition(segments, language)

    def _plausible(self, segments: tuple[TranscriptSegment, ...], samples: np.ndarray, language: str) -> bool:
        chars = sum(len("".join(s.text.split())) for s in segments if not s.unrecognised)
        probs = self.transcriber.vad.speech_probs(samples)
        speech_s = float((probs >= 0.5).sum()) * WINDOW / SAMPLE_RATE
        rate = MIN_CHARS_PER_SPEECH_SECOND["zh" if language in ("zh", "yue") else ""]
        return chars > 0 and chars >= rate * speech_s


# The least text a second of speech gives, well below normal speech (read English ~12 letters/s,
# Mandarin ~4.5 characters/s on the shared set): a continuation under it has lost speech.
MIN_CHARS_PER_SPEECH_SECOND = {"zh": 1.8, "": 5.0}


# Twice the fastest speech in the development material, in Whisper tokens per second of
# audio (13.4: a whole clip of fast Mandarin, manifest2's sherpa_qwen3_fast1; median 5.6 over
# the 76 references of 1 s or more), plus room for timestamps and punctuation. Real speech
# never reaches it; a decode caught repeating itself stops there instead of at 448 tokens.
MAX_TOKENS_PER_SECOND = 27.0
MIN_TOKEN_CAP = 24


def max_new_tokens(utterance_s: float) -> int:
    """The most tokens a live decode of ``utterance_s`` seconds (after its context) may add."""
    return MIN_TOKEN_CAP + math.ceil(MAX_TOKENS_PER_SECOND * utterance_s)


def _after(seg: TranscriptSegment, shift: float) -> TranscriptSegment:
    """``seg`` on the utterance's clock (the context's audio came first)."""
    words = tuple(
        replace(w, start=max(0.0, w.start - shift), end=w.end - shift) for w in seg.words if w.end > shift
    )
    return replace(seg, start=max(0.0, seg.start - shift), end=seg.end - shift, words=words)
