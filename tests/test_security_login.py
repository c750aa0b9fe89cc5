"""Logins under attack, against a real uvicorn on loopback run the way ``scribe serve`` runs it
(no proxy-header trust of its own, the query-less access log): bursts of wrong passwords, a
password sprayer, a spoofed X-Forwarded-For, an account lock and an admin's unlock."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_support import OFFICE_A, PASSWORD, login, make_settings, seed_accounts
from sqlalchemy import select

from scribe.accounts import service
from scribe.accounts.models import AuditEvent, User
from scribe.accounts.principal import Role
from scribe.storage import Database
from server import create_app


class Served:
    """A real uvicorn server, configured as ``scribe serve`` configures it."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        from scribe.web.access_log import uvicorn_options

        self.app = app
        options = uvicorn_options()
        options.pop("log_config")  # the test process keeps its own logging
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", **options)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.server.servers[0].sockets[0].getsockname()[1]}"

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def _serve(tmp_path: Path, **overrides: Any) -> tuple[Served, Any]:
    settings = make_settings(tmp_path, server_delivery_worker=False, **overrides)
    if not (tmp_path / "scribe.db").exists():
        seed_accounts(settings)
    return Served(create_app(settings)), settings


@pytest.fixture()
def srv(tmp_path: Path) -> Iterator[tuple[Served, Any]]:
    # every admitted guess waits for its hash here (a 2-core test machine under load is slow):
    # the count below is then exact; the busy answer has a test of its own
    served, settings = _serve(tmp_path, login_hash_wait_s=60.0)
    try:
        yield served, settings
    finally:
        served.close()


def _audit(settings: Any, action: str) -> list[AuditEvent]:
    db = Database(settings.db_url)
    try:
        with db.transaction() as tx:
            return list(tx.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
    finally:
        db.dispose()


class HealthWatch:
    """Asks /health every 0.2 s while a burst runs; keeps the slowest answer."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.slowest = 0.0
        self.codes: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as c:
            while not self._stop.is_set():
                t = time.perf_counter()
                self.codes.append(c.get("/health").status_code)
                self.slowest = max(self.slowest, time.perf_counter() - t)
                self._stop.wait(0.2)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


def _burst(url: str, bodies: list[dict[str, str]], headers: list[dict[str, str]] | None = None) -> list[httpx.Response | Exception]:
    start = threading.Barrier(len(bodies))

    def one(i: int) -> httpx.Response | Exception:
        try:
            with httpx.Client(base_url=url, timeout=60) as c:
                start.wait()
                return c.post("/api/auth/login", json=bodies[i], headers=(headers or [{}] * len(bodies))[i])
        except Exception as exc:  # noqa: BLE001 - a connection error is a finding, not a crash
            return exc

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(one, range(len(bodies))))


def test_a_burst_of_30_wrong_passwords_checks_only_the_limit_and_never_errs(srv: tuple[Served, Any]) -> None:
    served, settings = srv
    watch = HealthWatch(served.url)
    try:
        answers = _burst(served.url, [{"username": "rev_a", "password": f"guess {i:02d} wrong"} for i in range(30)])
    finally:
        watch.stop()
    errors = [a for a in answers if isinstance(a, Exception)]
    assert not errors, errors[:3]
    codes = [a.status_code for a in answers if isinstance(a, httpx.Response)]
    assert sorted(set(codes)) == [401, 429], codes
    assert codes.count(401) == settings.server.login_max_failures  # the limit held under the burst
    refused = [a for a in answers if isinstance(a, httpx.Response) and a.status_code == 429]
    assert all(int(r.headers["retry-after"]) >= 1 for r in refused)
    assert all("请" in r.json()["error"] + (r.json()["fix"] or "") for r in refused)  # said in Chinese
    assert watch.codes and set(watch.codes) == {200} and watch.slowest < 2.0, (watch.slowest, watch.codes)
    assert served.app.state.hash_gate.most_at_once <= settings.server.login_hash_concurrency
    # each checked guess has its audit row, with the client and no user name
    failed = _audit(settings, "login_failed")
    assert len(failed) == settings.server.login_max_failures
    assert all(e.client == "127.0.0.1" and "rev_a" not in str(e.detail) for e in failed)
    # the account is locked now, for the right password too
    with httpx.Client(base_url=served.url, timeout=30) as c:
        r = c.post("/api/auth/login", json={"username": "rev_a", "password": PASSWORD})
        assert r.status_code == 429 and "锁定" in r.json()["error"]


def test_an_admin_unlocks_a_locked_account_and_the_lock_survives_a_restart(tmp_path: Path) -> None:
    served, settings = _serve(tmp_path)
    try:
        with httpx.Client(base_url=served.url, timeout=30) as c:
            for i in range(settings.server.login_max_failures):
                assert c.post("/api/auth/login", json={"username": "med_a", "password": f"wrong {i}"}).status_code == 401
    finally:
        served.close()
    served, settings = _serve(tmp_path)  # a restart forgets the in-memory count, not the lock
    try:
        with httpx.Client(base_url=served.url, timeout=30) as c:
            r = c.post("/api/auth/login", json={"username": "med_a", "password": PASSWORD})
            assert r.status_code == 429 and "锁定" in r.json()["error"]
        with httpx.Client(base_url=served.url, timeout=30) as admin, \
                httpx.Client(base_url=served.url, timeout=30) as other:
            login(admin, "admin")
            users = {u["username"]: u for u in admin.get("/api/users").json()}
            assert users["med_a"]["locked_until"] is not None and users["rev_a"]["locked_until"] is None
            login(other, "rev_a")
            assert other.post(f"/api/users/{users['med_a']['id']}/unlock").status_code == 403
            assert admin.post("/api/users/99999/unlock").status_code == 404
            r = admin.post(f"/api/users/{users['med_a']['id']}/unlock")
            assert r.status_code == 200 and r.json()["locked_until"] is None
        unlocks = _audit(settings, "unlock")
        assert len(unlocks) == 1 and unlocks[0].actor.startswith("user:") and unlocks[0].detail["was_locked"] is True
        with httpx.Client(base_url=served.url, timeout=30) as c:
            login(c, "med_a")
    finally:
        served.close()


def test_a_password_sprayer_is_slowed_per_address_without_locking_the_accounts(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, server_delivery_worker=False, login_hash_wait_s=60.0)
    seed_accounts(settings)
    db = Database(settings.db_url)
    with db.transaction() as tx:
        for i in range(15):
            service.create_user(tx, f"staff{i:02d}", PASSWORD, Role.MEDIATOR, OFFICE_A)
    db.dispose()
    served = Served(create_app(settings))
    try:
        # one guess at each of 15 accounts from one machine, with forged X-Forwarded-For headers
        # that would give each guess an address of its own if they were believed
        answers = _burst(served.url, [{"username": f"staff{i:02d}", "password": "Spring2026!"} for i in range(15)],
                         [{"X-Forwarded-For": f"198.51.100.{i}"} for i in range(15)])
        codes = [a.status_code for a in answers if isinstance(a, httpx.Response)]
        assert len(codes) == 15 and set(codes) <= {401, 429}
        assert codes.count(401) == settings.server.login_address_failures
        with httpx.Client(base_url=served.url, timeout=30) as c:
            r = c.post("/api/auth/login", json={"username": "med_a", "password": PASSWORD})
            # a colleague at the same PC waits a moment, never a lockout
            assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60
        failed = _audit(settings, "login_failed")
        assert {e.client for e in failed} == {"127.0.0.1"}  # the real address, not the forged ones
        db = Database(settings.db_url)
        with db.transaction() as tx:
            assert all(u.locked_until is None for u in tx.scalars(select(User)))
        db.dispose()
    finally:
        served.close()


def test_a_trusted_proxy_names_the_client_and_hashes_are_capped(tmp_path: Path) -> None:
    """Behind a trusted proxy each forwarded address counts on its own; 24 clients guessing at
    once still run at most ``login_hash_concurrency`` Argon2 checks, and the rest wait their
    turn or hear, in Chinese, that the server is busy; /health keeps answering."""
    served, settings = _serve(tmp_path, trusted_proxies=["127.0.0.1/32"], login_hash_wait_s=1.0)
    try:
        watch = HealthWatch(served.url)
        try:
            answers = _burst(served.url, [{"username": f"nobody{i}", "password": "x" * 12} for i in range(24)],
                             [{"X-Forwarded-For": f"203.0.113.{i}, 127.0.0.1"} for i in range(24)])
        finally:
            watch.stop()
        codes = [a.status_code for a in answers if isinstance(a, httpx.Response)]
        assert len(codes) == 24 and set(codes) <= {401, 429}, codes
        busy = [a for a in answers if isinstance(a, httpx.Response) and a.status_code == 429]
        assert all("服务器正忙" in r.json()["error"] for r in busy)
        assert served.app.state.hash_gate.most_at_once <= settings.server.login_hash_concurrency
        assert set(watch.codes) == {200} and watch.slowest < 2.0, watch.slowest
        clients = {e.client for e in _audit(settings, "login_failed")}
        assert clients and clients <= {f"203.0.113.{i}" for i in range(24)}
    finally:
        served.close()


def test_the_cli_unlocks_an_account_the_running_server_locked_audited(tmp_path: Path) -> None:
    """The admin locked out of the web (or any account) is unlocked from the desk PC's shell:
    ``scribe users unlock NAME``, audited as ``unlock`` under the machine account; the running
    server honours it at the next login (its in-memory count of failures included)."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    served, settings = _serve(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(root), "SCRIBE_DATA_DIR": str(settings.data_dir),
           "SCRIBE_DATABASE_URL": settings.db_url}  # fmt: skip

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "scribe", "users", *args], env=env, capture_output=True,
                              text=True, timeout=120, cwd=tmp_path)  # fmt: skip

    try:
        with httpx.Client(base_url=served.url, timeout=30) as c:
            for i in range(settings.server.login_max_failures):
                assert c.post("/api/auth/login", json={"username": "admin", "password": f"wrong {i}"}).status_code == 401
            assert c.post("/api/auth/login", json={"username": "admin", "password": PASSWORD}).status_code == 429
        listed = cli("list")
        assert listed.returncode == 0 and "locked until" in next(ln for ln in listed.stdout.splitlines() if "\tadmin\t" in ln)
        done = cli("unlock", "admin")
        assert done.returncode == 0 and "unlocked admin" in done.stdout, done.stderr
        with httpx.Client(base_url=served.url, timeout=30) as c:
            login(c, "admin")  # the running server lets the admin in again
        missing = cli("unlock", "nobody")
        assert missing.returncode != 0 and "nobody" in missing.stderr and "scribe users list" in missing.stderr
        again = cli("unlock", "admin")
        assert again.returncode == 0 and "was not locked" in again.stdout
    finally:
        served.close()
    unlocks = _audit(settings, "unlock")
    assert [(e.actor.startswith("cli:"), e.detail["was_locked"], e.detail["via"]) for e in unlocks] == [
        (True, True, "cli"), (True, False, "cli")]
    assert unlocks[0].object_type == "user"
