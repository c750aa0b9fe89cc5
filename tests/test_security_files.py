"""What the service leaves on disk and in its logs: `scribe serve` run as a real process on
loopback over a data directory an earlier version left readable (0755/0644, a webhook secret
in plain text in the database)."""

from __future__ import annotations

import os
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx

from scribe.settings import Settings
from scribe.storage import Database

ADMIN_PASSWORD = "a sound first password"
PLAIN_SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwAAAAAAAAAAA="


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _earlier_version_data_dir(data: Path) -> None:
    """A data dir as before: world-readable folder and database, the secret kept as given."""
    import scribe.delivery.models  # noqa: F401  (tables)
    import scribe.review.models  # noqa: F401
    from server import _import_tables

    old = os.umask(0o022)
    try:
        data.mkdir(mode=0o755)
        (data / "documents").mkdir(mode=0o755)
        _import_tables()
        db = Database(f"sqlite:///{data / 'scribe.db'}")
        db.create_schema()
        db.dispose()
        con = sqlite3.connect(data / "scribe.db")
        con.execute(
            "insert into delivery_endpoints (id, name, url, event_types, secret, enabled, created_at, updated_at) "
            "values ('ep_old', 'city platform', 'https://case.example.gov.cn/hook', '[\"*\"]', ?, 1, "
            "'2026-11-01 00:00:00', '2026-11-01 00:00:00')", (PLAIN_SECRET,))
        con.commit()
        con.close()
        for p in (data / "scribe.db", data):
            p.chmod(0o644 if p.is_file() else 0o755)
    finally:
        os.umask(old)


def test_scribe_serve_keeps_its_files_private_seals_secrets_and_logs_no_query_strings(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _earlier_version_data_dir(data)
    assert _mode(data / "scribe.db") == 0o644 and PLAIN_SECRET.encode() in (data / "scribe.db").read_bytes()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = Path(__file__).resolve().parent.parent  # this checkout, whatever the venv installed
    env = dict(os.environ, SCRIBE_DATA_DIR=str(data), SCRIBE_ADMIN_PASSWORD=ADMIN_PASSWORD,
               SCRIBE_SERVER__DELIVERY_WORKER="false",
               PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]))
    scribe = Path(sys.executable).parent / "scribe"
    proc = subprocess.Popen([str(scribe), "serve", "--no-models", "--port", str(port)], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert time.monotonic() < deadline and proc.poll() is None, "scribe serve did not start"
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        umask = next(line for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                     if line.startswith("Umask:"))
        assert umask.split()[1] == "0077"
        with httpx.Client(base_url=base, timeout=30) as c:
            r = c.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
            assert r.status_code == 200
            # personal data and credentials in query strings, as a desk page or a case system sends them
            assert c.get("/api/hearings", params={"party": "张三", "q": "13800000001"}).status_code == 200
            r = c.get("/api/v1/documents/doc_x/files/docx",
                      params={"v": 1, "expires": 4102444800, "sig": "SIGNATURE-NOT-FOR-LOGS"})
            assert r.status_code in (403, 404)
            c.get("/login", params={"next": "/hearings/abc?party=王五"})
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=60)
    # the access log is there, and cut at "?"
    assert '"GET /api/hearings HTTP/1.1" 200' in out, out[-2000:]
    assert "/api/v1/documents/doc_x/files/docx HTTP/1.1" in out
    for leaked in ("13800000001", "SIGNATURE-NOT-FOR-LOGS", "sig=", "party=", "%E5%BC%A0", "张三", "王五"):
        assert leaked not in out, leaked
    # files: the folder, the database and its WAL, the new key are this user's only
    assert _mode(data) == 0o700 and _mode(data / "documents") == 0o700
    for name in ("scribe.db", "scribe.db-wal", "scribe.db-shm", "secrets.key", "link.key"):
        if (data / name).exists():
            assert _mode(data / name) == 0o600, name
    assert (data / "secrets.key").exists()
    # the signing secret is sealed in the database, and reads back as it was
    con = sqlite3.connect(data / "scribe.db")
    stored = con.execute("select secret from delivery_endpoints where id='ep_old'").fetchone()[0]
    con.close()
    assert stored.startswith("sealed:v1:") and PLAIN_SECRET not in stored
    import scribe.delivery.models as delivery

    db = Database(f"sqlite:///{data / 'scribe.db'}")
    try:
        with db.transaction() as tx:
            ep = tx.get(delivery.Endpoint, "ep_old")
            assert ep is not None and ep.secret == PLAIN_SECRET
    finally:
        db.dispose()
    # without the key file, a copy of the database gives the secret away nowhere
    raw = b"".join((data / n).read_bytes() for n in ("scribe.db", "scribe.db-wal") if (data / n).exists())
    assert PLAIN_SECRET.encode() not in raw or _only_in_free_pages(data / "scribe.db")


def _only_in_free_pages(path: Path) -> bool:
    """SQLite may keep an overwritten value in a free page until it is reused: vacuum and look
    again (what a backup of the file would hold after the site's next VACUUM)."""
    con = sqlite3.connect(path)
    con.execute("pragma wal_checkpoint(truncate)")
    con.execute("vacuum")
    con.close()
    return PLAIN_SECRET.encode() not in path.read_bytes()


def test_a_new_endpoint_secret_is_written_sealed_and_a_wrong_key_says_what_to_do(tmp_path: Path) -> None:
    import pytest

    from scribe.delivery.endpoints import add_endpoint
    from scribe.delivery.models import Endpoint
    from scribe.errors import ConfigError
    from server import _import_tables

    _import_tables()
    settings = Settings(data_dir=tmp_path, delivery_allow_loopback=True, delivery_allow_http=True)
    db = Database(settings.db_url, key_file=tmp_path / "secrets.key")
    db.create_schema()
    with db.transaction() as tx:
        info, secret = add_endpoint(tx, "http://127.0.0.1:9/hook", ["*"], settings, name="x")
    db.dispose()
    con = sqlite3.connect(tmp_path / "scribe.db")
    stored = con.execute("select secret from delivery_endpoints").fetchone()[0]
    con.close()
    assert stored.startswith("sealed:v1:") and secret not in stored
    assert _mode(tmp_path / "secrets.key") == 0o600
    # another key (a database copied without its key file) fails with the fix named
    (tmp_path / "secrets.key").unlink()
    db = Database(settings.db_url)
    try:
        with pytest.raises(ConfigError) as err, db.transaction() as tx:
            tx.get(Endpoint, info.id)
        assert "secrets.key" in str(err.value) and err.value.fix
    finally:
        db.dispose()
