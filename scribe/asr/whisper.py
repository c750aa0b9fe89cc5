"""faster-whisper (CTranslate2) behind a small interface: load once, decode arrays."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scribe.asr.windows import (
    FRAME,
    WINDOW_FRAMES,
    Reader,
    Unsettled,
    WindowFeatures,
    WindowLimit,
    WindowState,
    make_resumable_model,
    resume_options,
)
from scribe.types import SAMPLE_RATE, TranscriptSegment, Word


_CLOSING = " \t.,!?;:。，！？；：、…"


@dataclass(frozen=True)
class DecodeOptions:
    """What Whisper is asked to do for one call. Echoed into the transcript's ``info``."""

    language: str | None = None  # None: detect
    beam_size: int = 5
    best_of: int = 5
    patience: float = 1.0
    temperature: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    initial_prompt: str | None = None
    hotwords: str | None = None
    # Text already said at the start of the audio (earlier speech given as context): forced as
    # the decoder's prefix and removed from the result.
    prefix: str | None = None
    condition_on_previous_text: bool = True
    word_timestamps: bool = True
    no_speech_threshold: float = 0.6
    log_prob_threshold: float = -1.0
    compression_ratio_threshold: float = 2.4
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    # Only the first 30 s window (the caller's audio fits in it). With word timestamps
    # faster-whisper moves to the last aligned word and decodes the rest as a fresh window: a
    # second encoder pass (measured +30-65% on a live partial) for a tail of a fraction of a
    # second that the next partial hears anyway. Without word times it never does that. The
    # loop is stopped before it encodes that window (``ResumableModel.windows_left``): a check
    # on the segments coming out saw the second window only after it had been decoded.
    single_window: bool = False
    # Single-window decodes only: the encoder sees the audio plus this many seconds of padding
    # instead of Whisper's whole 30 s window (None: the whole window). On 2 cores the encoder's
    # fixed window is most of a short live decode; CTranslate2 takes shorter inputs (>= 3.19).
    encoder_pad_s: float | None = None
    # Most tokens one window may add after its prompt (None: up to the model's 448). A decode
    # caught in a repetition loop otherwise runs to the limit: measured 8 s for one live
    # partial with a beam on 2 cores, where the whole utterance took 1.2 s.
    max_new_tokens: int | None = None


@dataclass(frozen=True)
class RawSegment:
    """One decoded segment with the decoder's own quality signals (used for filtering)."""

    segment: TranscriptSegment
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    temperature: float


@dataclass(frozen=True)
class DecodeResult:
    language: str
    language_probability: float
    segments: tuple[RawSegment, ...] = field(default_factory=tuple)


class WhisperEngine:
    """One loaded CTranslate2 Whisper model. Thread-safe: calls are serialised by a lock,
    because one CTranslate2 model on 2 cores gains nothing from concurrent decodes."""

    def __init__(
        self, model_dir: Path, *, name: str, compute_type: str = "int8", cpu_threads: int = 0
    ) -> None:
        from faster_whisper import WhisperModel

        self.name = name
        self.model_dir = model_dir
        self._model = make_resumable_model(WhisperModel)(
            str(model_dir), device="cpu", compute_type=compute_type, cpu_threads=cpu_threads
        )
        self._lock = threading.Lock()

    @property
    def is_multilingual(self) -> bool:
        return bool(self._model.model.is_multilingual)

    def detect_language(self, samples: np.ndarray) -> list[tuple[str, float]]:
        """Every language Whisper knows with its probability, most likely first."""
        if not self.is_multilingual:
            return [("en", 1.0)]
        with self._lock:
            _lang, _prob, everything = self._model.detect_language(samples)
        return [(lang, float(p)) for lang, p in everything]

    def decode(
        self,
        samples: np.ndarray,
        options: DecodeOptions,
        *,
        offset: float = 0.0,
        on_segment: Callable[[float], None] | None = None,
        speech_after: Callable[[float], bool] | None = None,
    ) -> DecodeResult:
        """Decode a 16 kHz mono array. Times are shifted by ``offset`` seconds.

        ``on_segment(end_time)`` is called as segments come out (for progress bars).
        ``speech_after(t)``: whether the VAD hears speech in ``samples`` after ``t`` seconds;
        when it says no after the last decoded word, decoding stops there.
        """
        prefix = (options.prefix or "").strip() or None
        if not prefix and not options.single_window:
            # a whole recording (or a stretch of one): the resumable window loop, so that the
            # pass alongside a hearing and the whole-recording pass decode the same windows
            result, _state = self.decode_windows(
                lambda a, b: samples[a:b], samples.size, options,
                offset=offset, on_segment=on_segment, speech_after=speech_after)
            return result
        language = options.language
        if language and not self.is_multilingual:
            language = None if language == "en" else language
        prompt, hotwords = options.initial_prompt, options.hotwords
        if prefix and hotwords:
            # faster-whisper ignores hotwords when a prefix is given; they go where it would put
            # them (before the previous-text prompt)
            prompt, hotwords = " ".join(p for p in (hotwords, prompt) if p), None
        with self._lock:
            if options.single_window and options.encoder_pad_s is not None:
                self._model.encoder_frames = encoder_frames(samples.size, options.encoder_pad_s)
            if options.single_window:
                self._model.windows_left = 1
            try:
                segments, info = self._model.transcribe(
                    samples,
                    language=language,
                    prefix=prefix,
                    # After a prefix, timestamp mode tends to close the prefix's segment and end the
                    # window there (measured: the utterance after an 8 s context came back empty);
                    # without timestamps the continuation is decoded, as one segment.
                    without_timestamps=bool(prefix),
                    **self._generation_kwargs(options, prompt, hotwords),
                )
                out: list[RawSegment] = []
                strip = self._prefix_tokens(prefix) if prefix else None
                try:
                    for s in segments:  # a generator: decoding happens while iterating
                        if strip is not None:
                            s, strip = self._without_prefix(s, strip), None
                            if s is None:
                                continue
                        if self._keep(s, offset, out, on_segment, speech_after):
                            break
                except WindowLimit:
                    # single window: every segment of the first window is out; the loop was
                    # about to decode the tail after its last aligned word as a new window
                    pass
            finally:
                self._model.encoder_frames = None
                self._model.windows_left = None
        return DecodeResult(info.language, float(info.language_probability), tuple(out))

    def decode_windows(
        self,
        read: Reader,
        n_samples: int,
        options: DecodeOptions,
        *,
        state: WindowState = WindowState(),
        final: bool = True,
        offset: float = 0.0,
        on_segment: Callable[[float], None] | None = None,
        speech_after: Callable[[float], bool] | None = None,
    ) -> tuple[DecodeResult, WindowState]:
        """Whisper's window loop over ``read(a, b)`` (samples of audio ``n_samples`` long) from
        ``state`` (scribe.asr.windows). ``final``: ``n_samples`` is the end of the recording;
        otherwise it is what is settled, and the loop stops before the first window reaching past
        it. Returns the segments of the windows decoded and where the loop resumes."""
        from faster_whisper.tokenizer import Tokenizer

        if options.prefix:
            raise ValueError("a prefix belongs to single-window decodes")
        language = options.language
        if language and not self.is_multilingual:
            language = None if language == "en" else language
        language_probability = 1.0
        if language is None and self.is_multilingual:
            language, language_probability = self.detect_language(read(0, min(n_samples, 30 * SAMPLE_RATE)))[0]
        with self._lock:
            # faster-whisper's own option set (every default as transcribe() makes it), from a
            # call whose generator is never run
            _unused, info = self._model.transcribe(
                np.zeros(FRAME * 100, dtype=np.float32),
                language=language,
                **self._generation_kwargs(options, options.initial_prompt, options.hotwords),
                without_timestamps=False,
            )
            resumed = state.seek > 0 or state.prompt is not None
            opts = resume_options(info.transcription_options, state) if resumed else info.transcription_options
            tokenizer = Tokenizer(self._model.hf_tokenizer, self.is_multilingual,
                                  task="transcribe", language=info.language)
            features = WindowFeatures(self._model.feature_extractor, read, n_samples, final=final)
            self._model.resume_last_speech = state.last_speech if resumed else None
            out: list[RawSegment] = []
            after = WindowState(seek=features.shape[-1] - 1, finished=True)
            try:
                for s in self._model.generate_segments(features, tokenizer, opts, False):
                    if self._keep(s, offset, out, on_segment, speech_after):
                        break
            except Unsettled as stop:
                after = stop.state
                if resumed and after.last_speech == 0.0:
                    # no word aligned in this run: the last one is still the one before it
                    after = dataclasses.replace(after, last_speech=state.last_speech)
            finally:
                self._model.resume_last_speech = None
        return DecodeResult(info.language, language_probability, tuple(out)), after

    @staticmethod
    def _generation_kwargs(options: DecodeOptions, prompt: str | None, hotwords: str | None) -> dict:
        return dict(
            beam_size=options.beam_size,
            best_of=options.best_of,
            patience=options.patience,
            temperature=list(options.temperature),
            initial_prompt=prompt,
            hotwords=hotwords,
            condition_on_previous_text=options.condition_on_previous_text,
            word_timestamps=options.word_timestamps,
            no_speech_threshold=options.no_speech_threshold,
            log_prob_threshold=options.log_prob_threshold,
            compression_ratio_threshold=options.compression_ratio_threshold,
            repetition_penalty=options.repetition_penalty,
            no_repeat_ngram_size=options.no_repeat_ngram_size,
            max_new_tokens=options.max_new_tokens,
            vad_filter=False,  # gating is ours (scribe.asr.vad), with the locked model
        )

    def _keep(self, s, offset: float, out: list[RawSegment],  # type: ignore[no-untyped-def]
              on_segment: Callable[[float], None] | None,
              speech_after: Callable[[float], bool] | None) -> bool:
        """Add faster-whisper's segment ``s`` to ``out``; True when decoding should stop there.

        With word timestamps, faster-whisper moves to the last aligned word and, if the window
        ended on a timestamp pair, decodes the leftover tail as a fresh 30 s window: a full
        encoder + beam pass that finds nothing or repeats the last line (measured: it doubles
        the cost of a short utterance). When the caller's VAD hears no speech after the last
        word, that pass is skipped."""
        raw = self._raw(s, offset)
        out.append(raw)
        if on_segment:
            on_segment(s.end + offset)
        words = raw.segment.words
        return speech_after is not None and bool(words) and not speech_after(words[-1].end - offset)

    @staticmethod
    def _raw(s, offset: float) -> RawSegment:  # type: ignore[no-untyped-def]
        words = tuple(Word(w.start + offset, w.end + offset, w.word, float(w.probability)) for w in (s.words or ()))
        seg = TranscriptSegment(start=s.start + offset, end=s.end + offset, text=s.text, words=words)
        return RawSegment(seg, s.avg_logprob, s.no_speech_prob, s.compression_ratio, s.temperature)

    # -- prefix handling: the first segment starts with the forced prefix tokens --------------
    def _prefix_tokens(self, prefix: str) -> list[int]:
        # as faster-whisper encodes it (Tokenizer.encode of " " + prefix)
        return list(self._model.hf_tokenizer.encode(" " + prefix, add_special_tokens=False).ids)

    def _without_prefix(self, seg, prefix_tokens: list[int]):  # type: ignore[no-untyped-def]
        """``seg`` with the prefix's tokens, text and words removed; None if nothing is left."""
        hf = self._model.hf_tokenizer
        eot = hf.token_to_id("<|endoftext|>")
        text_tokens = [t for t in seg.tokens if t < eot]
        if text_tokens[: len(prefix_tokens)] != prefix_tokens:
            # not seen (the prefix is forced), but if it happened the text could not be told
            # apart from the prefix: nothing is returned rather than the prefix said twice
            return None
        rest = text_tokens[len(prefix_tokens) :]
        # the model often closes the prefix's sentence first (". If the reader..."): that mark
        # belongs to the text before
        text = hf.decode(rest)
        body = text.lstrip(_CLOSING)
        if not body.strip():
            return None
        # words (when asked for) cover the prefix too: drop as many characters as it has
        prefix_chars = len("".join(hf.decode(prefix_tokens).split()))
        words, said = list(seg.words or ()), 0
        while words and said < prefix_chars:
            said += len("".join(words.pop(0).word.split()))
        return dataclasses.replace(
            seg,
            text=(" " + body.lstrip()) if body != text else text,
            tokens=rest,
            start=words[0].start if words else seg.start,
            words=words or None,
        )


def encoder_frames(n_samples: int, pad_s: float) -> int:
    """Mel frames the encoder sees for ``n_samples`` of audio plus ``pad_s`` of padding: even
    (the encoder's first convolution has stride 2), at most Whisper's 30 s window."""
    n = min(WINDOW_FRAMES, -(-n_samples // FRAME) + round(pad_s * SAMPLE_RATE / FRAME))
    return n + n % 2



def hotword_prompt(hotwords: Sequence[str]) -> str | None:
    """faster-whisper's ``hotwords`` text: names and terms that must come out right."""
    words = [w.strip() for w in hotwords if w and w.strip()]
    return "，".join(dict.fromkeys(words)) or None
