"""Whisper's own 30 s window loop over audio that may still be growing, resumable where it stopped.

faster-whisper decodes a long recording window by window (``generate_segments``): each window
starts where the previous one's last word ended and is conditioned on the text before it. That
sequence is what makes the whole-recording pass accurate, and a recording cut into stretches
loses it (a fresh window and no earlier text at every cut: +3 CER points measured on a 10-minute
hearing). Here the same loop runs over audio that is still being recorded: every window whose
30 s lie inside what is settled is decoded exactly as the whole-recording pass decodes it, and
the loop stops at the first window that reaches past it, keeping what the next run needs (where
the window starts, the earlier-text tokens, the last word's end). A later run resumes there; the
last run, at the end of the recording, decodes the rest. The windows and their text are the same
however often the loop was stopped, by construction, so the second pass alongside a hearing
(scribe.live.alongside) ends with the transcript ``scribe transcribe`` makes of the same file.

Two things make that true, and both hold for the whole-recording pass too (it runs this code):

* each window's mel features are computed from its own samples and floored at *its own*
  maximum (Whisper's training clips were 30 s, each normalised on its own), not at the maximum
  of the whole array (faster-whisper's default, which would make an early window depend on the
  loudest moment of the recording, not yet heard when it is decoded alongside);
* the loop's state is read from ``generate_segments``' own frame at the moment it asks for the
  next window's features (faster-whisper is pinned in constraints.txt; a test fails if the
  names change), and a resumed loop gets it back as the initial prompt (a token list, which
  faster-whisper accepts) and the clip start, with the last word's end given to the first word
  alignment (``ResumableModel``).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

FRAME = 160  # samples per mel frame (10 ms at 16 kHz)
WINDOW_FRAMES = 3000  # one 30 s encoder window
# samples read either side of a window so its edge frames see real audio, as in a whole-array
# STFT (a frame spans 400 samples centred on it)
_EDGE = 3 * FRAME
# generate_segments' locals that make up the loop's state (faster-whisper 1.2.x)
_STATE_LOCALS = ("all_tokens", "prompt_reset_since", "last_speech_timestamp")


@dataclass(frozen=True)
class WindowState:
    """Where a stopped window loop resumes (on the clock of the audio it decodes)."""

    seek: int = 0  # first frame of the next window
    # the earlier-text tokens the next window is conditioned on (faster-whisper's
    # ``all_tokens[prompt_reset_since:]``); None: not started, the initial prompt applies
    prompt: tuple[int, ...] | None = None
    last_speech: float = 0.0  # end of the last aligned word (s), for word alignment
    finished: bool = False  # the loop reached the end of the recording

    def to_json(self) -> dict:
        return {"seek": self.seek, "prompt": None if self.prompt is None else list(self.prompt),
                "last_speech": self.last_speech, "finished": self.finished}

    @classmethod
    def from_json(cls, data: dict) -> WindowState:
        prompt = data.get("prompt")
        return cls(int(data.get("seek", 0)), None if prompt is None else tuple(int(t) for t in prompt),
                   float(data.get("last_speech", 0.0)), bool(data.get("finished", False)))


class WindowLimit(Exception):
    """The loop was about to encode a window past its limit (internal signal)."""


class Unsettled(Exception):
    """The loop asked for a window that reaches past the settled audio (internal signal)."""

    def __init__(self, state: WindowState) -> None:
        super().__init__(f"window at frame {state.seek} is not settled yet")
        self.state = state


Reader = Callable[[int, int], np.ndarray]  # (first sample, end sample) -> float32 samples


def log_mel(extractor, samples: np.ndarray, *, at_end: bool) -> np.ndarray:  # type: ignore[no-untyped-def]
    """log10 mel power per frame, before any floor: the arithmetic of faster-whisper's
    ``FeatureExtractor.__call__`` (its 160 samples of end padding only at the recording's end,
    where the whole-array computation has them)."""
    x = samples.astype(np.float32, copy=False)
    if at_end:
        x = np.pad(x, (0, FRAME))
    window = np.hanning(extractor.n_fft + 1)[:-1].astype("float32")
    stft = extractor.stft(x, extractor.n_fft, extractor.hop_length, window=window,
                          return_complex=True).astype("complex64")
    mel = extractor.mel_filters @ (np.abs(stft[..., :-1]) ** 2)
    return np.log10(np.clip(mel, a_min=1e-10, a_max=None))


class WindowFeatures:
    """Stands in for the feature array ``generate_segments`` slices (``features[:, a:b]``):
    each window's features are computed when it is asked for, from the samples it covers.

    ``n_samples``: the recording's length when ``final``; otherwise what is settled, and any
    window reaching past it raises ``Unsettled`` with the loop's state."""

    def __init__(self, extractor, read: Reader, n_samples: int, *, final: bool) -> None:  # type: ignore[no-untyped-def]
        self.extractor = extractor
        self.read = read
        self.n_samples = n_samples
        self.final = final
        frames = (n_samples + FRAME) // FRAME  # as FeatureExtractor.__call__ makes them
        # not final: the loop must never end on its own (it ends by asking for an unsettled window)
        self.shape = (extractor.mel_filters.shape[0], frames if final else 1 << 40)
        self.dtype = np.float32
        self.ndim = 2

    def __getitem__(self, key) -> np.ndarray:  # type: ignore[no-untyped-def]
        cols = key[-1] if isinstance(key, tuple) else key
        start, stop = int(cols.start or 0), int(cols.stop)
        if not self.final and stop * FRAME + _EDGE > self.n_samples:
            raise Unsettled(_state_of(sys._getframe(1), start))
        a = start * FRAME - _EDGE if start * FRAME >= _EDGE else 0
        b = min(self.n_samples, stop * FRAME + _EDGE)
        at_end = self.final and b >= self.n_samples
        mel = log_mel(self.extractor, self.read(a, b), at_end=at_end)
        first = (a // FRAME) if a else 0
        out = mel[:, start - first : stop - first]
        if out.shape[-1] == 0:
            return out.astype(np.float32)
        out = np.maximum(out, out.max() - 8.0)
        return ((out + 4.0) / 4.0).astype(np.float32)


def _state_of(frame, seek: int) -> WindowState:  # type: ignore[no-untyped-def]
    names = frame.f_locals
    missing = [n for n in _STATE_LOCALS if n not in names]
    if missing:  # a faster-whisper whose loop keeps its state under other names
        raise RuntimeError(f"faster-whisper's window loop has no {missing}: pin the version in constraints.txt")
    tokens = names["all_tokens"][names["prompt_reset_since"] :]
    # the next window's prompt holds only the last ``max_length // 2 - 1`` of them
    # (``WhisperModel.get_prompt``); the rest would grow the journal with every window
    model = names.get("self")
    if model is not None and hasattr(model, "max_length"):
        tokens = tokens[-(int(model.max_length) // 2 - 1) :]
    return WindowState(seek=seek, prompt=tuple(int(t) for t in tokens),
                       last_speech=float(names["last_speech_timestamp"]))


def resume_options(options, state: WindowState):  # type: ignore[no-untyped-def]
    """faster-whisper ``TranscriptionOptions`` that start the loop at ``state``."""
    changes: dict = {"clip_timestamps": [state.seek / 100.0]}
    if state.prompt is not None:
        changes["initial_prompt"] = list(state.prompt)
    return replace(options, **changes)


# CTranslate2 counts the start tokens into the generation length differently with and without
# a prefix: a decode cut by the cap came back 2-4 tokens short of it (measured, base)
CAP_SLACK = 8


def make_resumable_model(base: type) -> type:
    """A ``WhisperModel`` subclass whose first word alignment after a resume is told where the
    last word before it ended (faster-whisper starts every loop at 0.0; it only bounds how far a
    first word may stretch back into a pause), whose encoder can be given less than the padded
    30 s window (``encoder_frames``), and whose token cap (``max_new_tokens``) shrinks to what
    the prompt leaves of the model's length and, when reached, marks the window repetitive;
    ``windows_left`` ends the loop before it encodes a window past the caller's limit."""

    class ResumableModel(base):  # type: ignore[misc, valid-type]
        resume_last_speech: float | None = None
        # mel frames the encoder sees (None: faster-whisper's padded 30 s window); set by
        # WhisperEngine.decode for one single-window decode (DecodeOptions.encoder_pad_s)
        encoder_frames: int | None = None
        # windows the loop may still decode (None: no limit); set by WhisperEngine.decode for a
        # single-window decode: the loop ends with WindowLimit before encoding one more
        windows_left: int | None = None

        def encode(self, features):  # type: ignore[no-untyped-def]
            if self.windows_left == 0:
                raise WindowLimit()
            if self.encoder_frames is not None and features.shape[-1] > self.encoder_frames:
                features = features[..., : self.encoder_frames]
            return super().encode(features)

        def generate_with_fallback(self, encoder_output, prompt, tokenizer, options):  # type: ignore[no-untyped-def]
            if self.windows_left is not None:
                self.windows_left -= 1
            cap = options.max_new_tokens
            if cap is None:
                return super().generate_with_fallback(encoder_output, prompt, tokenizer, options)
            # faster-whisper raises when prompt + max_new_tokens exceeds the model's length; a
            # cap is a ceiling, so a long prompt (prefix, hotwords) only lowers it, and then
            # running out of room says nothing about a loop (as without a cap)
            room = self.max_length - len(prompt)
            if cap > room:
                options = replace(options, max_new_tokens=max(1, room))
            result, avg_logprob, temperature, ratio = super().generate_with_fallback(
                encoder_output, prompt, tokenizer, options)
            # The cap is set above any real speech, so a decode that ran into it was looping: its
            # text is marked repetitive (the hallucination filter drops it and the coverage
            # check decodes the stretch again), instead of a cut-off loop passing as speech.
            start = prompt.index(tokenizer.sot) + len(tokenizer.sot_sequence) + int(options.without_timestamps)
            new_tokens = len(result.sequences_ids[0]) - (len(prompt) - start)  # the prefix comes back
            if cap <= room and new_tokens >= cap - CAP_SLACK:
                ratio = math.inf
            return result, avg_logprob, temperature, ratio

        def add_word_timestamps(self, segments, tokenizer, encoder_output, num_frames,  # type: ignore[no-untyped-def]
                                prepend_punctuations, append_punctuations, last_speech_timestamp):
            if self.resume_last_speech is not None:
                if last_speech_timestamp == 0.0:  # the resumed loop has not aligned a word yet
                    last_speech_timestamp = self.resume_last_speech
                else:
                    self.resume_last_speech = None
            return super().add_word_timestamps(segments, tokenizer, encoder_output, num_frames,
                                               prepend_punctuations, append_punctuations,
                                               last_speech_timestamp)

    return ResumableModel
