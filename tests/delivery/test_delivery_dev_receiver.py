"""One setting for a development receiver on this machine over plain HTTP
(``SCRIBE_DELIVERY__ALLOW_LOOPBACK_HTTP``), honoured alike by ``scribe endpoints add``, the
delivery worker, ``scribe serve`` and its admin API; plain HTTP to anything but loopback stays
refused under it."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from scribe.delivery.safety import check_url
from scribe.errors import DeliveryError
from scribe.settings import Settings
from scribe.storage import Database

from .conftest import approve_new
from .receiver import Receiver, Reply

ROOT = Path(__file__).resolve().parents[2]
SCRIBE = Path(sys.executable).parent / "scribe"
PASSWORD = "a sound first password"


def dev_settings(tmp_path: Path, **more: object) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", delivery_link_secret="test-link-key",
                    delivery_public_base_url="http://127.0.0.1:8765", **more)  # type: ignore[arg-type]


def fixed(*addresses: str):  # type: ignore[no-untyped-def]
    return lambda host, port: list(addresses)


def test_the_one_setting_opens_http_to_loopback_only(tmp_path: Path) -> None:
    dev = dev_settings(tmp_path, delivery_allow_loopback_http=True)
    assert check_url("http://127.0.0.1:9000/hook", dev) == ["127.0.0.1"]
    assert check_url("http://localhost:9000/hook", dev, fixed("127.0.0.1", "::1")) == ["127.0.0.1", "::1"]
    assert check_url("https://127.0.0.1:9443/hook", dev) == ["127.0.0.1"]
    assert check_url("https://cases.example.gov.cn/hook", dev, fixed("93.184.216.34")) == ["93.184.216.34"]
    for url, addresses, said in (
        ("http://cases.example.gov.cn/hook", ("93.184.216.34",), "plain HTTP to 93.184.216.34"),
        ("http://10.0.0.7/hook", ("10.0.0.7",), "plain HTTP to 10.0.0.7"),
        # a name that resolves to loopback AND elsewhere: refused, whichever address is first
        ("http://mixed.example/hook", ("127.0.0.1", "93.184.216.34"), "not a loopback address"),
    ):
        with pytest.raises(DeliveryError, match=said):
            check_url(url, dev, fixed(*addresses))
    # a private network opened for HTTPS does not open plain HTTP to it
    intranet = dev_settings(tmp_path, delivery_allow_loopback_http=True, delivery_allow_private=True)
    assert check_url("https://10.0.0.7/hook", intranet, fixed("10.0.0.7")) == ["10.0.0.7"]
    with pytest.raises(DeliveryError, match="plain HTTP"):
        check_url("http://10.0.0.7/hook", intranet, fixed("10.0.0.7"))
    # without it: loopback and plain HTTP refused, as in production
    strict = dev_settings(tmp_path)
    with pytest.raises(DeliveryError, match="plain HTTP"):
        check_url("http://127.0.0.1:9000/hook", strict)
    with pytest.raises(DeliveryError, match="loopback"):
        check_url("https://127.0.0.1:9443/hook", strict)
    # the two flags of before still work, and still open plain HTTP anywhere they reach
    old = dev_settings(tmp_path, delivery_allow_http=True, delivery_allow_loopback=True, delivery_allow_private=True)
    assert check_url("http://127.0.0.1:9000/hook", old) == ["127.0.0.1"]
    assert check_url("http://10.0.0.7/hook", old, fixed("10.0.0.7")) == ["10.0.0.7"]


def test_the_setting_by_its_names_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SCRIBE_DELIVERY__ALLOW_LOOPBACK_HTTP", "SCRIBE_DELIVERY_ALLOW_LOOPBACK_HTTP"):
        monkeypatch.setenv(name, "true")
        assert Settings(_env_file=None).delivery.allow_loopback_http is True
        monkeypatch.delenv(name)
    assert Settings(_env_file=None).delivery.allow_loopback_http is False


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRIBE_")}
    env.update({
        "SCRIBE_DATA_DIR": str(tmp_path / "data"),
        "SCRIBE_DELIVERY__ALLOW_LOOPBACK_HTTP": "true",  # the one setting, nothing else opened
        "SCRIBE_DELIVERY__LINK_SECRET": "test-link-key",
        "SCRIBE_DELIVERY__POLL_INTERVAL_S": "0.2",
        "SCRIBE_ADMIN_PASSWORD": PASSWORD,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "COLUMNS": "250",
    })  # fmt: skip
    return env


def test_cli_adds_and_the_worker_delivers_to_a_loopback_receiver(tmp_path: Path, receiver: Receiver) -> None:
    env = _env(tmp_path)

    def scribe(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(SCRIBE), *args], env=env, capture_output=True, text=True, timeout=120)

    assert receiver.url.startswith("http://127.0.0.1:")
    added = scribe("endpoints", "add", receiver.url, "--name", "开发接收端", "--office", "城关司法所")
    assert added.returncode == 0, added.stderr
    receiver.secrets.append(re.search(r"(whsec_\S+)", added.stdout).group(1))  # type: ignore[union-attr]
    refused = scribe("endpoints", "add", "http://10.0.0.7/hook", "--office", "城关司法所")
    assert refused.returncode == 9 and "plain HTTP to 10.0.0.7" in refused.stderr, refused.stderr

    settings = Settings(_env_file=None, data_dir=tmp_path / "data", delivery_link_secret="test-link-key")
    db = Database(settings.db_url)
    approval = approve_new(db, tmp_path, settings)
    db.dispose()
    worked = scribe("deliveries", "worker", "--once")
    assert worked.returncode == 0, worked.stderr
    assert receiver.ids() == {approval.message_id: 1}
    assert receiver.requests[0].verified_with  # signed with the secret the CLI printed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serve(tmp_path: Path) -> Iterator[str]:
    """``scribe serve`` as an admin starts it, with the one setting in its environment."""
    port = _free_port()
    proc = subprocess.Popen([str(SCRIBE), "serve", "--no-models", "--port", str(port)], env=_env(tmp_path),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "scribe serve did not start"
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _approve(tmp_path: Path) -> str:
    """An approval, made in the server's database: its own delivery worker sends it."""
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", delivery_link_secret="test-link-key")
    db = Database(settings.db_url)
    try:
        return str(approve_new(db, tmp_path, settings).message_id)
    finally:
        db.dispose()


def _wait(what: Callable[[], object], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_scribe_serve_and_its_admin_api_deliver_to_a_loopback_receiver(tmp_path: Path, receiver: Receiver) -> None:
    with _serve(tmp_path) as base, httpx.Client(base_url=base, timeout=30, headers={"X-Page-Lang": "zh"}) as c:
        r = c.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
        assert r.status_code == 200, r.text
        c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        r = c.post("/api/endpoints", json={"url": receiver.url, "name": "开发接收端", "offices": ["城关司法所"]})
        assert r.status_code == 201, r.text
        receiver.secrets.append(r.json()["secret"])
        ep = r.json()["endpoint"]["id"]
        tested = c.post(f"/api/endpoints/{ep}/test").json()
        assert tested["ok"] and tested["status_code"] == 200, tested
        # plain HTTP elsewhere is refused, said on the Chinese page in Chinese
        r = c.post("/api/endpoints", json={"url": "http://10.0.0.7/hook", "offices": ["城关司法所"]})
        assert r.status_code == 409 and r.json()["code"] == "webhook_http_not_loopback", r.text
        assert "10.0.0.7" in r.json()["message"] and "明文" in r.json()["message"], r.text
        message_id = _approve(tmp_path)
        _wait(lambda: message_id in receiver.ids())
        assert all(r.verified_with for r in receiver.requests)


@pytest.mark.browser
def test_the_admin_page_adds_the_loopback_receiver_and_shows_why_a_delivery_failed(
    tmp_path: Path, receiver: Receiver
) -> None:
    """In Chromium, on the 管理 page of a real ``scribe serve``: the development receiver is
    added, plain HTTP elsewhere is refused in Chinese, and a delivery the receiver failed is
    listed with its reason and next attempt."""
    from playwright.sync_api import sync_playwright

    receiver.behaviour = lambda n, r: Reply(503)
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"]
    with _serve(tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=args)
        try:
            page = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN").new_page()
            errors: list[str] = []
            alerts: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("dialog", lambda d: (alerts.append(d.message), d.accept()))
            page.goto(f"{base}/login?lang=zh")
            page.fill("#username", "admin")
            page.fill("#password", PASSWORD)
            page.click("#login-submit")
            page.wait_for_url(base + "/")
            page.goto(f"{base}/admin")
            page.fill("#ep-name", "开发接收端")
            page.fill("#ep-url", receiver.url)
            page.fill("#ep-offices", "城关司法所")
            page.click("#endpoint-form button[type=submit]")
            page.wait_for_selector("#ep-secret:not([hidden])")
            receiver.secrets.append(page.inner_text("#ep-secret").split("：")[-1].strip())
            row = page.locator("#endpoints tbody tr").first
            row.wait_for()
            assert receiver.url.split("?")[0] in row.inner_text() and "启用中" in row.inner_text()  # no query shown
            page.fill("#ep-url", "http://10.0.0.7/hook")
            page.fill("#ep-offices", "城关司法所")
            page.click("#endpoint-form button[type=submit]")
            for _ in range(150):  # the page's alert() arrives while Playwright is called
                if alerts:
                    break
                page.wait_for_timeout(200)
            assert alerts == ["送达地址 http://10.0.0.7/hook 使用明文 HTTP，且指向 10.0.0.7，不是本机地址："
                              "明文 HTTP 只允许送往本机开发用的接收端，请改用 https:// 地址"], alerts
            assert page.locator("#endpoints tbody tr").count() == 1
            # an approval the server's worker sends; the receiver fails it: why, and when next
            message_id = _approve(tmp_path)
            _wait(lambda: message_id in receiver.ids())
            row.locator(".ep-failures").click()
            failure = page.locator("#ep-failures tr.ep-failure").first
            failure.wait_for()
            text = failure.inner_text()
            assert "对方系统出错 (HTTP 503)" in text and "下次重试" in text, text
            page.locator("#webhooks-card").screenshot(path=str(ROOT / "build" / "screenshots" / "admin-dev-receiver-failure.png"))
            assert errors == []
        finally:
            browser.close()
