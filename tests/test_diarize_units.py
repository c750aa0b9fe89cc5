"""Diarization pieces that need no model: word attribution, labels, RTTM, roles, voiceprint DB."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from diarize import (
    Consent,
    ConsentRequired,
    SpeakerRoster,
    VoiceprintStore,
    attribute_words,
    match_voiceprints,
    read_rttm,
    write_rttm,
)
from diarize.labels import merge_turns
from scribe.errors import DiarizationError
from scribe.storage import Database
from scribe.types import SpeakerTurn, Transcript, TranscriptSegment, Word


def _segment(words: list[tuple[float, float, str]]) -> TranscriptSegment:
    ws = tuple(Word(a, b, w, 0.9) for a, b, w in words)
    return TranscriptSegment(ws[0].start, ws[-1].end, "".join(w.word for w in ws).strip(), ws)


def _transcript(*segments: TranscriptSegment, language: str = "en") -> Transcript:
    return Transcript(language, 30.0, "whisper-base", segments)


def test_segment_split_where_speaker_changes_mid_segment() -> None:
    seg = _segment([(0.0, 0.4, " Hello"), (0.5, 0.9, " there."), (1.2, 1.5, " Hi"), (1.6, 2.0, " back.")])
    turns = [SpeakerTurn(0.0, 1.0, "说话人1"), SpeakerTurn(1.1, 2.2, "说话人2")]
    out = attribute_words(_transcript(seg), turns)
    assert [(s.speaker, s.text) for s in out.segments] == [
        ("说话人1", "Hello there."),
        ("说话人2", "Hi back."),
    ]
    assert sum(len(s.words) for s in out.segments) == 4
    assert out.segments[1].start == 1.2 and out.segments[0].end == 0.9


def test_short_turn_inside_a_long_one_keeps_its_speaker() -> None:
    seg = _segment([(0.0, 0.5, "我们"), (0.6, 1.0, "先说"), (1.1, 1.4, "对"), (1.5, 2.0, "赔偿")])
    turns = [SpeakerTurn(0.0, 2.0, "说话人1"), SpeakerTurn(1.05, 1.45, "说话人2")]
    out = attribute_words(_transcript(seg, language="zh"), turns)
    assert [(s.speaker, s.text) for s in out.segments] == [
        ("说话人1", "我们先说"),
        ("说话人2", "对"),
        ("说话人1", "赔偿"),
    ]


def test_word_in_a_pause_goes_to_nearest_turn_and_no_turns_changes_nothing() -> None:
    seg = _segment([(0.0, 0.4, " yes"), (3.0, 3.3, " no")])
    out = attribute_words(_transcript(seg), [SpeakerTurn(3.5, 5.0, "说话人2"), SpeakerTurn(0.0, 0.3, "说话人1")])
    assert [s.speaker for s in out.segments] == ["说话人1", "说话人2"]
    same = attribute_words(_transcript(seg), [])
    assert same.segments == (seg,)


def test_segment_without_words_gets_majority_speaker() -> None:
    seg = TranscriptSegment(1.0, 4.0, "整段话")
    out = attribute_words(_transcript(seg, language="zh"), [SpeakerTurn(0.0, 1.5, "A"), SpeakerTurn(1.5, 4.0, "B")])
    assert [s.speaker for s in out.segments] == ["B"]


def test_merge_turns_joins_small_gaps_only() -> None:
    merged = merge_turns([SpeakerTurn(0, 1, "A"), SpeakerTurn(1.2, 2, "A"), SpeakerTurn(5, 6, "A")], max_gap=0.5)
    assert merged == [SpeakerTurn(0, 2, "A"), SpeakerTurn(5, 6, "A")]


def test_rttm_round_trip(tmp_path) -> None:
    turns = [SpeakerTurn(0.5, 2.25, "说话人1"), SpeakerTurn(2.0, 3.0, "调解员 王芳")]
    path = tmp_path / "out.rttm"
    write_rttm(turns, path, "hearing 1")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "SPEAKER hearing_1 1 0.500 1.750 <NA> <NA> 说话人1 <NA> <NA>"
    assert read_rttm(path) == [SpeakerTurn(0.5, 2.25, "说话人1"), SpeakerTurn(2.0, 3.0, "调解员_王芳")]


def test_roster_applies_to_past_and_future_turns() -> None:
    roster = SpeakerRoster()
    t = _transcript(TranscriptSegment(0, 1, "你好", speaker="说话人1"), TranscriptSegment(1, 2, "好", speaker="说话人2"), language="zh")
    roster.assign("说话人2", role="申请人", name="张三")
    out = roster.apply(t)
    assert [s.speaker for s in out.segments] == ["说话人1", "申请人张三"]
    roster.assign("说话人1", role="调解员")
    assert roster.apply(t).segments[0].speaker == "调解员"
    assert SpeakerRoster.from_dict(roster.to_dict()).to_dict() == roster.to_dict()
    with pytest.raises(DiarizationError, match="unknown role"):
        roster.assign("说话人1", role="法官")


def test_voiceprints_need_consent_are_deletable_and_never_printed(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'scribe.db'}")
    store = VoiceprintStore(db)
    emb = np.random.default_rng(0).normal(size=192).astype(np.float32)
    emb /= np.linalg.norm(emb)
    with pytest.raises(ConsentRequired):
        store.enrol(name="王芳", role="调解员", embedding=emb, speech_seconds=12, consent=None)
    with pytest.raises(ConsentRequired):
        store.enrol(name="王芳", role="调解员", embedding=emb, speech_seconds=12,
                    consent=Consent(dt.datetime.now(dt.timezone.utc), " ", "notice"))
    info = store.enrol(name="王芳", role="调解员", embedding=emb, speech_seconds=12,
                       consent=Consent(dt.datetime.now(dt.timezone.utc), "李四", "录音告知书 v1"))
    # a second process sees it
    again = VoiceprintStore(Database(f"sqlite:///{tmp_path / 'scribe.db'}"))
    [vp] = again.load()
    assert vp.label == "王芳" and vp.role == "调解员"
    np.testing.assert_allclose(vp.embedding, emb)
    assert "embedding" not in repr(vp) or "array" not in repr(vp)
    assert str(emb[0])[:6] not in repr(vp)
    assert [i.id for i in again.list()] == [info.id]
    assert match_voiceprints({"说话人1": emb + 0.01, "说话人2": -emb}, [vp], 0.55) == {"说话人1": "王芳"}
    again.delete(info.id)
    assert again.load() == [] and store.list() == []
    with pytest.raises(DiarizationError, match="no voiceprint"):
        again.delete(info.id)


def test_tidy_bridges_short_pauses_of_one_speaker_and_pads_into_silence_only() -> None:
    from diarize.resegment import TidyOptions, tidy_turns

    def tidy(*turns: tuple[float, float, str], duration: float = 10.0) -> list[tuple[float, float, str]]:
        got = tidy_turns([SpeakerTurn(*t) for t in turns], duration, TidyOptions(bridge=0.3, pad=0.05))
        return [(t.start, t.end, t.speaker) for t in got]

    # a breath (0.2 s) inside A's sentence is bridged; a 0.5 s pause is not
    assert tidy((1.0, 2.0, "A"), (2.2, 3.0, "A"), (3.5, 4.0, "A")) == [(0.95, 3.05, "A"), (3.45, 4.05, "A")]
    # B speaking inside A's short pause keeps it a break; padding stops at B's turn
    got = tidy((1.0, 2.0, "A"), (2.0, 2.2, "B"), (2.2, 3.0, "A"))
    assert got == [(0.95, 2.0, "A"), (2.0, 2.2, "B"), (2.2, 3.05, "A")]
    # never before 0 or past the end of the recording
    assert tidy((0.02, 1.0, "A"), (9.0, 9.98, "B")) == [(0.0, 1.05, "A"), (8.95, 10.0, "B")]


def test_quiet_frames_beside_speech_go_to_that_speaker() -> None:
    from diarize.streaming import _fill_quiet

    seg = np.zeros((30, 2))
    seg[0:8, 0] = 1  # A speaks, then falls quiet
    seg[20:30, 1] = 1  # B speaks after a real pause
    speech = np.full(30, 0.05)
    speech[8:12] = 0.45  # quiet speech right after A
    speech[14:16] = 0.9  # a blip with silence on both sides: nobody's
    got = _fill_quiet(seg, speech, 0.4)
    assert got[8:12, 0].tolist() == [1, 1, 1, 1] and not got[8:12, 1].any()
    assert not got[12:20].any()  # below the threshold, or touching nobody's speech
    assert (got[:8] == seg[:8]).all() and (got[20:] == seg[20:]).all()
    # a quiet run between two voices is shared between them
    seg2 = np.zeros((10, 2))
    seg2[:3, 0] = 1
    seg2[7:, 1] = 1
    speech2 = np.where(seg2.sum(axis=1) > 0, 0.9, 0.5)
    got2 = _fill_quiet(seg2, speech2, 0.4)
    assert got2[3:5, 0].all() and got2[5:7, 1].all()
    assert (_fill_quiet(seg2, speech2, 0.6) == seg2).all()


# -- the live diarizer's label mapping, with dummy models -------------------------------------
# A "voice" here is a pure tone. The dummy segmenter hears which tones sound in each frame and
# puts each on a local slot that changes from window to window (as pyannote's slots do); the
# dummy embedder's embedding of a stretch is its share of each tone. So the test knows who
# speaks when, and the diarizer's own logic (slots -> stable labels, first-appearance numbering,
# enrolled names) is what is under test.
TONES = (300.0, 700.0, 1300.0)
SEG_HOP = 272  # samples per segmentation frame (~17 ms, as segmentation-3.0)


def _tone_power(samples: np.ndarray, hop: int, win: int) -> np.ndarray:
    """(num_frames, len(TONES)) power of each tone in frames of ``win`` samples every ``hop``."""
    n = max(0, (len(samples) - win) // hop + 1)
    t = np.arange(win) / 16000
    basis = np.stack([np.exp(2j * np.pi * f * t) for f in TONES])  # (V, win)
    frames = np.stack([samples[i * hop : i * hop + win] for i in range(n)]) if n else np.zeros((0, win))
    return np.abs(frames @ basis.T) ** 2 / win


class DummySegmenter:
    frames = None

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, samples: np.ndarray) -> object:
        raise NotImplementedError("the streaming diarizer segments window by window")

    def window_with_speech(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.calls += 1
        power = _tone_power(samples, SEG_HOP, 400)
        active = power > 0.01
        shift = self.calls % 3  # pyannote's local slots carry no identity from one window on
        raw = np.zeros((len(power), 3), dtype=np.float32)
        for v in range(len(TONES)):
            raw[:, (v + shift) % 3] = np.maximum(raw[:, (v + shift) % 3], active[:, v])
        return raw, active.any(axis=1).astype(np.float32)


class DummyEmbedder:
    dimension = len(TONES)

    def features(self, samples: np.ndarray) -> object:
        import torch

        if len(samples) < 400:
            return torch.zeros((0, self.dimension))
        return torch.from_numpy(_tone_power(samples, 160, 400).astype(np.float32))

    def embed_features(self, feats: object) -> np.ndarray:
        f = np.asarray(feats)
        if len(f) < 50:
            return np.full(self.dimension, np.nan, dtype=np.float32)
        v = f.mean(axis=0)
        return (v / (np.linalg.norm(v) + 1e-9)).astype(np.float32)

    def embed(self, samples: np.ndarray) -> np.ndarray:
        return self.embed_features(self.features(samples))

    def embed_masked(self, feats: object, masks: np.ndarray) -> np.ndarray:
        f = np.asarray(feats)
        idx = np.minimum((np.arange(len(f)) * len(masks) / max(len(f), 1)).astype(int), len(masks) - 1)
        return np.stack([self.embed_features(f[masks[idx, s] > 0.5]) for s in range(masks.shape[1])])

    def embed_windows(self, feats: object, starts: list[int], width: int) -> np.ndarray:
        f = np.asarray(feats)
        return np.stack([self.embed_features(f[a : a + width]) for a in starts]) if starts else np.zeros((0, self.dimension))


def _voices(*turns: tuple[int, float, float]) -> np.ndarray:
    """(voice, start s, end s) -> 16 kHz audio with that tone in that span."""
    out = np.zeros(int(max(e for _, _, e in turns) * 16000) + 16000, dtype=np.float32)
    for v, a, b in turns:
        t = np.arange(int(a * 16000), int(b * 16000))
        out[t] += 0.3 * np.sin(2 * np.pi * TONES[v] * t / 16000).astype(np.float32)
    return out


def _live(samples: np.ndarray, voiceprints: tuple = ()) -> list[SpeakerTurn]:  # type: ignore[type-arg]
    from diarize import DiarizationModels, StreamingDiarizer
    from scribe.types import AudioChunk

    live = StreamingDiarizer(DiarizationModels(DummySegmenter(), DummyEmbedder()), voiceprints=voiceprints)
    for i in range(0, len(samples), 8000):
        live.feed(AudioChunk(i / 16000, samples[i : i + 8000]))
    live.flush()
    return live.turns


def _who(turns: list[SpeakerTurn], a: float, b: float) -> set[str]:
    """Labels covering most of [a, b)."""
    return {t.speaker for t in turns if min(t.end, b) - max(t.start, a) > 0.5 * (b - a)}


def test_live_labels_follow_voices_across_windows_whatever_the_slots() -> None:
    turns = _live(_voices((0, 0.5, 5.0), (1, 5.5, 10.0), (0, 10.5, 15.0), (1, 15.5, 20.0)))
    assert _who(turns, 0.5, 5.0) == {"说话人1"}  # first voice heard: 说话人1
    assert _who(turns, 5.5, 10.0) == {"说话人2"}
    assert _who(turns, 10.5, 15.0) == {"说话人1"}  # back again: the same label, not a new one
    assert _who(turns, 15.5, 20.0) == {"说话人2"}
    assert {t.speaker for t in turns} == {"说话人1", "说话人2"}


def test_an_enrolled_voice_gets_its_name_and_unknown_voices_are_numbered() -> None:
    from diarize import Voiceprint

    mediator = Voiceprint("vp1", "王调解员", "mediator", np.eye(len(TONES), dtype=np.float32)[2])
    turns = _live(_voices((2, 0.5, 5.0), (0, 5.5, 10.0), (2, 10.5, 15.0)), voiceprints=(mediator,))
    assert _who(turns, 0.5, 5.0) == {"王调解员"}
    assert _who(turns, 5.5, 10.0) == {"说话人1"}  # the first unknown voice, numbered from 1
    assert _who(turns, 10.5, 15.0) == {"王调解员"}


# -- the offline pipeline's label mapping, with dummy models ------------------------------------
# The same tones as above; the dummy segmenter answers for whole recordings the way
# segmentation-3.0 does (5 s chunks every 1 s, 3 local slots that carry no identity from one chunk
# to the next), through diarize.pyannote_adapter, so everything after the model runs as in production.

OFFLINE_FRAME = 0.02  # s per segmentation frame


class DummyOfflineSegmenter:
    def __init__(self) -> None:
        from diarize import pyannote_adapter as pa

        self.pa = pa
        self.frames = pa.grid(duration=OFFLINE_FRAME, step=OFFLINE_FRAME)

    def __call__(self, samples: np.ndarray) -> object:
        duration, step = 5.0, 1.0
        chunk = int(duration * 16000)
        hop = int(OFFLINE_FRAME * 16000)
        num_chunks = max(1, int(np.ceil((len(samples) / 16000 - duration) / step)) + 1)
        num_frames = chunk // hop
        data = np.zeros((num_chunks, num_frames, 3), dtype=np.float32)
        for c in range(num_chunks):
            piece = samples[int(c * step * 16000) : int(c * step * 16000) + chunk]
            piece = np.pad(piece, (0, chunk - len(piece)))
            active = _tone_power(piece, hop, hop) > 0.01  # (frames, tones)
            for v in range(len(TONES)):
                data[c, : len(active), (v + c) % 3] = np.maximum(data[c, : len(active), (v + c) % 3], active[:, v])
        return self.pa.windowed(data, self.pa.grid(duration=duration, step=step))

    def window_with_speech(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError("the offline diarizer segments the whole recording at once")


def _offline(samples: np.ndarray, **bounds: int) -> list[SpeakerTurn]:
    from diarize import DiarizationModels, OfflineDiarizer

    models = DiarizationModels(DummyOfflineSegmenter(), DummyEmbedder())  # type: ignore[arg-type]
    return OfflineDiarizer(models).diarize(samples, **bounds)


def test_offline_labels_go_by_first_appearance_and_a_returning_voice_keeps_its_label() -> None:
    # voice 2 speaks first: it is 说话人1 whatever cluster number the clustering gave it
    turns = _offline(_voices((2, 0.5, 6.0), (0, 6.5, 12.0), (2, 12.5, 18.0), (1, 18.5, 24.0)))
    assert _who(turns, 0.5, 6.0) == {"说话人1"}
    assert _who(turns, 6.5, 12.0) == {"说话人2"}
    assert _who(turns, 12.5, 18.0) == {"说话人1"}
    assert _who(turns, 18.5, 24.0) == {"说话人3"}
    assert {t.speaker for t in turns} == {"说话人1", "说话人2", "说话人3"}
    # turns follow the voices to within a few frames, and silence stays unlabelled
    first = [t for t in turns if t.speaker == "说话人1"]
    assert abs(first[0].start - 0.5) < 0.2 and abs(first[0].end - 6.0) < 0.2
    assert not [t for t in turns if t.start < 0.3]


def test_offline_known_count_overrules_the_threshold_and_silence_gives_no_turns() -> None:
    samples = _voices((0, 0.5, 6.0), (1, 6.5, 12.0), (2, 12.5, 18.0))
    assert len({t.speaker for t in _offline(samples)}) == 3
    assert len({t.speaker for t in _offline(samples, num_speakers=2)}) == 2
    assert _offline(np.zeros(16000 * 8, dtype=np.float32)) == []


# -- the cost of 结束 on a long hearing: the same answers, computed without n^2 loops --------
def test_cosine_distances_are_scipys_pdist() -> None:
    from scipy.spatial.distance import pdist

    from diarize.clustering import cosine_distances

    rng = np.random.default_rng(3)
    for n in (1, 2, 5, 1030):  # across the row blocks (1024) too
        x = rng.normal(size=(n, 192))
        unit = x / np.linalg.norm(x, axis=1, keepdims=True)
        ours, scipy = cosine_distances(unit, block=1024), pdist(unit, "cosine")
        assert ours.shape == scipy.shape
        assert np.allclose(ours, scipy, atol=1e-12, rtol=0)


def _tidy_by_definition(turns, duration, bridge, pad):  # type: ignore[no-untyped-def]
    """tidy_turns as its docstring says it, every turn against every other (quadratic)."""
    by_speaker: dict[str, list[list[float]]] = {}
    for t in sorted(turns):
        by_speaker.setdefault(t.speaker, []).append([t.start, t.end])
    bridged = []
    for k, spans in by_speaker.items():
        others = [(t.start, t.end) for t in turns if t.speaker != k]
        merged = [spans[0]]
        for s, e in spans[1:]:
            prev = merged[-1]
            if s - prev[1] <= bridge and not any(a < s and b > prev[1] for a, b in others):
                prev[1] = max(prev[1], e)
            else:
                merged.append([s, e])
        bridged += [SpeakerTurn(s, e, k) for s, e in merged]
    if pad <= 0:
        return sorted(bridged)
    out = []
    for t in bridged:
        rivals = [o for o in bridged if o.speaker != t.speaker]
        lo = max([o.end for o in rivals if o.end <= t.start] + [t.start - pad, 0.0])
        hi = min([o.start for o in rivals if o.start >= t.end] + [t.end + pad, duration])
        out.append(SpeakerTurn(min(t.start, lo), max(t.end, hi), t.speaker))
    return merge_turns(out, max_gap=1e-6)


def test_tidy_turns_bridges_and_pads_as_defined() -> None:
    import random

    from diarize.resegment import TidyOptions, tidy_turns

    rnd = random.Random(7)
    for _ in range(600):
        turns = []
        for _ in range(rnd.randint(1, 20)):
            a = round(rnd.uniform(0, 60), 2)
            turns.append(SpeakerTurn(a, a + round(rnd.choice([0.3, 1, 4]) * rnd.random(), 2),
                                     f"S{rnd.randint(0, 2)}"))
        bridge, pad = rnd.choice([0.0, 0.5, 1.5]), rnd.choice([0.0, 0.2])
        assert tidy_turns(turns, 70.0, TidyOptions(bridge=bridge, pad=pad)) == \
            _tidy_by_definition(turns, 70.0, bridge, pad)
