"""The desk keeps recording through trouble, in real headless Chromium (issue 17).

Chromium's fake microphone plays 26 s of a real Mandarin conversation (../shared/data) into the
desk page; the server is a real process on loopback (whisper-base, the Silero VAD, the
diarizers), reached through a TCP relay the test can cut. Three kinds of trouble, each in the
middle of a recording, each ending in a final transcript and a stopped (closable) hearing:

- the page is reloaded;
- the network drops for 20 s (the relay swallows every byte both ways, as a vanished Wi-Fi
  does, then the connections it broke end and new ones pass);
- the server is killed (SIGKILL) and started again.

What was lost is measured on the audio itself: every half second of the archive is found in the
file the microphone played (normalised cross-correlation), so a gap or a repeat shows as a jump
between where consecutive blocks sit in the file. Screenshots land in docs/screenshots/.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from server_support import PASSWORD, make_settings, seed_accounts

from scribe.audio import decode_audio
from scribe.live.archive import SessionFolder, read_wav_pcm

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
SPEECH_S = 26.0
S = 16000
pytestmark = [pytest.mark.browser, pytest.mark.models, pytest.mark.slow]

_CHILD = textwrap.dedent("""
    import sys, uvicorn
    sys.path[:0] = [{root!r}, {tests!r}]
    from server_support import make_settings
    from server import create_app

    settings = make_settings({data!r}, model_dir={models!r}, server_load_models=True,
                             server_delivery_worker=False)
    import logging  # the audio source's hand-overs, in the output pytest shows for a failure
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("scribe.live.ws").setLevel(logging.INFO)
    uvicorn.run(create_app(settings), host="127.0.0.1", port={port}, log_level="warning",
                ws="websockets-sansio")
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``scribe``'s app under uvicorn in its own process, on a fixed port (a restart keeps it)."""

    def __init__(self, data: Path, models: Path) -> None:
        self.data, self.models = data, models
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.child: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        code = _CHILD.format(root=str(ROOT), tests=str(ROOT / "tests"), data=str(self.data),
                             models=str(self.models), port=self.port)
        self.child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.child.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.3)

    def kill(self) -> None:
        assert self.child is not None
        os.kill(self.child.pid, signal.SIGKILL)
        self.child.wait(30)

    def close(self) -> None:
        if self.child is not None and self.child.poll() is None:
            self.child.terminate()
            try:
                self.child.wait(60)
            except subprocess.TimeoutExpired:
                self.child.kill()


class Relay:
    """A TCP relay between the browser and the server. ``drop()``: every byte either way is
    swallowed and connections stay open (no reset: the page must notice by itself); ``restore()``:
    the connections the outage broke end, new ones pass."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.dropped = False
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()  # the server is down: refused, as the real one would be
                continue
            with self.lock:
                self.pairs.append((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                if not self.dropped:
                    b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def drop(self) -> None:
        self.dropped = True

    def restore(self) -> None:
        with self.lock:
            broken, self.pairs = self.pairs, []
        for pair in broken:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self.dropped = False

    def close(self) -> None:
        self.listener.close()
        self.restore()


@pytest.fixture(scope="module")
def speech(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """What the fake microphone plays: the first 26 s of a two-speaker Mandarin hearing."""
    samples = decode_audio(shared_data / "conversations" / "conv_zh_dev_02.wav").samples[: int(SPEECH_S * S)]
    pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
    path = tmp_path_factory.mktemp("mic") / "hearing.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(S)
        w.writeframes(pcm.tobytes())
    return path, pcm.astype(np.float32) / 32768.0


@pytest.fixture(scope="module")
def browser(speech: tuple[Path, np.ndarray]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--use-fake-ui-for-media-stream",
                  "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={speech[0]}%noloop"],
        )  # fmt: skip
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def stack(tmp_path: Path, model_store: Any) -> Iterator[dict[str, Any]]:
    settings = make_settings(tmp_path, model_dir=model_store.root)
    seed_accounts(settings)
    server = ServerProcess(tmp_path, model_store.root)
    relay = Relay(server.port)
    try:
        yield {"server": server, "relay": relay, "settings": settings, "url": relay.url}
    finally:
        relay.close()
        server.close()


def _desk(browser: Any, base: str, case: str) -> tuple[Any, Any, str]:
    """Logged in as a mediator, a hearing whose two parties consented, its desk page open."""
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = ctx.new_page()
    csrf = ctx.request.post(base + "/api/auth/login", data={"username": "med_a", "password": PASSWORD}).json()["csrf_token"]
    h = ctx.request.post(base + "/api/hearings", headers={"X-CSRF-Token": csrf}, data={
        "kind": "mediation", "case_number": case, "title": "相邻关系纠纷",
        "parties": [{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "李四"}]}).json()
    for i in (0, 1):
        r = ctx.request.post(f"{base}/api/hearings/{h['id']}/consent", headers={"X-CSRF-Token": csrf},
                             data={"party_index": i, "consented": True, "notice_read": True})
        assert r.status == 201, r.text()
    page.goto(f"{base}/hearings/{h['id']}")
    return ctx, page, h["id"]


def _clock(page: Any) -> float:
    text = page.locator("#clock").inner_text()
    parts = [int(x) for x in text.split(":")]
    return float(parts[-1] + 60 * parts[-2] + (3600 * parts[0] if len(parts) == 3 else 0))


def _wait_clock(page: Any, seconds: float, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while _clock(page) < seconds:
        assert time.monotonic() < deadline, f"the desk clock stands at {_clock(page)} s"
        time.sleep(0.25)


def _finish(page: Any, shot: str | None, *, click: bool = True, progress_shot: str | None = "desk-final-pass.png") -> float:
    """结束/Stop (unless the test pressed it), the one progress bar, then the final transcript
    with speaker labels. Returns when Stop was clicked (the page stops capturing there)."""
    clicked = time.monotonic()
    if click:
        page.click("#btn-stop")
    page.wait_for_selector("#status[data-status=stopped]", timeout=60_000)
    page.wait_for_selector("#final-progress:not([hidden])", timeout=120_000)
    seen: list[float] = []
    shot_taken = False
    deadline = time.monotonic() + 600
    while page.locator("#transcript-title").is_hidden():
        assert time.monotonic() < deadline, "the final transcript never came"
        bar = page.locator("#final-progress-bar")
        if page.locator("#final-progress").is_visible() and bar.get_attribute("data-fraction"):
            seen.append(float(bar.get_attribute("data-fraction") or 0))
            if seen[-1] >= 0.3 and not shot_taken and progress_shot:
                page.screenshot(path=str(SHOTS / progress_shot))
                shot_taken = True
        time.sleep(0.3)
    assert seen and all(b >= a for a, b in zip(seen, seen[1:])), seen  # never goes back
    assert page.locator("#transcript[data-kind=final] .seg.final").count() > 0
    labels = {n.get_attribute("data-speaker") for n in page.locator("#transcript .seg .spk").all()}
    assert labels - {None, ""}, "the final transcript has no speaker labels"
    if shot:
        page.screenshot(path=str(SHOTS / shot))
    return clicked


def _wait_first_frame(page: Any) -> None:
    """The page may say 录音中 a moment before its microphone's first frame: a time read from
    ``cap.firstFrameAt`` before it is NaN (and a wait "until N s after it" then waits 0 s)."""
    # polled from here: Playwright's in-page polling of a string predicate can trip the page's
    # CSP (no 'unsafe-eval'; microsoft/playwright#36986), page.evaluate does not
    deadline = time.monotonic() + 30.0
    while not page.evaluate("() => cap.firstFrameAt > 0"):
        assert time.monotonic() < deadline, "the page captured no microphone frame in 30 s"
        time.sleep(0.05)


def _first_frame(page: Any) -> float:
    """When the page captured its first frame, on the test's clock (the frame holds 0.1 s)."""
    _wait_first_frame(page)
    return time.monotonic() - float(page.evaluate("(performance.now() - cap.firstFrameAt) / 1000")) - 0.1


def _align(archive: np.ndarray, source: np.ndarray, block: int = S // 2) -> list[tuple[float, float]]:
    """(archive time, file time) of each half second of the archive that holds speech."""
    n = 1 << int(np.ceil(np.log2(len(source) + block)))
    spectrum = np.fft.rfft(source, n)
    energy = np.concatenate([[0.0], np.cumsum(source.astype(np.float64) ** 2)])
    window = np.sqrt(np.maximum(energy[block:] - energy[:-block], 1e-9))
    out = []
    for a in range(0, len(archive) - block, block):
        x = archive[a : a + block].astype(np.float64)
        if np.sqrt(np.mean(x**2)) < 0.01:
            continue  # silence sits anywhere
        corr = np.fft.irfft(spectrum * np.conj(np.fft.rfft(x, n)), n)[: len(window)]
        score = corr / (window * np.linalg.norm(x))
        best = int(np.argmax(score))
        if score[best] > 0.6:
            out.append((a / S, best / S))
    return out


def _pieces(pairs: list[tuple[float, float]]) -> list[dict[str, float]]:
    """Runs of blocks at one offset (file time - archive time): one run per stretch the
    archive holds without a gap or a repeat."""
    runs: list[dict[str, float]] = []
    for a, f in pairs:
        if runs and abs((f - a) - runs[-1]["offset"]) < 0.05:
            runs[-1]["a_end"], runs[-1]["f_end"] = a + 0.5, f + 0.5
        else:
            runs.append({"offset": f - a, "a_start": a, "a_end": a + 0.5, "f_start": f, "f_end": f + 0.5})
    return runs


def _lost(runs: list[dict[str, float]]) -> tuple[float, float]:
    """Seconds of the played file missing between consecutive runs, and seconds repeated."""
    lost = repeated = 0.0
    for prev, run in zip(runs, runs[1:]):
        jump = run["offset"] - prev["offset"]
        if jump > 0:
            lost += jump
        else:
            repeated += -jump
    return lost, repeated


def _archive(stack: dict[str, Any], hearing_id: str) -> tuple[np.ndarray, SessionFolder]:
    from scribe.live.bridge import ManagerBridge

    folder = SessionFolder(stack["settings"].sessions_path / ManagerBridge.session_id_for(hearing_id))
    return read_wav_pcm(folder.audio).astype(np.float32) / 32768.0, folder


def _final_pass_times(folder: SessionFolder) -> str:
    """How long the final pass's stages took (from the journal): the desk's progress bar
    estimates the diarization from the transcription (DIARIZE_PER_TRANSCRIBE in desk.js)."""
    ev = folder.events()
    start = next(e.emitted_at for e in ev if e.type == "state" and e.data["state"] == "finalizing")
    done = next(e.emitted_at for e in ev if e.type == "state" and e.data["state"] == "finished")
    t_end = next((e.emitted_at for e in ev if e.type == "progress" and e.data["stage"] == "diarize"), done)
    steps = sum(e.type == "progress" and e.data["stage"] == "transcribe" for e in ev)
    return (f"final pass {done - start:.1f} s: transcribe {t_end - start:.1f} s ({steps} progress events), "
            f"diarize {done - t_end:.1f} s (ratio {(done - t_end) / max(t_end - start, 1e-3):.2f})")


def _report(name: str, runs: list[dict[str, float]], archived: float, extra: str = "") -> None:
    print(f"\n[{name}] archived {archived:.2f} s; runs (archive s -> file s): "
          + "; ".join(f"{r['a_start']:.1f}-{r['a_end']:.1f} -> {r['f_start']:.2f}-{r['f_end']:.2f}" for r in runs)
          + (f"; {extra}" if extra else ""))


def _closable(stack: dict[str, Any], hearing_id: str, ctx: Any) -> None:
    base = stack["url"]
    got = ctx.request.get(f"{base}/api/hearings/{hearing_id}").json()
    assert got["status"] == "stopped"
    live = ctx.request.get(f"{base}/api/hearings/{hearing_id}/live").json()
    assert live["state"] == "finished" and live["final_ready"]


def test_a_page_reload_mid_recording_rejoins_the_session(
    stack: dict[str, Any], browser: Any, speech: tuple[Path, np.ndarray]
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx, page, hid = _desk(browser, stack["url"], "（2026）城人调字第31号")
    # when the old page went (the test's own probe, injected by Playwright; the tab's
    # sessionStorage outlives the reload)
    ctx.add_init_script("addEventListener('pagehide', () => sessionStorage.setItem('hiddenAt', "
                        "String(performance.timeOrigin + performance.now())))")
    page.reload()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    clicked = time.monotonic()
    page.click("#btn-record")
    page.wait_for_selector("#status[data-status=recording]")
    _wait_clock(page, 9)
    page.screenshot(path=str(SHOTS / "desk-recording.png"))
    before = _clock(page)
    # the pages' first frames and the old page's end, on the wall clock (epoch s)
    _wait_first_frame(page)
    first_a = page.evaluate("(performance.timeOrigin + cap.firstFrameAt) / 1000") - 0.1
    reloaded = time.monotonic()
    page.reload()
    # the same hearing, recording, with the clock at the real elapsed time (not 00:00)
    page.wait_for_selector("#status[data-status=recording]", timeout=30_000)
    back = time.monotonic()
    _wait_first_frame(page)
    timing = page.evaluate("({nav: performance.getEntriesByType('navigation')[0].responseEnd,"
                           " dom: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,"
                           " frame: cap.firstFrameAt, first: (performance.timeOrigin + cap.firstFrameAt) / 1000,"
                           " hidden: Number(sessionStorage.getItem('hiddenAt')) / 1000})")
    first_b, hidden = timing["first"] - 0.1, timing["hidden"]
    assert _clock(page) >= before - 1
    _wait_clock(page, before + 6)
    page.locator(".seg.final").first.wait_for(timeout=60_000)  # the text said before the reload is back
    page.screenshot(path=str(SHOTS / "desk-rejoined-after-reload.png"))
    # let the microphone (which plays the file again from the start in the new page) run out
    _wait_clock(page, before + SPEECH_S + 1, timeout=90)
    stopped_at = _finish(page, "desk-final-transcript.png")
    stop_wall = time.time() - (time.monotonic() - stopped_at)  # the Stop click, on the wall clock
    _closable(stack, hid, ctx)

    archive, folder = _archive(stack, hid)
    print("\n[reload]", _final_pass_times(folder))
    runs = _pieces(_align(archive, speech[1]))
    # two captures: the file from its start before the reload, and again in the new page
    restarts = [i for i, (p, r) in enumerate(zip(runs, runs[1:]), 1) if r["offset"] - p["offset"] < -3]
    assert len(restarts) == 1, runs
    first, second = runs[: restarts[0]], runs[restarts[0] :]
    lost_in = sum(_lost(part)[0] for part in (first, second))
    repeated = sum(_lost(part)[1] for part in (first, second))
    # what no window captured: the wall time from Record to Stop less the audio archived. An
    # upper bound of the loss: it also holds both microphone start-ups and the page's reload
    # (a real microphone would have heard the room meanwhile; the fake one starts its file again)
    unarchived = (stopped_at - clicked) - len(archive) / S
    # what the fake microphone played: from the first frame of each page (which holds 0.1 s)
    # until the old page went, and until Stop
    played = (hidden - first_a) + (stop_wall - first_b)
    lost = played - len(archive) / S
    gap = first_b - hidden  # no page had the microphone open: a real room's words are lost here
    _report("reload", runs, len(archive) / S, f"played {played:.2f} s, lost {lost:.2f} s; no microphone "
            f"open for {gap:.2f} s during the reload (HTML at {timing['nav']:.0f} ms, DOM {timing['dom']:.0f} ms, "
            f"first frame {timing['frame']:.0f} ms); wall Record->Stop {stopped_at - clicked:.2f} s, "
            f"not archived {unarchived:.2f} s")
    assert lost_in <= 0.1 and repeated <= 0.1, runs  # nothing lost or doubled inside a capture
    assert abs(lost) <= 1.0, (lost, runs)
    # the reload itself: the navigation on this (shared, 2-core) machine, then the microphone
    assert gap <= 2.0, gap
    assert errors == []
    ctx.close()


@pytest.mark.walkthrough
def test_a_20_s_network_drop_loses_no_audio(stack: dict[str, Any], browser: Any, speech: tuple[Path, np.ndarray]) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx, page, hid = _desk(browser, stack["url"], "（2026）城人调字第32号")
    page.click("#btn-record")
    page.wait_for_selector("#status[data-status=recording]")
    _wait_clock(page, 6)
    first = _first_frame(page)
    stack["relay"].drop()
    dropped = time.monotonic()
    # the page notices by itself (nothing acknowledged), says so, and keeps capturing
    page.wait_for_selector("#conn[data-conn=lost]", timeout=15_000)
    noticed = time.monotonic() - dropped
    time.sleep(max(0.0, 12 - (time.monotonic() - dropped)))
    assert re.search(r"连接中断，正在重连 — 已缓存 \d+ 秒录音", page.locator("#conn").inner_text())
    assert page.locator("#status").get_attribute("data-status") == "recording"
    page.screenshot(path=str(SHOTS / "desk-connection-lost.png"))
    time.sleep(max(0.0, 20 - (time.monotonic() - dropped)))
    buffered = int(re.findall(r"\d+", page.locator("#conn").inner_text())[0])
    assert buffered >= 15, page.locator("#conn").inner_text()
    stack["relay"].restore()
    page.wait_for_selector("#conn[hidden]", state="attached", timeout=60_000)  # everything resent
    _wait_clock(page, SPEECH_S + 1, timeout=90)
    stopped_at = _finish(page, "desk-final-transcript-after-drop.png")
    _closable(stack, hid, ctx)

    archive, folder = _archive(stack, hid)
    print("\n[network drop]", _final_pass_times(folder))
    runs = _pieces(_align(archive, speech[1]))
    lost, repeated = _lost(runs)
    played = stopped_at - first
    _report("network drop", runs, len(archive) / S, f"played {played:.2f} s, not archived "
            f"{played - len(archive) / S:.2f} s; the page noticed after {noticed:.1f} s; {buffered} s buffered")
    assert lost <= 1.0 and repeated <= 0.1, runs
    assert played - len(archive) / S <= 1.0
    assert runs[0]["offset"] <= 0.5 and runs[-1]["f_end"] >= SPEECH_S - 1.5, runs  # the whole file
    ctx.close()


@pytest.mark.walkthrough
def test_a_login_that_ends_mid_recording_is_said_and_logging_in_again_resends_everything(
    stack: dict[str, Any], browser: Any, speech: tuple[Path, np.ndarray]
) -> None:
    """The login ends while the desk records (expired, logged out elsewhere) and the socket then
    breaks: the reconnects are refused, which the page must say as a login problem, not as
    "reconnecting" for ever, while it keeps the audio; a new login in another window lets it
    resend everything."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx, page, hid = _desk(browser, stack["url"], "（2026）城人调字第35号")
    page.click("#btn-record")
    page.wait_for_selector("#status[data-status=recording]")
    _wait_clock(page, 6)
    first = _first_frame(page)
    ctx.clear_cookies()  # the login is gone; the open socket was authorised at its handshake
    stack["relay"].drop()
    time.sleep(3)
    stack["relay"].restore()  # the network is back, but every new handshake is refused now
    page.wait_for_selector("#conn[data-conn=login]", timeout=30_000)
    text = page.locator("#conn").inner_text()
    assert re.search(r"登录已失效，无法上传录音 — 已缓存 \d+ 秒录音，请勿关闭本页", text), text
    assert page.locator("#status").get_attribute("data-status") == "recording"
    page.screenshot(path=str(SHOTS / "desk-login-ended.png"))
    with ctx.expect_page() as opened:
        page.click("#conn-login")
    login = opened.value
    login.wait_for_selector("#username")
    login.fill("#username", "med_a")
    login.fill("#password", PASSWORD)
    login.click("#login-submit")
    login.wait_for_url(lambda u: "/login" not in u, timeout=30_000)
    login.close()
    page.wait_for_selector("#conn[hidden]", state="attached", timeout=60_000)  # everything resent
    _wait_clock(page, SPEECH_S + 1, timeout=90)
    stopped_at = _finish(page, None, progress_shot=None)
    _closable(stack, hid, ctx)

    archive, _folder = _archive(stack, hid)
    runs = _pieces(_align(archive, speech[1]))
    lost, repeated = _lost(runs)
    played = stopped_at - first
    _report("login ended", runs, len(archive) / S, f"played {played:.2f} s, not archived {played - len(archive) / S:.2f} s")
    assert lost <= 1.0 and repeated <= 0.1, runs
    assert played - len(archive) / S <= 1.0
    ctx.close()


@pytest.mark.walkthrough
def test_a_server_killed_mid_recording_comes_back_as_interrupted_and_records_on(
    stack: dict[str, Any], browser: Any, speech: tuple[Path, np.ndarray]
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx, page, hid = _desk(browser, stack["url"], "（2026）城人调字第33号")
    page.click("#btn-record")
    page.wait_for_selector("#status[data-status=recording]")
    _wait_clock(page, 8)
    first = _first_frame(page)
    page.wait_for_selector(".seg.final .text", timeout=60_000)
    stack["server"].kill()
    page.wait_for_selector("#conn[data-conn=lost]", timeout=15_000)
    assert page.locator("#status").get_attribute("data-status") == "recording"
    page.screenshot(path=str(SHOTS / "desk-server-down.png"))
    killed = time.monotonic()
    stack["server"].start()  # the same port: the page reconnects by itself
    page.wait_for_selector("#status[data-status=interrupted]", timeout=60_000)
    down_end = time.monotonic()
    down = down_end - killed
    page.wait_for_selector("#recovery:not([hidden])")
    text = page.locator("#recovery-text").inner_text()
    assert re.fullmatch(r"中断于 \d\d:\d\d，已保留 \d+ 秒录音", text), text
    assert re.search(r"本页另有 \d+ 秒录音尚未上传", page.locator("#recovery-buffer").inner_text())
    page.screenshot(path=str(SHOTS / "desk-interrupted-recovered.png"))
    page.click("#btn-continue")
    page.wait_for_selector("#status[data-status=recording]", timeout=30_000)
    resumed = time.monotonic()
    page.wait_for_selector("#recovery", state="hidden")
    _wait_clock(page, SPEECH_S + 1, timeout=120)
    stopped_at = _finish(page, "desk-final-transcript-after-restart.png")
    _closable(stack, hid, ctx)

    archive, folder = _archive(stack, hid)
    print("\n[server restart]", _final_pass_times(folder))
    runs = _pieces(_align(archive, speech[1]))
    lost, repeated = _lost(runs)
    played = stopped_at - first
    _report("server restart", runs, len(archive) / S, f"played {played:.2f} s, not archived "
            f"{played - len(archive) / S:.2f} s; down for {down:.1f} s, interrupted at the desk for "
            f"{resumed - down_end:.1f} s")
    assert lost <= 1.0 and repeated <= 0.1, runs
    assert played - len(archive) / S <= 1.0
    assert runs[0]["offset"] <= 0.5 and runs[-1]["f_end"] >= SPEECH_S - 1.5, runs
    # the live line said before the kill is in the final transcript's time span
    before_kill = [e for e in folder.finals() if e.data["start"] < 8]
    assert before_kill
    ctx.close()
