"""Whole-recording transcription: decode -> VAD gate -> Whisper -> filter -> typeset.

This is what ``scribe transcribe`` runs, and the final pass of a live session. Only speech the
VAD found is decoded (silence never reaches Whisper, so it cannot invent text there); the speech
stretches are joined into one array so Whisper keeps context across pauses, and every time is
mapped back onto the recording's clock.

Then the coverage guarantee (scribe.coverage): Whisper may skip speech inside its 30 s window
and the filter may drop a segment over speech. Every stretch of VAD speech the words do not
cover is decoded again on its own; what still has no usable text becomes a segment marked
``unrecognised`` (text 【未能识别】), so nothing said leaves the record without a trace.
"""

from __future__ import annotations

import bisect
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from scribe.asr.vad import WINDOW, SileroVad, VadOptions, regions_from_probs
from scribe.asr.whisper import DecodeOptions, RawSegment, WhisperEngine, hotword_prompt
from scribe.asr.windows import WindowState
from scribe.coverage import CoverageOptions, Stretch, spans_of, uncovered, voiced_seconds
from scribe.errors import ModelError
from scribe.text.hallucination import REPEAT_WINDOW, clean_segment_text, is_repeat
from scribe.text.zh import finish_text, to_simplified, to_traditional
from scribe.types import (
    SAMPLE_RATE,
    UNRECOGNISED_TEXT,
    SpeechRegion,
    Transcript,
    TranscriptSegment,
    Word,
)

log = logging.getLogger(__name__)

# Style prompt for Mandarin. Whisper continues in the script and punctuation of its prompt.
# Measured on the shared Mandarin set (docs/benchmarks.md): a Simplified prompt pushes base into
# repetition loops and raises CER (10.4% vs 7.1% with no prompt), while the same sentence in
# Traditional script keeps the model in the script most of its Mandarin training subtitles use:
# punctuated output and the lowest CER (5.8%). Text is converted to Simplified afterwards
# (scribe.text.zh), so the record is Simplified either way.
ZH_STYLE_PROMPT = "以下是普通話的句子。"
CHINESE_CODES = {"zh", "yue"}
# Below this the detector's own favourite is more likely wrong than right
SURE_LANGUAGE = 0.5


def choose_language(probabilities: list[tuple[str, float]], site: tuple[str, ...]) -> str:
    """The recording's language from Whisper's detection (most likely first).

    Whisper ranks all of its 99 languages, and on a short, far or dialect clip it is often unsure
    (a 3.8 s AliMeeting clip: ja 0.13, en 0.12, zh 0.08; a Sichuanese clip: Tibetan 0.70). An office
    hears only a few languages: the most likely of those is taken, and when the detector's own
    favourite is under even odds, the office's usual language (``site[0]``).
    benchmarks/language_prior.py has the per-file check on the development recordings.
    """
    if not probabilities:
        return site[0] if site else "zh"
    norm = [("zh" if lang in CHINESE_CODES else lang, p) for lang, p in probabilities]
    if not site:
        return norm[0][0]
    if norm[0][1] < SURE_LANGUAGE:
        return site[0]
    for lang, _p in norm:
        if lang in site:
            return lang
    return site[0]


@dataclass(frozen=True)
class TranscribeOptions:
    language: str = "auto"  # auto | zh | en | any Whisper language code
    # With "auto": the languages this office hears, its usual one first (settings.languages);
    # detection chooses among them, and the first is taken when the detector is unsure
    site_languages: tuple[str, ...] = ("zh", "en")
    hotwords: tuple[str, ...] = ()  # names and legal terms that must come out right
    beam_size: int = 5
    word_timestamps: bool = True
    style_prompt: bool = True  # the Simplified-Chinese style prompt for Mandarin
    vad: VadOptions = field(default_factory=VadOptions)
    # drop a segment the decoder itself thinks is not speech (both must hold, as in Whisper)
    no_speech_threshold: float = 0.6
    log_prob_threshold: float = -1.0
    # Whisper's fallback re-decodes a doubtful segment at rising temperatures (up to 6 decodes
    # with best_of 5); live sessions pass (0.0,) so one short utterance never costs 10+ s.
    temperature: tuple[float, ...] = DecodeOptions.temperature
    # Drop known inventions, repetition loops and what the decoder itself calls non-speech
    # (off only to measure what the filter does: benchmarks/asr_zh.py)
    hallucination_filter: bool = True
    # Text already said at the start of the audio (live sessions give the previous utterances
    # as context): decoded as given and left out of the result.
    prefix: str | None = None
    # Speech before this time (s) is context whose text is the prefix: not checked for coverage.
    context_s: float = 0.0
    # Every stretch of VAD speech is checked against the words recognised (scribe.coverage);
    # an uncovered one is decoded again on its own, else marked unrecognised.
    coverage: CoverageOptions | None = field(default_factory=CoverageOptions)
    # Decode the first 30 s window only (live decodes, which fit in one): see DecodeOptions.
    single_window: bool = False
    # single-window decodes: seconds of padding the encoder sees after the audio instead of the
    # whole 30 s window (None: the whole window); see DecodeOptions.encoder_pad_s
    encoder_pad_s: float | None = None
    # most tokens a window may add after its prompt (None: the model's limit); see
    # DecodeOptions.max_new_tokens
    max_new_tokens: int | None = None


ProgressFn = Callable[[float, float], None]  # (seconds of speech done, seconds of speech in all)


# What decoding one uncovered stretch again depends on besides the audio and the options
# (``Transcriber._cover_key``): the stretch, the span decoded and the speech regions inside it.
CoverKey = tuple[float, float, float, float, float, tuple[tuple[float, float], ...]]


@dataclass(frozen=True)
class CoveredGap:
    """A stretch the words left uncovered, decoded again on its own: the segments found in it
    and what still has no words (it becomes 【未能识别】)."""

    found: tuple[TranscriptSegment, ...]
    left: tuple[Stretch, ...]


class Transcriber:
    """A loaded recogniser and VAD, reused for every file and every session."""

    def __init__(self, engine: WhisperEngine, vad: SileroVad) -> None:
        self.engine = engine
        self.vad = vad

    @classmethod
    def load(cls, settings, model: str | None = None) -> Transcriber:  # type: ignore[no-untyped-def]
        from scribe.models import open_store

        store = open_store(settings)
        name = model or settings.asr_model
        entry = store.lock.get(name)
        if entry.role != "asr":
            raise ModelError(
                f"model {name!r} is a {entry.role} model, not a speech recogniser",
                fix="choose one of: " + ", ".join(m.name for m in store.lock.by_role("asr")),
            )
        engine = WhisperEngine(
            store.path_for(name),
            name=name,
            compute_type=settings.compute_type,
            cpu_threads=settings.threads,
        )
        vad = SileroVad(store.path_for(settings.vad_model))
        return cls(engine, vad)

    def transcribe(
        self,
        samples: np.ndarray,
        options: TranscribeOptions = TranscribeOptions(),
        *,
        progress: ProgressFn | None = None,
    ) -> Transcript:
        """The whole recording. The same code as a recording transcribed while it grows
        (``GrowingTranscription``), run once to the end."""
        return GrowingTranscription(self, options).finish(samples, progress=progress)

    # -- the coverage guarantee ------------------------------------------------------------
    def _cover(
        self,
        samples: np.ndarray,
        probs: np.ndarray,
        regions: Sequence[SpeechRegion],
        segments: list[TranscriptSegment],
        dropped: list[dict],
        decode: DecodeOptions,
        options: TranscribeOptions,
        done: Mapping[CoverKey, CoveredGap] | None = None,
    ) -> tuple[list[TranscriptSegment], dict]:
        """Every stretch of VAD speech the words do not cover is decoded again on its own;
        what still has no text becomes an unrecognised segment. Returns the segments in time
        order and the ``info.coverage`` figures. ``done``: stretches already decoded again
        while the recording grew (``GrowingTranscription``), by what the decode depends on."""
        cov = options.coverage or CoverageOptions()
        lo = options.context_s
        # speech is what the VAD regions hold: a click too short to be a region is not speech
        probs = _inside(probs, regions)
        speech_s = voiced_seconds(probs, lo, len(samples) / SAMPLE_RATE, cov.threshold)
        gaps = _gaps(probs, segments, cov, lo, len(samples) / SAMPLE_RATE)
        again = _again(decode)
        last_run = _last_run(probs, options.vad)
        out = list(segments)
        stretches, recovered_s, lost_s, reused = [], 0.0, 0.0, 0
        for gap in gaps:
            key = self._cover_key(len(samples) / SAMPLE_RATE, regions, gap, options)
            got = done.get(key) if done and _heard_after(key, last_run) else None
            reused += got is not None
            if got is None:
                got = self._cover_gap(samples, probs, regions, gap, again, options, last_run)
            out += got.found
            lost = sum(x.speech_s for x in got.left)
            recovered_s += gap.speech_s - lost
            lost_s += lost
            for x in got.left:
                out.append(TranscriptSegment(x.start, x.end, UNRECOGNISED_TEXT, unrecognised=True))
            filtered = sorted({d["reason"] for d in dropped
                               if d["start"] < gap.end and d.get("end", d["start"]) > gap.start})
            stretches.append({
                "start": gap.start, "end": gap.end, "speech_s": gap.speech_s,
                "unrecognised_s": round(lost, 3), "filtered": filtered,
            })
        out.sort(key=lambda s: (s.start, s.end))
        info = {
            "speech_s": round(speech_s, 3),
            "covered_s": round(speech_s - sum(g.speech_s for g in gaps), 3),
            "rerecognised_s": round(recovered_s, 3),
            "unrecognised_s": round(lost_s, 3),
            "stretches": stretches,
            "rerecognised_while_recording": reused,  # stretches decoded again before the end
        }
        return out, info

    def _cover_key(self, duration: float, regions: Sequence[SpeechRegion], gap: Stretch,
                   options: TranscribeOptions) -> CoverKey:
        """What decoding ``gap`` again depends on besides the audio and the options: the stretch,
        the part of the recording decoded (its padding) and the speech regions inside it."""
        tol = (options.coverage or CoverageOptions()).tolerance
        # the stretch runs from its first to its last voiced window; a word's onset and decay
        # lie a little outside, as much as a covered word's reach
        pad = options.vad.pad_s + tol
        a, b = max(0.0, gap.start - pad), min(duration, gap.end + pad)
        inside = tuple((max(r.start, a), min(r.end, b)) for r in regions if r.end > a and r.start < b)
        return (gap.start, gap.end, gap.speech_s, a, b, inside)

    def _cover_gap(
        self,
        samples: np.ndarray,
        probs: np.ndarray,
        regions: Sequence[SpeechRegion],
        gap: Stretch,
        decode: DecodeOptions,
        options: TranscribeOptions,
        last_run: int,
    ) -> CoveredGap:
        """The stretch's speech decoded alone; only words inside the stretch are kept (the
        padding may hold a neighbour's syllable, already in the text); and the parts of it
        that still have no words."""
        cov = options.coverage or CoverageOptions()
        tol = cov.tolerance
        _, _, _, a, b, inside = self._cover_key(len(samples) / SAMPLE_RATE, regions, gap, options)
        speech, timeline = _join(samples, [SpeechRegion(x, y) for x, y in inside] or [SpeechRegion(a, b)])
        result = self.engine.decode(speech, decode, speech_after=_speech_after(last_run, timeline))
        found, _dropped = _clean(result.segments, decode.language or "", options, timeline, None)
        out = []
        for seg in found:
            # a word already in the text ends at least ``tol`` before the stretch (or starts
            # after it), so its midpoint lies outside this range
            words = tuple(w for w in seg.words if gap.start - tol <= (w.start + w.end) / 2 <= gap.end + tol)
            if not words:
                continue
            if len(words) < len(seg.words):
                text = finish_text("".join(w.word for w in words), decode.language or "")
                if not text.strip():
                    continue
                seg = replace(seg, start=words[0].start, end=words[-1].end, text=text, words=words)
            out.append(seg)
        left = _gaps(probs, out, cov, gap.start, gap.end)
        return CoveredGap(tuple(out), tuple(left))

    # -- helpers ---------------------------------------------------------------------------
    def _check_language(self, language: str) -> None:
        if not self.engine.is_multilingual and language not in ("auto", "en"):
            raise ModelError(
                f"model {self.engine.name!r} recognises English only, not {language!r}",
                fix="use --model whisper-base (multilingual) for Mandarin",
            )

    def _language(self, speech: np.ndarray, requested: str, site: tuple[str, ...]) -> str:
        if requested != "auto":
            return "zh" if requested in CHINESE_CODES else requested
        return choose_language(self.engine.detect_language(speech), site)

    def _decode_options(self, language: str, options: TranscribeOptions) -> DecodeOptions:
        prompt = ZH_STYLE_PROMPT if (language == "zh" and options.style_prompt) else None
        hotwords, prefix = options.hotwords, options.prefix
        if language == "zh":
            hotwords = tuple(to_simplified(h) for h in hotwords)
            # the record is Simplified, but Whisper continues in the script of what precedes
            # (see ZH_STYLE_PROMPT): the prefix goes back in Traditional script
            prefix = to_traditional(prefix) if prefix else prefix
        return DecodeOptions(
            language=language,
            beam_size=options.beam_size,
            initial_prompt=prompt,
            hotwords=hotword_prompt(hotwords),
            word_timestamps=options.word_timestamps,
            no_speech_threshold=options.no_speech_threshold,
            log_prob_threshold=options.log_prob_threshold,
            temperature=options.temperature,
            prefix=prefix,
            single_window=options.single_window,
            encoder_pad_s=options.encoder_pad_s,
            max_new_tokens=options.max_new_tokens,
        )


class GrowingTranscription:
    """``Transcriber.transcribe`` of a recording that is still being recorded.

    ``advance`` runs the whole-recording pass as far as what is settled allows: the VAD over the
    new audio (its state carried, scribe.asr.vad.VadStream), the speech regions that can no
    longer change (all but the last one found), the language once 30 s of speech are in (what
    the whole pass detects it on), and Whisper's windows that lie inside those regions' joined
    speech (scribe.asr.windows). ``finish`` does the rest at the end of the recording and then
    what the whole pass does after decoding (filter, coverage): the result is the transcript
    ``transcribe`` makes of the finished file, by construction; ``transcribe`` is ``finish``
    on a fresh instance. ``audio`` is anything sliceable to float32 samples with a ``len()``
    (an array, or the session's archive read from disk).
    """

    def __init__(self, transcriber: Transcriber, options: TranscribeOptions, *,
                 language: str | None = None, state: WindowState = WindowState(),
                 raw: Sequence[RawSegment] = (),
                 covered: Mapping[CoverKey, CoveredGap] | None = None) -> None:
        transcriber._check_language(options.language)
        self.transcriber = transcriber
        self.options = options
        self.vad = transcriber.vad.stream()
        self.regions: list[SpeechRegion] = []  # speech regions that can no longer change
        self.language = language
        self.state = state
        self.raw: list[RawSegment] = list(raw)  # decoded so far, on the joined speech's clock
        # uncovered stretches already decoded again (the coverage check of what is settled)
        self.covered: dict[CoverKey, CoveredGap] = dict(covered or {})
        self._kept: list[TranscriptSegment] = []  # self.raw[:self._cleaned] as _clean keeps it
        self._cleaned = 0

    @property
    def decoded_s(self) -> float:
        """Joined speech decoded so far (s)."""
        return self.state.seek / 100.0

    def advance(self, audio, settled: int) -> list[RawSegment]:  # type: ignore[no-untyped-def]
        """Decode what ``audio[:settled]`` settles; returns the new segments."""
        self.vad.extend(audio, settled)
        probs = self.vad.probs
        found = regions_from_probs(probs, self.vad.consumed / SAMPLE_RATE, self.options.vad)
        # the last region may still grow, merge with the next one or be split differently
        self.regions = found[:-1]
        pieces = _Pieces(audio, self.regions)
        if self.language is None:
            if pieces.size < _LANGUAGE_SPEECH:
                return []
            self.language = self._detect(pieces)
        decode = self.transcriber._decode_options(self.language, self.options)
        result, self.state = self.transcriber.engine.decode_windows(
            pieces.read, pieces.size, decode, state=self.state, final=False)
        self.raw += result.segments
        if result.segments:
            self._cover_settled(audio, probs, pieces, decode)
        return list(result.segments)

    def _cover_settled(self, audio, probs: np.ndarray, pieces: _Pieces, decode: DecodeOptions) -> None:  # type: ignore[no-untyped-def]
        """The coverage check (``Transcriber._cover``) of what is decoded and can no longer
        change: each uncovered stretch there is decoded again now, so that at the end only the
        last stretches are. Kept by what the decode depends on (``CoverKey``): the end uses a
        result only for the same stretch, span and regions, with the same speech after it."""
        options, cov = self.options, self.options.coverage
        if cov is None or self.language is None:
            return
        timeline = pieces.timeline
        # a later window's words start at or after its first frame, and cover ``tolerance``
        # before themselves: no window before this can be covered later
        limit = timeline.to_original(self.decoded_s, is_end=True) - cov.tolerance
        # cleaned as they come (the end cleans them all again: this only says where to look)
        self._kept += _clean(self.raw[self._cleaned :], self.language, options, timeline,
                             decode.initial_prompt, previous=self._kept)[0]
        self._cleaned = len(self.raw)
        segments = self._kept
        inside = _inside(probs, self.regions)
        last_run = _last_run(inside, options.vad)
        again = _again(decode)
        for gap in _gaps(inside, segments, cov, options.context_s, limit, open_end=False):
            key = self.transcriber._cover_key(len(audio) / SAMPLE_RATE, self.regions, gap, options)
            if key in self.covered:
                continue
            if not _heard_after(key, last_run):
                break  # nor any later stretch: not settled yet
            self.covered[key] = self.transcriber._cover_gap(audio, inside, self.regions, gap, again,
                                                            options, last_run)

    def finish(self, audio, *, progress: ProgressFn | None = None) -> Transcript:  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        options = self.options
        n = len(audio)
        duration = n / SAMPLE_RATE
        self.vad.finish(audio)
        probs = self.vad.probs  # once: for the regions and the tail check
        regions = regions_from_probs(probs, duration, options.vad)
        if regions[: len(self.regions)] != self.regions:  # not seen: the VAD is causal
            log.warning("speech regions changed after they were settled; decoding again from the start")
            self.state, self.raw = WindowState(), []
        info: dict = {
            "options": _options_info(options),
            "speech_regions": len(regions),
            "speech_seconds": round(sum(r.end - r.start for r in regions), 3),
        }
        if not regions:
            lang = options.language if options.language != "auto" else "und"
            info["elapsed_s"] = round(time.perf_counter() - started, 3)
            return Transcript(lang, duration, self.transcriber.engine.name, (), info)

        pieces = _Pieces(audio, regions)
        timeline = pieces.timeline
        language = self.language or self._detect(pieces)
        decode = self.transcriber._decode_options(language, options)
        total = pieces.size / SAMPLE_RATE
        on_segment = (lambda t: progress(min(t, total), total)) if progress else None
        after = _speech_after(_last_run(probs, options.vad), timeline)
        if decode.prefix or decode.single_window:
            # a live utterance (one window, maybe after a forced prefix): never resumed
            result = self.transcriber.engine.decode(pieces.read(0, pieces.size), decode,
                                                    on_segment=on_segment, speech_after=after)
        else:
            result, self.state = self.transcriber.engine.decode_windows(
                pieces.read, pieces.size, decode, state=self.state, final=True,
                on_segment=on_segment, speech_after=after)
        raw = self.raw + list(result.segments)
        segments, dropped = _clean(raw, language, options, timeline, decode.initial_prompt)
        if options.coverage is not None:
            segments, info["coverage"] = self.transcriber._cover(
                audio, probs, regions, segments, dropped, decode, options, self.covered)
        info.update(
            detected_language=result.language,
            language_probability=round(result.language_probability, 3),
            dropped_segments=dropped,
            elapsed_s=round(time.perf_counter() - started, 3),
        )
        if progress:
            progress(total, total)
        return Transcript(language, duration, self.transcriber.engine.name, tuple(segments), info)

    def _detect(self, pieces: _Pieces) -> str:
        # Whisper detects on the first 30 s of what it is given (faster-whisper trims to that)
        speech = pieces.read(0, min(pieces.size, _LANGUAGE_SPEECH))
        return self.transcriber._language(speech, self.options.language, self.options.site_languages)


# what Whisper's language detection hears: the first 30 s of speech
_LANGUAGE_SPEECH = 30 * SAMPLE_RATE


# --- joining speech and mapping time back ------------------------------------------------
@dataclass(frozen=True)
class _Timeline:
    """Where each speech region sits in the joined array (seconds) and in the recording."""

    joined_starts: tuple[float, ...]
    original_starts: tuple[float, ...]
    lengths: tuple[float, ...]

    def to_original(self, t: float, *, is_end: bool = False) -> float:
        # An end time that falls exactly on a join belongs to the region before it.
        i = (bisect.bisect_left if is_end else bisect.bisect_right)(self.joined_starts, t) - 1
        i = max(0, min(i, len(self.joined_starts) - 1))
        within = min(max(t - self.joined_starts[i], 0.0), self.lengths[i])
        return float(self.original_starts[i] + within)


def _join(samples: np.ndarray, regions: Sequence[SpeechRegion]) -> tuple[np.ndarray, _Timeline]:
    pieces, joined, original, lengths, pos = [], [], [], [], 0.0
    for r in regions:
        a, b = int(r.start * SAMPLE_RATE), int(r.end * SAMPLE_RATE)
        piece = samples[a:b]
        pieces.append(piece)
        joined.append(pos)
        original.append(a / SAMPLE_RATE)
        lengths.append(piece.size / SAMPLE_RATE)
        pos += piece.size / SAMPLE_RATE
    return np.concatenate(pieces), _Timeline(tuple(joined), tuple(original), tuple(lengths))


class _Pieces:
    """The speech regions of ``audio`` joined end to end, read where asked (never all at once:
    an hour of a hearing's archive stays on disk). The same samples and clock as ``_join``."""

    def __init__(self, audio, regions: Sequence[SpeechRegion]) -> None:  # type: ignore[no-untyped-def]
        self.audio = audio
        self.a = np.array([int(r.start * SAMPLE_RATE) for r in regions], dtype=np.int64)
        self.b = np.array([int(r.end * SAMPLE_RATE) for r in regions], dtype=np.int64)
        self.joined = np.concatenate([[0], np.cumsum(self.b - self.a)]).astype(np.int64)
        self.size = int(self.joined[-1])

    @property
    def timeline(self) -> _Timeline:
        return _Timeline(tuple(float(j) / SAMPLE_RATE for j in self.joined[:-1]),
                         tuple(float(a) / SAMPLE_RATE for a in self.a),
                         tuple(float(n) / SAMPLE_RATE for n in (self.b - self.a)))

    def read(self, lo: int, hi: int) -> np.ndarray:
        """Samples ``lo .. hi`` of the joined speech."""
        out = []
        k = max(0, int(np.searchsorted(self.joined, lo, side="right")) - 1)
        while lo < hi and k < len(self.a):
            take = min(hi, int(self.joined[k + 1])) - lo
            if take > 0:
                start = int(self.a[k]) + lo - int(self.joined[k])
                out.append(np.asarray(self.audio[start : start + take], dtype=np.float32))
                lo += take
            k += 1
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def _gaps(
    probs: np.ndarray, segments: Sequence[TranscriptSegment], cov: CoverageOptions, start: float, end: float,
    *, open_end: bool = True,
) -> list[Stretch]:
    """The stretches of speech in [start, end) that ``segments`` leave uncovered."""
    if not cov.by_words:
        return [] if segments else uncovered(probs, [], cov, start=start, end=end, open_end=open_end)
    return uncovered(probs, spans_of(segments), cov, start=start, end=end, open_end=open_end)


def _again(decode: DecodeOptions) -> DecodeOptions:
    """How a stretch the words left uncovered is decoded again: its own window, none of what
    misled the first decode: no style prompt (Whisper keeps to the script and rhythm of what
    precedes and may skip what does not fit), no prefix, nothing conditioned on earlier text.
    Hotwords stay: names must come out right."""
    return replace(decode, initial_prompt=None, prefix=None, condition_on_previous_text=False,
                   word_timestamps=True)


def _inside(probs: np.ndarray, regions: Sequence[SpeechRegion]) -> np.ndarray:
    """``probs`` with every window outside the speech regions set to 0."""
    step = WINDOW / SAMPLE_RATE
    keep = np.zeros(len(probs), dtype=bool)
    for r in regions:
        keep[int(r.start / step) : int(np.ceil(r.end / step))] = True
    return np.where(keep, probs, 0.0).astype(np.float32)


def _mostly_timeless(seg: TranscriptSegment) -> bool:
    if not seg.words:
        return False
    timeless = sum(1 for w in seg.words if w.end - w.start < 0.02)
    return timeless >= max(2, 0.6 * len(seg.words))


def _last_run(probs: np.ndarray, vad: VadOptions) -> int:
    """The last VAD window that starts a voiced run of ``vad.min_speech_s`` (-1: none): every
    window at or before it has such a run after it."""
    need = max(1, int(vad.min_speech_s / _STEP))
    voiced = np.concatenate([[0], np.cumsum(probs >= vad.threshold, dtype=np.int64)])
    runs = np.flatnonzero(voiced[need:] - voiced[:-need] == need)
    return int(runs[-1]) if runs.size else -1


def _after_index(t: float) -> int:
    # Aligned word ends run early by up to ~0.2 s: the VAD still hears the last word's decay
    # there, which is not more speech.
    return int((t + 0.2) / _STEP) + 1


def _speech_after(last_run: int, timeline: _Timeline) -> Callable[[float], bool]:
    """``t -> bool`` on the joined clock: is there a speech run of ``min_speech_s`` after ``t``?

    Answered from the VAD probabilities already computed on the recording (``_last_run``): the
    joined audio holds only speech regions, so speech after ``t`` there is speech after its
    original time.
    """

    def speech_after(t: float) -> bool:
        return _after_index(timeline.to_original(t, is_end=True)) <= last_run

    return speech_after


def _heard_after(key: CoverKey, last_run: int) -> bool:
    """Whether more speech follows everything a stretch's decode can place a word at (the
    decode's every ``speech_after`` answer is then yes): with more audio the VAD only adds
    runs, so the answer given while the recording grew holds at its end."""
    return _after_index(key[4]) <= last_run


_STEP = WINDOW / SAMPLE_RATE


def _strip_echo(text: str, prompt: str | None) -> str:
    """Whisper sometimes repeats its prompt as if it had been said: remove such echoes."""
    if not prompt:
        return text
    core = prompt.strip("。，. ")
    body = text.strip(" ，。,.")
    # Only at the edges of a segment: the same words inside real speech are left alone.
    for n in range(len(core), 3, -1):  # longest echoed piece first, at least 4 characters
        for i in range(len(core) - n + 1):
            piece = core[i : i + n]
            if body.startswith(piece):
                return body[len(piece) :].strip(" ，。,.")
            if body.endswith(piece):
                return body[: -len(piece)].strip(" ，。,.")
    return text


def _clean(
    raw: Sequence[RawSegment],
    language: str,
    options: TranscribeOptions,
    timeline: _Timeline,
    decode_prompt: str | None = None,
    previous: Sequence[TranscriptSegment] = (),
) -> tuple[list[TranscriptSegment], list[dict]]:
    """The decoded segments a record keeps (and why the others were dropped), on the
    recording's clock. ``previous``: the segments kept just before these (a line repeated from
    them is dropped), when a recording is cleaned as it grows."""
    kept: list[TranscriptSegment] = list(previous[-REPEAT_WINDOW:])
    skip = len(kept)
    dropped: list[dict] = []
    for r in raw:
        seg = r.segment
        reason = None
        if not options.hallucination_filter:
            pass
        elif r.no_speech_prob > options.no_speech_threshold and r.avg_logprob < options.log_prob_threshold:
            reason = "decoder judged it non-speech"
        elif r.compression_ratio > 2.4:
            reason = "repetitive output"  # every temperature fallback still looped
        elif _mostly_timeless(seg):
            # Words the aligner could not place anywhere (zero length, piled up at the end of
            # the audio) were not heard: Whisper continued its own text past the speech.
            reason = "words with no duration"
        text = _strip_echo(seg.text, decode_prompt).replace("\ufffd", "")
        if reason is None and options.hallucination_filter:
            decision = clean_segment_text(text)
            text = decision.text
            if not text.strip():
                reason = decision.reason or "empty"
            elif is_repeat(text, [k.text for k in kept[-REPEAT_WINDOW:]]):
                reason = "repeated line"
        if reason is None and not text.strip():
            reason = "empty"
        if reason:
            dropped.append({"start": round(timeline.to_original(seg.start), 2),
                            "end": round(timeline.to_original(seg.end, is_end=True), 2), "reason": reason})
            continue
        words = tuple(
            Word(
                timeline.to_original(w.start),
                timeline.to_original(w.end, is_end=True),
                to_simplified(w.word) if language == "zh" else w.word,
                w.probability,
            )
            for w in seg.words
        )
        kept.append(
            replace(
                seg,
                start=timeline.to_original(seg.start),
                end=timeline.to_original(seg.end, is_end=True),
                text=finish_text(text, language),
                words=words,
            )
        )
    return kept[skip:], dropped


def _options_info(options: TranscribeOptions) -> dict:
    out = asdict(options)
    out["hotwords"] = len(options.hotwords)  # the words themselves may be party names: not logged
    out["prefix"] = bool(options.prefix)  # what was said: not echoed into the metadata
    return out
