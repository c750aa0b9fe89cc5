"""Retention of recordings: a closed hearing's audio is purged once its office's period is over
(PIPL Art. 19: kept no longer than the purpose needs).

The period is a setting per office (``SCRIBE_SERVER__AUDIO_RETENTION_DAYS``,
``{"城关司法所": 365, "*": 730}``; an office in neither keeps its audio until it is deleted by
hand). A hearing is closed once it is no longer created, recording or paused; its age is
counted from when its audio was last written (the end of the recording). Only the audio goes:
the transcript, the documents and the audit log stay, and the session folder gets
``audio.purged.json`` saying when and under which period. ``scribe retention purge`` and the
server's scheduled job (every ``retention_interval_h``) run ``purge_audio``; each purge is
audited. Removals left over from earlier deletions are tried again on the same run.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from scribe.accounts import audit
from scribe.accounts.audit import Action
from scribe.privacy.files import remove, retry_pending, session_folder
from scribe.settings import Settings
from scribe.storage import Database, utcnow
from scribe.web.models import Hearing

OPEN_STATES = ("created", "recording", "paused")
AUDIO_NAMES = ("audio.wav", "audio.flac", "audio.opus", "audio.ogg")
MARKER = "audio.purged.json"


def period_days(settings: Settings, office: str) -> float | None:
    periods = settings.server.audio_retention_days
    if office in periods:
        return float(periods[office])
    if "*" in periods:
        return float(periods["*"])
    return None


@dataclass
class PurgeReport:
    purged: list[str] = field(default_factory=list)  # hearing ids whose audio went
    bytes_freed: int = 0
    kept: int = 0  # closed hearings still within their period
    failures: list[str] = field(default_factory=list)
    retried: int = 0  # earlier removals that succeeded now

    def as_dict(self) -> dict[str, Any]:
        return {"purged": list(self.purged), "bytes_freed": self.bytes_freed, "kept": self.kept,
                "failures": list(self.failures), "retried": self.retried}  # fmt: skip


def purge_marker(settings: Settings, live_session_id: str | None) -> dict[str, Any] | None:
    """When and why a hearing's audio was purged (None if it was not)."""
    folder = session_folder(settings, live_session_id)
    path = folder / MARKER if folder is not None else None
    if path is None or not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def purge_audio(
    db: Database, settings: Settings, *, actor: str = "system:retention", now: dt.datetime | None = None,
    dry_run: bool = False,
) -> PurgeReport:
    now = now or utcnow()
    report = PurgeReport()
    if not dry_run:
        again = retry_pending(db)
        report.retried = len(again.removed)
        report.failures.extend(again.failures)
    with db.transaction() as tx:
        rows = list(tx.execute(
            select(Hearing.id, Hearing.office, Hearing.live_session_id)
            .where(Hearing.status.not_in(OPEN_STATES), Hearing.live_session_id.is_not(None))
        ))  # fmt: skip
    for hearing_id, office, sid in rows:
        days = period_days(settings, office)
        folder = session_folder(settings, sid)
        if days is None or folder is None:
            continue
        audio = [folder / n for n in AUDIO_NAMES if (folder / n).is_file()]
        if not audio:
            continue
        ended = dt.datetime.fromtimestamp(max(p.stat().st_mtime for p in audio), dt.timezone.utc)
        if now - ended < dt.timedelta(days=days):
            report.kept += 1
            continue
        if dry_run:
            report.purged.append(hearing_id)
            continue
        size = sum(p.stat().st_size for p in audio)
        errors = [e for e in (remove(p) for p in audio) if e is not None]
        if errors:
            report.failures.extend(errors)
            continue
        (folder / MARKER).write_text(json.dumps(
            {"purged_at": now.isoformat(), "retention_days": days, "recorded_until": ended.isoformat()}
        ), encoding="utf-8")  # fmt: skip
        report.purged.append(hearing_id)
        report.bytes_freed += size
        with db.transaction() as tx:
            audit.record(tx, actor, Action.DELETE, "audio", hearing_id, office=office,
                         reason="retention", retention_days=days, bytes=size)  # fmt: skip
    return report


def audio_files(folder: Path) -> list[Path]:
    return [folder / n for n in AUDIO_NAMES if (folder / n).is_file()]


async def run_schedule(db: Database, settings: Settings, stop: Any) -> None:
    """The server's scheduled purge: at start, then every ``retention_interval_h`` until
    ``stop`` (an ``asyncio.Event``) is set. The work runs in a thread, off the event loop."""
    import asyncio
    import logging

    log = logging.getLogger("scribe.privacy")
    interval = settings.server.retention_interval_h * 3600.0
    if interval <= 0:
        return
    while not stop.is_set():
        try:
            report = await asyncio.to_thread(purge_audio, db, settings)
            if report.purged or report.failures or report.retried:
                # counts only: hearing ids are in the audit log, names nowhere
                log.info("retention: audio of %d hearing(s) purged (%d bytes), %d earlier removal(s) done, "
                         "%d failure(s)", len(report.purged), report.bytes_freed, report.retried, len(report.failures))
            for failure in report.failures[:5]:
                log.warning("retention: could not remove %s", failure)
        except Exception:  # noqa: BLE001 - keep the server up; the next run tries again
            log.exception("the retention purge failed; trying again at the next interval")
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            pass
