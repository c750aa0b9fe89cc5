"""Pages and transport: no open redirect after login, a party's name cannot break out of the
page-data block, the CSP keeps WebSockets to this site, HSTS behind HTTPS, and `scribe serve`
warns when it would send non-Secure cookies over a network. Real uvicorn on loopback."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_support import MemoryLive, ServerThread, login, make_settings, seed_accounts

from scribe.web.pages import safe_next
from server import create_app


@pytest.fixture()
def srv(tmp_path: Path) -> Iterator[str]:
    settings = make_settings(tmp_path, server_delivery_worker=False)
    seed_accounts(settings)
    server = ServerThread(create_app(settings, live=MemoryLive(tmp_path)))
    try:
        yield server.url
    finally:
        server.close()


def _page_data(html: str) -> dict[str, Any]:
    m = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html, re.S)
    assert m, "no page-data block"
    return json.loads(m.group(1))  # type: ignore[no-any-return]


@pytest.mark.parametrize("target", ["/\\evil.example", "//evil.example", "https://evil.example/", "/\t/evil.example",
                                    "javascript:alert(1)", "evil.example", "/\\/evil.example", ""])
def test_the_login_page_sends_nobody_to_another_site(srv: str, target: str) -> None:
    assert safe_next(target) == "/"
    r = httpx.get(f"{srv}/login", params={"next": target})
    assert r.status_code == 200 and _page_data(r.text)["next"] == "/"


def test_the_login_page_keeps_a_local_next_and_the_redirect_to_it_is_a_path(srv: str) -> None:
    r = httpx.get(f"{srv}/login", params={"next": "/hearings/abc/review?x=1"})
    assert _page_data(r.text)["next"] == "/hearings/abc/review?x=1"
    r = httpx.get(f"{srv}/hearings/abc", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/hearings/abc")


def test_a_party_name_cannot_end_the_page_data_block(srv: str) -> None:
    evil = "张三<!--<script>alert(1)</script>"
    with httpx.Client(base_url=srv, timeout=30) as c:
        login(c, "med_a")
        h = c.post("/api/hearings", json={"kind": "mediation", "parties": [{"role": "applicant", "name": evil}]}).json()
        r = c.get(f"/hearings/{h['id']}", headers={"accept": "text/html"})
        assert r.status_code == 200
        block = re.search(r'id="page-data">(.*?)</script>', r.text, re.S)
        assert block and "<" not in block.group(1)  # every "<" is \u003c inside the block
        assert evil in json.dumps(_page_data(r.text), ensure_ascii=False)
        csp = r.headers["content-security-policy"]
        assert "connect-src 'self';" in csp and "ws:" not in csp and "wss:" not in csp


def test_hsts_only_behind_https(tmp_path: Path) -> None:
    for public, expect in ((None, False), ("https://tiaojie.example.gov.cn", True)):
        settings = make_settings(tmp_path / str(expect), server_delivery_worker=False, public_url=public)
        server = ServerThread(create_app(settings, live=MemoryLive(tmp_path)))
        try:
            r = httpx.get(f"{server.url}/health")
            assert ("strict-transport-security" in r.headers) is expect
        finally:
            server.close()


def test_scribe_serve_warns_about_plain_http_on_a_network_address(tmp_path: Path) -> None:
    """The warning is printed before the server binds: asked for an address this machine
    does not have (TEST-NET-1), it warns and then fails to bind, never serving."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, SCRIBE_DATA_DIR=str(tmp_path), SCRIBE_ADMIN_PASSWORD="a sound first password",
               PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]))
    scribe = Path(sys.executable).parent / "scribe"
    out = subprocess.run([str(scribe), "serve", "--no-models", "--host", "192.0.2.7", "--port", "8999"], env=env,
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert "without an https public URL" in out.stderr and "docs/security.md" in out.stderr
    assert out.returncode != 0


def test_the_api_documents_need_a_login_and_load_nothing_from_outside(srv: str) -> None:
    assert httpx.get(f"{srv}/openapi.json").status_code == 401
    r = httpx.get(f"{srv}/docs", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/docs")
    with httpx.Client(base_url=srv, timeout=30) as c:
        login(c, "rev_a")
        assert "/api/hearings" in c.get("/openapi.json").json()["paths"]
        page = c.get("/docs")
        assert page.status_code == 200
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources and all(s.startswith("/") and not s.startswith("//") for s in sources), sources
        for s in sources:
            assert c.get(s).status_code == 200, s  # the Swagger UI files are served here


@pytest.mark.browser
def test_in_chromium_login_stays_on_this_site_and_websockets_reach_only_this_server(srv: str) -> None:
    """Real headless Chromium: after logging in from a link with ``next=/\\evil.example`` the
    browser is on this site's list page; a local ``next`` is followed; under the page's CSP a
    WebSocket to this server is allowed and one to another host is blocked."""
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=args)
        try:
            page = browser.new_context().new_page()
            for target, lands in (("/\\evil.example", srv + "/"), ("/hearings/new", srv + "/hearings/new")):
                page.context.clear_cookies()
                page.goto(f"{srv}/login?next={target}")
                page.fill("#username", "med_a")
                page.fill("#password", "correct horse battery")
                page.click("#login-submit")
                page.wait_for_url(lands)
            probe = """(url) => new Promise((done) => {
                document.addEventListener("securitypolicyviolation", (e) => done("blocked " + e.violatedDirective));
                try {
                  const ws = new WebSocket(url);
                  ws.onerror = ws.onclose = ws.onopen = () => setTimeout(() => done("allowed"), 300);
                } catch (e) { done("blocked " + e.name); }
              })"""
            same = srv.replace("http://", "ws://") + "/ws/sessions/h-none"
            other = "ws://127.0.0.2:9/ws"
            assert page.evaluate(probe, same) == "allowed"
            assert page.evaluate(probe, other).startswith("blocked")
        finally:
            browser.close()
