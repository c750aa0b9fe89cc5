"""The transcript editor's routes: the turns with their words, a line retyped, the speaker of one
turn, a turn split or merged, find and replace across the hearing. Every edit keeps the
recogniser's original beside it (``scribe.review.transcript_edits``), is audited (which edit,
which turn: never the text), and teaches the office's lexicon the names and terms typed in
(``scribe.review.lexicon``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi import Path as PathParam
from pydantic import Field
from sqlalchemy import select

from scribe.accounts import audit
from scribe.accounts.audit import Action
from scribe.accounts.principal import Principal, Scope
from scribe.errors import SessionError
from scribe.review import lexicon
from scribe.review import transcript_edits as edits
from scribe.storage import utcnow
from scribe.web import hearings
from scribe.web.api_hearings import Live
from scribe.web.auth import Tx, require
from scribe.web.models import Hearing
from scribe.web.schemas import ErrorOut, SpeakerRole, Strict

router = APIRouter(prefix="/api/hearings/{hearing_id}/transcript", tags=["transcript"])
Reader = Annotated[Principal, Depends(require(Scope.SESSIONS_READ))]
Editor = Annotated[Principal, Depends(require(Scope.DOCUMENTS_WRITE))]
R: dict[int | str, dict[str, Any]] = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut},
                                      409: {"model": ErrorOut}, 422: {"model": ErrorOut}}
TURN = r"^t\d{1,7}$"
TurnId = Annotated[str, PathParam(pattern=TURN)]


class TextIn(Strict):
    text: str = Field(min_length=1, max_length=5000)


class TurnSpeakerIn(Strict):
    """A person picked from the hearing's parties and the office's staff (or a label)."""

    role: SpeakerRole | None = None
    name: str = Field(default="", max_length=128)
    label: str | None = Field(default=None, pattern=r"^[\w\-]{1,40}$")


class SplitIn(Strict):
    at: int = Field(ge=1, le=5000, description="the character of the turn's current text the second turn starts with")


class ReplaceIn(Strict):
    find: str = Field(min_length=1, max_length=200)
    replace: str = Field(default="", max_length=200)


def _segments(live: Any, hearing: Hearing) -> list[dict[str, Any]]:
    data = live.transcript(hearing.live_session_id) if hearing.live_session_id else None
    if not data or not data.get("segments"):
        raise SessionError("这次调解还没有记录文字", fix="录音并结束后再更正")
    return list(data["segments"])


def _people(tx: Tx, hearing: Hearing) -> list[dict[str, str]]:
    """Whom a turn may be given to: the parties, the named speakers, the office's staff."""
    from scribe.accounts.models import User

    out: list[dict[str, str]] = []
    for p in hearing.parties or []:
        out.append({"role": str(p.get("role") or "other"), "name": str(p.get("name") or "")})
    for who in (hearing.speakers or {}).values():
        out.append({"role": str(who.get("role") or "other"), "name": str(who.get("name") or "")})
    staff = tx.scalars(select(User).where(User.office == hearing.office, User.active.is_(True),
                                          User.role.in_(("mediator", "reviewer"))))
    for u in staff:
        out.append({"role": "mediator" if u.role == "mediator" else "staff", "name": u.display_name or u.username})
    seen, unique = set(), []
    for p in out:
        if p["name"] and (p["role"], p["name"]) not in seen:
            seen.add((p["role"], p["name"]))
            unique.append(p)
    return unique


def _view(tx: Tx, hearing: Hearing, segments: list[dict[str, Any]]) -> dict[str, Any]:
    return {**edits.view(hearing.corrections, segments), "speakers": hearing.speakers or {},
            "people": _people(tx, hearing)}


def _edit(tx: Tx, who: Principal, hearing_id: str, live: Any) -> tuple[Hearing, list[dict[str, Any]], dict[str, Any]]:
    hearing = hearings.get_visible(tx, who, hearing_id)
    segments = _segments(live, hearing)
    return hearing, segments, edits.state_of(hearing.corrections, segments)


def _save(hearing: Hearing, state: dict[str, Any]) -> None:
    hearing.corrections = state  # a new object: JSON columns track assignment, not mutation


def _learn(tx: Tx, who: Principal, hearing: Hearing, segments: list[dict[str, Any]], before: str, after: str) -> list[str]:
    people = [p["name"] for p in _people(tx, hearing)]
    recognised = "".join(str(s.get("text", "")) for s in segments)
    learnt = lexicon.learnable(before, after, people=people, recognised=recognised)
    lexicon.learn(tx, hearing.office, learnt, by=who.name, hearing_id=hearing.id)
    return [item.word for item in learnt]


def _turn(tid: str, fn: Any) -> Any:
    try:
        return fn()
    except edits.TurnNotFound as exc:
        raise HTTPException(404, detail=exc.message) from exc


@router.get("/turns", responses=R, summary="The transcript as turns: words with times and certainty, edits beside the original")
def get_turns(hearing_id: str, who: Reader, tx: Tx, live: Live) -> dict[str, Any]:
    hearing = hearings.get_visible(tx, who, hearing_id)
    audit.record(tx, who, Action.VIEW, "transcript", hearing.id, office=hearing.office)
    data = live.transcript(hearing.live_session_id) if hearing.live_session_id else None
    return _view(tx, hearing, list((data or {}).get("segments") or []))


@router.put("/turns/{turn_id}", responses=R, summary="Retype one line (the original is kept)")
def edit_turn(hearing_id: str, turn_id: TurnId, body: TextIn, who: Editor, tx: Tx, live: Live) -> dict[str, Any]:
    hearing, segments, state = _edit(tx, who, hearing_id, live)
    before, after = _turn(turn_id, lambda: edits.edit_text(state, segments, turn_id, body.text, by=who.name,
                                                            at=utcnow().isoformat()))
    _save(hearing, state)
    learnt = _learn(tx, who, hearing, segments, before, after) if before != after else []
    audit.record(tx, who, Action.CHANGE, "transcript", hearing.id, office=hearing.office, op="text", turn=turn_id,
                 learnt=len(learnt))
    return {**_view(tx, hearing, segments), "learnt": learnt}


@router.put("/turns/{turn_id}/speaker", responses=R, summary="Give one turn to another speaker")
def turn_speaker(hearing_id: str, turn_id: TurnId, body: TurnSpeakerIn, who: Editor, tx: Tx, live: Live) -> dict[str, Any]:
    hearing, segments, state = _edit(tx, who, hearing_id, live)
    label = body.label
    if label is None:
        if body.role is None or not body.name.strip():
            raise SessionError("请选择说话人", fix="从当事人和工作人员中选择一人")
        label = _label_for(hearing, body.role.value, body.name.strip())
    elif label not in (hearing.speakers or {}) and not any(s.get("speaker") == label for s in segments):
        raise SessionError(f"没有说话人“{label}”", fix="从列表中选择说话人")
    _turn(turn_id, lambda: edits.set_speaker(state, segments, turn_id, label, by=who.name, at=utcnow().isoformat()))
    _save(hearing, state)
    audit.record(tx, who, Action.CHANGE, "transcript", hearing.id, office=hearing.office, op="speaker", turn=turn_id)
    return _view(tx, hearing, segments)


def _label_for(hearing: Hearing, role: str, name: str) -> str:
    """The label the person already speaks under, or a new one for them (人工1, 人工2 …)."""
    speakers = dict(hearing.speakers or {})
    for label, person in speakers.items():
        if person.get("role") == role and person.get("name") == name:
            return label
    n = 1
    while f"人工{n}" in speakers:
        n += 1
    speakers[f"人工{n}"] = {"role": role, "name": name}
    hearing.speakers = speakers
    return f"人工{n}"


@router.post("/turns/{turn_id}/split", responses=R, summary="Cut a turn in two")
def split_turn(hearing_id: str, turn_id: TurnId, body: SplitIn, who: Editor, tx: Tx, live: Live) -> dict[str, Any]:
    hearing, segments, state = _edit(tx, who, hearing_id, live)
    new = _turn(turn_id, lambda: edits.split(state, segments, turn_id, body.at, by=who.name, at_time=utcnow().isoformat()))
    _save(hearing, state)
    audit.record(tx, who, Action.CHANGE, "transcript", hearing.id, office=hearing.office, op="split", turn=turn_id, new=new)
    return {**_view(tx, hearing, segments), "new": new}


@router.post("/turns/{turn_id}/merge", responses=R, summary="Join a turn onto the one before it")
def merge_turn(hearing_id: str, turn_id: TurnId, who: Editor, tx: Tx, live: Live) -> dict[str, Any]:
    hearing, segments, state = _edit(tx, who, hearing_id, live)
    into = _turn(turn_id, lambda: edits.merge_with_previous(state, segments, turn_id, by=who.name, at=utcnow().isoformat()))
    _save(hearing, state)
    audit.record(tx, who, Action.CHANGE, "transcript", hearing.id, office=hearing.office, op="merge", turn=turn_id, into=into)
    return {**_view(tx, hearing, segments), "into": into}


@router.post("/replace", responses=R, summary="Replace a text everywhere in the hearing")
def replace_all(hearing_id: str, body: ReplaceIn, who: Editor, tx: Tx, live: Live) -> dict[str, Any]:
    hearing, segments, state = _edit(tx, who, hearing_id, live)
    n, touched = edits.replace_all(state, segments, body.find, body.replace, by=who.name, at=utcnow().isoformat())
    learnt: list[str] = []
    if n:
        _save(hearing, state)
        learnt = _learn(tx, who, hearing, segments, body.find, body.replace)
    audit.record(tx, who, Action.CHANGE, "transcript", hearing.id, office=hearing.office, op="replace", count=n,
                 turns=len(touched), learnt=len(learnt))
    return {**_view(tx, hearing, segments), "replaced": n, "learnt": learnt}
