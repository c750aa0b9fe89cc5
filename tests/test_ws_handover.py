"""The hand-over of a live session's audio between two windows, at the protocol level (issue 17):
the new source hears how long ago the replaced one's last frame arrived, so a second window of
the same room keeps only what it captured after that (desk.js cutHandover; the browser test is
tests/test_browser_recovery_windows.py). A real uvicorn server on loopback, real models."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI
from websockets.sync.client import connect

from scribe.live.archive import SessionFolder, read_wav_pcm

pytestmark = pytest.mark.models
FRAME = 1600  # 0.1 s, as the desk sends


@pytest.fixture(scope="module")
def server(transcriber_base: Any, model_store: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    from scribe.live.engine import LiveEngine
    from scribe.live.ws import build_router
    from scribe.settings import Settings

    settings = Settings(cpu_threads=2, live_max_lag=600.0)
    vad = model_store.path_for(settings.vad_model) / "silero_vad_v6.onnx"
    manager = LiveEngine(settings, transcriber_base, vad).manager(tmp_path_factory.mktemp("ws") / "sessions")
    app = FastAPI()
    app.include_router(build_router(lambda: manager, lambda: None, run_final_pass=False))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.05)
    yield f"ws://127.0.0.1:{port}", manager
    manager.close()
    srv.should_exit = True
    thread.join(10)


def _audio(ws: Any, timeout: float = 30) -> dict[str, Any]:
    """The next ``audio`` message (events in between are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        m = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if m.get("type") == "audio":
            return dict(m)


def _send_until_acked(ws: Any, pcm: np.ndarray, start: int, end: int) -> None:
    for a in range(start, end, FRAME):
        ws.send(pcm[a : a + FRAME].tobytes())
    ws.send(json.dumps({"op": "sync"}))
    while _audio(ws)["received"] < end:
        ws.send(json.dumps({"op": "sync"}))


def _window_a_records_then_is_cut_off(url: str, sid: str, pcm: np.ndarray) -> None:
    """Window a starts the session and records its first second; then its connection ends."""
    with connect(f"{url}/ws/sessions/{sid}") as a:
        a.send(json.dumps({"op": "start", "language": "zh", "window": "a", "rejoin": False}))
        assert _audio(a)["active"]
        _send_until_acked(a, pcm, 0, 16000)


def test_the_new_source_hears_when_the_replaced_windows_audio_last_arrived(server: tuple[str, Any]) -> None:
    url, manager = server
    sid = "handover-1"
    pcm = (np.sin(np.arange(4 * 16000) * 2 * np.pi * 220 / 16000) * 8000).astype(np.int16)
    with connect(f"{url}/ws/sessions/{sid}") as first:
        first.send(json.dumps({"op": "start", "language": "zh"}))
        reply = _audio(first)
        assert reply["active"] and reply["received"] == 0 and "replaced_last_audio_ms" not in reply
        _send_until_acked(first, pcm, 0, 2 * 16000)
        quiet = time.monotonic()
        time.sleep(0.4)
        # a second window of the same room starts while the first is still the source
        with connect(f"{url}/ws/sessions/{sid}") as second:
            second.send(json.dumps({"op": "start"}))
            took = _audio(second)
            waited = (time.monotonic() - quiet) * 1000
            assert took["active"] and took["received"] == 2 * 16000
            # the first window's last frame arrived before `quiet`, at most this long before
            assert 400 <= took["replaced_last_audio_ms"] <= waited + 50, (took, waited)
            told = _audio(first)
            while told["active"]:  # a reply to its last sync, sent before the hand-over
                told = _audio(first)
            assert told["reason"] == "taken_over"
            _send_until_acked(second, pcm, 2 * 16000, 3 * 16000)
        # the second window went (closed, as a reloaded page's socket does): whoever starts next
        # replaces nobody who is sending, and keeps everything it captured
        with connect(f"{url}/ws/sessions/{sid}") as third:
            third.send(json.dumps({"op": "start"}))
            again = _audio(third)
            assert again["active"] and again["received"] == 3 * 16000
            assert "replaced_last_audio_ms" not in again
            _send_until_acked(third, pcm, 3 * 16000, 4 * 16000)
            third.send(json.dumps({"op": "stop", "final_pass": False}))
            while json.loads(third.recv(timeout=60)).get("state") != "stopped":
                pass
    # every sample once, in order, across the three windows
    assert np.array_equal(read_wav_pcm(SessionFolder(manager.root / sid).audio), pcm)


def test_a_window_reconnecting_does_not_take_the_recording_back_from_one_that_records(server: tuple[str, Any]) -> None:
    url, manager = server
    sid = "handover-2"
    pcm = (np.sin(np.arange(4 * 16000) * 2 * np.pi * 330 / 16000) * 8000).astype(np.int16)
    _window_a_records_then_is_cut_off(url, sid, pcm)
    # window a was cut off; window b opened the hearing meanwhile and records
    with connect(f"{url}/ws/sessions/{sid}") as b:
        b.send(json.dumps({"op": "start", "window": "b", "rejoin": False}))
        assert _audio(b)["active"]
        _send_until_acked(b, pcm, 16000, 2 * 16000)
        # a's network is back: its reconnect leaves the recording with b
        with connect(f"{url}/ws/sessions/{sid}?after=0") as a2:
            a2.send(json.dumps({"op": "start", "window": "a", "rejoin": True}))
            told = _audio(a2)
            assert told["active"] is False and told["reason"] == "taken_over"
            _send_until_acked(b, pcm, 2 * 16000, int(2.5 * 16000))  # b is still the source
            # b's own reconnect (the same window on a new connection) takes its recording on
            with connect(f"{url}/ws/sessions/{sid}?after=0") as b2:
                b2.send(json.dumps({"op": "start", "window": "b", "rejoin": True}))
                assert _audio(b2)["active"]
                _send_until_acked(b2, pcm, int(2.5 * 16000), 3 * 16000)
                # and a's user pressing 在此窗口录音 (a start without rejoin) takes it, on purpose
                a2.send(json.dumps({"op": "start", "window": "a", "rejoin": False}))
                taken = _audio(a2)
                assert taken["active"] and taken["received"] == 3 * 16000
                _send_until_acked(a2, pcm, 3 * 16000, 4 * 16000)
                a2.send(json.dumps({"op": "stop", "final_pass": False}))
                while json.loads(a2.recv(timeout=60)).get("state") != "stopped":
                    pass
    assert np.array_equal(read_wav_pcm(SessionFolder(manager.root / sid).audio), pcm)


def test_a_rejoin_waits_for_the_next_frame_of_a_source_that_only_seems_silent(server: tuple[str, Any]) -> None:
    """A loaded server reads a recording window's socket late, so its last frame can look seconds
    old: a reconnecting window waits for that window's next frame before it takes the recording
    back (and hears since when the other window records), and takes it only from a window that
    stays silent through the wait."""
    url, manager = server
    sid = "handover-3"
    pcm = (np.sin(np.arange(5 * 16000) * 2 * np.pi * 440 / 16000) * 8000).astype(np.int16)
    _window_a_records_then_is_cut_off(url, sid, pcm)
    with connect(f"{url}/ws/sessions/{sid}") as b:
        b.send(json.dumps({"op": "start", "window": "b", "rejoin": False}))
        b_since = time.monotonic()
        assert _audio(b)["active"]
        _send_until_acked(b, pcm, 16000, 2 * 16000)
        time.sleep(2.5)  # b's frames wait on a busy server: its last one looks 2.5 s old
        with connect(f"{url}/ws/sessions/{sid}?after=0") as a2:
            a2.send(json.dumps({"op": "start", "window": "a", "rejoin": True}))
            time.sleep(1.0)
            b.send(pcm[2 * 16000 : 2 * 16000 + FRAME].tobytes())  # ... and then it is read
            told = _audio(a2)
            assert told["active"] is False and told["reason"] == "taken_over", told
            assert told["owner_since_ms"] >= (time.monotonic() - b_since - 1.5) * 1000, told
            _send_until_acked(b, pcm, 2 * 16000 + FRAME, 3 * 16000)  # b is still the source
            # b stays connected but sends nothing through the whole wait: it no longer records
            time.sleep(2.5)
            asked = time.monotonic()
            a2.send(json.dumps({"op": "start", "window": "a", "rejoin": True}))
            took = _audio(a2)
            assert took["active"] and took["received"] == 3 * 16000, took
            assert time.monotonic() - asked >= 4.0  # it waited for b's next frame first
            told_b = _audio(b)
            while told_b["active"]:
                told_b = _audio(b)
            assert told_b["reason"] == "taken_over"
            _send_until_acked(a2, pcm, 3 * 16000, 5 * 16000)
            a2.send(json.dumps({"op": "stop", "final_pass": False}))
            while json.loads(a2.recv(timeout=60)).get("state") != "stopped":
                pass
    assert np.array_equal(read_wav_pcm(SessionFolder(manager.root / sid).audio), pcm)
