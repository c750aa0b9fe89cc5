"""The second pass alongside the hearing (scribe.live.alongside), real models on real speech.

* A development conversation recorded through a live session while the low-priority worker
  re-recognises its settled stretches: the final transcript it gives at 结束 matches today's
  whole-recording pass on the same archive (CER within 1 point of it against the reference,
  the same speech covered, no stretch left unrecognised by one and not the other), and its
  speakers score the same DER.
* A recorder killed with SIGKILL mid-hearing: after the restart, the final pass continues
  from the stretches and diarization pieces journalled in ``second_pass/`` without redoing
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

    settings = Settings(cpu_threads=2, live_second_pass_min_stretch=30.0)  # 3 stretches in 95 s
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


def _stretches(folder: SessionFolder) -> list[dict]:
    return [x for x in _journal(folder) if x["kind"] == "stretch"]


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
        # keeps up (a stretch is >= 30 s, ends in a pause >= 3 s behind the archive's head)
        block = 5 * 16000
        for i in range(0, samples.size, block):
            seen = worker.idle_passes(session.id)
            session.feed(samples[i : i + block])
            _wait_for(lambda: worker.idle_passes(session.id) > seen, 600, "the worker to catch up")
        assert session.state == "recording" and len(_stretches(session.folder)) >= 2
    finally:
        session.stop()
    alongside = manager.finish(session.id)
    done = alongside.info["second_pass"]
    assert done["while_recording"] >= 1 and done["stretches"] >= 2
    assert done["last_stretch_s"] < samples.size / 16000 - 30.0  # only the end was left for 结束

    # today's pass over the same archive, as the peer
    whole = FinalPass(engine.transcriber, engine.offline_diarizer).run(session.folder, lambda *_: None)
    ref = " ".join(r["text"] for r in json.loads(wav.with_suffix(".json").read_text(encoding="utf-8")))
    cer_alongside = error_rate([ref], [alongside.text], "zh")
    cer_whole = error_rate([ref], [whole.text], "zh")
    assert abs(cer_alongside - cer_whole) <= 0.01, (cer_alongside, cer_whole, alongside.text, whole.text)
    # the same segment coverage: what the VAD calls speech is covered by words in both, and
    # neither leaves a stretch unrecognised that the other recognised
    cov_a, cov_w = alongside.info["coverage"], whole.info["coverage"]
    assert cov_a["unrecognised_s"] == cov_w["unrecognised_s"] == 0.0
    assert cov_a["covered_s"] / cov_a["speech_s"] == pytest.approx(cov_w["covered_s"] / cov_w["speech_s"], abs=0.01)
    assert not [s for s in alongside.segments if s.unrecognised]
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
engine = load_live_engine(Settings(cpu_threads=2, live_second_pass_min_stretch=30.0))  # the server's engine, second-pass copies too
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
    from scribe.live.alongside import StretchJournal

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
        _wait_for(lambda: child.poll() is None and len(_stretches(folder)) >= 2 and any(
            x["kind"] == "piece" for x in _journal(folder)), 900, "the child's second stretch and a piece")
        os.kill(child.pid, signal.SIGKILL)  # mid-hearing: the recorder dies with the session open
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert folder.read_meta()["state"] == "recording"  # what the crash left behind
    before = _stretches(folder)
    pieces_before = [x for x in _journal(folder) if x["kind"] == "piece"]
    audio_s = (folder.audio.stat().st_size - 44) / 2 / 16000
    assert before[-1]["end"] < audio_s < 190.5  # killed mid-hearing, after stretches were done

    # the restart: recovery seals the session; the final pass it queues (as the lifecycle's
    # start-up recovery does) continues from the journal
    manager = engine.manager(root)
    assert [f.id for f in manager.unfinished()] == ["killed"]
    assert manager.recover("killed").state == "interrupted"
    assert manager.resumable() == ["killed"]
    manager.finish_later("killed").result(timeout=1200)
    final = Transcript.from_dict(json.loads(folder.final_transcript.read_text(encoding="utf-8")))
    done = final.info["second_pass"]
    assert done["from_journal"] == len(before) and done["while_recording"] == 0
    assert done["diarization_pieces_from_journal"] == len(pieces_before)
    after = _stretches(folder)
    # nothing finished before the kill was done again: the journal only grew after it
    assert after[: len(before)] == before
    starts = [x["start"] for x in after]
    assert starts == sorted(set(starts)) and len(after) == len(before) + 1  # + the last stretch
    assert after[-1]["end"] == pytest.approx(audio_s, abs=1e-3)
    # the journalled stretches' text is in the final transcript as it was written then
    stretches, _ = StretchJournal(folder).load()

    def chars(text: str) -> str:
        return "".join(c for c in text if "\u4e00" <= c <= "\u9fff")

    for st in stretches[: len(before)]:
        assert chars(st.transcript.text) and chars(st.transcript.text) in chars(final.text)
    assert final.info["speakers"]
    assert folder.read_meta()["state"] == "finished"


def test_stretches_end_in_pauses_of_real_speech(transcriber_base, shared_data: Path) -> None:
    """Each cut lies in a silence the VAD hears, after the minimum length, and the cuts do not
    depend on how far the archive has grown past them (the worker's schedule)."""
    from scribe.live.alongside import AlongsideOptions, next_cut

    samples = decode_audio(shared_data / "conversations" / f"{CONV}.wav").samples
    probs = transcriber_base.vad.speech_probs(samples)
    options = AlongsideOptions(min_stretch_s=20.0)
    cuts, start = [], 0.0
    while True:
        # as the worker sees it: the archive has grown to some head, 3 s of margin
        found = [next_cut(transcriber_base.vad.speech_probs(samples[int(start * 16000) : int(h * 16000)]),
                          start, h, options) for h in (start + 40.0, start + 55.0)
                 if h <= samples.size / 16000]
        if not found or found[0] is None:
            break
        assert all(c == pytest.approx(found[0], abs=0.04) for c in found if c is not None)
        cut = found[0]
        assert cut - start >= options.min_stretch_s
        i = int(cut * 16000 / 512)
        assert probs[max(0, i - 3) : i + 4].max() < 0.5, f"cut at {cut:.2f} s is not in a pause"
        cuts.append(cut)
        start = cut
    assert len(cuts) >= 2


def test_journal_keeps_what_was_finished_and_drops_a_torn_line(tmp_path: Path) -> None:
    from diarize.incremental import Piece
    from scribe.live.alongside import DoneStretch, StretchJournal
    from scribe.types import TranscriptSegment

    folder = SessionFolder(tmp_path / "s")
    folder.root.mkdir()
    journal = StretchJournal(folder)
    seg = TranscriptSegment(1.0, 2.5, "双方同意。")
    for a, b in ((0.0, 31.5), (31.5, 64.0)):
        journal.add_stretch(DoneStretch(a, b, ("张三",), Transcript("zh", b - a, "whisper-base", (seg,))))
    rng = np.random.default_rng(0)
    journal.add_piece(Piece(0, 3, rng.integers(0, 2, (3, 589, 2)).astype(np.float32),
                            rng.normal(size=(3, 2, 192)).astype(np.float32), 0,
                            rng.normal(size=(5, 192)).astype(np.float32)))
    journal.add_piece(Piece(3, 2, None, None, 5, np.zeros((0, 192), np.float32)))
    with journal.path.open("a", encoding="utf-8") as fh:
        fh.write('{"kind": "stretch", "start": 64.0, "end": 9')  # the kill tore this line
    stretches, pieces = journal.load()
    assert [(s.start, s.end) for s in stretches] == [(0.0, 31.5), (31.5, 64.0)]
    assert stretches[1].hotwords == ("张三",) and stretches[1].transcript.segments[0].text == "双方同意。"
    assert [(p.chunk0, p.num_chunks) for p in pieces] == [(0, 3), (3, 2)]
    assert pieces[0].embeddings is not None and pieces[0].embeddings.shape == (3, 2, 192)
    # a piece whose file is gone ends the pieces there (they must follow one another)
    (journal.dir / "piece-000000.npz").unlink()
    assert journal.load()[1] == []
