"""A throwaway PostgreSQL server for tests and the fault benchmark (Debian's postgresql 15).

initdb/pg_ctl refuse to run as root, so as root they run as the ``postgres`` user
(``runuser``). The server listens on a free loopback port only, with trust auth, and lives
in a temporary directory that is removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BINDIR = Path(os.environ.get("SCRIBE_PG_BINDIR", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server; yields its base URL ``postgresql+psycopg://postgres@127.0.0.1:PORT``."""
    if not (BINDIR / "initdb").exists():
        raise RuntimeError(
            f"PostgreSQL server binaries are missing in {BINDIR}: install Debian's postgresql "
            "(bash scripts/setup.sh --dev) or set SCRIBE_PG_BINDIR"
        )
    root = Path(tempfile.mkdtemp(prefix="scribe-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data = root / "data"
    port = free_port()
    run = dict(check=True, capture_output=True, text=True, timeout=120)
    try:
        subprocess.run(
            _as_postgres(
                [str(BINDIR / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                 "-E", "UTF8", "--no-locale"]
            ),
            **run,
        )  # fmt: skip
        # fsync off: the tests kill workers, never the database server.
        opts = (
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        )
        subprocess.run(
            _as_postgres([str(BINDIR / "pg_ctl"), "-D", str(data), "-l", str(root / "log"),
                          "-w", "-t", "60", "-o", opts, "start"]),
            **run,
        )  # fmt: skip
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                _as_postgres(
                    [str(BINDIR / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
                ),
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)


def create_database(base_url: str) -> str:
    """A fresh, empty database on the server; returns its URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    dsn = base_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base_url}/{name}"


def drop_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    dsn = base.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
