"""Engine and session factory shared by the CLI, the server and the workers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    pass


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Database:
    """One per process: owns the engine and hands out transactions."""

    def __init__(self, url: str, *, key_file: Path | None = None) -> None:
        """``key_file``: the key of the secrets stored sealed (``scribe.storage.sealed``) for a
        database that is not an SQLite file; an SQLite file keeps it beside itself."""
        from scribe.storage.sealed import KEY_FILE, Sealer

        self.url = url
        kwargs: dict = {"future": True, "pool_pre_ping": True}
        self.path: Path | None = None
        ephemeral = False
        if url.startswith("sqlite"):
            ephemeral = True  # an in-memory database: a key that lives as long as it does
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                self.path = Path(path)
                self.path.parent.mkdir(parents=True, exist_ok=True)
                key_file, ephemeral = self.path.parent / KEY_FILE, False
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        self.engine: Engine = create_engine(url, **kwargs)
        # per engine, so two databases of one process (tests) never share a key
        self.engine.dialect.scribe_sealer = Sealer(key_file, ephemeral=ephemeral)  # type: ignore[attr-defined]
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    def create_schema(self) -> None:
        from scribe.storage.migrate import add_missing_columns

        from scribe.storage.sealed import seal_plain_values

        Base.metadata.create_all(self.engine)
        add_missing_columns(self.engine, Base.metadata)  # a database of an earlier version
        seal_plain_values(self.engine, Base.metadata)  # secrets an earlier version kept plain
        if self.path is not None:
            from scribe.storage.files import protect_database

            protect_database(self.path)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits together, or not at all."""
        with self._sessions() as session, session.begin():
            yield session

    def session(self) -> Session:
        return self._sessions()

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL: readers never block the writer (the desk page polls while a worker delivers);
    # synchronous=FULL: a committed approval survives power loss; foreign keys: SQLite's are
    # off by default.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()
