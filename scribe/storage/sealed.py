"""Secrets the server must read back (webhook signing keys: HMAC needs the key itself), kept
encrypted in the database.

A column of type ``SealedString`` is written as ``sealed:v1:<Fernet token>`` (AES-128-CBC with
an HMAC-SHA256, from the ``cryptography`` package) and read back as the plain text. The key is a
file of its own, ``secrets.key``, created once with mode 0600: beside the SQLite file, or in the
data directory for another database (``Database(url, key_file=...)``). A copy of the database
alone (a backup, a file handed over for support) then gives away no signing key; the key file
must be backed up with it, or the secrets are lost (endpoints then need a new secret).

Rows written before sealing existed hold the plain text; they are still read, and
``seal_plain_values`` (run at start-up) seals them in place.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import String, text
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.schema import MetaData
from sqlalchemy.types import TypeDecorator

from scribe.errors import ConfigError

log = logging.getLogger(__name__)
PREFIX = "sealed:v1:"
KEY_FILE = "secrets.key"


class Sealer:
    """Encrypts and decrypts with the key in ``key_file`` (created on first use, 0600)."""

    def __init__(self, key_file: Path | None, *, ephemeral: bool = False) -> None:
        """``key_file`` None (and not ephemeral): sealing refuses, naming the fix;
        ``ephemeral``: a key for this process only (an in-memory database)."""
        self.key_file = key_file
        self.ephemeral = ephemeral
        self._fernet: Fernet | None = None

    def _key(self) -> Fernet:
        if self._fernet is None:
            if self.ephemeral:
                self._fernet = Fernet(Fernet.generate_key())
            else:
                if self.key_file is None:
                    # never the process's settings: the composition root says which key goes
                    # with which database (settings.secrets_key_path)
                    raise ConfigError(
                        "this database has no key file for its sealed secrets",
                        fix="open it as Database(url, key_file=settings.secrets_key_path)",
                    )
                self._fernet = Fernet(_read_or_create(self.key_file))
        return self._fernet

    def seal(self, plain: str) -> str:
        return PREFIX + self._key().encrypt(plain.encode("utf-8")).decode("ascii")

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored  # written before sealing; sealed at the next start
        try:
            return self._key().decrypt(stored[len(PREFIX):].encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ConfigError(
                f"a stored secret cannot be decrypted with {self.key_file}",
                fix="restore the secrets.key that belongs to this database, or give the "
                "webhook endpoints new secrets (`scribe endpoints rotate`)",
            ) from None


def _read_or_create(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # O_EXCL: two processes starting at once cannot end up with different keys
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(Fernet.generate_key())
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)  # a copy restored with looser bits
    return path.read_bytes().strip()


def sealer_of(dialect: Dialect) -> Sealer:
    sealer = getattr(dialect, "scribe_sealer", None)
    if sealer is None:
        raise ConfigError("this database connection has no key for stored secrets",
                          fix="open it through scribe.storage.Database")
    return sealer  # type: ignore[no-any-return]


class SealedString(TypeDecorator[str]):
    """A string column stored encrypted (see the module doc)."""

    impl = String(400)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return sealer_of(dialect).seal(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return sealer_of(dialect).open(str(value))


def seal_plain_values(engine: Engine, metadata: MetaData) -> int:
    """Seal, in place, every value of a ``SealedString`` column still stored in plain text."""
    sealer = sealer_of(engine.dialect)
    done = 0
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, SealedString)]
            if not columns or not table.primary_key.columns:
                continue
            key = list(table.primary_key.columns)[0].name
            for column in columns:
                rows = conn.execute(text(
                    f'SELECT "{key}", "{column.name}" FROM "{table.name}" '
                    f'WHERE "{column.name}" IS NOT NULL AND "{column.name}" NOT LIKE :p'),
                    {"p": PREFIX + "%"}).all()
                for row_id, plain in rows:
                    conn.execute(text(f'UPDATE "{table.name}" SET "{column.name}" = :v WHERE "{key}" = :k'),
                                 {"v": sealer.seal(plain), "k": row_id})
                    done += 1
    if done:
        log.info("sealed %d stored secret(s) that were kept in plain text", done)
    return done
