"""The admin page's webhook-endpoint and voiceprint sections in real headless Chromium against a
real server: add an endpoint for an office (the secret shown once), test-send it to a real
receiver that verifies the signature, rotate, see a failing endpoint's reason, revoke; list and
delete a voiceprint."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from delivery.receiver import Receiver, Reply
from server_support import OFFICE_A, PASSWORD, ServerThread, make_settings, seed_accounts
from test_security_deletion import _enrol

from server import create_app

pytestmark = [pytest.mark.browser]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
SHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"


@pytest.fixture()
def stack(tmp_path: Path) -> Iterator[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    settings = make_settings(tmp_path / "data", server_delivery_worker=False, delivery_allow_loopback=True,
                             delivery_allow_http=True, delivery_timeout_s=5.0, delivery_lease_s=10.0)  # fmt: skip
    seed_accounts(settings)
    vid = _enrol(settings, "王调解员", OFFICE_A)
    receiver = Receiver().start()
    server = ServerThread(create_app(settings))
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
            yield {"url": server.url, "browser": browser, "receiver": receiver, "voiceprint": vid}
            browser.close()
    finally:
        server.close()
        receiver.stop()


def _admin_page(stack: dict[str, Any]) -> Any:
    page = stack["browser"].new_context(viewport={"width": 1366, "height": 900}).new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(f"{stack['url']}/login?lang=zh")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(stack["url"] + "/")
    page.goto(f"{stack['url']}/admin")
    page.on("dialog", lambda d: d.accept())  # the confirm() before a revoke or a delete
    return page


def test_the_admin_page_adds_tests_rotates_and_revokes_an_endpoint_and_deletes_a_voiceprint(stack: dict[str, Any]) -> None:
    receiver: Receiver = stack["receiver"]
    page = _admin_page(stack)
    page.fill("#ep-name", "市矛盾纠纷平台")
    page.fill("#ep-url", receiver.url)
    page.fill("#ep-offices", OFFICE_A)
    page.click("#endpoint-form button[type=submit]")
    page.wait_for_selector("#ep-secret:not([hidden])")
    secret = page.inner_text("#ep-secret").split("：")[-1].strip()
    assert secret.startswith("whsec_")
    receiver.secrets.append(secret)
    row = page.locator("#endpoints tbody tr").first
    row.wait_for()
    assert OFFICE_A in row.inner_text() and "启用中" in row.inner_text()
    # test-send: the receiver verifies the signature, the page says it arrived
    row.locator(".ep-test").click()
    page.wait_for_selector("#ep-result:not([hidden])")
    assert "测试成功" in page.inner_text("#ep-result")
    assert receiver.requests and receiver.requests[-1].verified_with == (secret,)
    # rotate: a new secret shown once, both sign
    row.locator(".ep-rotate").click()
    page.wait_for_function("(old) => document.querySelector('#ep-secret').textContent.indexOf(old) < 0", arg=secret)
    new_secret = page.inner_text("#ep-secret").split("：")[-1].strip()
    receiver.secrets.append(new_secret)
    page.wait_for_selector("#endpoints tbody tr .state:has-text('旧密钥有效至')")
    # the receiver fails now: the test says why, in words; the failures list of a refused
    # attempt is empty until a delivery fails (test messages are not deliveries)
    receiver.behaviour = lambda n, got: Reply(503)
    page.locator("#endpoints tbody tr").first.locator(".ep-test").click()
    page.wait_for_selector("#ep-result:has-text('测试失败')")
    assert "对方系统出错" in page.inner_text("#ep-result")
    assert set(receiver.requests[-1].verified_with) == {secret, new_secret}
    page.locator("#endpoints tbody tr").first.locator(".ep-failures").click()
    page.wait_for_selector("#ep-failures:not([hidden])")
    assert "近期没有失败的推送" in page.inner_text("#ep-failures")
    # revoke
    page.locator("#endpoints tbody tr").first.locator(".ep-revoke").click()
    page.wait_for_selector("#endpoints tbody tr .state:has-text('已吊销')")
    # the voiceprint: listed with its office, deleted for good
    vp = page.locator(f"#voiceprints tbody tr[data-id='{stack['voiceprint']}']")
    vp.wait_for()
    assert "王调解员" in vp.inner_text() and OFFICE_A in vp.inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "admin-webhooks-voiceprints.png"), full_page=True)
    vp.locator(".vp-delete").click()
    page.wait_for_selector("#voiceprints tbody tr:has-text('没有登记的声纹')")
    assert page.errors == []  # type: ignore[attr-defined]
    with closing(httpx.Client(base_url=stack["url"], timeout=30)) as c:
        from server_support import login

        login(c, "admin")
        assert c.get("/api/voiceprints").json() == []
        assert c.get("/api/endpoints").json()[0]["revoked_at"]
