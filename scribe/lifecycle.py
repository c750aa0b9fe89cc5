"""A hearing's life, in one place: its states, the steps allowed between them, and the only code
that writes ``Hearing.status``.

Three kinds of caller move a hearing, and all of them come through here:

- the desk's HTTP routes (Record, Pause, Stop; drafting, approval, return, delivery) call the
  step methods inside their own transaction;
- the live session reports its own state changes as events (a WebSocket client's ``pause`` or
  ``stop``, a crash found at start-up): ``on_session_event`` is subscribed to every session bus
  of the server's ``SessionManager`` *before* any client, so when a client hears "stopped" the
  database already says so;
- start-up (``recover``) and the CLI (``scribe sessions recover``/``finish``) run the same
  recovery and report the same events.

States are a ``StrEnum`` (the database keeps the value); ``TRANSITIONS`` is the one table of
allowed steps. docs/architecture.md draws it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from scribe.errors import SessionError
from scribe.live.events import Event, StatePayload
from scribe.live.service import LiveService, LiveStart
from scribe.storage import Database
from scribe.web import consent
from scribe.web.messages import CONSENT_REASONS
from scribe.web.models import Hearing

if TYPE_CHECKING:
    from scribe.accounts.principal import Principal

log = logging.getLogger(__name__)


class HearingState(StrEnum):
    CREATED = "created"  # case data typed, consent being taken
    RECORDING = "recording"
    PAUSED = "paused"  # off the record: audio is dropped until Record
    STOPPED = "stopped"  # recording over; the final pass runs in the background
    INTERRUPTED = "interrupted"  # a crash ended the recording; start-up recovered what was kept
    DRAFTED = "drafted"  # a document was drafted from the transcript
    APPROVED = "approved"
    RETURNED = "returned"  # a reviewer sent a draft back for changes
    DELIVERED = "delivered"  # the case system has the approved document


class Step(StrEnum):
    RECORD = "record"
    PAUSE = "pause"
    STOP = "stop"
    CRASH = "crash"
    DRAFT = "draft"
    APPROVE = "approve"
    RETURN = "return"
    DELIVER = "deliver"


S, H = Step, HearingState
# (state, step) -> next state. A pair missing here is refused.
TRANSITIONS: Mapping[tuple[HearingState, Step], HearingState] = {
    (H.CREATED, S.RECORD): H.RECORDING,
    (H.RECORDING, S.RECORD): H.RECORDING,  # the desk reconnects after a page reload
    (H.PAUSED, S.RECORD): H.RECORDING,
    (H.RECORDING, S.PAUSE): H.PAUSED,
    (H.RECORDING, S.STOP): H.STOPPED,
    (H.PAUSED, S.STOP): H.STOPPED,
    (H.RECORDING, S.CRASH): H.INTERRUPTED,
    (H.PAUSED, S.CRASH): H.INTERRUPTED,
    # after the crash or restart, staff choose: record on into the same archive (继续录音),
    # or end the hearing there (结束: the final pass runs over what was kept)
    (H.INTERRUPTED, S.RECORD): H.RECORDING,
    (H.INTERRUPTED, S.STOP): H.STOPPED,
    (H.STOPPED, S.DRAFT): H.DRAFTED,
    (H.INTERRUPTED, S.DRAFT): H.DRAFTED,
    (H.RETURNED, S.DRAFT): H.DRAFTED,
    (H.DRAFTED, S.DRAFT): H.DRAFTED,  # a second document of the same hearing
    (H.APPROVED, S.DRAFT): H.APPROVED,  # a further document leaves the approval standing
    (H.DELIVERED, S.DRAFT): H.DELIVERED,
    (H.DRAFTED, S.APPROVE): H.APPROVED,
    (H.RETURNED, S.APPROVE): H.APPROVED,
    (H.APPROVED, S.APPROVE): H.APPROVED,
    (H.DELIVERED, S.APPROVE): H.APPROVED,  # another document, not yet delivered
    (H.DRAFTED, S.RETURN): H.RETURNED,
    (H.APPROVED, S.RETURN): H.RETURNED,
    (H.RETURNED, S.RETURN): H.RETURNED,
    (H.APPROVED, S.DELIVER): H.DELIVERED,
}
RECORDING_STATES = frozenset({H.RECORDING, H.PAUSED})
_ECHO_WAIT_S = 30.0  # an expected echo that never came is forgotten after this
# why recording paused by itself: the catalogue's words (the desk says them in its language)
_REASONS: Mapping[str, str] = {k: zh for k, (zh, _en) in CONSENT_REASONS.items()}

# what a live session's "state" event means for its hearing
SESSION_STEPS: Mapping[str, Step] = {
    "recording": S.RECORD,
    "paused": S.PAUSE,
    # not "stopping": the hearing is stopped once the audio is sealed (session.completed
    # carries its length)
    "stopped": S.STOP,
    "interrupted": S.CRASH,
}

_FIX: Mapping[Step, str] = {
    S.RECORD: "recording has ended for this hearing; create a new session to record again",
    S.PAUSE: "press Record first",
    S.STOP: "nothing is being recorded",
    S.DRAFT: "press Stop first",
}


def next_state(current: HearingState, step: Step) -> HearingState:
    """The state after ``step``, or a ``SessionError`` naming the state and what to do."""
    target = TRANSITIONS.get((current, step))
    if target is None:
        raise SessionError(f"cannot {step.value}: the hearing is {current.value}",
                           fix=_FIX.get(step, "reload the page to see where the hearing stands"),
                           code="state_transition", params={"step": step.value, "state": current.value})
    return target


@dataclass(frozen=True)
class Recovered:
    """One hearing found interrupted at start-up."""

    hearing_id: str
    live_session_id: str
    interrupted_at: str | None  # ISO time of the recorder's last write
    recovered_seconds: float


class HearingLifecycle:
    """The only writer of ``Hearing.status`` (see the module doc)."""

    def __init__(self, db: Database, live: LiveService | None,
                 on_stopped: Callable[[Session, Hearing], None] | None = None) -> None:
        self.db = db
        self.live = live
        # called in the same transaction whenever a hearing becomes stopped, whoever stopped
        # it (the desk's Stop, a WebSocket client's stop, 结束 after an interruption): the
        # composition root enqueues ``session.completed`` here
        self.on_stopped = on_stopped
        # session ids whose steps this thread is driving right now: their echoes (the session's
        # own state events) are already written by the caller's transaction
        self._driving = threading.local()
        # pause/resume run on the session's audio thread after the audio already received, so
        # their echoes can come after the driving thread let go: those are expected here
        self._echoes: dict[str, list[tuple[Step, float]]] = {}
        self._echo_lock = threading.Lock()
        if live is not None:
            live.observe(self.on_session_event)

    # -- the desk's steps (inside the route's transaction) -------------------------------------

    def state(self, hearing: Hearing) -> HearingState:
        return HearingState(hearing.status)

    def _apply(self, hearing: Hearing, step: Step, tx: Session | None = None) -> HearingState:
        current = self.state(hearing)
        target = next_state(current, step)
        hearing.status = target.value
        if target is H.STOPPED and current is not H.STOPPED and self.on_stopped is not None:
            session = tx if tx is not None else Session.object_session(hearing)
            if session is not None:
                self.on_stopped(session, hearing)
        return target

    def _require_live(self) -> LiveService:
        if self.live is None:
            raise SessionError("the live-session engine is not running on this server",
                               fix="start it with `scribe serve` (models loaded)")
        return self.live

    def record(self, tx: Session, hearing: Hearing, start: LiveStart, who: Principal | str,
               *, via: str = "desk") -> str:
        """Record (or resume): opens the hearing's live session; returns its id.

        Every way audio starts or resumes comes through here (the desk's Record, the
        WebSocket's ``start`` and ``resume``): the one consent check, the one status change
        and the one audit entry."""
        current = self.state(hearing)
        next_state(current, S.RECORD)  # refuse before touching the engine
        consent.require(hearing)
        live = self._require_live()
        with self._drive(live.session_id_for(hearing.id)):
            session_id = live.open(start)
            if current is H.PAUSED:
                self._expect(session_id, S.RECORD)
                live.resume(session_id)
        hearing.live_session_id = session_id
        self._apply(hearing, S.RECORD)
        self._audit(tx, hearing, who, "resume" if current is H.PAUSED else "start", via=via)
        return session_id

    def socket_step(self, session_id: str, who: Principal | str, op: str) -> None:
        """The live WebSocket's ``start`` (attach as the audio source) and ``resume``, checked
        and recorded as the desk's Record is. Raises ``SessionError`` when refused."""
        live = self._require_live()
        with self.db.transaction() as tx:
            hearing = tx.scalar(select(Hearing).where(Hearing.live_session_id == session_id))
            if hearing is None:
                raise SessionError("this live session belongs to no hearing",
                                   fix="open the hearing's desk page and press Record")
            current = self.state(hearing)
            if op == "start" and current is H.PAUSED:
                # attaching to a paused session keeps nothing until resume (checked then)
                self._audit(tx, hearing, who, "attach", via="websocket")
                return
            if current not in RECORDING_STATES:
                raise SessionError(f"cannot {op}: the hearing is {current.value}",
                                   fix="press Record on the desk page")
            consent.require(hearing)
            if op == "resume" and current is H.PAUSED:
                with self._drive(session_id):
                    self._expect(session_id, S.RECORD)
                    live.resume(session_id)
            self._apply(hearing, S.RECORD)
            self._audit(tx, hearing, who, "resume" if op == "resume" else "attach", via="websocket")

    def enforce_consent(self, tx: Session, hearing: Hearing, who: Principal | str, reason: str) -> bool:
        """A refusal, or a party added or changed, while the hearing records: it pauses at
        once, and the desk hears why. True when it paused."""
        if self.state(hearing) is not H.RECORDING or consent.all_consented(hearing):
            return False
        sid = self.pause(hearing)
        names = "、".join(r.party.get("name") or "" for r in consent.missing(hearing))
        self._audit(tx, hearing, who, "pause", via="consent", reason=reason)
        if self.live is not None:
            self.live.notify(sid, "consent_paused",
                             f"录音已暂停：{names} 尚未同意录音（{_REASONS.get(reason, reason)}）。"
                             "宣读录音告知并确认同意后才能继续录音。",
                             reason=reason, names=names)
        return True

    def _audit(self, tx: Session, hearing: Hearing, who: Principal | str, step: str, **detail: str) -> None:
        from scribe.accounts import audit
        from scribe.accounts.audit import Action

        audit.record(tx, who, Action.RECORD, "hearing", hearing.id, office=hearing.office, step=step, **detail)

    def pause(self, hearing: Hearing) -> str:
        return self._control(hearing, S.PAUSE)

    def stop(self, hearing: Hearing) -> str:
        """Stop: the audio is sealed now, the final pass follows in the background."""
        return self._control(hearing, S.STOP)

    def _control(self, hearing: Hearing, step: Step) -> str:
        if not hearing.live_session_id:
            raise SessionError("this hearing has not been recorded yet", fix="press Record first")
        next_state(self.state(hearing), step)
        live = self._require_live()
        sid = hearing.live_session_id
        with self._drive(sid):
            if step is S.PAUSE:
                self._expect(sid, S.PAUSE)
                live.pause(sid)
            else:
                live.stop(sid)
        self._apply(hearing, step)
        return sid

    def drafted(self, hearing: Hearing) -> None:
        self._apply(hearing, S.DRAFT)

    def approved(self, hearing: Hearing) -> None:
        self._apply(hearing, S.APPROVE)

    def returned(self, hearing: Hearing) -> None:
        self._apply(hearing, S.RETURN)

    def delivered(self, hearing: Hearing) -> None:
        if (self.state(hearing), S.DELIVER) in TRANSITIONS:
            self._apply(hearing, S.DELIVER)

    def require_not_recording(self, hearing: Hearing, doing: str) -> None:
        if self.state(hearing) in RECORDING_STATES:
            raise SessionError(f"the hearing is being recorded — {doing} after it is stopped",
                               fix="press Stop first")

    def _expect(self, session_id: str, step: Step) -> None:
        with self._echo_lock:
            self._echoes.setdefault(session_id, []).append((step, time.monotonic() + _ECHO_WAIT_S))

    def _is_echo(self, session_id: str, step: Step) -> bool:
        now = time.monotonic()
        with self._echo_lock:
            pending = [(s, until) for s, until in self._echoes.get(session_id, []) if until > now]
            hit = next((i for i, (s, _) in enumerate(pending) if s is step), None)
            if hit is not None:
                del pending[hit]
            if pending:
                self._echoes[session_id] = pending
            else:
                self._echoes.pop(session_id, None)
        return hit is not None

    @contextmanager
    def _drive(self, session_id: str) -> Iterator[None]:
        driving: set[str] = getattr(self._driving, "ids", set())
        self._driving.ids = driving | {session_id}
        try:
            yield
        finally:
            self._driving.ids = driving

    # -- what the live sessions report (their threads; own transaction) ------------------------

    def on_session_event(self, event: Event) -> None:
        """A session's state event moves its hearing (WebSocket ops, crashes, the CLI)."""
        if not isinstance(event.payload, StatePayload):
            return
        step = SESSION_STEPS.get(event.payload.state)
        if step is None:
            return
        # an expected echo is used up even when it came synchronously to its driving thread,
        # so that it cannot swallow a later step of the same kind that nobody here drove
        expected = self._is_echo(event.session, step)
        if expected or event.session in getattr(self._driving, "ids", ()):
            return
        try:
            with self.db.transaction() as tx:
                self._report(tx, event.session, step)
        except Exception:  # noqa: BLE001 - never stop a recording; start-up recovery re-checks
            log.exception("could not record a live session's state on its hearing")

    def _report(self, tx: Session, session_id: str, step: Step) -> None:
        hearing = tx.scalar(select(Hearing).where(Hearing.live_session_id == session_id))
        if hearing is None:
            return  # a session of the CLI or a bare WebSocket client: no hearing to move
        current = self.state(hearing)
        if step is S.RECORD and current is H.PAUSED and not consent.all_consented(hearing):
            # audio resumed around the consent check (it should not happen): pause it again
            log.warning("a live session resumed without every party's consent; pausing it")
            if self.live is not None:
                self._expect(session_id, S.PAUSE)
                self.live.pause(session_id)
            return
        target = TRANSITIONS.get((current, step))
        if target is None or target is current:
            if target is None and current not in (H.STOPPED, H.INTERRUPTED):
                log.warning("a live session reported %s while its hearing is %s", step, current)
            return
        self._apply(hearing, step, tx)
        from scribe.accounts import audit
        from scribe.accounts.audit import Action

        audit.record(tx, "live-session", Action.RECORD, "hearing", hearing.id,
                     office=hearing.office, step=step.value)

    # -- start-up ------------------------------------------------------------------------------

    def recover(self) -> list[Recovered]:
        """Find hearings a crash left recording, seal their sessions (audio up to the last
        write, every final kept), mark them interrupted and run the final passes that never
        ran to the end. Called by the server's lifespan before it takes requests."""
        live = self.live
        sealed: list[str] = []
        if live is not None:
            for meta in live.recover_unfinished():  # each reports "interrupted" to us
                sealed.append(meta.id)
        with self.db.transaction() as tx:
            cut_off = tx.scalars(select(Hearing).where(
                Hearing.status.in_([s.value for s in RECORDING_STATES]))).all()
            for hearing in cut_off:
                # nothing records before start-up ends: whatever says "recording" was cut off
                hearing.status = next_state(self.state(hearing), S.CRASH).value
            moved = [h for h in tx.scalars(select(Hearing).where(Hearing.live_session_id.in_(sealed))).all()
                     if h.status == H.INTERRUPTED.value]
            found = []
            for hearing in {h.id: h for h in [*cut_off, *moved]}.values():
                sid = hearing.live_session_id or ""
                state = live.state(sid) if (live is not None and sid in sealed) else {}
                found.append(Recovered(hearing.id, sid, state.get("interrupted_at"),
                                       float(state.get("recovered_seconds") or 0.0)))
            # an interrupted hearing waits for staff at the desk: 继续录音 records on into its
            # session, 结束 runs its final pass (running it now would lock the session)
            waiting = set(tx.scalars(select(Hearing.live_session_id).where(
                Hearing.status == H.INTERRUPTED.value)).all())
        if live is not None:
            for session_id in live.resumable():
                if session_id not in waiting:
                    live.finish_later(session_id)
        return found

