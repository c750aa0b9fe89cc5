"""The live WebSocket's errors and warnings are said on the desk in the page's language, from
the one message catalogue (scribe/web/messages.py ``LIVE``), in real headless Chromium.

A real uvicorn server on loopback with the real live engine (whisper-base, the Silero VAD),
Chromium's fake microphone playing a real Mandarin hearing into the desk page. While it
records, the page's own socket carries what a broken or outdated desk would send (a frame that
is no JSON, an unknown op, an oversized audio frame), a party refuses at another desk (the
session pauses: ``consent_paused``), and the page asks to resume without that consent
(``refused`` with its reason ``consent_missing``). Every message the desk showed is checked
word for word, and for Latin text with the intake test's allow-list; an English desk on the
same hearing says the same event in English.
"""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import expect
from server_support import PASSWORD, ServerThread, make_settings, seed_accounts
from test_browser_intake import _latin

from scribe.audio import decode_audio
from server import create_app

CHROMIUM = "/usr/bin/chromium"
S = 16000
pytestmark = [pytest.mark.browser, pytest.mark.models]

# every text #engine-msg shows, in order (a later warning may replace one before it is read)
WATCH = """() => {
  window.__said = [];
  const box = document.getElementById('engine-msg');
  new MutationObserver(() => { if (box.textContent) window.__said.push(box.textContent); })
    .observe(box, { childList: true, characterData: true, subtree: true });
}"""


@pytest.fixture(scope="module")
def mic(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    samples = decode_audio(shared_data / "conversations" / "conv_zh_dev_02.wav").samples[: 40 * S]
    path = tmp_path_factory.mktemp("mic") / "hearing.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(S)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes())
    return path


@pytest.fixture()
def stack(tmp_path: Path, transcriber_base: Any, model_store: Any, mic: Path) -> Iterator[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    from scribe.live.bridge import ManagerBridge
    from scribe.live.engine import LiveEngine

    settings = make_settings(tmp_path, model_dir=model_store.root, live_max_lag=600.0, server_delivery_worker=False)
    seed_accounts(settings)
    vad = model_store.path_for(settings.vad_model) / "silero_vad_v6.onnx"
    engine = LiveEngine(settings, transcriber_base, vad)
    server = ServerThread(create_app(settings, live=ManagerBridge(engine.manager())))
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={mic}%noloop"])  # fmt: skip
            try:
                yield {"url": server.url, "browser": browser}
            finally:
                browser.close()
    finally:
        server.close()


def _said(page: Any, text: str, times: int = 1) -> None:
    page.wait_for_function("([t, n]) => window.__said.filter((x) => x === t).length >= n", arg=[text, times],
                           timeout=30_000)


def _send(page: Any, frame: str) -> None:
    page.evaluate(f"() => state.ws.send({frame})")


def test_the_desks_websocket_errors_are_said_in_the_pages_language(stack: dict[str, Any]) -> None:
    base, browser = stack["url"], stack["browser"]
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    csrf = ctx.request.post(base + "/api/auth/login", data={"username": "med_a", "password": PASSWORD}).json()["csrf_token"]
    h = ctx.request.post(base + "/api/hearings", headers={"X-CSRF-Token": csrf}, data={
        "kind": "mediation", "case_number": "（2026）城人调字第31号", "title": "相邻关系纠纷",
        "parties": [{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "李四"}]}).json()
    for i in (0, 1):
        r = ctx.request.post(f"{base}/api/hearings/{h['id']}/consent", headers={"X-CSRF-Token": csrf},
                             data={"party_index": i, "consented": True, "notice_read": True})
        assert r.status == 201, r.text()
    page.goto(f"{base}/hearings/{h['id']}")
    page.evaluate(WATCH)
    page.click("#btn-record")
    page.wait_for_function("() => state.ws && state.ws.readyState === WebSocket.OPEN && cap.active", timeout=60_000)
    found: list[str] = []

    # what a broken or outdated desk sends on its socket: each answered, each said in Chinese
    _send(page, "'not json'")
    _said(page, "调解台发出的指令格式不对，已忽略；请刷新页面")
    _send(page, "JSON.stringify({op: 'dance'})")
    _said(page, "调解台发出了无法识别的指令，已忽略；请刷新页面")
    _send(page, "new ArrayBuffer(300000)")
    _said(page, "一段音频过大（300000 字节，上限 256000 字节），已丢弃")
    found += _latin(page, "desk errors")

    # a party refuses (at another desk): the recording pauses and the desk says who and why
    r = ctx.request.post(f"{base}/api/hearings/{h['id']}/consent", headers={"X-CSRF-Token": csrf},
                         data={"party_index": 1, "consented": False, "notice_read": True})
    assert r.status == 201, r.text()
    _said(page, "录音已暂停：李四 尚未同意录音（当事人拒绝录音）。宣读录音告知并确认同意后才能继续录音")
    # (the state event follows the message; on a loaded machine it may take a few seconds)
    expect(page.locator("#status")).to_have_attribute("data-status", "paused", timeout=15_000)
    # the page's socket asks to resume without that consent: refused, with the reason in words
    _send(page, "JSON.stringify({op: 'resume'})")
    _said(page, "尚未取得以下当事人的录音同意：李四。请宣读告知并逐一确认")
    found += _latin(page, "desk refused")
    said = page.evaluate("() => window.__said")
    assert not any(ch.isascii() and ch.isalpha() for text in said for ch in text), said

    # the same hearing on an English desk: the same kind of event in English
    en_ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-GB")
    en = en_ctx.new_page()
    en.goto(f"{base}/login?lang=en")
    en.fill("#username", "med_a")
    en.fill("#password", PASSWORD)
    en.click("#login-submit")
    en.wait_for_url(base + "/")
    en.goto(f"{base}/hearings/{h['id']}?lang=en")
    en.evaluate(WATCH)
    en.wait_for_function("() => state.ws && state.ws.readyState === WebSocket.OPEN", timeout=60_000)
    _send(en, "'not json'")
    _said(en, "The desk sent a malformed message; it was ignored — reload the page")
    _said(page, "调解台发出的指令格式不对，已忽略；请刷新页面", times=2)  # the Chinese desk heard it too
    page.screenshot(path=str(Path(__file__).resolve().parent.parent / "build" / "desk-websocket-error.png"))
    assert errors == [], errors
    assert found == [], "\n".join(found)
    ctx.request.post(f"{base}/api/hearings/{h['id']}/stop", headers={"X-CSRF-Token": csrf})
    en_ctx.close()
    ctx.close()
