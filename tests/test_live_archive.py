"""The session archive on its own: WAV appended and repaired, journal torn lines, locks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from scribe.audio import decode_audio
from scribe.live import events as ev
from scribe.live.archive import (
    AudioWriter,
    Journal,
    SessionLock,
    read_journal,
    read_wav_pcm,
    repair_wav,
    to_pcm16,
)
from scribe.live.pipeline import Degrader


def _speech(shared_data: Path) -> np.ndarray:
    return decode_audio(shared_data / "conversations" / "conv_zh_dev_01.wav").samples


def test_audio_is_lossless_and_a_valid_wav_after_every_flush(tmp_path: Path, shared_data: Path) -> None:
    samples = _speech(shared_data)
    pcm = to_pcm16(samples)
    writer = AudioWriter(tmp_path / "audio.wav", flush_interval=0.0)  # flush on every append
    for i in range(0, len(pcm), 1600):
        writer.append(pcm[i : i + 1600])
        if i == 16000 * 5:
            # mid-recording the file is already a playable WAV of what was written so far
            data, rate = sf.read(tmp_path / "audio.wav", dtype="int16")
            assert rate == 16000 and len(data) == writer.samples
    writer.close()
    data, rate = sf.read(tmp_path / "audio.wav", dtype="int16")
    assert rate == 16000
    assert np.array_equal(data, pcm)


def test_repair_trusts_the_bytes_and_drops_a_half_sample(tmp_path: Path, shared_data: Path) -> None:
    pcm = to_pcm16(_speech(shared_data))[:48000]
    path = tmp_path / "audio.wav"
    writer = AudioWriter(path, flush_interval=3600)  # header never patched after the first write
    writer.append(pcm)
    os.write(writer._fd, b"\x01")  # a crash in the middle of a sample
    os.close(writer._fd)
    assert repair_wav(path) == len(pcm)
    data, _ = sf.read(path, dtype="int16")
    assert np.array_equal(data, pcm)
    assert np.array_equal(read_wav_pcm(path), pcm)


def test_journal_keeps_every_whole_line_and_drops_a_torn_one(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "events.jsonl")
    written = []
    for i in range(5):
        e = ev.final(f"{i}.0", i, i, i + 0.5, f"第{i}句。", None, "zh", [])
        e = ev.Event(e.type, e.data, "s1", i + 1)
        journal.write(e)
        written.append(e)
    journal.write(ev.Event("level", {"t": 1.0}, "s1", 6))  # levels are not journaled
    journal.close()
    with (tmp_path / "events.jsonl").open("a", encoding="utf-8") as fh:
        fh.write('{"v":1,"type":"final","session":"s1","seq":7,"te')  # torn by a kill
    back = read_journal(tmp_path / "events.jsonl")
    assert [e.to_dict() for e in back] == [json.loads(e.to_json()) for e in written]


def test_lock_is_released_when_the_holder_is_killed(tmp_path: Path) -> None:
    lock_path = tmp_path / ".lock"
    code = (
        "import sys,time; from pathlib import Path; from scribe.live.archive import SessionLock;"
        f"l=SessionLock(Path({str(lock_path)!r})); assert l.acquire(); print('held', flush=True);"
        "time.sleep(60)"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        assert SessionLock(lock_path).held_elsewhere()
    finally:
        child.kill()
        child.wait()
    assert not SessionLock(lock_path).held_elsewhere()


def test_degrader_steps_down_when_behind_and_back_up_when_calm() -> None:
    """The lag floor with hysteresis (scribe.live.pipeline.Degrader): a level more when the
    queue has not drained below the threshold for a whole ``hold``, a level back when it has
    drained every ``hold`` for ``calm``; times are seconds of session audio."""
    d = Degrader(up_lag=(2.0, 5.0), down_lag=0.5, hold=1.0, calm=10.0)
    assert d.update(1.0, 0.0) is None and d.level == 0
    assert d.update(2.5, 0.5) is None  # one reading above is a spike, not a trend
    assert d.update(2.5, 1.0) is None  # not yet a whole hold above
    assert d.update(2.5, 1.5) == 1 and d.diarize_live  # live labels stay at level 1
    assert d.update(6.0, 2.0) is None  # the stretch starts again at each change
    assert d.update(6.0, 2.5) == 2 and not d.diarize_live
    opts = d.apply(__import__("scribe.live.pipeline", fromlist=["LiveOptions"]).LiveOptions())
    assert opts.partial_interval == float("inf") and opts.final_beam == 1
    steps = [(3.0 + 0.5 * i, d.update(0.1, 3.0 + 0.5 * i)) for i in range(54)]
    assert [(t, lv) for t, lv in steps if lv is not None] == [(13.0, 1), (23.0, 0)]
    assert d.diarize_live


def test_a_muted_input_is_reported_and_still_archived(tmp_path: Path, model_store) -> None:  # noqa: ANN001
    """60 s of digital silence: one no_signal warning per 30 s, all of it archived, and the
    real streaming VAD never sends any of it to the recogniser."""
    from scribe.live.archive import SessionFolder
    from scribe.live.session import LiveSession

    class NoSpeech:  # never called: silence never reaches the recogniser
        def recognise(self, samples, request):  # noqa: ANN001, ANN201
            raise AssertionError("silence was sent to the recogniser")

    from scribe.live.pipeline import LiveOptions, StreamingPipeline
    from scribe.live.vad_stream import open_silero_stream

    folder = SessionFolder(tmp_path / "s1")
    folder.root.mkdir()
    folder.write_meta({"id": "s1", "state": "recording"})
    session = LiveSession(folder, StreamingPipeline(open_silero_stream(model_store), NoSpeech(), LiveOptions()))
    seen = []
    session.bus.subscribe(seen.append)
    for _ in range(600):
        session.feed(np.zeros(1600, dtype=np.float32))
    meta = session.stop()
    warnings = [e for e in seen if e.type == "warning" and e.data["code"] == "no_signal"]
    assert [round(e.data["t"]) for e in warnings] == [10, 40]
    assert meta.duration == 60.0 and len(read_wav_pcm(folder.audio)) == 960_000
    assert not [e for e in seen if e.type in ("error", "partial", "final")]  # nothing recognised
