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
SCRIBE = str(Path(sys.executable).parent / "scribe")
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


def test_kill_mid_hearing_then_restart_resumes_the_second_pass_from_its_journal(
    engine, tmp_path: Path, shared_data: Path
) -> None:
    from scribe.live.alongside import StretchJournal

    # 190 s of the conversation (twice) replayed in real time by `scribe record` in a child
    wav = tmp_path / "hearing.wav"
    one = decode_audio(shared_data / "conversations" / f"{CONV}.wav").samples
    sf.write(wav, np.concatenate([one, one]), 16000, subtype="PCM_16")
    env = dict(os.environ)
    env["SCRIBE_DATA_DIR"] = str(tmp_path / "data")
    env["SCRIBE_MODEL_DIR"] = os.environ.get("SCRIBE_MODEL_DIR") or str(
        Path.home() / ".local" / "share" / "mediation-scribe" / "models")
    env["SCRIBE_CPU_THREADS"] = "2"
    env["SCRIBE_LIVE__SECOND_PASS_MIN_STRETCH"] = "15"
    child = subprocess.Popen(
        [SCRIBE, "record", "--input", str(wav), "--realtime", "--language", "zh", "--jsonl",
         "--session-id", "killed", "--no-final-pass"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT,
    )
    folder = SessionFolder(tmp_path / "data" / "sessions" / "killed")
    try:
        _wait_for(lambda: child.poll() is None and len(_stretches(folder)) >= 1 and any(
            x["kind"] == "piece" for x in _journal(folder)), 600, "the child's first stretch and piece")
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert folder.read_meta()["state"] == "recording"  # what the crash left behind
    before = _stretches(folder)
    pieces_before = [x for x in _journal(folder) if x["kind"] == "piece"]
    audio_s = (folder.audio.stat().st_size - 44) / 2 / 16000
    assert before[-1]["end"] < audio_s < 190.0  # killed mid-hearing, after a stretch was done

    # the restart: recovery seals the session and the final pass continues from the journal
    manager = engine.manager(tmp_path / "data" / "sessions")
    assert [f.id for f in manager.unfinished()] == ["killed"]
    assert manager.recover("killed").state == "interrupted"
    # what the lifecycle's start-up recovery queues for a desk hearing (finish_later)
    manager.finish_later("killed").result(timeout=1200)
    final = Transcript.from_dict(json.loads(folder.final_transcript.read_text(encoding="utf-8")))
    done = final.info["second_pass"]
    assert done["from_journal"] == len(before) and done["while_recording"] == 0
    assert done["diarization_pieces_from_journal"] == len(pieces_before)
    after = _stretches(folder)
    # nothing finished before the kill was done again: the journal only grew after it
    assert after[: len(before)] == before
    starts = [x["start"] for x in after]
    assert starts == sorted(set(starts))
    assert after[-1]["end"] == pytest.approx(audio_s, abs=1e-3)
    # the journalled stretches' text is in the final transcript as it was written then
    stretches, _ = StretchJournal(folder).load()

    def chars(text: str) -> str:
        return "".join(c for c in text if "\u4e00" <= c <= "\u9fff")

    assert chars(stretches[0].transcript.text) and chars(stretches[0].transcript.text) in chars(final.text)
    assert final.text and final.info["speakers"]
    assert folder.read_meta()["state"] == "finished"
