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
from pathlib import Path

import httpx
import pytest

from scribe.delivery.safety import check_url
from scribe.errors import DeliveryError
from scribe.settings import Settings
from scribe.storage import Database

from .conftest import approve_new
from .receiver import Receiver

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


def test_scribe_serve_and_its_admin_page_api_deliver_to_a_loopback_receiver(tmp_path: Path, receiver: Receiver) -> None:
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
        with httpx.Client(base_url=base, timeout=30, headers={"X-Page-Lang": "zh"}) as c:
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
            assert r.status_code in (400, 409, 422) and r.json()["code"] == "webhook_http_not_loopback", r.text
            assert "10.0.0.7" in r.json()["message"] and "明文" in r.json()["message"], r.text

        # an approval the server's own delivery worker sends
        settings = Settings(_env_file=None, data_dir=tmp_path / "data", delivery_link_secret="test-link-key")
        db = Database(settings.db_url)
        approval = approve_new(db, tmp_path, settings)
        db.dispose()
        deadline = time.monotonic() + 30
        while approval.message_id not in receiver.ids():
            assert time.monotonic() < deadline, "the server's worker did not deliver"
            time.sleep(0.2)
        assert all(r.verified_with for r in receiver.requests)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
