"""File modes of what the service keeps: only its own user may read recordings, documents,
the database and the keys (PIPL Art. 51: technical measures for sensitive personal data).

``service_umask`` makes every file the process creates from then on private (0600, folders
0700): audio, journals, drafts, rendered documents, the database, its WAL and the key files.
``protect_data_dir`` fixes what an earlier version, or a restore with looser bits, left
readable to other local users.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

SERVICE_UMASK = 0o077
_PRIVATE_DIRS = ("sessions", "documents", "voiceprints")


def service_umask() -> int:
    """Make the process's new files private; returns the umask it had."""
    return os.umask(SERVICE_UMASK)


def _tighten(path: Path, mode: int) -> None:
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if current & 0o077:
        path.chmod(mode)
        log.info("file modes: %s was %o, now %o", path, current, mode)


def protect_data_dir(data_dir: Path) -> None:
    """The data directory 0700 (created so if missing), its known folders 0700."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    _tighten(data_dir, 0o700)
    for name in _PRIVATE_DIRS:
        _tighten(data_dir / name, 0o700)


def protect_database(path: Path) -> None:
    """An SQLite database and its WAL/shared-memory files 0600 (SQLite gives the WAL files
    the database file's own mode, so they follow once it is right)."""
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"),
              path.with_name(path.name + "-journal")):
        _tighten(p, 0o600)
