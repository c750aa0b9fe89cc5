"""Removing files of personal data, with every failure reported (never ``ignore_errors``)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from scribe.privacy.models import PendingRemoval
from scribe.settings import Settings
from scribe.storage import Database


def session_folder(settings: Settings, live_session_id: str | None) -> Path | None:
    """The live session folder of a hearing (audio, journal, transcripts), found from the
    settings alone: deleting works on a server that runs without the live engine."""
    from scribe.live.manager import valid_session_id

    if not live_session_id or not valid_session_id(live_session_id):
        return None
    return settings.sessions_path / live_session_id


def remove(path: Path) -> str | None:
    """Remove a file or a folder. None when it is gone (or was never there), else why not."""
    errors: list[str] = []

    def note(_func: object, failed: str, info: tuple[type[BaseException], BaseException, object]) -> None:
        exc = info[1]
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        errors.append(f"{failed}: {type(exc).__name__}: {detail}")

    try:
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path, onerror=note)  # Python 3.11: onexc is 3.12+
        elif path.exists():
            os.remove(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{path}: {type(exc).__name__}: {exc.strerror or exc}"
    if errors:
        return "; ".join(errors[:5]) + (f" (+{len(errors) - 5} more)" if len(errors) > 5 else "")
    return None if not path.exists() else f"{path}: still there after removal"


@dataclass
class Removal:
    removed: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def remove_tracked(db: Database, ids: Iterable[int]) -> Removal:
    """Try the pending removals ``ids``: each one that succeeds is struck off the list, each
    failure stays on it with its reason."""
    out = Removal()
    with db.transaction() as tx:
        rows = list(tx.scalars(select(PendingRemoval).where(PendingRemoval.id.in_(list(ids)))))
        for row in rows:
            error = remove(Path(row.path))
            row.attempts += 1
            if error is None:
                out.removed.append(row.path)
                tx.delete(row)
            else:
                row.last_error = error
                out.failures.append(error)
    return out


def track(db_tx: Session, hearing_id: str, why: str, paths: Iterable[Path]) -> list[PendingRemoval]:
    """Put ``paths`` on the pending list (in the caller's transaction, before trying them)."""
    rows = []
    given = list(dict.fromkeys(Path(p) for p in paths))
    for p in given:
        if any(other != p and other in p.parents for other in given):
            continue  # inside a folder on the list: removed with it
        key = str(p)
        row = PendingRemoval(path=key, hearing_id=hearing_id, why=why)
        db_tx.add(row)
        rows.append(row)
    db_tx.flush()
    return rows


def retry_pending(db: Database) -> Removal:
    """Every removal still pending, tried again (the retention job and command run this)."""
    with db.transaction() as tx:
        ids = list(tx.scalars(select(PendingRemoval.id)))
    return remove_tracked(db, ids)
