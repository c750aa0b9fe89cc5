"""Helpers for the server tests: settings in a temp dir, seeded accounts, a real uvicorn server
on loopback in a thread, and a login helper that returns the CSRF token."""

from __future__ import annotations

import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from scribe.accounts import service
from scribe.accounts.principal import Role, Scope
from scribe.settings import Settings
from scribe.storage import Database

PASSWORD = "correct horse battery"
OFFICE_A = "城关司法所"
OFFICE_B = "河西司法所"


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    # the installed, locked models (they are not under the test's own data dir)
    models = Settings().models_path
    base: dict[str, Any] = {
        "data_dir": data_dir, "model_dir": models, "server_load_models": False, "admin_password": PASSWORD,
    }
    base.update(overrides)
    return Settings(**base)


@dataclass
class Seeded:
    tokens: dict[str, str]


def seed_accounts(settings: Settings) -> Seeded:
    """Users admin/med_a/rev_a/med_b and tokens for a case system and a desk client (office A)."""
    from server import _import_tables

    _import_tables()
    db = Database(settings.db_url)
    db.create_schema()
    tokens: dict[str, str] = {}
    with db.transaction() as tx:
        if not service.has_admin(tx):
            service.create_user(tx, "admin", PASSWORD, Role.ADMIN, "*")
        service.create_user(tx, "med_a", PASSWORD, Role.MEDIATOR, OFFICE_A, "王调解员")
        service.create_user(tx, "rev_a", PASSWORD, Role.REVIEWER, OFFICE_A, "赵审核")
        service.create_user(tx, "med_b", PASSWORD, Role.MEDIATOR, OFFICE_B, "钱调解员")
        service.create_user(tx, "rev_b", PASSWORD, Role.REVIEWER, OFFICE_B, "孙审核")
        tokens["case_system"], _ = service.create_token(
            tx, "city platform", [Scope.DOCUMENTS_READ, Scope.SESSIONS_READ], OFFICE_A
        )
        tokens["desk_client"], _ = service.create_token(
            tx, "desk 1", [Scope.SESSIONS_READ, Scope.SESSIONS_WRITE, Scope.LIVE_STREAM], OFFICE_A
        )
        tokens["monitor"], _ = service.create_token(tx, "prometheus", [Scope.METRICS], "*")
    db.dispose()
    return Seeded(tokens)


def login(client: httpx.Client, username: str, password: str = PASSWORD) -> str:
    r = client.post("/api/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return r.json()["csrf_token"]


class ServerThread:
    """A real uvicorn server for ``app`` on 127.0.0.1 (a free port), stopped by ``close``."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", ws="websockets-sansio", lifespan="on")
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        sock = self.server.servers[0].sockets[0]
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


class MemoryLive:
    """An in-memory live engine for access tests (real WAV on disk for the audio route).

    It follows the ``LiveService`` protocol; the browser tests use the real engine instead.
    """

    session_manager = None  # no WebSocket route behind it

    def __init__(self, root: Path) -> None:
        self.root = root
        self.calls: list[tuple[str, str]] = []
        self.states: dict[str, str] = {}
        self.starts: list[Any] = []  # every LiveStart the desk API sent
        self.hotwords: dict[str, tuple[str, ...]] = {}  # sent while recording
        self.observers: list[Any] = []
        self.notices: list[dict[str, Any]] = []  # what notify() told the desk

    def session_id_for(self, hearing_id: str) -> str:
        return "live-" + hearing_id

    def open(self, start: Any) -> str:
        sid = self.session_id_for(start.hearing_id)
        self.calls.append(("open", sid))
        self.starts.append(start)
        self.states[sid] = "recording"
        path = self.root / f"{sid}.wav"
        if not path.exists():
            with wave.open(str(path), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(16000)
                w.writeframes((np.sin(np.arange(32000) / 5) * 8000).astype(np.int16).tobytes())
        return sid

    def set_hotwords(self, sid: str, hotwords: tuple[str, ...]) -> None:
        self.calls.append(("hotwords", sid))
        self.hotwords[sid] = tuple(hotwords)

    def pause(self, sid: str) -> None:
        self.calls.append(("pause", sid))
        self.states[sid] = "paused"

    def resume(self, sid: str) -> None:
        self.calls.append(("resume", sid))
        self.states[sid] = "recording"

    def notify(self, sid: str, code: str, message: str, **detail: Any) -> None:
        self.calls.append(("notify:" + code, sid))
        self.notices.append({"session": sid, "code": code, "message": message, **detail})

    def stop(self, sid: str) -> None:
        self.calls.append(("stop", sid))
        self.states[sid] = "stopped"

    def state(self, sid: str) -> dict[str, Any]:
        return {"state": self.states.get(sid, "unknown"), "final_ready": self.states.get(sid) == "stopped"}

    def transcript(self, sid: str) -> dict[str, Any] | None:
        return {
            "language": "zh", "duration": 2.0, "model": "memory",
            "segments": [{"start": 0.0, "end": 1.0, "speaker": "SPEAKER_00", "text": "今天调解围墙纠纷", "words": []},
                         {"start": 1.0, "end": 2.0, "speaker": "SPEAKER_01", "text": "我同意赔偿三千元", "words": []}],
        }  # fmt: skip

    def audio_path(self, sid: str) -> Path | None:
        path = self.root / f"{sid}.wav"
        return path if path.exists() else None

    def websocket_path(self, sid: str) -> str:
        return f"/live/ws/{sid}"

    def session_dir(self, sid: str) -> Path | None:
        return None

    def observe(self, listener: Any) -> None:
        self.observers.append(listener)

    def recover_unfinished(self) -> list[Any]:
        return []

    def resumable(self) -> list[str]:
        return []

    def finish_later(self, sid: str) -> Any:
        from concurrent.futures import Future

        done: Future[Any] = Future()
        done.set_result(None)
        return done

    def wait_finished(self, sid: str, timeout: float | None = None) -> bool:
        return True

    def close(self, final_pass_timeout: float | None = None) -> None:
        pass
