"""The hearing lifecycle: one state machine for a hearing, whoever moves it.

Real parts: whisper-base and the Silero VAD through the live engine, a real uvicorn server on
loopback, the real WebSocket, a real SQLite file, and a real server process killed with SIGKILL
in the middle of a recording.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_support import ServerThread, login, make_settings, seed_accounts

from scribe.audio import decode_audio
from scribe.errors import SessionError
from scribe.lifecycle import TRANSITIONS, HearingState, Step, next_state
from scribe.live.archive import SessionFolder, read_wav_pcm, to_pcm16

ROOT = Path(__file__).resolve().parent.parent
FRAME = 3200  # 0.2 s of 16 kHz


def test_every_step_from_every_state_is_either_in_the_table_or_refused_with_a_fix() -> None:
    for state in HearingState:
        for step in Step:
            if (state, step) in TRANSITIONS:
                assert next_state(state, step) is TRANSITIONS[(state, step)]
            else:
                with pytest.raises(SessionError) as err:
                    next_state(state, step)
                assert state.value in err.value.message and err.value.fix
    # recording can only end by Stop or a crash, and nothing goes back to "created"
    assert {t for (s, _), t in TRANSITIONS.items() if s is HearingState.RECORDING} == {
        HearingState.RECORDING, HearingState.PAUSED, HearingState.STOPPED, HearingState.INTERRUPTED}
    assert HearingState.CREATED not in TRANSITIONS.values()


def test_only_the_lifecycle_writes_a_hearings_state() -> None:
    writers = []
    for path in (ROOT / "scribe").rglob("*.py"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "hearing.status =" in line.replace("  ", " "):
                writers.append(f"{path.relative_to(ROOT)}:{n}")
    assert writers and all(w.startswith("scribe/lifecycle.py:") for w in writers), writers


# -- on a real server ------------------------------------------------------------------------------


def _engine_app(settings: Any, transcriber: Any, model_store: Any) -> Any:
    from scribe.live.bridge import ManagerBridge
    from scribe.live.engine import LiveEngine
    from server import create_app

    vad = model_store.path_for(settings.vad_model) / "silero_vad_v6.onnx"
    engine = LiveEngine(settings, transcriber, vad)
    return create_app(settings, live=ManagerBridge(engine.manager()))


def _hearing(c: httpx.Client) -> dict[str, Any]:
    h = c.post("/api/hearings", json={"kind": "mediation", "case_number": "（2026）城人调字第9号",
                                      "parties": [{"role": "applicant", "name": "张三"}]}).json()
    r = c.post(f"/api/hearings/{h['id']}/consent", json={"party_index": 0, "consented": True, "notice_read": True})
    assert r.status_code == 201, r.text
    return h


def _stream(url: str, cookie: str, pcm: Any, seconds: float, stop: bool) -> list[dict[str, Any]]:
    from websockets.sync.client import connect

    got: list[dict[str, Any]] = []
    with connect(url, additional_headers={"Cookie": f"scribe_session={cookie}"}, open_timeout=30) as ws:
        ws.send(json.dumps({"op": "start"}))
        for i in range(0, int(seconds * 16000), FRAME):
            ws.send(pcm[i : i + FRAME].tobytes())
        time.sleep(1.5)  # the frames reach the session; at least one fsync of the audio
        if not stop:
            return got
        ws.send(json.dumps({"op": "stop", "final_pass": True}))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            event = json.loads(ws.recv(timeout=deadline - time.monotonic()))
            got.append(event)
            if event["type"] == "state" and event["state"] == "stopped":
                return got
    raise AssertionError(f"no 'stopped' event; last: {got[-3:]}")


@pytest.fixture()
def pcm(shared_data: Path) -> Any:
    return to_pcm16(decode_audio(shared_data / "conversations" / "conv_zh_dev_01.wav").samples)


@pytest.mark.models
def test_stop_over_the_websocket_and_the_http_view_agree(
    tmp_path: Path, transcriber_base: Any, model_store: Any, pcm: Any
) -> None:
    settings = make_settings(tmp_path, model_dir=model_store.root, cpu_threads=2, live_max_lag=600.0,
                             server_delivery_worker=False)
    seed_accounts(settings)
    server = ServerThread(_engine_app(settings, transcriber_base, model_store))
    try:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            login(c, "med_a")
            h = _hearing(c)
            rec = c.post(f"/api/hearings/{h['id']}/record").json()
            ws_url = server.url.replace("http://", "ws://") + rec["websocket"]
            _stream(ws_url, c.cookies["scribe_session"], pcm, 4.0, stop=True)
            # the client heard "stopped": the hearing says so already, not "recording"
            assert c.get(f"/api/hearings/{h['id']}").json()["status"] == "stopped"
            r = c.post(f"/api/hearings/{h['id']}/stop")
            assert r.status_code == 409 and "stopped" in r.json()["error"]
            assert c.post(f"/api/hearings/{h['id']}/record").status_code == 409
            # the WebSocket's stop queued the same final pass as the desk's Stop
            deadline = time.monotonic() + 300
            while c.get(f"/api/hearings/{h['id']}/live").json()["state"] != "finished":
                assert time.monotonic() < deadline, "the final pass did not finish"
                time.sleep(0.5)
        with httpx.Client(base_url=server.url, timeout=60) as admin:
            login(admin, "admin")
            assert admin.delete(f"/api/hearings/{h['id']}").status_code == 204
    finally:
        server.close()


_CHILD = textwrap.dedent("""
    import sys, uvicorn
    sys.path[:0] = [{root!r}, {tests!r}]
    from server_support import make_settings
    from scribe.live.bridge import ManagerBridge
    from scribe.live.engine import LiveEngine
    from scribe.transcribe import Transcriber
    from server import create_app

    settings = make_settings({data!r}, model_dir={models!r}, cpu_threads=1, live_max_lag=600.0,
                             server_delivery_worker=False)
    engine = LiveEngine(settings, Transcriber.load(settings, "whisper-base"),
                        settings.models_path / "silero-vad" / "silero_vad_v6.onnx")
    app = create_app(settings, live=ManagerBridge(engine.manager()))
    uvicorn.run(app, host="127.0.0.1", port={port}, log_level="warning", ws="websockets-sansio")
""")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.models
def test_a_server_killed_mid_recording_recovers_the_session_on_start(
    tmp_path: Path, transcriber_base: Any, model_store: Any, pcm: Any
) -> None:
    settings = make_settings(tmp_path, model_dir=model_store.root, cpu_threads=2, server_delivery_worker=False)
    seed_accounts(settings)
    vad_dir = model_store.path_for(settings.vad_model)
    assert vad_dir.name == "silero-vad" and vad_dir.parent == settings.models_path
    port = _free_port()
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD.format(root=str(ROOT), tests=str(ROOT / "tests"), data=str(tmp_path),
                                             models=str(model_store.root), port=port)],
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert child.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.3)
        with httpx.Client(base_url=base, timeout=60) as c:
            login(c, "med_a")
            h = _hearing(c)
            recording_from = time.time()
            rec = c.post(f"/api/hearings/{h['id']}/record").json()
            _stream(base.replace("http://", "ws://") + rec["websocket"], c.cookies["scribe_session"], pcm, 5.0,
                    stop=False)
            # the connection is gone; the server records on until it is killed
            time.sleep(0.5)
        killed_at = time.time()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()

    folder = SessionFolder(settings.sessions_path / rec["live_session_id"])
    assert folder.read_meta()["state"] == "recording"  # what the crash left
    server = ServerThread(_engine_app(settings, transcriber_base, model_store))
    try:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            login(c, "med_a")
            got = c.get(f"/api/hearings/{h['id']}").json()
            assert got["status"] == "interrupted"
            live = c.get(f"/api/hearings/{h['id']}/live").json()
            # audio is fsync-ed every second: at most that much of the 5 s is lost
            assert 4.0 <= live["recovered_seconds"] <= 5.0, live
            # the interruption is dated when the recording stopped, not when the server came back
            # (whatever the load: between Record and the kill)
            assert recording_from - 1.0 <= _epoch(live["interrupted_at"]) <= killed_at + 1.0, live
            assert len(read_wav_pcm(folder.audio)) == round(live["recovered_seconds"] * 16000)
            page = c.get(f"/hearings/{h['id']}?lang=en").text
            assert f"{round(live['recovered_seconds'])} seconds kept" in page and "interrupted at" in page
            # the hearing waits for staff (继续录音 / 结束): no final pass locks its session yet
            time.sleep(1.0)
            assert c.get(f"/api/hearings/{h['id']}/live").json()["state"] == "interrupted"
            # 结束: the final pass over what was kept; session.completed goes out
            r = c.post(f"/api/hearings/{h['id']}/stop")
            assert r.status_code == 200, r.text
            assert c.get(f"/api/hearings/{h['id']}").json()["status"] == "stopped"
            deadline = time.monotonic() + 300
            while c.get(f"/api/hearings/{h['id']}/live").json()["state"] != "finished":
                assert time.monotonic() < deadline, "the recovered final pass did not finish"
                time.sleep(0.5)
            assert c.get(f"/api/hearings/{h['id']}/transcript").json()["info"]["kind"] == "final"
    finally:
        server.close()


def _epoch(iso: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(iso).timestamp()


@pytest.mark.models
def test_a_graceful_shutdown_during_a_final_pass_finishes_it(
    tmp_path: Path, transcriber_base: Any, model_store: Any, pcm: Any
) -> None:
    from scribe.live.bridge import ManagerBridge
    from scribe.live.engine import LiveEngine
    from scribe.live.service import LiveStart
    from scribe.live.sources import PushSource
    from scribe.settings import Settings

    settings = Settings(cpu_threads=2, model_dir=model_store.root, data_dir=tmp_path)
    vad = model_store.path_for(settings.vad_model) / "silero_vad_v6.onnx"
    bridge = ManagerBridge(LiveEngine(settings, transcriber_base, vad).manager())
    sid = bridge.open(LiveStart("h1", "zh", ()))
    session = bridge.manager.get(sid)
    assert session is not None
    source = PushSource("test")
    session.start_source(source)
    source.push(pcm[: 16000 * 6].astype("float32") / 32768.0)
    bridge.stop(sid)  # the final pass is queued in the background
    bridge.close(final_pass_timeout=None)  # the server's shutdown, right away
    folder = SessionFolder(settings.sessions_path / sid)
    assert folder.read_meta()["state"] == "finished" and folder.final_transcript.exists()
    states = [e.data["state"] for e in folder.events() if e.type == "state"]
    assert states[-2:] == ["finalizing", "finished"]  # the journal was still open for them


@pytest.mark.models
def test_a_final_pass_a_shutdown_left_undone_runs_on_the_next_start(
    tmp_path: Path, transcriber_base: Any, model_store: Any, pcm: Any
) -> None:
    from scribe.lifecycle import HearingLifecycle
    from scribe.live.bridge import ManagerBridge
    from scribe.live.engine import LiveEngine
    from scribe.live.service import LiveStart
    from scribe.live.sources import PushSource
    from scribe.settings import Settings
    from scribe.storage import Database

    settings = Settings(cpu_threads=2, model_dir=model_store.root, data_dir=tmp_path)
    vad = model_store.path_for(settings.vad_model) / "silero_vad_v6.onnx"
    engine = LiveEngine(settings, transcriber_base, vad)
    first = ManagerBridge(engine.manager())
    sid = first.open(LiveStart("h2", "zh", ()))
    session = first.manager.get(sid)
    assert session is not None
    source = PushSource("websocket")
    session.start_source(source)
    source.push(pcm[: 16000 * 4].astype("float32") / 32768.0)
    session.stop()  # stopped; the process ends before its final pass starts
    first.close(final_pass_timeout=0)
    assert SessionFolder(settings.sessions_path / sid).read_meta()["state"] == "stopped"

    db = Database(f"sqlite:///{tmp_path / 'scribe.db'}")
    from server import _import_tables

    _import_tables()
    db.create_schema()
    second = ManagerBridge(engine.manager())
    HearingLifecycle(db, second).recover()
    assert second.wait_finished(sid, timeout=300)
    assert SessionFolder(settings.sessions_path / sid).read_meta()["state"] == "finished"
    second.close()
    db.dispose()



def test_the_cli_recovery_moves_the_hearing_like_the_server_does(tmp_path: Path) -> None:
    """`scribe sessions recover` on the desk machine: the crashed session is sealed and its
    hearing becomes "interrupted" through the same lifecycle, not left "recording"."""
    import numpy as np

    from scribe.cli._db import open_database
    from scribe.live.archive import AudioWriter
    from scribe.settings import Settings
    from scribe.web.models import Hearing

    settings = Settings(data_dir=tmp_path)
    db = open_database(settings)
    with db.transaction() as tx:
        tx.add(Hearing(id="h9", office="城关司法所", kind="mediation", parties=[], status="recording",
                       live_session_id="h-h9"))
    db.dispose()
    folder = SessionFolder(settings.sessions_path / "h-h9")
    folder.root.mkdir(parents=True)
    folder.write_meta({"id": "h-h9", "v": 1, "state": "recording", "source": "websocket", "language": "zh"})
    writer = AudioWriter(folder.audio)  # a recorder killed after 3 s: flushed, never closed
    writer.append((np.sin(np.arange(48000) / 7) * 3000).astype(np.int16))
    writer.flush()
    out = subprocess.run([sys.executable, "-m", "scribe", "sessions", "recover"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, env={**os.environ, "SCRIBE_DATA_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert "h-h9: recovered 3.0 s" in out.stderr + out.stdout
    assert folder.meta().state == "interrupted" and folder.meta().recovered_seconds == 3.0
    db = open_database(settings)
    with db.transaction() as tx:
        assert tx.get(Hearing, "h9").status == "interrupted"  # type: ignore[union-attr]
    db.dispose()
