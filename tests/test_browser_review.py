"""The review page in real headless Chromium against a real server: 人民调解员 edited as a list,
picked from the office's staff accounts or typed, saved and read back through the API and a
reload; and a case system that refuses the approved document shows its reason (HTTP 403, the
next attempt) instead of a bare "pending". Screenshots in build/screenshots/ (copied to
docs/screenshots/ once looked at)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from delivery.receiver import Receiver, Reply
from server_support import PASSWORD, ServerThread, login, make_settings, seed_accounts
from test_browser_pages import ARGS
from test_server_review import DialogueLive, _hearing

from scribe.delivery.endpoints import add_endpoint
from scribe.storage import Database
from server import create_app

SHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"  # the looked-at ones: docs/screenshots
pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    root = tmp_path_factory.mktemp("review")
    SHOTS.mkdir(parents=True, exist_ok=True)
    refusing = Receiver().start()
    refusing.behaviour = lambda n, r: Reply(403)
    settings = make_settings(root, server_delivery_worker=True, delivery_allow_loopback=True, delivery_allow_http=True,
                             delivery_poll_interval_s=0.2, delivery_retry_schedule_s=[600])  # fmt: skip
    seed_accounts(settings)
    db = Database(settings.db_url)
    with db.transaction() as tx:
        add_endpoint(tx, refusing.url, ["document.approved"], settings, name="区数据中台")
    db.dispose()
    server = ServerThread(create_app(settings, live=DialogueLive(root)))
    with closing(httpx.Client(base_url=server.url, timeout=120)) as c:
        login(c, "med_a")
        hid = _hearing(c)
        did = c.post(f"/api/hearings/{hid}/documents", json={}).json()["id"]
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
            yield {"url": server.url, "hearing": hid, "doc": did, "browser": browser}
            browser.close()
    finally:
        server.close()
        refusing.stop()


def _page(stack: dict[str, Any], user: str) -> Any:
    page = stack["browser"].new_context(viewport={"width": 1366, "height": 900}).new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{stack['url']}/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(stack["url"] + "/")
    page.goto(f"{stack['url']}/hearings/{stack['hearing']}/review")
    return page


ENTRIES = '[data-list="mediators"] [data-entry]'


def _entries(page: Any) -> list[str]:
    return [n.input_value() for n in page.locator(ENTRIES).all()]


def test_mediators_are_a_list_picked_from_the_office_staff(stack: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    page = _page(stack, "med_a")
    page.wait_for_selector('[data-list="mediators"] [data-entry]')
    assert _entries(page) == ["王调解员"]
    offered = page.locator('select[data-pick="mediators"] option').all_inner_texts()
    assert "赵审核" in offered and "钱调解员" not in offered  # this office's accounts only
    page.select_option('select[data-pick="mediators"]', "赵审核")
    expect(page.locator(ENTRIES)).to_have_count(2)
    page.fill('[data-new="mediators"]', "刘志愿")  # a volunteer mediator without an account
    page.click('[data-add="mediators"]')
    expect(page.locator(ENTRIES)).to_have_count(3)
    page.locator('[data-list="mediators"] .remove-entry').first.click()  # 王调解员 out
    expect(page.locator(ENTRIES)).to_have_count(2)
    assert _entries(page) == ["赵审核", "刘志愿"]
    page.locator('[data-list="mediators"]').screenshot(path=str(SHOTS / "review-mediators-list.png"))
    with closing(httpx.Client(base_url=stack["url"], timeout=60)) as c:
        login(c, "med_a")
        doc = c.get(f"/api/hearings/{stack['hearing']}/documents/{stack['doc']}").json()
    assert doc["fields"]["mediators"]["value"] == ["赵审核", "刘志愿"]
    assert not [p for p in doc["problems"] if "mediators" in p]
    page.reload()
    page.wait_for_selector('[data-list="mediators"] [data-entry]')
    assert _entries(page) == ["赵审核", "刘志愿"]  # read back from the server, not the page's memory
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_refused_delivery_shows_its_reason(stack: dict[str, Any]) -> None:
    with closing(httpx.Client(base_url=stack["url"], timeout=300)) as c:
        login(c, "rev_a")
        r = c.post(f"/api/hearings/{stack['hearing']}/documents/{stack['doc']}/approve")
        assert r.status_code == 200, r.text
    page = _page(stack, "rev_a")
    reason = page.locator('#delivery-list .delivery-reason[data-status="pending"]')
    reason.filter(has_text="HTTP 403").wait_for(timeout=60_000)
    text = reason.inner_text()
    assert "区数据中台" in text and "上次失败原因：对方系统拒收 HTTP 403" in text and "下次重试" in text
    assert "pending" not in page.locator("#delivery-list").inner_text()
    page.locator("#delivery").screenshot(path=str(SHOTS / "review-delivery-refused.png"))
    assert page.errors == []  # type: ignore[attr-defined]
