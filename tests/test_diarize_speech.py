"""Diarization on real speech with the installed models (../shared/data)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from diarize import (
    Consent,
    OfflineDiarizer,
    StreamingDiarizer,
    StreamingOptions,
    VoiceprintStore,
    enrolment_embedding,
    match_voiceprints,
    read_rttm,
)
from scribe.audio import decode_audio
from scribe.errors import DiarizationError
from scribe.storage import Database
from scribe.types import SAMPLE_RATE, AudioChunk, SpeakerTurn

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def models(model_store, settings):
    from scribe.services import load_diarization

    return load_diarization(settings, model_store)  # with the server's torch threads


@pytest.fixture(scope="module")
def offline(models, settings) -> OfflineDiarizer:
    from diarize.offline import DiarizationOptions

    return OfflineDiarizer(
        models, DiarizationOptions.from_settings(settings), workers=2
    )


def _majority(turns: list[SpeakerTurn], start: float, end: float) -> str | None:
    best: dict[str, float] = {}
    for t in turns:
        ov = min(end, t.end) - max(start, t.start)
        if ov > 0:
            best[t.speaker] = best.get(t.speaker, 0.0) + ov
    return max(best, key=best.__getitem__) if best else None


def _check_turn_order(hyp: list[SpeakerTurn], ref: list[SpeakerTurn]) -> None:
    """Every reference turn of 1 s or more is mostly covered by the hypothesis speaker that
    one fixed one-to-one mapping predicts."""
    mapping: dict[str, str] = {}
    for r in ref:
        if r.duration < 1.0:
            continue
        got = _majority(hyp, r.start, r.end)
        assert got is not None, f"reference turn {r} found no speaker"
        assert mapping.setdefault(r.speaker, got) == got, f"turn {r} went to {got}: {mapping}"
    assert len(set(mapping.values())) == len(mapping), mapping


def test_two_speaker_call_gives_two_speakers_in_the_right_order(offline, shared_data: Path) -> None:
    samples = decode_audio(shared_data / "audio/en_pyannote_sample.wav").samples
    turns = offline.diarize(samples)
    assert {t.speaker for t in turns} == {"说话人1", "说话人2"}
    assert turns[0].speaker == "说话人1" and turns == sorted(turns)
    _check_turn_order(turns, read_rttm(shared_data / "ref/en_pyannote_sample.rttm"))
    # told the count, the same answer
    told = offline.diarize(samples, num_speakers=2)
    assert {t.speaker for t in told} == {"说话人1", "说话人2"}


@pytest.mark.parametrize("name", ["conv_en_dev_01", "conv_zh_dev_01"])
def test_conversation_speaker_count_is_found_when_not_told(offline, shared_data: Path, name: str) -> None:
    """Every voice of the simulated conversations is found, including the English one's last
    speaker, who says one 1.8 s sentence (a cluster too small for pyannote's size rule)."""
    samples = decode_audio(shared_data / f"conversations/{name}.wav").samples
    ref = read_rttm(shared_data / f"conversations/{name}.rttm")
    turns = offline.diarize(samples)
    assert len({t.speaker for t in turns}) == len({r.speaker for r in ref})
    _check_turn_order(turns, ref)


def test_four_speakers_of_a_generated_desk_meeting_are_counted(offline, shared_data: Path, tmp_path: Path) -> None:
    """A short four-speaker meeting built from real clips (benchmarks/make_hearings.py: one
    room, steady noise, a quarter of the turns starting over the previous voice): four
    speakers when the count is not given, each voice's turns with one label of its own."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.make_hearings import load_material, meeting

    entry = meeting(load_material(), 1, tmp_path)  # meeting4_01, of the development part
    assert entry["num_speakers"] == 4 and entry["part"] == "dev"
    turns = offline.diarize(decode_audio(tmp_path / entry["wav"]).samples)
    assert len({t.speaker for t in turns}) == 4
    _check_turn_order(turns, read_rttm(tmp_path / entry["rttm"]))


def test_single_speaker_file_gives_one_speaker(offline, shared_data: Path) -> None:
    samples = decode_audio(shared_data / "audio/en_librispeech_2412-153948-0000.flac").samples
    turns = offline.diarize(samples)
    assert turns and {t.speaker for t in turns} == {"说话人1"}
    speech = sum(t.duration for t in turns)
    assert speech > 8.0  # 11.7 s of continuous reading


def test_silence_and_noise_give_no_turns(offline) -> None:
    rng = np.random.default_rng(7)
    silence = np.zeros(10 * SAMPLE_RATE, dtype=np.float32)
    noise = (0.05 * rng.standard_normal(10 * SAMPLE_RATE)).astype(np.float32)
    hum = (0.1 * np.sin(2 * np.pi * 50 * np.arange(10 * SAMPLE_RATE) / SAMPLE_RATE)).astype(np.float32)
    for samples in (silence, noise, hum, np.zeros(100, dtype=np.float32)):
        assert offline.diarize(samples) == []


def test_bad_speaker_bounds_are_refused(offline) -> None:
    samples = np.zeros(SAMPLE_RATE, dtype=np.float32)
    with pytest.raises(DiarizationError, match="min-speakers"):
        offline.diarize(samples, min_speakers=4, max_speakers=2)
    with pytest.raises(DiarizationError, match="at least 1"):
        offline.diarize(samples, num_speakers=0)
    with pytest.raises(DiarizationError, match="mono"):
        offline.diarize(np.zeros((2, SAMPLE_RATE), dtype=np.float32))


def test_8khz_telephone_audio_works(offline, shared_data: Path, tmp_path: Path) -> None:
    samples = decode_audio(shared_data / "audio/en_pyannote_sample.wav").samples
    phone = tmp_path / "call_8k.wav"
    sf.write(phone, resample_poly(samples, 1, 2), 8000, subtype="PCM_16")
    decoded = decode_audio(phone)
    assert decoded.source_rate == 8000
    turns = offline.diarize(decoded.samples)
    assert {t.speaker for t in turns} == {"说话人1", "说话人2"}
    _check_turn_order(turns, read_rttm(shared_data / "ref/en_pyannote_sample.rttm"))


def _gap(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)


@pytest.fixture(scope="module")
def enrolment_case(shared_data: Path):
    """The reader of LibriSpeech 2412 enrols with the first 6.5 s of the utterance; a later
    recording holds JFK, then the *rest* of that reader's utterance, then another reader."""
    reader = decode_audio(shared_data / "audio/en_librispeech_2412-153948-0000.flac").samples
    cut = int(6.5 * SAMPLE_RATE)
    jfk = decode_audio(shared_data / "audio/en_jfk_inaugural.flac").samples
    other = decode_audio(shared_data / "audio/en_librispeech_6930-75918-0000.flac").samples
    later = np.concatenate([_gap(0.5), jfk, _gap(0.6), reader[cut:], _gap(0.6), other, _gap(0.5)])
    start = 0.5 + len(jfk) / SAMPLE_RATE + 0.6
    return reader[:cut], later, (start, start + len(reader[cut:]) / SAMPLE_RATE)


def test_enrolled_speaker_is_recognised_in_a_later_recording(
    models, offline, settings, enrolment_case, tmp_path: Path
) -> None:
    enrol_audio, later, (a, b) = enrolment_case
    embedding, seconds = enrolment_embedding(models, enrol_audio)
    assert seconds >= 5.0
    store = VoiceprintStore(Database(f"sqlite:///{tmp_path / 'scribe.db'}"))
    store.enrol(name="王芳", role="调解员", embedding=embedding, speech_seconds=seconds,
                consent=Consent(dt.datetime.now(dt.timezone.utc), "李四", "录音及声纹告知书"))
    voiceprints = store.load()
    # offline: exactly the reader's speaker label maps to the enrolled person
    result = offline.analyse(later)
    mapping = match_voiceprints(result.centroids, voiceprints, StreamingOptions.from_settings(settings).voiceprint_similarity)
    assert list(mapping.values()) == ["王芳"]
    named = [k for k, v in mapping.items() if v == "王芳"][0]
    assert _majority(list(result.turns), a, b) == named
    # live: the same recording in 0.5 s chunks, with the voiceprint loaded
    live = StreamingDiarizer(models, voiceprints=voiceprints)
    step = SAMPLE_RATE // 2
    for i in range(0, len(later), step):
        live.feed(AudioChunk(i / SAMPLE_RATE, later[i : i + step]))
    live.flush()
    turns = live.turns
    assert _majority(turns, a, b) == "王芳"
    assert _majority(turns, 0.5, a - 0.6) != "王芳"  # JFK is not her


def test_enrolment_refuses_too_little_speech(models) -> None:
    with pytest.raises(DiarizationError, match="speech"):
        enrolment_embedding(models, np.zeros(8 * SAMPLE_RATE, dtype=np.float32))


def test_streaming_keeps_up_with_bounded_delay_and_stable_labels(models, offline, shared_data: Path) -> None:
    samples = decode_audio(shared_data / "audio/en_pyannote_sample.wav").samples
    live = StreamingDiarizer(models)
    emitted: list[SpeakerTurn] = []
    fed = 0.0
    rng = np.random.default_rng(3)
    i = 0
    while i < len(samples):
        n = int(rng.integers(800, 16000))  # 50 ms to 1 s chunks
        chunk = samples[i : i + n]
        pieces = live.feed(AudioChunk(i / SAMPLE_RATE, chunk))
        i += len(chunk)
        fed = i / SAMPLE_RATE
        assert fed - live.settled_until <= 2.0 + 1e-6
        for p in pieces:
            assert p.end <= live.settled_until + 1e-6
        # nothing is emitted twice: a speaker's new piece starts where its last one ended
        for p in pieces:
            before = [e for e in emitted if e.speaker == p.speaker]
            assert not before or p.start >= before[-1].end - 1e-6
        emitted += pieces
    emitted += live.flush()
    ref = read_rttm(shared_data / "ref/en_pyannote_sample.rttm")
    assert {t.speaker for t in live.turns} == {"说话人1", "说话人2"}
    assert live.turns[0].speaker == "说话人1"
    # live labels are rougher than offline ones (docs/benchmarks.md: the opening exchange of
    # one-second "hello"s is mislabelled), but from the first long turns on each person keeps
    # one label: Diane 10.6-14.7 and 18.1-21.5, Sheila 14.5-17.9 and 21.8-28.5
    diane, sheila = _majority(live.turns, 10.57, 14.7), _majority(live.turns, 14.49, 17.92)
    assert diane != sheila
    assert _majority(live.turns, 18.2, 21.49) == diane
    assert _majority(live.turns, 21.78, 28.5) == sheila
    # final offline pass keeps the live labels
    final = live.final_pass(samples, offline)
    assert {t.speaker for t in final} == {"说话人1", "说话人2"}
    _check_turn_order(final, ref)  # the offline pass fixes the opening exchange...
    assert _majority(final, 10.57, 14.7) == diane  # ...and keeps the live labels
    assert _majority(final, 21.78, 28.5) == sheila
    assert live.turns == final


def test_a_reply_without_a_pause_is_given_to_the_replier(models, offline, shared_data: Path) -> None:
    """AMI clip: MEE012 replies 20.6-21.6 s inside MEE009's speech with no pause between
    them, and segmentation-3.0 keeps one local speaker across both voices. The second look
    (diarize.resegment.split_by_voice) gives the reply to MEE012 and nothing else away."""
    from diarize.resegment import split_by_voice

    samples = decode_audio(shared_data / "audio/en_pyannote_debug_dev00.wav").samples
    samples = samples[: 30 * SAMPLE_RATE]
    emb = models.embedder
    centroids = {"MEE009": emb.embed(samples[int(2.2 * SAMPLE_RATE) : 13 * SAMPLE_RATE]),
                 "MEE012": emb.embed(samples[int(13.4 * SAMPLE_RATE) : int(16.8 * SAMPLE_RATE)])}  # fmt: skip
    # what the segmentation alone gives: one turn over both voices
    turns = [SpeakerTurn(2.1, 13.0, "MEE009"), SpeakerTurn(13.0, 17.2, "MEE012"), SpeakerTurn(18.0, 26.2, "MEE009")]
    got = split_by_voice(samples, turns, centroids, emb)
    assert _majority(got, 20.7, 21.5) == "MEE012"
    assert _majority(got, 18.1, 20.4) == "MEE009" and _majority(got, 22.0, 26.0) == "MEE009"
    assert _majority(got, 2.2, 13.0) == "MEE009" and _majority(got, 13.4, 16.8) == "MEE012"
    # and the whole pipeline, speakers unnamed
    turns_ = offline.diarize(samples)
    mee009, mee012 = _majority(turns_, 2.2, 13.0), _majority(turns_, 13.4, 16.8)
    assert mee009 != mee012
    assert _majority(turns_, 20.7, 21.5) == mee012
    assert _majority(turns_, 22.0, 26.0) == mee009


def _live(models, samples: np.ndarray, **options) -> list[SpeakerTurn]:
    live = StreamingDiarizer(models, StreamingOptions(**options))
    step = SAMPLE_RATE // 2  # as a microphone delivers it
    for i in range(0, len(samples), step):
        live.feed(AudioChunk(i / SAMPLE_RATE, samples[i : i + step]))
    live.flush()
    return live.turns


@pytest.fixture(scope="module")
def ami_clip(shared_data: Path) -> np.ndarray:
    """The AMI clip inside its 30 s UEM."""
    samples = decode_audio(shared_data / "audio/en_pyannote_debug_dev00.wav").samples
    return samples[: 30 * SAMPLE_RATE]


@pytest.fixture(scope="module")
def ami_live(models, ami_clip: np.ndarray) -> list[SpeakerTurn]:
    return _live(models, ami_clip)


def _covered(turns: list[SpeakerTurn], speaker: str | None, start: float, end: float) -> float:
    """Fraction of [start, end) that ``speaker``'s turns cover."""
    return sum(
        max(0.0, min(end, t.end) - max(start, t.start)) for t in turns if t.speaker == speaker
    ) / (end - start)


def test_streaming_keeps_one_label_for_a_voice_across_its_pauses(ami_live) -> None:
    """AMI clip, live: the first speaker pauses mid-turn; the stretch after the pause is the
    same voice and must not found a new speaker (it did while stretches of one window were
    matched one-to-one: three speakers for two). Scored inside the 30 s UEM."""
    turns = ami_live
    assert len({t.speaker for t in turns}) == 2
    # MEE009 1.4-13.3 (with a pause), MEE012 13.2-16.9, MEE009 again 22.0-26.3
    first, second = _majority(turns, 1.44, 13.31), _majority(turns, 13.4, 16.9)
    assert first != second
    assert _majority(turns, 5.6, 13.1) == first  # after the pause
    assert _majority(turns, 22.0, 26.2) == first


def test_streaming_hears_quiet_speech_and_a_change_of_voice_without_a_pause(
    models, ami_clip, ami_live
) -> None:
    """AMI clip, live, settled 2 s behind the audio. MEE009 goes quiet at 3.7-5.6 s: a 5 s
    window with loud speech before it calls that silence until it has 2.5 s of right context
    (StreamingOptions.quiet_speech gives it to the voice beside it). At 28.4 s MEE009 takes
    over from MEE012 with no pause, inside one local speaker of the segmentation, 1.6 s
    before the clip ends: flush() settles that tail with no later step to correct the label
    (StreamingOptions.voice_check hears it in short windows)."""
    first = _majority(ami_live, 1.44, 13.31)
    assert _covered(ami_live, first, 3.9, 5.5) >= 0.8
    assert _majority(ami_live, 29.0, 30.0) == first
    # without either step both are lost: the test hears the difference
    plain = _live(models, ami_clip, quiet_speech=None, voice_check=None)
    first_ = _majority(plain, 1.44, 13.31)
    assert _covered(plain, first_, 3.9, 5.5) < 0.2
    assert _majority(plain, 29.0, 30.0) != first_


def test_streaming_memory_is_bounded(models) -> None:
    """20 minutes of noise-free silence with a voice now and then: the buffer never grows."""
    live = StreamingDiarizer(models)
    chunk = np.zeros(SAMPLE_RATE * 10, dtype=np.float32)
    for k in range(6):
        live.feed(AudioChunk(k * 10.0, chunk))
        assert len(live._buffer) <= int(live.options.window * SAMPLE_RATE) + len(chunk)
    assert live.turns == []
