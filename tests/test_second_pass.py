"""The second pass alongside the hearing (scribe.live.alongside), real models on real speech.

* A recording transcribed as it grows (``GrowingTranscription``, advanced at uneven points as
  the worker would) ends with exactly the transcript ``Transcriber.transcribe`` makes of the
  finished file: the same segments, words, times and coverage.
* A development conversation recorded through a live session while the low-priority worker
  decodes the settled windows: the final transcript it gives at 结束 is the one today's
  whole-recording pass makes of the same archive, word for word, and its speakers score the
  same DER.
* A recorder killed with SIGKILL mid-hearing: after the restart, the final pass continues
  from the window runs and diarization pieces journalled in ``second_pass/`` without redoing
  them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from scribe.audio import decode_audio
from scribe.live.archive import SessionFolder
from scribe.text.normalize import error_rate
from scribe.types import SpeakerTurn, Transcript

pytestmark = pytest.mark.models
ROOT = Path(__file__).resolve().parent.parent
CONV = "conv_zh_dev_02"  # 95 s, 4 voices, one room: the hearing-like development conversation


@pytest.fixture(scope="module")
def engine(transcriber_base, model_store):  # noqa: ANN001 - shared fixtures of conftest.py
    """The suite's whisper-base and diarization models; the second pass shares them here
    (the server loads its own copies, scribe.services.second_pass_models)."""
    from scribe.live.alongside import SecondPassModels
    from scribe.live.engine import LiveEngine
    from scribe.services import load_diarization, offline_diarizer
    from scribe.settings import Settings

    settings = Settings(cpu_threads=2)
    models = load_diarization(settings, model_store)
    offline = offline_diarizer(settings, models)
    vad = model_store.path_for(settings.vad_model) / "silero_vad_v6.onnx"
    return LiveEngine(settings, transcriber_base, vad, None, offline, models,
                      second_pass_models=lambda: SecondPassModels(transcriber_base, offline))


def _journal(folder: SessionFolder) -> list[dict]:
    path = folder.root / "second_pass" / "journal.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass  # a line torn by the kill
    return out


def _runs(folder: SessionFolder) -> list[dict]:
    """The journal's runs of the window loop that decoded something."""
    return [x for x in _journal(folder) if x["kind"] == "windows" and x["segments"]]


def _chars(text: str) -> str:
    return "".join(c for c in text if "\u4e00" <= c <= "\u9fff")


def _same(a: Transcript, b: Transcript) -> None:
    assert [(s.text, s.start, s.end, s.unrecognised) for s in a.segments] == \
        [(s.text, s.start, s.end, s.unrecognised) for s in b.segments]
    assert [w for s in a.segments for w in s.words] == [w for s in b.segments for w in s.words]
    assert a.language == b.language and _coverage(a) == _coverage(b)
    assert a.info["dropped_segments"] == b.info["dropped_segments"]


def _coverage(t: Transcript) -> dict:
    """``info.coverage`` but when its stretches were decoded again."""
    return {k: v for k, v in t.info["coverage"].items() if k != "rerecognised_while_recording"}


def test_a_recording_transcribed_as_it_grows_equals_the_whole_file_pass(
    transcriber_base, shared_data: Path
) -> None:
    """The second pass's transcript is made while the hearing is recorded, Whisper's windows
    decoded as the audio settles: stopped and resumed at uneven points (the worker's schedule
    on a busy machine), it still decodes the windows of the whole-file pass, with the same
    earlier text, and ends with the same transcript, word times included."""
    from scribe.transcribe import GrowingTranscription, TranscribeOptions

    one = decode_audio(shared_data / "conversations" / f"{CONV}.wav").samples
    samples = np.concatenate([one, one[: one.size // 2]])  # 143 s: five windows and more
    options = TranscribeOptions(hotwords=("马占山", "李杜"))
    whole = transcriber_base.transcribe(samples, options)
    growing = GrowingTranscription(transcriber_base, options)
    decoded = []
    for head_s in (12.0, 41.5, 47.0, 80.25, 113.0, 119.5, 140.0):  # what the archive holds
        growing.advance(samples[: int(head_s * 16000)], int((head_s - 3.0) * 16000))
        decoded.append(growing.decoded_s)
    assert decoded == sorted(decoded) and decoded[-1] > 60.0  # most windows done before the end
    assert len(set(decoded)) >= 3  # stopped and resumed several times
    # where it resumes holds the earlier text the next window's prompt can take, not all of it
    assert growing.state.prompt is not None and 0 < len(growing.state.prompt) <= 223
    _same(growing.finish(samples), whole)


def test_speech_a_window_skipped_is_decoded_again_while_the_recording_grows(
    transcriber_base, shared_data: Path
) -> None:
    """The coverage check runs as the recording grows too: a stretch Whisper skipped inside a
    window is decoded again once nothing later can change it, not at the end (where a long
    hearing would hold dozens), and the end uses that result: the same transcript."""
    from scribe.transcribe import GrowingTranscription, TranscribeOptions

    samples = decode_audio(shared_data / "conversations" / f"{CONV}.wav").samples
    options = TranscribeOptions(language="zh")
    whole = transcriber_base.transcribe(samples, options)
    # without a name to hold on to, Whisper skips 11-33 s of this hearing in its first window
    assert whole.info["coverage"]["rerecognised_s"] > 10.0
    growing = GrowingTranscription(transcriber_base, options)
    for head_s in (40.0, 62.5, 80.0):
        growing.advance(samples[: int(head_s * 16000)], int((head_s - 3.0) * 16000))
    assert len(growing.covered) >= 1
    grown = growing.finish(samples)
    _same(grown, whole)
    assert grown.info["coverage"]["rerecognised_while_recording"] >= 1
    assert whole.info["coverage"]["rerecognised_while_recording"] == 0


def test_the_vad_of_a_growing_recording_equals_the_whole_file_vad(transcriber_base, shared_data: Path) -> None:
    one = decode_audio(shared_data / "conversations" / f"{CONV}.wav").samples
    samples = np.concatenate([one] * 4)[:-777]  # past one model run of 10 000 windows, uneven end
    whole = transcriber_base.vad.speech_probs(samples)
    stream = transcriber_base.vad.stream()
    rng = np.random.default_rng(1)
    head = 0
    while head < samples.size - 400_000:
        head += int(rng.integers(1000, 400_000))
        stream.extend(samples, head)
    stream.finish(samples)
    assert stream.probs.shape == whole.shape
    assert np.array_equal(stream.probs, whole)


def _wait_for(predicate, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.5)


def _rttm(path: Path) -> list[tuple[float, float, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        f = line.split()
        out.append((float(f[3]), float(f[3]) + float(f[4]), f[7]))
    return out


def _der(ref: list[tuple[float, float, str]], t: Transcript) -> float:
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    def ann(turns: list[tuple[float, float, str]]) -> Annotation:
        a = Annotation()
        for i, (s, e, k) in enumerate(turns):
            a[Segment(s, e), i] = k
        return a

    hyp = [(s.start, s.end, s.speaker) for s in t.segments if s.speaker and s.end > s.start]
    metric = DiarizationErrorRate(collar=0.25, skip_overlap=False)
    return float(metric(ann(ref), ann(hyp), uem=Timeline([Segment(0.0, t.duration)])))


@pytest.mark.walkthrough
def test_final_transcript_made_alongside_equals_the_whole_recording_pass(
    engine, tmp_path: Path, shared_data: Path
) -> None:
    from scribe.live.final_pass import FinalPass

    wav = shared_data / "conversations" / f"{CONV}.wav"
    samples = decode_audio(wav).samples
    manager = engine.manager(tmp_path / "sessions")
    session = manager.create(engine.options("zh"), source="test")
    worker = manager.final_pass.worker
    try:
        # the hearing arrives 5 s at a time, each block only once the worker has looked at the
        # archive and found nothing settled left: the schedule of real time on a machine that
        # keeps up
        block = 5 * 16000
        for i in range(0, samples.size, block):
            seen = worker.idle_passes(session.id)
            session.feed(samples[i : i + block])
            _wait_for(lambda: worker.idle_passes(session.id) > seen, 600, "the worker to catch up")
        assert session.state == "recording" and len(_runs(session.folder)) >= 2
    finally:
        session.stop()
    alongside = manager.finish(session.id)
    done = alongside.info["second_pass"]
    assert done["while_recording"] >= 2
    # left for 结束: at most the window reaching past the settled speech (30 s) and the speech
    # region still open at the head (at most 25 s), whatever the length of the hearing
    assert done["speech_decoded_before_stop_s"] >= 30.0
    assert done["speech_left_at_stop_s"] < 30.0 + 25.0 + 3.0

    # today's pass over the same archive, as the peer: the same words, word for word (segments
    # split where the speaker changes are typeset again, so punctuation is not compared)
    whole = FinalPass(engine.transcriber, engine.offline_diarizer).run(session.folder, lambda *_: None)
    assert _chars(alongside.text) == _chars(whole.text)
    assert [w for s in alongside.segments for w in s.words] == [w for s in whole.segments for w in s.words]
    assert _coverage(alongside) == _coverage(whole)
    assert alongside.info["coverage"]["rerecognised_while_recording"] >= 1  # the skip at 11-33 s
    ref = " ".join(r["text"] for r in json.loads(wav.with_suffix(".json").read_text(encoding="utf-8")))
    assert error_rate([ref], [alongside.text], "zh") < 0.35
    # every reference turn's time holds text in both
    for start, end, _ in _rttm(wav.with_suffix(".rttm")):
        for t in (alongside, whole):
            assert any(s.start < end and s.end > start for s in t.segments), (start, end)
    # the speakers: same DER against the reference (the window embeddings are the same ones)
    ref_turns = _rttm(wav.with_suffix(".rttm"))
    der_alongside, der_whole = _der(ref_turns, alongside), _der(ref_turns, whole)
    assert abs(der_alongside - der_whole) <= 0.02, (der_alongside, der_whole)
    assert len(set(alongside.info["speakers"])) == len(set(whole.info["speakers"]))
    final_json = Transcript.from_dict(json.loads(session.folder.final_transcript.read_text(encoding="utf-8")))
    assert final_json.text == alongside.text


CHILD = """
import sys, time
from dataclasses import replace
from pathlib import Path
from scribe.audio import decode_audio
from scribe.services import load_live_engine
from scribe.settings import Settings

root, wav = Path(sys.argv[1]), Path(sys.argv[2])
engine = load_live_engine(Settings(cpu_threads=2))  # the server's engine, second-pass copies too
engine = replace(engine, streaming_diarizer=None)  # live labels are not what this test is about
manager = engine.manager(root)
session = manager.create(engine.options("zh"), session_id="killed", source="websocket")
worker = manager.final_pass.worker
samples = decode_audio(wav).samples
for i in range(0, samples.size, 5 * 16000):  # the real-time schedule, faster (see the test above)
    seen = worker.idle_passes(session.id)
    session.feed(samples[i : i + 5 * 16000])
    while worker.idle_passes(session.id) <= seen:
        time.sleep(0.1)
print("all fed", flush=True)
time.sleep(3600)  # still recording when the parent kills it
"""


@pytest.mark.walkthrough
def test_kill_mid_hearing_then_restart_resumes_the_second_pass_from_its_journal(
    engine, tmp_path: Path, shared_data: Path
) -> None:
    from scribe.live.alongside import SecondPassJournal

    wav = tmp_path / "hearing.wav"
    one = decode_audio(shared_data / "conversations" / f"{CONV}.wav").samples
    sf.write(wav, np.concatenate([one, one]), 16000, subtype="PCM_16")  # 190 s
    (tmp_path / "child.py").write_text(CHILD, encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env["SCRIBE_CPU_THREADS"] = "2"
    root = tmp_path / "sessions"
    child = subprocess.Popen([sys.executable, str(tmp_path / "child.py"), str(root), str(wav)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    folder = SessionFolder(root / "killed")
    try:
        _wait_for(lambda: child.poll() is None and len(_runs(folder)) >= 2 and any(
            x["kind"] == "piece" for x in _journal(folder)), 900, "the child's second run of windows and a piece")
        os.kill(child.pid, signal.SIGKILL)  # mid-hearing: the recorder dies with the session open
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert folder.read_meta()["state"] == "recording"  # what the crash left behind
    before = [x for x in _journal(folder) if x["kind"] == "windows"]
    pieces_before = [x for x in _journal(folder) if x["kind"] == "piece"]
    covers_before = [x for x in _journal(folder) if x["kind"] == "cover"]
    audio_s = (folder.audio.stat().st_size - 44) / 2 / 16000
    assert before[-1]["state"]["seek"] > 0 and audio_s < 190.5  # killed mid-hearing, after windows were done

    # the restart: recovery seals the session; the final pass it queues (as the lifecycle's
    # start-up recovery does) continues from the journal
    manager = engine.manager(root)
    assert [f.id for f in manager.unfinished()] == ["killed"]
    assert manager.recover("killed").state == "interrupted"
    assert manager.resumable() == ["killed"]
    manager.finish_later("killed").result(timeout=1200)
    final = Transcript.from_dict(json.loads(folder.final_transcript.read_text(encoding="utf-8")))
    done = final.info["second_pass"]
    assert done["windows_runs_from_journal"] == len(before) and done["while_recording"] == 0
    assert done["diarization_pieces_from_journal"] == len(pieces_before)
    # a stretch decoded again before the kill is not decoded again after it
    assert final.info["coverage"]["rerecognised_while_recording"] >= len(covers_before)
    assert done["speech_decoded_before_stop_s"] == pytest.approx(before[-1]["state"]["seek"] / 100.0)
    # nothing finished before the kill was done again: the journal only grew after it
    assert [x for x in _journal(folder) if x["kind"] == "windows"] == before
    # the journalled windows' text is in the final transcript as it was written then
    windows, _ = SecondPassJournal(folder).load()
    assert windows is not None and windows.runs == len(before)
    from scribe.text.zh import to_simplified

    for seg in windows.segments:
        said = _chars(to_simplified(seg.segment.text))
        assert said and said[:6] in _chars(final.text)
    # and it is the transcript the whole-recording pass makes of the archive left by the crash
    from scribe.live.final_pass import FinalPass

    whole = FinalPass(engine.transcriber, engine.offline_diarizer).run(folder, lambda *_: None)
    assert _chars(final.text) == _chars(whole.text)
    assert final.info["speakers"]
    assert folder.read_meta()["state"] == "finished"


def test_journal_keeps_what_was_finished_and_drops_a_torn_line(tmp_path: Path) -> None:
    from diarize.incremental import Piece
    from scribe.asr.whisper import RawSegment
    from scribe.asr.windows import WindowState
    from scribe.coverage import Stretch
    from scribe.live.alongside import SecondPassJournal
    from scribe.transcribe import CoveredGap
    from scribe.types import TranscriptSegment, Word

    folder = SessionFolder(tmp_path / "s")
    folder.root.mkdir()
    journal = SecondPassJournal(folder)

    def raw(t: float, text: str) -> RawSegment:
        words = (Word(t + 0.1234567, t + 0.5, text[:1], 0.9), Word(t + 0.5, t + 1.0, text[1:], 0.8))
        return RawSegment(TranscriptSegment(t, t + 1.0, text, words), -0.3, 0.01, 1.2, 0.0)

    s1 = WindowState(2900, (1, 2, 3), 28.9)
    s2 = WindowState(5800, (4, 5), 57.9)
    journal.add_windows(("张三",), "zh", WindowState(), s1, [raw(1.0, "双方"), raw(2.0, "同意")])
    journal.add_windows(("张三",), "zh", s1, s2, [raw(30.0, "还款")])
    rng = np.random.default_rng(0)
    journal.add_piece(Piece(0, 3, rng.integers(0, 2, (3, 589, 2)).astype(np.float32),
                            rng.normal(size=(3, 2, 192)).astype(np.float32), 0,
                            rng.normal(size=(5, 192)).astype(np.float32)))
    journal.add_piece(Piece(3, 2, None, None, 5, np.zeros((0, 192), np.float32)))
    # a stretch decoded again (the coverage check), with the loop's hotwords and with others
    gap = CoveredGap((raw(11.2, "补上").segment,), (Stretch(13.0, 14.0, 0.6),))
    key = (11.104, 14.0, 2.1, 10.654, 14.45, ((10.654, 12.5), (12.9, 14.45)))
    journal.add_cover(("张三",), "zh", key, gap)
    journal.add_cover(("李四",), "zh", (1.0, 2.0, 0.8, 0.55, 2.45, ((0.55, 2.45),)), gap)
    with journal.path.open("a", encoding="utf-8") as fh:
        fh.write('{"kind": "windows", "hotwords": [], "from": {"seek": 58')  # the kill tore this line
    windows, pieces = journal.load()
    assert windows is not None and windows.runs == 2 and windows.state == s2
    assert windows.hotwords == ("张三",) and windows.language == "zh"
    assert [r.segment.text for r in windows.segments] == ["双方", "同意", "还款"]
    assert windows.segments[0] == raw(1.0, "双方")  # times kept to the bit, not rounded
    assert [(p.chunk0, p.num_chunks) for p in pieces] == [(0, 3), (3, 2)]
    assert pieces[0].embeddings is not None and pieces[0].embeddings.shape == (3, 2, 192)
    assert windows.covered == ((key, gap),)  # to the bit; the other hotwords' stretch is not theirs
    # a cover line the kill tore, or one written by something else, is left out (decoded at the end)
    with journal.path.open("a", encoding="utf-8") as fh:
        fh.write('\n{"kind": "cover", "hotwords": ["张三"], "language": "zh", "key": {"start": 1}}\n')
    assert journal.load()[0].covered == ((key, gap),)  # type: ignore[union-attr]
    # a run that does not continue the one before ends the windows there
    journal.add_windows(("张三",), "zh", WindowState(9999), WindowState(12000), [raw(90.0, "不对")])
    assert journal.load()[0].state == s2  # type: ignore[union-attr]
    # a piece whose file is gone ends the pieces there (they must follow one another)
    (journal.dir / "piece-000000.npz").unlink()
    assert journal.load()[1] == []
