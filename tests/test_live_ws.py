"""The live WebSocket protocol through a real uvicorn server on loopback, real models."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI
from websockets.sync.client import connect

from scribe.audio import decode_audio
from scribe.live.archive import SessionFolder, read_wav_pcm, to_pcm16

pytestmark = pytest.mark.models
FRAME = 3200  # samples per frame: 0.2 s


@pytest.fixture(scope="module")
def server(transcriber_base, model_store, tmp_path_factory) -> Iterator[tuple]:  # noqa: ANN001
    from scribe.live.engine import LiveEngine
    from scribe.live.bridge import ManagerBridge
    from scribe.live.ws import build_router
    from scribe.settings import Settings

    # frames are sent faster than real time here: a lag bound this wide keeps every word live
    settings = Settings(cpu_threads=2, live_max_lag=600.0)
    vad = model_store.path_for(settings.vad_model) / "silero_vad_v6.onnx"
    engine = LiveEngine(settings, transcriber_base, vad)
    root = tmp_path_factory.mktemp("ws") / "sessions"
    manager = engine.manager(root)
    app = FastAPI()
    app.include_router(build_router(lambda: manager, lambda: None, max_frame_bytes=64_000))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.05)
    app.state.bridge = ManagerBridge(manager)
    yield f"ws://127.0.0.1:{port}", root, app.state.bridge
    manager.close()
    srv.should_exit = True
    thread.join(10)


def _recv_until(ws, done, timeout: float = 300) -> list[dict]:  # noqa: ANN001
    got: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = json.loads(ws.recv(timeout=deadline - time.monotonic()))
        got.append(event)
        if done(event, got):
            return got
    raise AssertionError(f"timed out; last events: {got[-5:]}")


def _drain(ws, seconds: float) -> list[dict]:  # noqa: ANN001
    got = []
    try:
        while True:
            got.append(json.loads(ws.recv(timeout=seconds)))
    except TimeoutError:
        return got


def test_bad_frames_get_errors_and_a_reconnect_resumes_the_session(
    server: tuple, shared_data: Path
) -> None:
    url, root, _bridge = server
    pcm = to_pcm16(decode_audio(shared_data / "conversations" / "conv_zh_dev_01.wav").samples)
    half = 16000 * 11
    received: list[dict] = []

    with connect(f"{url}/ws/sessions/ws-one") as ws:
        ws.send("this is not json")
        first = json.loads(ws.recv(timeout=30))
        assert first["type"] == "error" and first["code"] == "bad_message"
        ws.send(json.dumps({"op": "start", "language": "zh", "hotwords": ["达摩院"]}))
        received += _recv_until(ws, lambda e, _: e["type"] == "state" and e["state"] == "recording")
        for i in range(0, half, FRAME):
            ws.send(pcm[i : i + FRAME].tobytes())
            if i == FRAME * 10:
                ws.send(b"\x00" * 100_000)  # oversized
                ws.send(b"\x01\x02\x03")  # not whole 16-bit samples
                ws.send(json.dumps({"op": "dance"}))
        received += _recv_until(ws, lambda e, got: sum(x["type"] == "final" for x in got) >= 1
                                and {"frame_too_large", "bad_frame", "unknown_op"}
                                <= {x.get("code") for x in got})
        received += _drain(ws, 2.0)
    last_seq = max(e["seq"] for e in received)
    errors = {e["code"] for e in received if e["type"] == "error"}
    assert {"frame_too_large", "bad_frame", "unknown_op"} <= errors

    # the client went away; the session is still there, recording. Reconnect and resume.
    with connect(f"{url}/ws/sessions/ws-one?after={last_seq}") as ws:
        ws.send(json.dumps({"op": "start", "language": "zh"}))
        resumed = _recv_until(ws, lambda e, _: e["type"] == "state" and e.get("resumed"))
        received += [e for e in resumed if e["seq"]]  # the replay of what was missed
        for i in range(half, len(pcm), FRAME):
            ws.send(pcm[i : i + FRAME].tobytes())
        ws.send(json.dumps({"op": "stop"}))
        received += _recv_until(ws, lambda e, _: e["type"] == "state" and e["state"] == "finished")

    folder = SessionFolder(root / "ws-one")
    # all valid audio, in order, across both connections; the bad frames are not in it
    assert np.array_equal(read_wav_pcm(folder.audio), pcm)
    journal_finals = [e.seq for e in folder.finals()]
    got_finals = sorted({e["seq"] for e in received if e["type"] == "final"})
    assert got_finals == journal_finals  # nothing missed across the reconnect, nothing twice
    finals = [e for e in received if e["type"] == "final"]
    assert any(e["start"] >= 11.0 for e in finals)  # text from after the reconnect
    assert any(e["start"] > 2.0 for e in finals)  # and after the bad frames: the session went on
    seqs = [e["seq"] for e in received if e["seq"]]
    assert len(seqs) == len(set(seqs))
    assert any(e["type"] == "progress" for e in received)  # the final pass reported progress
    assert folder.read_meta()["state"] == "finished" and folder.final_transcript.exists()


def test_audio_before_start_and_a_closed_session_are_refused(server: tuple) -> None:
    url, _root, _bridge = server
    with connect(f"{url}/ws/sessions/ws-two") as ws:
        ws.send(b"\x00\x00" * 1600)
        e = json.loads(ws.recv(timeout=30))
        assert e["type"] == "error" and e["code"] == "not_recording"
        ws.send(json.dumps({"op": "start", "language": "klingon"}))
        e = json.loads(ws.recv(timeout=30))
        assert e["type"] == "error" and e["code"] == "bad_message"


def test_desk_bridge_opens_pauses_and_stops_a_session(server: tuple, shared_data: Path) -> None:
    """The desk API's path: open for a hearing, stream, pause (off the record), resume, stop."""
    from types import SimpleNamespace

    url, root, bridge = server
    pcm = to_pcm16(decode_audio(shared_data / "conversations" / "conv_zh_dev_01.wav").samples)
    start = SimpleNamespace(hearing_id="2026-017", language="zh", hotwords=("达摩院",), office=None,
                            casefile={"hotwords": ["张三"], "case_number": "（2026）X人调字第17号"})
    session_id = bridge.open(start)
    assert bridge.open(start) == session_id  # found, not created twice
    a, b = 16000 * 4, 16000 * 8
    with connect(url + bridge.websocket_path(session_id)) as ws:
        for i in range(0, a, FRAME):
            ws.send(pcm[i : i + FRAME].tobytes())
        ws.send(json.dumps({"op": "pause"}))
        _recv_until(ws, lambda e, _: e["type"] == "state" and e["state"] == "paused")
        for i in range(a, b, FRAME):  # said off the record: not kept
            ws.send(pcm[i : i + FRAME].tobytes())
        ws.send(json.dumps({"op": "resume"}))
        _recv_until(ws, lambda e, _: e["type"] == "state" and e["state"] == "recording")
        for i in range(b, len(pcm), FRAME):
            ws.send(pcm[i : i + FRAME].tobytes())
        time.sleep(1.0)  # let the last frames reach the session before the desk stops it
    bridge.stop(session_id)
    assert bridge.wait_finished(session_id, timeout=300)
    folder = SessionFolder(root / session_id)
    kept = np.concatenate([pcm[:a], pcm[b:]])
    assert np.array_equal(read_wav_pcm(folder.audio), kept)
    state = bridge.state(session_id)
    assert state["state"] == "finished" and state["final_ready"]
    meta = folder.read_meta()
    assert meta["hotwords"] == ["达摩院", "张三"] and meta["case"]["case_number"].startswith("（2026）")
    transcript = bridge.transcript(session_id)
    assert transcript is not None and transcript["info"]["kind"] == "final"
    assert bridge.audio_path(session_id) == folder.audio


def test_a_hearings_names_reach_every_decode_of_its_live_session(server: tuple, shared_data: Path, transcriber_base,
                                                                monkeypatch) -> None:  # noqa: ANN001
    """Hotwords typed for a hearing and the names in its case file are in every call to the
    recogniser: live partials, live finals (decoded after the previous text, where Whisper's
    own hotword slot is unused) and the final pass."""
    from types import SimpleNamespace

    url, _root, bridge = server
    model = transcriber_base.engine._model
    calls: list[dict] = []
    real = model.transcribe

    def spy(audio, **kw):  # noqa: ANN001, ANN003, ANN202
        calls.append({"seconds": len(audio) / 16000, "prefix": kw.get("prefix"),
                      "hint": f"{kw.get('hotwords') or ''} {kw.get('initial_prompt') or ''}"})
        return real(audio, **kw)

    monkeypatch.setattr(model, "transcribe", spy)
    clips = ["strender_thchs30_D4_751", "strender_thchs30_D4_754"]  # 王英汉, then 寇庄村
    audio2 = {e["id"]: e["file"] for e in json.loads((shared_data / "manifest2.json").read_text(encoding="utf-8"))["files"]}
    gap = np.zeros(16000, dtype=np.float32)
    x = np.concatenate([np.concatenate([decode_audio(shared_data / audio2[c]).samples, gap]) for c in clips])
    pcm = to_pcm16(x)
    start = SimpleNamespace(hearing_id="hw-names", language="zh", hotwords=("王英汉", "寇庄村"), office=None,
                            casefile={"hotwords": ["平阳集贸市场"], "case_number": "（2026）X人调字第9号"})
    session_id = bridge.open(start)
    with connect(url + bridge.websocket_path(session_id)) as ws:
        t0 = time.monotonic()
        for i in range(0, len(pcm), FRAME):  # at the pace of a microphone, so partials are made
            ws.send(pcm[i : i + FRAME].tobytes())
            time.sleep(max(0.0, t0 + (i + FRAME) / 16000 - time.monotonic()))
        events = _recv_until(ws, lambda e, seen: sum(1 for s in seen if s["type"] == "final") >= 2, timeout=300)
    live_calls = len(calls)
    # a name typed at the desk while recording (the API's PATCH does this): the final pass has it
    bridge.set_hotwords(session_id, ("王英汉", "寇庄村", "平阳集贸市场", "阿九"))
    bridge.stop(session_id)
    assert bridge.wait_finished(session_id, timeout=300)
    assert all("阿九" in c["hint"] for c in calls[live_calls:])
    assert any(e["type"] == "partial" for e in events) and any(e["type"] == "final" for e in events)
    assert live_calls >= 3 and len(calls) > live_calls  # partials, finals, then the final pass
    assert any(c["prefix"] for c in calls[:live_calls]), calls  # a live decode after the previous text
    for c in calls:
        for word in ("王英汉", "寇庄村", "平阳集贸市场"):
            assert word in c["hint"], (word, c)
