"""Recording survives a lost connection, a second window and a server restart (issue 17), at the
protocol level: a real uvicorn server on loopback with whisper-base and the Silero VAD, the real
WebSocket, a real SQLite file, and a case system on loopback that verifies the signed webhooks.

The browser's side of the same protocol (the desk page's buffer) is in test_browser_recovery.py.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from server_support import ServerThread, login, make_settings, seed_accounts
from standardwebhooks import Webhook

from scribe.audio import decode_audio
from scribe.live.archive import SessionFolder, read_wav_pcm, to_pcm16
from scribe.storage import Database

pytestmark = pytest.mark.models
FRAME = 1600  # 0.1 s, as the desk sends
S = 16000


class Receiver:
    """A case system on loopback: every request's Standard Webhooks signature is verified."""

    def __init__(self) -> None:
        self.secret = ""
        self.received: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                payload = Webhook(outer.secret).verify(body, headers)
                outer.received.append(payload)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/scribe"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, event_type: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for p in self.received:
                if p.get("type") == event_type:
                    return p
            time.sleep(0.2)
        raise AssertionError(f"no {event_type} arrived; got {[p.get('type') for p in self.received]}")


def _app(settings: Any, transcriber: Any, model_store: Any) -> Any:
    from scribe.live.bridge import ManagerBridge
    from scribe.live.engine import LiveEngine
    from server import create_app

    vad = model_store.path_for(settings.vad_model) / "silero_vad_v6.onnx"
    return create_app(settings, live=ManagerBridge(LiveEngine(settings, transcriber, vad).manager()))


@pytest.fixture()
def pcm(shared_data: Path) -> Any:
    return to_pcm16(decode_audio(shared_data / "conversations" / "conv_zh_dev_01.wav").samples)


def _hearing(c: httpx.Client) -> dict[str, Any]:
    h = c.post("/api/hearings", json={"kind": "mediation", "case_number": "（2026）城人调字第17号",
                                      "parties": [{"role": "applicant", "name": "张三"}]}).json()
    r = c.post(f"/api/hearings/{h['id']}/consent", json={"party_index": 0, "consented": True, "notice_read": True})
    assert r.status_code == 201, r.text
    return h


def _socket(url: str, cookie: str) -> Any:
    from websockets.sync.client import connect

    return connect(url, additional_headers={"Cookie": f"scribe_session={cookie}"}, open_timeout=30)


def _until(ws: Any, done: Callable[[dict[str, Any]], bool], timeout: float = 60) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        got.append(m)
        if done(m):
            return got
    raise AssertionError(f"timed out; last messages: {got[-5:]}")


def _audio(ws: Any, **want: Any) -> dict[str, Any]:
    return _until(ws, lambda m: m["type"] == "audio" and all(m.get(k) == v for k, v in want.items()))[-1]


def _send(ws: Any, pcm: Any, start: int, end: int) -> None:
    for i in range(start, end, FRAME):
        ws.send(pcm[i : min(i + FRAME, end)].tobytes())


def _synced(ws: Any, samples: int) -> dict[str, Any]:
    """Ask until the server says it holds ``samples`` (the desk's drain before Stop)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ws.send(json.dumps({"op": "sync"}))
        m = _audio(ws)
        if m["received"] >= samples:
            return m
        time.sleep(0.1)
    raise AssertionError(f"the server holds {m['received']} of {samples} samples")


def test_a_reconnect_resends_from_what_arrived_a_second_window_takes_over_and_a_websocket_stop_sends_session_completed(
    tmp_path: Path, transcriber_base: Any, model_store: Any, pcm: Any
) -> None:
    from scribe.delivery.endpoints import add_endpoint

    settings = make_settings(tmp_path, model_dir=model_store.root, cpu_threads=2, live_max_lag=600.0,
                             delivery_allow_loopback=True, delivery_allow_http=True, delivery_poll_interval_s=0.2)
    seed_accounts(settings)
    receiver = Receiver()
    db = Database(settings.db_url)
    with db.transaction() as tx:
        _info, receiver.secret = add_endpoint(tx, receiver.url, ["session.completed"], settings, name="city platform")
    db.dispose()
    server = ServerThread(_app(settings, transcriber_base, model_store))
    try:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            login(c, "med_a")
            cookie = c.cookies["scribe_session"]
            h = _hearing(c)
            rec = c.post(f"/api/hearings/{h['id']}/record").json()
            url = server.url.replace("http://", "ws://") + rec["websocket"]

            # the first connection: 4 s arrive, then it dies in the middle of another second
            with _socket(url, cookie) as ws:
                ws.send(json.dumps({"op": "start"}))
                assert _audio(ws, active=True)["received"] == 0
                _send(ws, pcm, 0, 4 * S)
                _synced(ws, 4 * S)
                _send(ws, pcm, 4 * S, int(4.5 * S))  # sent, not acknowledged
            # the client kept every unacknowledged frame; it asks where to go on from
            ws2 = _socket(url + "?after=0", cookie)
            ws2.send(json.dumps({"op": "start"}))
            resumed = _audio(ws2, active=True)["received"]
            assert 4 * S <= resumed <= int(4.5 * S) and resumed % FRAME == 0
            _send(ws2, pcm, resumed, 6 * S)
            _synced(ws2, 6 * S)

            # a second window (or the page reloaded) starts: it becomes the source
            with _socket(url + "?after=0", cookie) as ws3:
                ws3.send(json.dumps({"op": "start"}))
                assert _audio(ws3, active=True)["received"] == 6 * S
                told = _audio(ws2, active=False)
                assert told["reason"] == "taken_over"
                ws2.send((np.ones(FRAME, dtype=np.int16) * 9000).tobytes())  # refused: not twice
                _send(ws3, pcm, 6 * S, 8 * S)
                _synced(ws3, 8 * S)
                ws3.send(json.dumps({"op": "stop", "final_pass": False}))
                _until(ws3, lambda m: m["type"] == "state" and m.get("state") == "stopped")
            ws2.close()

            folder = SessionFolder(settings.sessions_path / rec["live_session_id"])
            # every sample once, in order, across three connections
            assert np.array_equal(read_wav_pcm(folder.audio), pcm[: 8 * S])
            # stop over the WebSocket moved the hearing and sent session.completed
            assert c.get(f"/api/hearings/{h['id']}").json()["status"] == "stopped"
            got = receiver.wait("session.completed")
            session = got["data"]["session"]
            assert session["id"] == h["id"] and session["recorded_s"] == pytest.approx(8.0, abs=0.01)
            assert [p["type"] for p in receiver.received].count("session.completed") == 1
    finally:
        server.close()
        receiver.server.shutdown()


def test_a_restart_interrupts_the_hearing_and_continue_records_on_into_the_same_archive(
    tmp_path: Path, transcriber_base: Any, model_store: Any, pcm: Any
) -> None:
    settings = make_settings(tmp_path, model_dir=model_store.root, cpu_threads=2, live_max_lag=600.0,
                             server_delivery_worker=False)
    seed_accounts(settings)
    server = ServerThread(_app(settings, transcriber_base, model_store))
    try:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            login(c, "med_a")
            cookie = c.cookies["scribe_session"]
            h = _hearing(c)
            rec = c.post(f"/api/hearings/{h['id']}/record").json()
            url = server.url.replace("http://", "ws://") + rec["websocket"]
            with _socket(url, cookie) as ws:
                ws.send(json.dumps({"op": "start"}))
                _audio(ws, active=True)
                _send(ws, pcm, 0, 5 * S)
                _synced(ws, 5 * S)
    finally:
        server.close()  # the server restarts in the middle of the hearing (a graceful shutdown)
    folder = SessionFolder(settings.sessions_path / rec["live_session_id"])
    meta = folder.read_meta()
    assert meta["state"] == "interrupted" and meta["recovered_seconds"] == 5.0  # not "stopped"
    first_finals = {e.data["id"] for e in folder.finals()}

    server = ServerThread(_app(settings, transcriber_base, model_store))
    try:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            login(c, "med_a")
            cookie = c.cookies["scribe_session"]
            assert c.get(f"/api/hearings/{h['id']}").json()["status"] == "interrupted"
            assert "已保留 5 秒录音" in c.get(f"/hearings/{h['id']}").text
            url = server.url.replace("http://", "ws://") + rec["websocket"]
            with _socket(url + "?after=0", cookie) as ws:
                ws.send(json.dumps({"op": "start"}))
                got = _until(ws, lambda m: m["type"] == "audio")
                assert got[-1] == {**got[-1], "active": False, "reason": "interrupted", "received": 5 * S}
                assert any(m["type"] == "state" and m["state"] == "interrupted" and not m["seq"] for m in got)
                # 继续录音: the same hearing, the same session, the same archive
                r = c.post(f"/api/hearings/{h['id']}/record")
                assert r.status_code == 200, r.text
                assert r.json()["live_session_id"] == rec["live_session_id"]
                assert r.json()["engine"]["recorded_seconds"] == 5.0
                ws.send(json.dumps({"op": "start"}))
                assert _audio(ws, active=True)["received"] == 5 * S
                _send(ws, pcm, 5 * S, 12 * S)
                _synced(ws, 12 * S)
                later = _until(ws, lambda m: m["type"] == "final" and m["start"] >= 5.0, timeout=120)
                assert later[-1]["id"] not in first_finals  # utterance numbers go on
            r = c.post(f"/api/hearings/{h['id']}/stop")
            assert r.status_code == 200, r.text
            assert np.array_equal(read_wav_pcm(folder.audio), pcm[: 12 * S])
            deadline = time.monotonic() + 300
            while c.get(f"/api/hearings/{h['id']}/live").json()["state"] != "finished":
                assert time.monotonic() < deadline, "the final pass did not finish"
                time.sleep(0.5)
            final = c.get(f"/api/hearings/{h['id']}/transcript").json()
            assert final["info"]["kind"] == "final" and final["duration"] == pytest.approx(12.0, abs=0.01)
            assert max(s["end"] for s in final["segments"]) > 8.0  # text from after the restart
            ids = [e.data["id"] for e in folder.finals()]
            assert len(ids) == len(set(ids))
    finally:
        server.close()
