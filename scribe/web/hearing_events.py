"""Events of a hearing's own life that case systems subscribe to (``scribe.delivery.events``).

``session.completed`` is written when a hearing is stopped, in the same transaction as the
status change: the recording is sealed and archived by then (the final transcript follows in the
background and reaches the case system with the approved document's ``transcript`` file).
``document.approved`` is written by ``scribe.review.approve``.
"""

from __future__ import annotations

import datetime as dt
import wave
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scribe.accounts.audit import Action
from scribe.accounts.models import AuditEvent
from scribe.delivery.payload import SessionSummary
from scribe.review import service as review
from scribe.settings import Settings
from scribe.storage import utcnow
from scribe.web.models import Hearing


def _aware(when: dt.datetime) -> dt.datetime:
    # SQLite hands timezone-aware columns back naive; they were written in UTC
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.timezone.utc)


def _recorded_s(state: dict[str, Any], audio: Path | None) -> float | None:
    duration = state.get("duration")
    if isinstance(duration, (int, float)):
        return round(float(duration), 3)
    if audio is None:
        return None
    try:
        with wave.open(str(audio), "rb") as wav:
            return round(wav.getnframes() / float(wav.getframerate()), 3)
    except (wave.Error, OSError, EOFError):
        return None  # not a WAV this module can read: the payload says "unknown", not a guess


def session_completed(tx: Session, settings: Settings, hearing: Hearing, live: Any) -> str:
    """Enqueue ``session.completed`` for a hearing just stopped. Returns the message id."""
    sid = hearing.live_session_id or ""
    first_record = tx.scalar(
        select(AuditEvent.at)
        .where(AuditEvent.object_type == "hearing", AuditEvent.object_id == hearing.id,
               AuditEvent.action == Action.RECORD.value)
        .order_by(AuditEvent.at, AuditEvent.id)
        .limit(1)
    )
    audio = live.audio_path(sid)
    audio_path = Path(audio) if audio is not None else None
    summary = SessionSummary(
        session_id=hearing.id,
        office=hearing.office,
        session_type=hearing.kind,
        started_at=_aware(first_record or hearing.created_at),
        ended_at=utcnow(),
        language=hearing.language,
        case_number=hearing.case_number or None,
        audio_path=audio_path,
        recorded_s=_recorded_s(live.state(sid), audio_path),
    )
    return review.session_completed(tx, summary, settings=settings, now=summary.ended_at)
