"""End to end in real headless Chromium: log in, create a session, confirm consent, record from
Chromium's fake microphone (a real Mandarin conversation from ../shared/data), see live text,
stop, open the draft, edit a field, approve, and a loopback receiver gets the signed webhook.

Real parts only: whisper base and the Silero VAD through the live engine, a real uvicorn server,
Debian's Chromium driven by Playwright, a real SQLite file, the delivery worker of the server
sending to an HTTP receiver on 127.0.0.1 that verifies with ``standardwebhooks``.
Screenshots land in build/screenshots/.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from server_support import PASSWORD, ServerThread, make_settings, seed_accounts
from standardwebhooks import Webhook

from scribe.storage import Database
from server import create_app

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "build" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
pytestmark = [pytest.mark.browser, pytest.mark.models, pytest.mark.slow]


class Receiver:
    """A case system on loopback: verifies every request's Standard Webhooks signature."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.received: list[dict[str, Any]] = []
        self.event = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    payload = Webhook(outer.secret).verify(body, headers)
                    verified = True
                except Exception:  # noqa: BLE001 - record a failed verification
                    payload, verified = json.loads(body or b"{}"), False
                outer.received.append({"headers": headers, "payload": payload, "verified": verified})
                self.send_response(200 if verified else 400)
                self.end_headers()
                outer.event.set()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/scribe"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, shared_data: Path, model_store: Any) -> Iterator[dict[str, Any]]:
    from scribe.delivery.endpoints import add_endpoint

    root = tmp_path_factory.mktemp("e2e")
    settings = make_settings(
        root, server_load_models=True, model_dir=model_store.root, delivery_allow_loopback=True,
        delivery_allow_http=True, delivery_poll_interval_s=0.2,
    )  # fmt: skip
    seed_accounts(settings)
    db = Database(settings.db_url)
    receiver = Receiver("whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    with db.transaction() as tx:
        _info, secret = add_endpoint(tx, receiver.url, ["document.approved"], settings, name="city platform")
    receiver.secret = secret
    db.dispose()
    server = ServerThread(create_app(settings))
    try:
        yield {"url": server.url, "receiver": receiver, "settings": settings}
    finally:
        server.close()
        receiver.close()


@pytest.fixture(scope="module")
def browser(shared_data: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    wav = shared_data / "conversations" / "conv_zh_dev_01.wav"
    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run",
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={wav}%noloop",
            ],
        )  # fmt: skip
        try:
            yield b
        finally:
            b.close()


def _login(page: Any, base: str, user: str) -> None:
    page.goto(base + "/login?lang=zh")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(base + "/")


def test_a_hearing_from_login_to_delivered_webhook(stack: dict[str, Any], browser: Any) -> None:
    base = stack["url"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    # -- the mediator logs in and creates a session ------------------------------------------
    _login(page, base, "med_a")
    page.click("#nav-new")
    page.select_option("#kind", "mediation")
    page.fill("#case_number", "（2026）城人调字第21号")
    page.fill("#title", "压岁钱纠纷")
    page.select_option("#category", "婚姻家庭")
    names = page.locator(".p-name")
    names.nth(0).fill("张三")
    names.nth(1).fill("李四")
    for i, gender in ((0, "男"), (1, "女")):  # what the agreement prints: the intake asks for it
        page.locator(".p-gender").nth(i).select_option(gender)
        page.locator(".p-age").nth(i).fill("45")
    page.fill("#hotwords", "压岁书 达摩院")
    page.click("#create")
    page.wait_for_url(re.compile(r".*/hearings/[0-9a-f]{16}$"))
    hearing_id = page.url.rsplit("/", 1)[-1]

    # -- recording is refused before consent; then each party consents -------------------------
    assert page.locator("#btn-record").is_disabled()
    for i in (0, 1):
        row = page.locator(f'.consent[data-party="{i}"]')
        row.locator(".notice-read").check()
        row.locator(".agree").click()
        page.wait_for_selector(f'.consent.yes[data-party="{i}"]')
    assert "med_a" in page.locator('.consent[data-party="1"] .state').inner_text()

    # -- record: the fake microphone plays the conversation; live text appears -----------------
    page.click("#btn-record")
    page.wait_for_selector("#status[data-status=recording]")
    page.wait_for_selector(".seg.final .text", timeout=90_000)
    page.locator(".seg.final").nth(1).wait_for(timeout=90_000)  # (the page's CSP forbids eval: no wait_for_function)
    # speakers in colours: a chip per label, clickable to name the person
    finals = page.locator(".seg.final")
    first_text = finals.first.locator(".text").inner_text()
    assert first_text.strip()
    color = finals.first.locator(".text").evaluate("n => getComputedStyle(n).color")
    assert color == "rgb(0, 0, 0)"  # final text is black
    page.screenshot(path=str(SHOTS / "desk-recording.png"), full_page=False)
    # no horizontal scrolling on a 1366x768 desk screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366

    label = finals.first.locator(".spk").get_attribute("data-speaker")
    if label:
        finals.first.locator(".spk").click()
        page.select_option("#speaker-role", "applicant")
        page.fill("#speaker-name", "张三")
        page.click("#speaker-save")
        page.locator(".seg.final .spk", has_text="张三").first.wait_for()

    page.click("#btn-stop")
    page.wait_for_selector("#status[data-status=stopped]")
    page.wait_for_selector("#to-review:not([hidden])")
    page.screenshot(path=str(SHOTS / "desk-stopped.png"))

    # -- the mediator drafts the agreement -----------------------------------------------------
    page.click("#to-review")
    page.wait_for_url(f"**/hearings/{hearing_id}/review")
    page.click("#make-draft")
    page.wait_for_selector(".field[data-field=facts]", timeout=60_000)
    assert page.locator(".field.missing").count() > 0  # what nobody said stands out
    page.click("#logout")
    page.wait_for_url("**/login")

    # -- the reviewer edits a field and approves -------------------------------------------------
    _login(page, base, "rev_a")
    page.goto(f"{base}/hearings/{hearing_id}/review")
    page.wait_for_selector(".field[data-field=facts]")
    facts = "申请人张三与被申请人李四因压岁钱的用途发生争议，双方到场协商。"
    box = page.locator(".field[data-field=facts] textarea, .field[data-field=facts] input").first
    box.fill(facts)
    box.dispatch_event("change")
    page.wait_for_selector(".field[data-field=facts] .badge.session")
    page.screenshot(path=str(SHOTS / "review-draft.png"), full_page=False)
    page.click("#approve")
    if page.locator("#approve-dialog[open]").count():  # "仍有以下 N 项": approve anyway
        page.click("#approve-confirm")
    page.wait_for_selector("#doc-status.status-approved", timeout=180_000)

    # -- the case system receives the signed webhook ---------------------------------------------
    assert stack["receiver"].event.wait(60), "no webhook arrived"
    got = stack["receiver"].received[0]
    assert got["verified"], "the webhook signature did not verify"
    assert got["headers"]["webhook-id"] and got["headers"]["webhook-timestamp"]
    doc = got["payload"]["data"]["document"]
    assert doc["session_id"] == hearing_id and doc["approved_by"] == "rev_a"
    facts_value = doc["fields"]["facts"]
    assert facts in json.dumps(facts_value, ensure_ascii=False)
    page.wait_for_selector("#delivery-list li[data-status=delivered]", timeout=30_000)
    page.screenshot(path=str(SHOTS / "review-approved.png"), full_page=False)

    # -- the session list finds it by case number, party name and status -------------------------
    page.goto(base + "/")
    page.fill("#q", "第21号")
    page.click("#search-form button[type=submit]")
    page.wait_for_url("**/?q=*")
    rows = page.locator("#sessions tbody tr[data-id]")
    assert rows.count() == 1 and rows.first.get_attribute("data-id") == hearing_id
    page.goto(base + "/?q=李四&status=delivered")  # the review page saw the delivery
    assert page.locator(f'#sessions tbody tr[data-id="{hearing_id}"]').count() == 1
    page.screenshot(path=str(SHOTS / "session-list.png"))
    assert errors == []
    ctx.close()


def test_the_audio_websocket_admits_only_the_offices_staff_from_the_same_origin(stack: dict[str, Any]) -> None:
    import httpx
    import websockets
    from server_support import login

    base = stack["url"]
    cookies = {}
    with httpx.Client(base_url=base, timeout=60) as c:
        login(c, "med_a")
        cookies["med_a"] = c.cookies["scribe_session"]
        h = c.post("/api/hearings", json={"kind": "consultation", "parties": [{"role": "visitor", "name": "周五"}]}).json()
        c.post(f"/api/hearings/{h['id']}/consent", json={"party_index": 0, "consented": True, "notice_read": True})
        ws_path = c.post(f"/api/hearings/{h['id']}/record").json()["websocket"]
    with httpx.Client(base_url=base, timeout=60) as c:
        login(c, "med_b")
        cookies["med_b"] = c.cookies["scribe_session"]
    url = base.replace("http://", "ws://") + ws_path

    def attempt(cookie: str | None, origin: str | None) -> str:
        # the sync client: Playwright's sync API keeps an event loop on this thread
        from websockets.sync.client import connect

        headers = {}
        if cookie:
            headers["Cookie"] = f"scribe_session={cookie}"
        if origin:
            headers["Origin"] = origin
        try:
            with connect(url, additional_headers=headers, open_timeout=30) as ws:
                ws.send('{"op": "start"}')
                first = json.loads(ws.recv(timeout=30))
                return f"open:{first['type']}"
        except websockets.exceptions.InvalidStatus as exc:
            return f"refused:{exc.response.status_code}"
        except websockets.exceptions.ConnectionClosed as exc:
            return f"closed:{exc.rcvd.code if exc.rcvd else '?'}"

    assert attempt(None, base).startswith(("refused", "closed"))  # no login
    assert attempt(cookies["med_b"], base).startswith(("refused", "closed"))  # another office
    assert attempt(cookies["med_a"], "http://evil.example").startswith(("refused", "closed"))  # foreign page
    assert attempt(cookies["med_a"], base).startswith("open:")
