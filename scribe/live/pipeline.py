"""The streaming pipeline: VAD endpointing -> incremental recognition -> partial/final events.

A plain callable with no I/O and no threads (the session owns those): ``feed(samples)`` takes the
next block of 16 kHz float32 audio and returns the events it caused; ``flush()`` closes the
utterance in progress. The recogniser and the diarizer are injected behind small Protocols.

Latency, on the session clock: an utterance is closed ``min_silence`` seconds after its speech
ends (or at ``max_utterance`` seconds, cut at the quietest window near the end). A partial for
the utterance in progress is recognised every ``partial_interval`` seconds of new audio, with
the final's own decoding settings (beam search; the encoder gets the context + utterance + a
few seconds, not Whisper's 30 s window, ``encoder_pad``), so a partial is as good as a final.
That buys three things:

- when speech pauses (``PAUSE_SPECULATE``), the utterance so far is recognised at once; if no
  speech follows before the endpoint, that result *is* the final, so a final is emitted about
  ``PAUSE_SPECULATE + one decode`` after the speech ends instead of ``min_silence + decode``;
- when a recognition of a long utterance holds several segments and a segment boundary sits in
  a VAD pause, the segments before it are final already (``_commit_settled``): a speaker change
  over a short gap does not hold back the text before it;
- inside speech with no pause at all, the words two consecutive recognitions of the utterance
  agree on are final (LocalAgreement, ``scribe.live.agreement``; ``_commit_agreed``): the
  utterance is cut between the last agreed word and the next, at the quietest VAD window there,
  and the agreed text becomes the forced prefix of the rest, so a monologue streams final text
  while it is spoken and each decode covers only the speech since the last commit (plus its
  context). The pause-based endpoint finishes what no two decodes agreed on.

Finals never change afterwards: a final is emitted once for audio that leaves the utterance in
progress, and only its speaker label may follow (a ``speaker`` event).

Each utterance is recognised after the session's preceding speech (``context_seconds`` of it,
with the text already emitted for it forced as the decoder's prefix): a two-word answer is
heard after the question, as in the whole-recording pass. Intervals stretch when the machine
falls behind (see ``Degrader``).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

import numpy as np

from scribe.coverage import CoverageOptions, uncovered
from scribe.live import events as ev
from scribe.live.agreement import agreed_prefix, spoken
from scribe.live.events import Event
from scribe.asr.vad import WINDOW
from scribe.text.zh import finish_mandarin, finish_text
from scribe.live.vad_stream import SpeechProbability
from scribe.types import SAMPLE_RATE, AudioChunk, SpeakerTurn, TranscriptSegment, Word

if TYPE_CHECKING:
    from scribe.settings import Settings


PAUSE_SPECULATE = 0.2  # s of trailing silence after which the utterance so far is recognised
# s of audio whose speaker labels may wait while the worker is behind (StreamingPipeline.feed):
# about the diarizer's own settling latency, so labels come at most that much later
LABELS_DEFER = 2.0
SETTLED_PAUSE = 0.15  # s: a VAD pause this long at a segment boundary makes the segments before it final
MAX_DECODE_SECONDS = 28.0  # context + utterance stay inside Whisper's one 30 s window

# -- what the pipeline needs from the models ------------------------------------------------


@dataclass(frozen=True)
class RecognitionRequest:
    language: str | None  # None: detect
    hotwords: tuple[str, ...]
    beam_size: int
    word_timestamps: bool
    # Earlier speech of the session and the text already emitted for it: the recogniser decodes
    # context + utterance with that text forced as the decoder's prefix and returns only what
    # follows (times relative to the utterance).
    context: np.ndarray | None = field(default=None, compare=False, repr=False)
    context_text: str = ""
    # seconds of padding the encoder sees after context + utterance (None: Whisper's whole 30 s
    # window); see LiveOptions.encoder_pad
    encoder_pad: float | None = None


@dataclass(frozen=True)
class Recognition:
    segments: tuple[TranscriptSegment, ...]  # times relative to the audio given
    language: str


class Recogniser(Protocol):
    """Speech -> text for one stretch of audio (the lead's WhisperEngine behind an adapter)."""

    def recognise(self, samples: np.ndarray, request: RecognitionRequest) -> Recognition: ...


class StreamingDiarizer(Protocol):
    """``diarize.StreamingDiarizer``: turns settled a little behind the audio."""

    def feed(self, chunk: AudioChunk) -> list[SpeakerTurn]: ...

    def flush(self) -> list[SpeakerTurn]: ...

    def skip_to(self, t: float) -> None: ...


# -- options ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveOptions:
    language: str = "auto"  # zh | en | auto
    hotwords: tuple[str, ...] = ()
    speech_threshold: float = 0.5
    silence_threshold: float = 0.35
    min_silence: float = 0.5  # s of silence that closes an utterance
    min_speech: float = 0.25  # shorter bursts (a cough, a click) are not sent to the recogniser
    speech_pad: float = 0.2  # s of audio kept before and after the detected speech
    max_utterance: float = 15.0  # s; a monologue is cut so finals keep coming
    partial_interval: float = 1.0  # s of new audio between partials
    # The budget of partials: at most this share of the time goes to them (the interval
    # stretches to their own cost / share), so finals and the diarizer never queue behind them
    # for long. inf: no budget (a stream fed faster than real time, as in a test).
    partial_share: float = 0.5
    final_beam: int = 5  # partials decode the same way (see the module docstring)
    context_seconds: float = 8.0  # earlier speech each utterance is recognised after (0: none)
    # Word times for every live decode: the agreement commits at word boundaries and a final
    # carries its words. (They used to be off: faster-whisper then decoded the silent tail of
    # an utterance as a separate window, where base looped to its token limit; live decodes
    # now stop after their one window, ``TranscribeOptions.single_window``.)
    final_words: bool = True
    # LocalAgreement commits inside speech (see the module docstring); needs a fixed language
    # and a context (the agreed text must become the prefix of the rest)
    agreement: bool = True
    # Seconds of padding the encoder sees after the audio of a live decode instead of Whisper's
    # whole 30 s window (None: the whole window). The encoder's fixed window is about half of a
    # short live decode on 2 cores; see the setting live.encoder_pad_s for how 5 was chosen.
    encoder_pad: float | None = 5.0
    # the hearing's office: its live and final-pass diarizer loads that office's voiceprints only
    voiceprint_office: str | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, language: str = "auto", hotwords: tuple[str, ...] = ()
    ) -> LiveOptions:
        """A session's options from the site's settings (the one place they are copied)."""
        return cls(
            language=language,
            hotwords=hotwords,
            min_silence=settings.live.min_silence,
            max_utterance=settings.live.max_utterance,
            partial_interval=settings.live.partial_interval,
            final_beam=settings.live.final_beam,
            context_seconds=settings.live.context_seconds,
            encoder_pad=settings.live.encoder_pad_s,
        )


# -- keeping up ---------------------------------------------------------------------------------


@dataclass
class Degrader:
    """Chooses how much work the live path does from how far behind it is.

    The measure is the lag and whether the queue **drains**: ``lag`` is the seconds of audio
    received but not yet processed, read each time the worker takes the next block. A slow
    decode lifts the lag for a moment and the queue drains after it; a pipeline that is behind
    never drains. Stretches are measured on the session's audio clock (seconds of audio
    processed), which real-time capture ties to the wall clock and a test can drive.

    The rule, with hysteresis (different thresholds, different stretches, so it does not flap):

    - one level more when the lag has not once been at or below ``up_lag[level]`` over the
      last ``hold`` s (its floor there is above it): level 1 from the final-latency target (a
      queue that never drains below it cannot give finals on time), level 2 from three times
      that;
    - one level less when the queue has drained (lag below ``down_lag``) at least once every
      ``hold`` s for the last ``calm`` s: the pipeline keeps up with the lighter load;
    - the stretch starts again at every change, so each change is judged on its own effect; a
      level given back that has to be taken again within ``calm`` doubles ``calm`` (up to
      ``max_calm``), so a machine that cannot carry a level is not made to retry it every 10 s.

    ``hold`` is longer than any one decode on a busy 2-core machine (3-4 s measured), so a
    single slow decode never degrades. Level 0: everything. Level 1: partials every 3 s, greedy
    finals; speaker labels stay live. Level 2: no partials, live speaker labels paused (the diarizer goes on from the present when the level drops; the final pass labels
    the gap). Every feature comes back as the levels drop. Beyond ``max_lag`` the session skips
    the oldest unprocessed audio in the live path (it is archived; the final pass transcribes
    it), so latency and memory stay bounded.
    """

    up_lag: tuple[float, float] = (1.5, 4.5)
    down_lag: float = 0.5
    hold: float = 5.0
    calm: float = 10.0
    max_calm: float = 80.0
    max_lag: float = 30.0
    level: int = 0
    _since: float | None = field(default=None, repr=False)  # clock of the last change
    _lags: deque[tuple[float, float]] = field(default_factory=deque, repr=False)
    _drained_at: float | None = field(default=None, repr=False)  # last time the queue drained
    _draining_since: float | None = field(default=None, repr=False)  # drains <= hold apart since
    _restored_at: float | None = field(default=None, repr=False)
    _calm_now: float | None = field(default=None, repr=False)

    def update(self, lag: float, now: float) -> int | None:
        """``lag`` read at session time ``now`` (s of audio processed); returns the new level
        when it changes."""
        calm = self._calm_now if self._calm_now is not None else self.calm
        if self._since is None:
            self._since = now
        self._lags.append((now, lag))
        while self._lags and self._lags[0][0] < now - self.hold:
            self._lags.popleft()
        if lag < self.down_lag:
            if self._drained_at is None or now - self._drained_at > self.hold:
                self._draining_since = now
            self._drained_at = now
        old = self.level
        measured = now - self._since >= self.hold
        floor = min(x for _, x in self._lags)
        if self.level < 2 and measured and floor > self.up_lag[self.level]:
            if self._restored_at is not None and now - self._restored_at < calm:
                self._calm_now = min(2 * calm, self.max_calm)  # it could not carry that level
            self.level += 1
        elif self.level > 0 and self._caught_up(now, calm):
            self.level -= 1
            self._restored_at = now
        if self.level == old:
            return None
        self._since = now
        self._lags.clear()
        return self.level

    def _caught_up(self, now: float, calm: float) -> bool:
        d, s = self._drained_at, self._draining_since
        return (d is not None and s is not None and self._since is not None and now - d <= self.hold
                and now - max(s, self._since) >= calm)

    def apply(self, options: LiveOptions) -> LiveOptions:
        if self.level == 0:
            return options
        # greedy finals when behind: a beam costs more than it gains on a machine this busy
        if self.level == 1:
            return replace(options, partial_interval=max(options.partial_interval, 3.0), final_beam=1)
        # (utterances are not stretched: a 25 s utterance decoded once at its end made its
        # first words 25 s late, measured on conv_zh_dev_02; the work is bounded by decoding
        # only what the audio decides while the queue holds more, StreamingPipeline.feed)
        return replace(options, partial_interval=float("inf"), final_beam=1)

    @property
    def diarize_live(self) -> bool:
        return self.level < 2


DEGRADE_MESSAGES = {
    0: "the machine is keeping up again: partial text and live speaker labels are back",
    1: "the machine is falling behind: partial text less often",
    2: "the machine is far behind: partial text and live speaker labels paused until it catches "
       "up; the final pass labels everything",
}


# -- the pipeline ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hypothesis:
    windows: int  # windows of the utterance it covers
    language: str | None  # the language asked for (None: detected)
    result: Recognition


@dataclass
class _Final:
    id: str
    start: float
    end: float
    speaker: str | None


class StreamingPipeline:
    def __init__(
        self,
        vad: SpeechProbability,
        recogniser: Recogniser,
        options: LiveOptions,
        *,
        diarizer: StreamingDiarizer | None = None,
        degrader: Degrader | None = None,
    ) -> None:
        self.vad = vad
        self.recogniser = recogniser
        self.base_options = options
        self.diarizer = diarizer
        self._diarize_paused = False  # live labels paused while far behind (Degrader level 2)
        self.degrader = degrader or Degrader()
        self.samples_in = 0  # session clock (samples) of the next sample to arrive
        self._pending = np.zeros(0, dtype=np.float32)  # < one VAD window, not yet scored
        self._pad = int(options.speech_pad * SAMPLE_RATE)
        self._preroll: deque[np.ndarray] = deque(maxlen=max(1, self._pad // WINDOW + 1))
        self._utt: list[np.ndarray] = []  # windows of the utterance in progress
        self._utt_probs: list[float] = []
        self._utt_start = 0  # samples
        self._silence = 0  # samples of trailing silence
        self._voiced = 0  # samples of speech in the utterance
        self._last_partial = 0  # samples into the utterance at the last partial
        # Behind (audio queued after the block): an endpoint is not closed at once but held
        # here (windows of the utterance to keep) while the VAD reads on through the queue:
        # when the next endpoint is queued too, both are decoded in one call at the same time
        # the first alone would have been (Whisper's cost is its fixed 30 s window, not the
        # audio in it), so the second comes one decode earlier and the queue drains. Closed
        # at the latest such endpoint once the worker reaches the newest block, or at
        # ``max_utterance``.
        self._held: list[int] = []  # the held endpoints, oldest first
        self._behind = False
        self._partial_shown = False
        self.utterance = 0
        # fixed by the session, or None: detect on every final (hearings switch languages);
        # partials reuse the last language detected, which saves an encoder pass each
        self.language: str | None = None if options.language == "auto" else options.language
        self._detected: str | None = self.language
        self._partial_cost = 0.0  # s of compute the last partial took
        self._last_speech = 0  # index of the utterance's last window that was not silence
        self._hyp: _Hypothesis | None = None  # latest recognition of the utterance in progress
        self._agreed: list[Word] | None = None  # words of the latest decode, to agree with the next
        self._history: deque[tuple[np.ndarray, str]] = deque()  # (audio, text) of the latest finals
        self._recent: deque[_Final] = deque(maxlen=200)  # finals whose speaker may still change
        self._turns: deque[SpeakerTurn] = deque(maxlen=2000)
        self._turns_horizon = 0.0
        self.recognition_seconds = 0.0  # compute spent (for RTF)
        self.partials = 0
        self.finals = 0
        # what made text final: LocalAgreement inside speech, a VAD pause at a segment
        # boundary, the endpoint (or a cut), for the benchmark and the session's live_stats
        self.commits = {"agreement": 0, "pause": 0, "endpoint": 0}
        self.diarize_paused_seconds = 0.0
        # blocks not yet through the diarizer (deferred while the worker is behind, see feed)
        self._labels_due: list[tuple[np.ndarray, int]] = []
        self._labels_due_samples = 0

    # -- public ---------------------------------------------------------------------------

    @property
    def options(self) -> LiveOptions:
        return self.degrader.apply(self.base_options)

    def set_hotwords(self, hotwords: tuple[str, ...]) -> None:
        """Names typed or corrected while recording: every later partial and final uses them
        (one assignment of a frozen value, so a recognition in progress keeps its own)."""
        self.base_options = replace(self.base_options, hotwords=tuple(hotwords))

    @property
    def clock(self) -> float:
        return self.samples_in / SAMPLE_RATE

    def skip(self, num_samples: int) -> list[Event]:
        """Audio the live path will not process (too far behind): close what was open."""
        out = self._close_utterance() if self._utt else []
        out += self._label_due()
        if self.diarizer is not None and not self._diarize_paused:
            out += self._relabel(self.diarizer.flush())
            self.diarizer.skip_to((self.samples_in + num_samples) / SAMPLE_RATE)
        self.samples_in += num_samples
        self._pending = np.zeros(0, dtype=np.float32)
        self._preroll.clear()
        self._history.clear()  # the skipped speech breaks the context
        self.vad.reset()
        return out

    def feed(self, samples: np.ndarray, *, more_queued: bool = False) -> list[Event]:
        """The next block. ``more_queued``: the session already holds the audio after it (the
        worker is behind). Then only what the audio decides is decoded (an endpoint's or a
        cut's final); the partial and the speculative decode at a pause wait for the last
        queued block: a partial of audio that is already old delays the finals behind it,
        and whether a pause is an endpoint is in the queued audio, so the VAD reads it first.
        """
        out: list[Event] = []
        block_start = self.samples_in - len(self._pending)
        buf = np.concatenate([self._pending, samples.astype(np.float32, copy=False)])
        n = len(buf) // WINDOW * WINDOW
        self._pending = buf[n:].copy()
        opts = self.options
        at_in = self.samples_in
        self.samples_in += len(samples)
        self._behind = more_queued
        for i in range(0, n, WINDOW):
            out += self._step(buf[i : i + WINDOW], block_start + i, opts)
        if not more_queued and self._held:
            out += self._close_utterance(self._held[-1], endpoint=True)
        # Speaker labels after the block's finals, and while the queue holds more audio only
        # once ``LABELS_DEFER`` seconds have waited: the finals' decodes come first (the VAD
        # reaches the next endpoint through the queue without the embeddings of every block
        # on the way), the diarizer catches up when the worker does. It settles its turns about
        # 2 s behind the audio anyway, so a final rarely has its label from the block that
        # closed it; a ``speaker`` event follows.
        if self.diarizer is not None:
            self._labels_due.append((samples, at_in))
            self._labels_due_samples += len(samples)
            if not more_queued or self._labels_due_samples >= LABELS_DEFER * SAMPLE_RATE:
                out += self._label_due()
        if more_queued or not self._utt or self._voiced < opts.min_speech * SAMPLE_RATE:
            return out
        if self._silence >= PAUSE_SPECULATE * SAMPLE_RATE:
            # The speaker seems to have stopped: recognise the utterance now, as the final
            # would, so the endpoint can emit it without another decode. Skipped when partials
            # are off (far behind): then it would be extra work, not earlier work.
            if not self._covered() and opts.partial_interval != float("inf"):
                out += self._partial(opts, speculate=True)
            return out
        length = len(self._utt) * WINDOW
        # the partials' budget (see LiveOptions.partial_share)
        interval = max(opts.partial_interval, self._partial_cost / opts.partial_share)
        if length - self._last_partial >= interval * SAMPLE_RATE:
            out += self._partial(opts)
        return out

    def flush(self) -> list[Event]:
        """End of stream: the utterance in progress becomes final, the diarizer settles."""
        out = self.end_utterance()
        out += self._label_due()
        if self.diarizer is not None and not self._diarize_paused:
            out += self._relabel(self.diarizer.flush())
        return out

    def end_utterance(self) -> list[Event]:
        """Close the utterance in progress (a pause); the stream goes on afterwards."""
        return self._close_utterance(endpoint=True) if self._utt else []

    # -- endpointing ---------------------------------------------------------------------

    def _step(self, window: np.ndarray, at: int, opts: LiveOptions) -> list[Event]:
        p = self.vad(window)
        if not self._utt:
            if p >= opts.speech_threshold:
                pre = list(self._preroll)
                self._start_utterance(pre + [window], [0.0] * len(pre) + [p], at - len(pre) * WINDOW)
                self._preroll.clear()
            else:
                self._preroll.append(window)
            return []
        self._utt.append(window)
        self._utt_probs.append(p)
        if p < opts.silence_threshold:
            self._silence += WINDOW
        else:
            self._silence = 0
            self._last_speech = len(self._utt) - 1
            if p >= opts.speech_threshold:
                self._voiced += WINDOW
        if self._silence >= opts.min_silence * SAMPLE_RATE:
            # keep speech_pad of the silence, give the rest back to the pre-roll
            keep = len(self._utt) - (self._silence - self._pad) // WINDOW
            if not self._behind:
                return self._close_utterance(keep, endpoint=True)
            if not self._held or self._held[-1] != keep:
                self._held.append(keep)  # held: the queue may hold the next endpoint too
        if len(self._utt) * WINDOW >= opts.max_utterance * SAMPLE_RATE:
            if self._held:
                return self._close_utterance(self._held[-1], endpoint=True)
            return self._close_utterance(self._cut_point())
        return []

    def _start_utterance(self, windows: list[np.ndarray], probs: list[float], start: int) -> None:
        opts = self.options
        self._utt, self._utt_probs, self._utt_start = windows, probs, start
        self._voiced = sum(WINDOW for q in probs if q >= opts.speech_threshold)
        self._last_speech = max((i for i, q in enumerate(probs) if q >= opts.silence_threshold), default=0)
        # a remainder (after a cut or a commit) may already end in a pause: it counts towards
        # the endpoint, or the next speaker's words would be joined to this utterance
        self._silence = (len(probs) - 1 - self._last_speech) * WINDOW
        self._last_partial = 0
        self._held = []
        self._hyp = None
        self._agreed = None

    def _cut_point(self) -> int:
        """Window index to cut a too-long utterance at: the quietest of its last 3 s."""
        probs = np.asarray(self._utt_probs)
        lo = max(1, len(probs) - int(3 * SAMPLE_RATE / WINDOW))
        return lo + int(np.argmin(probs[lo:]))

    def _covered(self) -> bool:
        """Whether the latest recognition heard all the utterance's speech, as the final would."""
        h = self._hyp
        return h is not None and h.windows > self._last_speech and h.language == self.language

    def _close_utterance(self, keep: int | None = None, *, endpoint: bool = False) -> list[Event]:
        keep = len(self._utt) if keep is None else max(1, min(keep, len(self._utt)))
        audio = np.concatenate(self._utt[:keep])
        start = self._utt_start
        voiced = self._voiced if keep == len(self._utt) else sum(
            WINDOW for q in self._utt_probs[:keep] if q >= self.options.speech_threshold)
        # at an endpoint nothing but silence follows the last speech window: a recognition
        # that heard it is what the final decode would produce (same settings, same context)
        reuse = self._hyp.result if (endpoint and self._covered() and self._hyp) else None
        held = [k for k in self._held if 0 < k < keep]  # endpoints inside what is closed
        kept_probs = self._utt_probs[:keep]
        rest, rest_probs = self._utt[keep:], self._utt_probs[keep:]
        utt_id = self.utterance
        self.utterance += 1
        shown = self._partial_shown
        self._utt, self._utt_probs, self._partial_shown = [], [], False
        self._silence = self._voiced = self._last_partial = 0
        self._held = []
        self._hyp = None
        self._agreed = None
        if rest and max(rest_probs, default=0.0) >= self.options.speech_threshold:
            # a cut inside speech: the remainder opens the next utterance
            self._start_utterance(rest, rest_probs, start + keep * WINDOW)
        else:
            for w in rest[-self._preroll.maxlen :] if self._preroll.maxlen else []:
                self._preroll.append(w)
        out: list[Event] = []
        if voiced >= self.base_options.min_speech * SAMPLE_RATE:
            if held:
                out = self._final_held(audio, kept_probs, start, utt_id, held)
            else:
                out = self._final(audio, start / SAMPLE_RATE, utt_id, reuse)
            self.commits["endpoint"] += 1 if out else 0
        if not out and shown:
            # the partial on screen came to nothing (noise, a filtered hallucination): clear it
            out.append(ev.partial(utt_id, start / SAMPLE_RATE, start / SAMPLE_RATE, "", None))
        return out

    # -- recognition ------------------------------------------------------------------------

    def _request(self, language: str | None, utterance_samples: int) -> RecognitionRequest:
        opts = self.options
        context, text = self._context(utterance_samples)
        return RecognitionRequest(
            language=language,
            hotwords=self.base_options.hotwords,
            beam_size=opts.final_beam,
            word_timestamps=opts.final_words,
            context=context,
            context_text=text,
            encoder_pad=opts.encoder_pad,
        )

    def _context(self, utterance_samples: int) -> tuple[np.ndarray | None, str]:
        """The latest finals' audio and text, up to ``context_seconds``, whole utterances only
        (the prefix must be exactly what the audio says)."""
        # Auto language: no context, or detection would hear the previous speaker's language.
        if self.language is None or not self._history or self.base_options.context_seconds <= 0:
            return None, ""
        cap = MAX_DECODE_SECONDS * SAMPLE_RATE - utterance_samples
        room = min(self.base_options.context_seconds * SAMPLE_RATE, cap)
        picked: list[tuple[np.ndarray, str]] = []
        total = 0
        for audio, text in reversed(self._history):
            # the latest final is taken even when longer than context_seconds (as long as it
            # fits the window): speech cut with no pause (an agreement, a 15 s cut) must go on
            # from its text, or the words at the cut are lost or said twice
            if total + len(audio) > (room if picked else cap):
                break
            picked.append((audio, text))
            total += len(audio)
        if not picked:
            return None, ""
        picked.reverse()
        return np.concatenate([a for a, _ in picked]), _join(self.language, [t for _, t in picked])

    def _recognise(self, audio: np.ndarray, request: RecognitionRequest) -> Recognition:
        t0 = time.perf_counter()
        result = self.recogniser.recognise(audio, request)
        self.recognition_seconds += time.perf_counter() - t0
        return result

    def _partial(self, opts: LiveOptions, *, speculate: bool = False) -> list[Event]:
        audio = np.concatenate(self._utt)
        self._last_partial = len(audio)
        # a speculative run asks exactly what the final will ask (detecting the language when
        # the session has none); a regular partial reuses the last detected language, which
        # saves the detection's encoder pass
        language = self.language if (speculate or self.language) else self._detected
        t0 = time.perf_counter()
        result = self._recognise(audio, self._request(language, len(audio)))
        self._partial_cost = time.perf_counter() - t0
        self._hyp = _Hypothesis(len(self._utt), language, result)
        out, segments = self._commit_settled(result, opts)
        agreed, segments = self._commit_agreed(segments, result.language, opts)
        out += agreed
        # an unrecognised stretch is marked in the final, not flashed in the partial
        text = _join(result.language, [s.text for s in segments if not s.unrecognised])
        if not text:
            return out
        self.partials += 1
        self._partial_shown = True
        start = self._utt_start / SAMPLE_RATE
        end = start + len(self._utt) * WINDOW / SAMPLE_RATE
        return out + [ev.partial(self.utterance, start, end, text, self._speaker_for(start, end))]

    def _commit_settled(
        self, result: Recognition, opts: LiveOptions
    ) -> tuple[list[Event], list[TranscriptSegment]]:
        """Segments before a boundary that sits in a VAD pause are final already: emit them and
        start the utterance again from the pause (they become its context). Returns the events
        and the segments still in progress."""
        segments = [s for s in result.segments if s.text.strip()]
        if len(segments) < 2:
            return [], segments
        for i in range(len(segments) - 2, -1, -1):
            cut = self._pause_between(segments[i].end, segments[i + 1].start, opts)
            if cut is not None:
                break
        else:
            return [], segments
        offset = self._utt_start / SAMPLE_RATE
        cut_s = cut * WINDOW / SAMPLE_RATE
        settled = Recognition(
            tuple(_clip(s, 0.0, cut_s) for s in segments[: i + 1]), result.language
        )
        audio = np.concatenate(self._utt[:cut])
        utt_id = self.utterance
        self.utterance += 1
        self._partial_shown = False
        hyp = self._hyp
        rest, rest_probs = self._utt[cut:], self._utt_probs[cut:]
        self._start_utterance(rest, rest_probs, self._utt_start + cut * WINDOW)
        self._last_partial = len(rest) * WINDOW  # just recognised
        remaining = [_clip(s, cut_s, float("inf"), shift=cut_s) for s in segments[i + 1 :]]
        if hyp is not None:
            # what the same decode heard after the cut stands for the rest of the utterance
            self._hyp = _Hypothesis(hyp.windows - cut, hyp.language, Recognition(tuple(remaining), result.language))
        self.commits["pause"] += 1
        return self._final(audio, offset, utt_id, settled), remaining

    def _commit_agreed(
        self, segments: list[TranscriptSegment], language: str, opts: LiveOptions
    ) -> tuple[list[Event], list[TranscriptSegment]]:
        """LocalAgreement: the leading words this decode and the previous one of the same
        utterance agree on are final. The utterance is cut between the last agreed word and
        the next one; the agreed words are emitted as final (with their times) and, as the
        context's text, become the forced prefix of the next decode. Returns the events and
        the segments still in progress (on the clock of the utterance after the cut)."""
        words = _whole_words(segments)
        previous, self._agreed = self._agreed, words
        if (not opts.agreement or words is None or previous is None or self.language is None
                or self.base_options.context_seconds <= 0):
            return [], segments
        # the last word of a decode is never final here: a boundary needs the word after it
        n = min(agreed_prefix(previous, words), len(words) - 1)
        cut = None
        while n > 0:
            cut = self._boundary(words[n - 1], words[n])
            if cut is not None:
                break
            n -= 1
        if n == 0 or cut is None:
            return [], segments
        committed = words[:n]
        # The coverage guarantee: every voiced stretch before the cut must be accounted for by
        # the agreed words; otherwise the endpoint's final (with its coverage check) decides.
        probs = np.asarray(self._utt_probs[:cut], dtype=np.float32)
        cov = CoverageOptions(threshold=opts.speech_threshold)
        if uncovered(probs, [(w.start, w.end, True) for w in committed], cov):
            return [], segments
        cut_s = cut * WINDOW / SAMPLE_RATE
        done = {id(w) for w in committed}
        settled, remaining = [], []
        for seg in segments:
            mine = spoken(seg.words)
            head = [w for w in mine if id(w) in done]
            tail = [replace(w, start=max(0.0, w.start - cut_s), end=max(0.0, w.end - cut_s))
                    for w in mine if id(w) not in done]
            if head:
                settled.append(_from_words(seg, head, language, end_sentence=False))
            if tail:
                remaining.append(_from_words(seg, tail, language))
        audio = np.concatenate(self._utt[:cut])
        offset = self._utt_start / SAMPLE_RATE
        utt_id = self.utterance
        self.utterance += 1
        self._partial_shown = False
        hyp = self._hyp
        self._start_utterance(self._utt[cut:], self._utt_probs[cut:], self._utt_start + cut * WINDOW)
        self._last_partial = len(self._utt) * WINDOW  # just recognised
        if hyp is not None:
            # what the same decode heard after the cut stands for the rest of the utterance
            self._hyp = _Hypothesis(hyp.windows - cut, hyp.language, Recognition(tuple(remaining), language))
        self._agreed = [w for s in remaining for w in s.words]
        self.commits["agreement"] += 1
        return self._final(audio, offset, utt_id, Recognition(tuple(settled), language)), remaining

    def _boundary(self, a: Word, b: Word) -> int | None:
        """Window index to cut the utterance at between words ``a`` and ``b`` (seconds into
        it): the quietest VAD window from the end of ``a`` to the start of ``b`` (aligned
        times can run a window early or late). None when that is not inside the audio."""
        per_s = SAMPLE_RATE / WINDOW
        lo_t, hi_t = min(a.end, b.start), max(a.end, b.start)
        lo = max(1, int(lo_t * per_s))
        hi = min(len(self._utt_probs) - 1, int(math.ceil(hi_t * per_s)))
        if hi < lo or b.end * per_s > len(self._utt_probs) + 1:
            return None
        probs = self._utt_probs[lo : hi + 1]
        return lo + int(np.argmin(probs))

    def _pause_between(self, a: float, b: float, opts: LiveOptions) -> int | None:
        """Window index in the middle of the longest VAD pause near [a, b] (seconds into the
        utterance), if it lasts ``SETTLED_PAUSE``; Whisper's segment times are approximate."""
        per_s = SAMPLE_RATE / WINDOW
        lo = max(1, int((a - 0.3) * per_s))
        hi = min(len(self._utt_probs), int((b + 0.3) * per_s) + 1)
        best, run_start, best_at = 0, None, None
        for k in range(lo, hi):
            if self._utt_probs[k] < opts.silence_threshold:
                run_start = k if run_start is None else run_start
                if k - run_start + 1 > best:
                    best, best_at = k - run_start + 1, (run_start + k + 1) // 2
            else:
                run_start = None
        if best_at is None or best < SETTLED_PAUSE * per_s or best_at > self._last_speech:
            return None
        return best_at

    def _final_held(
        self, audio: np.ndarray, probs: list[float], start: int, utt_id: int, held: list[int]
    ) -> list[Event]:
        """Utterances whose endpoints were held (the worker behind), decoded in one call. When
        its words leave a voiced stretch uncovered, each utterance is decoded on its own
        instead: in a longer window Whisper can skip a short utterance before a pause
        (measured: "in 1813." lost on conv_en_dev_01, 0-12 s)."""
        result = self._recognise(audio, self._request(self.language, len(audio)))
        words = _whole_words(result.segments)
        cov = CoverageOptions(threshold=self.options.speech_threshold)
        if words is None or not uncovered(
            np.asarray(probs, dtype=np.float32), [(w.start, w.end, True) for w in words], cov
        ):
            return self._final(audio, start / SAMPLE_RATE, utt_id, result)
        self.commits["held_split"] = self.commits.get("held_split", 0) + 1
        out: list[Event] = []
        bounds = [0, *held, len(probs)]
        for k, (a, b) in enumerate(zip(bounds, bounds[1:])):
            if k:
                utt_id, self.utterance = self.utterance, self.utterance + 1
            out += self._final(audio[a * WINDOW : b * WINDOW], (start + a * WINDOW) / SAMPLE_RATE, utt_id)
        return out

    def _final(
        self, audio: np.ndarray, offset: float, utt_id: int, result: Recognition | None = None
    ) -> list[Event]:
        if result is None:
            result = self._recognise(audio, self._request(self.language, len(audio)))
        if result.language:
            self._detected = result.language
        out: list[Event] = []
        texts: list[str] = []
        lost = False
        for k, seg in enumerate(s for s in result.segments if s.text.strip()):
            start = offset + seg.start
            end = min(offset + seg.end, offset + len(audio) / SAMPLE_RATE)
            seg_id = f"{utt_id}.{k}"
            speaker = self._speaker_for(start, end)
            words = [replace(w, start=w.start + offset, end=w.end + offset) for w in seg.words]
            out.append(ev.final(seg_id, utt_id, start, end, seg.text, speaker,
                                result.language or (self.language or ""), words,
                                unrecognised=seg.unrecognised))
            self._recent.append(_Final(seg_id, start, end, speaker))
            texts.append(seg.text)
            self.finals += 1
            lost = lost or seg.unrecognised
        if texts and not lost:
            # (an utterance with an unrecognised stretch is no context: the prefix must be
            # exactly what its audio says)
            self._history.append((audio, _join(result.language, texts)))
            # keep no more audio than a context can use
            need = self.base_options.context_seconds * SAMPLE_RATE
            while len(self._history) > 1 and sum(len(a) for a, _ in self._history) - len(self._history[0][0]) >= need:
                self._history.popleft()
        return out

    # -- speakers ---------------------------------------------------------------------------

    def _label_due(self) -> list[Event]:
        """The blocks whose speaker labels were deferred, through the diarizer, in order."""
        out: list[Event] = []
        due, self._labels_due, self._labels_due_samples = self._labels_due, [], 0
        for samples, at in due:
            out += self._diarize_block(samples, at)
        return out

    def _diarize_block(self, samples: np.ndarray, at_sample: int) -> list[Event]:
        """Live speaker labels for the block that starts at ``at_sample``, unless paused
        because the pipeline is far behind (``Degrader.diarize_live``); they come back when it
        has caught up."""
        assert self.diarizer is not None
        at = at_sample / SAMPLE_RATE
        if not self.degrader.diarize_live:
            self.diarize_paused_seconds += len(samples) / SAMPLE_RATE
            if self._diarize_paused:
                return []
            # what was heard before the pause is settled now: those labels stand
            self._diarize_paused = True
            return self._relabel(self.diarizer.flush())
        if self._diarize_paused:
            # The diarizer goes on from the present: it keeps the voices it knows (their
            # centroids), so a person heard again gets the label they had, and nobody is
            # renamed. The paused stretch gets its labels from the final pass.
            self.diarizer.skip_to(at)
            self._diarize_paused = False
        return self._relabel(self.diarizer.feed(AudioChunk(at, samples)))

    def _relabel(self, turns: list[SpeakerTurn]) -> list[Event]:
        if not turns:
            return []
        self._turns.extend(turns)
        out: list[Event] = []
        for f in self._recent:
            who = self._speaker_for(f.start, f.end)
            if who is not None and who != f.speaker:
                f.speaker = who
                out.append(ev.speaker_update(f.id, who))
        return out

    def _speaker_for(self, start: float, end: float) -> str | None:
        overlap: dict[str, float] = {}
        for t in self._turns:
            o = min(end, t.end) - max(start, t.start)
            if o > 0:
                overlap[t.speaker] = overlap.get(t.speaker, 0.0) + o
        return max(overlap, key=lambda s: overlap[s]) if overlap else None


def _whole_words(segments: Sequence[TranscriptSegment]) -> list[Word] | None:
    """The spoken words of a decode, in order; None when some of its text has no word times
    or a stretch is unrecognised (nothing to agree on word by word there)."""
    out: list[Word] = []
    for s in segments:
        if s.unrecognised or (s.text.strip() and not s.words):
            return None
        out += spoken(s.words)
    return out


def _from_words(
    seg: TranscriptSegment, words: Sequence[Word], language: str, *, end_sentence: bool = True
) -> TranscriptSegment:
    """The part of ``seg`` those words say, its text made from them (as the recogniser makes
    text: Simplified, Chinese punctuation). ``end_sentence=False`` for text the speaker goes on
    from: no full stop is added (as the next decode's prefix, a full stop made whisper-base
    drop the words after it: measured "的时候" lost after "但是因为我上学。")."""
    raw = "".join(w.word for w in words)
    text = finish_mandarin(raw, end_sentence=end_sentence) if language == "zh" else finish_text(raw, language)
    return replace(seg, start=words[0].start, end=words[-1].end, text=text, words=tuple(words))


def _clip(seg: TranscriptSegment, lo: float, hi: float, *, shift: float = 0.0) -> TranscriptSegment:
    """``seg`` inside [lo, hi] (its words too), moved ``shift`` seconds earlier."""
    start, end = max(seg.start, lo), max(min(seg.end, hi), max(seg.start, lo))
    words = tuple(
        replace(w, start=w.start - shift, end=w.end - shift) for w in seg.words if lo <= w.start < hi
    )
    return replace(seg, start=start - shift, end=end - shift, words=words)


def _join(language: str | None, texts: Sequence[str]) -> str:
    sep = "" if (language or "").startswith("zh") else " "
    return sep.join(t.strip() for t in texts if t.strip()).strip()
