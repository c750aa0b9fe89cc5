"""Hearing sessions: list/search, create, read, change, delete; consent; speakers; recording."""

from __future__ import annotations

import datetime as dt
import struct
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Header, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from scribe.accounts import audit
from scribe.accounts.audit import Action
from scribe.accounts.principal import Principal, Scope
from scribe.errors import ApiError, SessionError
from scribe.storage import utcnow
from scribe.web import hearings
from scribe.web.auth import Tx, require
from scribe.web.casefile_map import to_casefile
from scribe.lifecycle import HearingLifecycle, HearingState
from scribe.services import AppServices, services
from scribe.web.models import Hearing
from scribe.live.service import LiveService, LiveStart
from scribe.web.schemas import (
    ConsentIn,
    ConsentOut,
    CorrectionIn,
    ErrorOut,
    HearingIn,
    HearingKind,
    HearingList,
    HearingOut,
    HearingPatch,
    SpeakerIn,
)

router = APIRouter(prefix="/api/hearings", tags=["hearings"])
Reader = Annotated[Principal, Depends(require(Scope.SESSIONS_READ))]
Writer = Annotated[Principal, Depends(require(Scope.SESSIONS_WRITE))]
Streamer = Annotated[Principal, Depends(require(Scope.SESSIONS_WRITE, Scope.LIVE_STREAM))]
Admin = Annotated[Principal, Depends(require(Scope.ADMIN))]
R: dict[int | str, dict[str, Any]] = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}}
R409: dict[int | str, dict[str, Any]] = {**R, 409: {"model": ErrorOut}}
LABEL = r"^[\w\-]{1,40}$"  # diarization labels: SPEAKER_00, 说话人1, an enrolled name


def get_live(app: Annotated[AppServices, Depends(services)]) -> LiveService:
    live = app.live
    if live is None:
        raise HTTPException(
            503, detail="the live-session engine is not running on this server — start it with `scribe serve` (models loaded)"
        )
    return live


def get_lifecycle(app: Annotated[AppServices, Depends(services)]) -> HearingLifecycle:
    return app.lifecycle


Live = Annotated[LiveService, Depends(get_live)]
Lifecycle = Annotated[HearingLifecycle, Depends(get_lifecycle)]


@router.get("", response_model=HearingList, responses=R, summary="List and search hearings of your office")
def list_hearings(
    who: Reader,
    tx: Tx,
    q: Annotated[str, Query(max_length=100, description="case number, party name or title")] = "",
    case_number: Annotated[str, Query(max_length=64)] = "",
    party: Annotated[str, Query(max_length=64)] = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    category: Annotated[str, Query(max_length=32)] = "",
    status: HearingState | None = None,
    kind: HearingKind | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> HearingList:
    total, rows = hearings.search(
        tx, who, q=q, case_number=case_number, party=party, date_from=date_from, date_to=date_to,
        category=category, status=status.value if status else "", kind=kind.value if kind else "",
        limit=limit, offset=offset,
    )  # fmt: skip
    # each hearing shown (parties' names, phones, addresses) is a read; the search terms are not logged
    audit.record_reads(tx, who, "hearing", ((h.id, h.office) for h in rows), via="list")
    return HearingList(total=total, items=[hearings.to_out(h) for h in rows])


@router.post("", response_model=HearingOut, status_code=201, responses=R409, summary="Create a hearing session")
def create_hearing(body: HearingIn, who: Writer, tx: Tx) -> HearingOut:
    if who.office == "*":
        raise ApiError(409, "office_all", "an all-offices account cannot own a hearing",
                       fix="log in as a member of the office")
    hearing = hearings.create(tx, who, body)
    audit.record(tx, who, Action.CREATE, "hearing", hearing.id, office=hearing.office)
    return hearings.to_out(hearing)


@router.get("/{hearing_id}", response_model=HearingOut, responses=R, summary="Read a hearing")
def get_hearing(hearing_id: str, who: Reader, tx: Tx) -> HearingOut:
    hearing = hearings.get_visible(tx, who, hearing_id)
    audit.record(tx, who, Action.VIEW, "hearing", hearing.id, office=hearing.office)
    return hearings.to_out(hearing)


@router.patch("/{hearing_id}", response_model=HearingOut, responses=R409, summary="Change case data")
def patch_hearing(hearing_id: str, body: HearingPatch, who: Writer, tx: Tx, request: Request) -> HearingOut:
    hearing = hearings.get_visible(tx, who, hearing_id)
    before = len(hearing.parties or [])
    changed = hearings.update(tx, hearing, body)
    if {"parties", "hotwords", "place"} & set(changed):
        _send_hotwords(request, hearing)
    audit.record(tx, who, Action.CHANGE, "hearing", hearing.id, office=hearing.office, fields=changed)
    if "parties" in changed:  # a new or changed party has not consented: recording pauses
        services(request).lifecycle.enforce_consent(
            tx, hearing, who, "party_added" if len(hearing.parties) > before else "party_changed")
    return hearings.to_out(hearing)


def _hotwords(hearing: Hearing) -> tuple[str, ...]:
    """The hearing's own words first, then what the office's reviewers taught the lexicon."""
    from sqlalchemy.orm import object_session

    from scribe.review.lexicon import office_hotwords

    tx = object_session(hearing)
    learnt = office_hotwords(tx, hearing.office) if tx is not None else []
    return tuple(dict.fromkeys([*hearings.recognition_hotwords(hearing), *learnt]))


def _send_hotwords(request: Request, hearing: Hearing) -> None:
    """A name or place corrected while the hearing is being recorded reaches the live decodes
    and the final pass, not only the next recording."""
    live = services(request).live  # none on a server without models: nothing is recording then
    if live is not None and hearing.live_session_id and \
            hearing.status in (HearingState.RECORDING.value, HearingState.PAUSED.value):
        live.set_hotwords(hearing.live_session_id, _hotwords(hearing))


@router.delete("/{hearing_id}", status_code=204, responses={**R409, 500: {"model": ErrorOut}},
               summary="Delete a hearing with its recording, drafts, documents and queued messages (admin)")
def delete_hearing(hearing_id: str, who: Admin, request: Request, lifecycle: Lifecycle) -> Response:
    """Everything that holds the hearing's personal data goes (``scribe.privacy.deletion``);
    webhook messages already delivered keep only ids and hashes. Works on a server without the
    live engine. A file that cannot be removed answers 500 naming it (the records are gone by
    then and the file stays on the retry list)."""
    from scribe.privacy.deletion import delete_hearing as delete_all

    app = services(request)

    def visible(tx: Any, hid: str) -> Hearing:
        hearing = hearings.get_visible(tx, who, hid)
        lifecycle.require_not_recording(hearing, "delete it")
        return hearing

    from scribe.privacy.deletion import DeletionIncomplete

    try:
        delete_all(app.db, app.settings, who, hearing_id, live=app.live, visible=visible)
    except DeletionIncomplete as exc:
        raise HTTPException(500, detail=f"{exc.message} — {exc.fix}") from exc
    return Response(status_code=204)


@router.post("/{hearing_id}/consent", response_model=ConsentOut, status_code=201, responses=R409, summary="Record a party's consent to recording")
def record_consent(hearing_id: str, body: ConsentIn, who: Writer, tx: Tx, lifecycle: Lifecycle) -> ConsentOut:
    hearing = hearings.get_visible(tx, who, hearing_id)
    if who.kind != "user":
        raise HTTPException(403, detail="consent must be confirmed by a person logged in at the desk")
    c = hearings.record_consent(tx, who, hearing, body)
    audit.record(tx, who, Action.CONSENT, "hearing", hearing.id, office=hearing.office, party=c.party_id,
                 party_index=c.party_index, consented=c.consented, notice=c.notice_version)
    if not c.consented:  # a refusal while recording pauses it at once
        lifecycle.enforce_consent(tx, hearing, who, "consent_refused")
    return ConsentOut(
        party_index=c.party_index, party_id=c.party_id, party_name=c.party_name, consented=c.consented,
        notice_version=c.notice_version, confirmed_by_name=c.confirmed_by_name, at=c.at,
    )  # fmt: skip


@router.put("/{hearing_id}/speakers/{label}", response_model=HearingOut, responses=R, summary="Say who a speaker label is")
def set_speaker(
    hearing_id: str, label: Annotated[str, PathParam(pattern=LABEL)], body: SpeakerIn, who: Writer, tx: Tx,
    request: Request,
) -> HearingOut:
    hearing = hearings.get_visible(tx, who, hearing_id)
    hearings.set_speaker(hearing, label, body)
    _send_hotwords(request, hearing)
    audit.record(tx, who, Action.CHANGE, "hearing", hearing.id, office=hearing.office, fields=["speakers"])
    return hearings.to_out(hearing)


class StaffOut(BaseModel):
    name: str = Field(description="the name documents print (display name, else user name)")
    role: str = Field(description="mediator | reviewer")


@router.get("/{hearing_id}/staff", response_model=list[StaffOut], responses=R,
            summary="Staff accounts of the hearing's office (the names 人民调解员/接待人 are picked from)")
def office_staff(hearing_id: str, who: Reader, tx: Tx) -> list[StaffOut]:
    from sqlalchemy import select

    from scribe.accounts.models import User

    hearing = hearings.get_visible(tx, who, hearing_id)
    users = tx.scalars(
        select(User).where(User.office == hearing.office, User.active.is_(True), User.role.in_(("mediator", "reviewer")))
        .order_by(User.role, User.display_name, User.username)
    )
    return [StaffOut(name=u.display_name or u.username, role=u.role) for u in users]


# -- recording ----------------------------------------------------------------------------
def _live_out(live: LiveService, hearing_out: HearingOut, session_id: str) -> dict[str, Any]:
    return {"hearing": hearing_out.model_dump(mode="json"), "live_session_id": session_id,
            "websocket": live.websocket_path(session_id), "engine": live.state(session_id)}  # fmt: skip


@router.post("/{hearing_id}/record", responses=R409, summary="Start (or resume) recording; refused before every party consented")
def start_recording(hearing_id: str, who: Streamer, tx: Tx, lifecycle: Lifecycle, request: Request) -> dict[str, Any]:
    hearing = hearings.get_visible(tx, who, hearing_id)
    start = LiveStart(
        hearing_id=hearing.id, language=hearing.language, hotwords=_hotwords(hearing),
        casefile=to_casefile(hearing), office=hearing.office,
    )  # fmt: skip
    # the consent check, the status change and the audit entry: one call, as the WebSocket's
    session_id = lifecycle.record(tx, hearing, start, who)
    return _live_out(get_live(services(request)), hearings.to_out(hearing), session_id)


@router.post("/{hearing_id}/pause", responses=R409, summary="Pause recording")
def pause_recording(hearing_id: str, who: Streamer, tx: Tx, lifecycle: Lifecycle, live: Live) -> dict[str, Any]:
    hearing = hearings.get_visible(tx, who, hearing_id)
    sid = lifecycle.pause(hearing)
    audit.record(tx, who, Action.RECORD, "hearing", hearing.id, office=hearing.office, step="pause")
    return _live_out(live, hearings.to_out(hearing), sid)


@router.post("/{hearing_id}/stop", responses=R409, summary="Stop recording; the final pass follows; session.completed is sent")
def stop_recording(
    hearing_id: str, who: Streamer, tx: Tx, lifecycle: Lifecycle, live: Live
) -> dict[str, Any]:
    hearing = hearings.get_visible(tx, who, hearing_id)
    sid = lifecycle.stop(hearing)  # session.completed is enqueued by the lifecycle's on_stopped
    audit.record(tx, who, Action.RECORD, "hearing", hearing.id, office=hearing.office, step="stop")
    return _live_out(live, hearings.to_out(hearing), sid)


@router.get("/{hearing_id}/live", responses=R, summary="State of the live session (recording, final pass progress)")
def live_state(hearing_id: str, who: Reader, tx: Tx, live: Live) -> dict[str, Any]:
    hearing = hearings.get_visible(tx, who, hearing_id)
    if not hearing.live_session_id:
        return {"state": "not_started", "final_ready": False}
    return live.state(hearing.live_session_id)


# -- transcript and audio -----------------------------------------------------------------
@router.get("/{hearing_id}/transcript", responses=R, summary="The transcript, with staff corrections beside the original")
def get_transcript(hearing_id: str, who: Reader, tx: Tx, live: Live) -> dict[str, Any]:
    hearing = hearings.get_visible(tx, who, hearing_id)
    data = live.transcript(hearing.live_session_id) if hearing.live_session_id else None
    audit.record(tx, who, Action.VIEW, "transcript", hearing.id, office=hearing.office)
    if data is None:
        return {"segments": [], "corrections": {}, "speakers": hearing.speakers or {}}
    from scribe.review.transcript_edits import by_segment

    corrections = by_segment(hearing.corrections, list(data.get("segments") or []))
    return {**data, "corrections": corrections, "speakers": hearing.speakers or {}}


@router.put("/{hearing_id}/transcript/segments/{index}", responses=R409, summary="Correct one transcript segment (the original is kept)")
def correct_segment(hearing_id: str, index: Annotated[int, PathParam(ge=0, le=1_000_000)], body: CorrectionIn, who: Annotated[Principal, Depends(require(Scope.DOCUMENTS_WRITE))], tx: Tx, live: Live) -> dict[str, Any]:
    hearing = hearings.get_visible(tx, who, hearing_id)
    data = live.transcript(hearing.live_session_id) if hearing.live_session_id else None
    if data is None:
        raise SessionError("this hearing has no transcript yet", fix="record the hearing first")
    segments = data.get("segments") or []
    if not 0 <= index < len(segments):
        raise HTTPException(404, detail=f"the transcript has no segment {index}")
    from scribe.review import transcript_edits as edits

    state = edits.state_of(hearing.corrections, segments)
    turn = next((t for t in state["turns"] if t["pieces"] and t["pieces"][0][0] == index), None)
    if turn is None:
        raise SessionError(f"segment {index} is now part of another turn", fix="correct it on the review page")
    now = utcnow().isoformat()
    edits.edit_text(state, segments, turn["id"], body.text, by=who.name, at=now)
    hearing.corrections = state
    audit.record(tx, who, Action.CHANGE, "transcript", hearing.id, office=hearing.office, segment=index)
    return {"original": edits.original_text(turn, segments), "text": edits.current_text(turn, segments), "by": who.name, "at": now}


@router.get(
    "/{hearing_id}/audio",
    responses={**R, 200: {"content": {"audio/wav": {}}}, 410: {"model": ErrorOut}},
    response_class=StreamingResponse,
    summary="The recording, or a span of it (start/end in seconds), as WAV",
)
def get_audio(
    hearing_id: str,
    who: Reader,
    tx: Tx,
    live: Live,
    request: Request,
    start: Annotated[float, Query(ge=0, le=86_400)] = 0.0,
    end: Annotated[float | None, Query(ge=0, le=86_400)] = None,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
) -> StreamingResponse:
    hearing = hearings.get_visible(tx, who, hearing_id)
    path = live.audio_path(hearing.live_session_id) if hearing.live_session_id else None
    if path is None:
        from scribe.privacy.retention import purge_marker

        purged = purge_marker(request.app.state.settings, hearing.live_session_id)
        if purged is not None:
            raise HTTPException(410, detail=f"the recording was deleted on {purged['purged_at'][:10]} after the "
                                            f"office's retention period ({purged['retention_days']:g} days) — the "
                                            "transcript and documents are kept")  # fmt: skip
        raise HTTPException(404, detail="this hearing has no recording yet")
    with wave.open(str(path), "rb") as wav:
        rate = wav.getframerate()
        total = wav.getnframes()
        first = min(int(start * rate), total)
        last = total if end is None else max(first, min(int(end * rate), total))
        params = wav.getparams()
    size = params.sampwidth * params.nchannels
    header = _wav_header(params.nchannels, params.sampwidth, params.framerate, (last - first) * size)
    total_bytes = len(header) + (last - first) * size
    # a byte range (the review page's player seeks in the whole recording: words are clicked
    # anywhere in it); one range, as players ask
    wanted = _byte_range(range_header, total_bytes)
    lo, hi = wanted if wanted is not None else (0, total_bytes - 1)
    audit.record(tx, who, Action.EXPORT, "audio", hearing.id, office=hearing.office, start=start, end=end,
                 bytes=f"{lo}-{hi}")
    headers = {"Content-Length": str(hi - lo + 1), "Accept-Ranges": "bytes"}
    if wanted is not None:
        headers["Content-Range"] = f"bytes {lo}-{hi}/{total_bytes}"
    return StreamingResponse(
        _wav_span(path, header, first, last, size, lo, hi), media_type="audio/wav",
        status_code=206 if wanted is not None else 200, headers=headers,
    )  # fmt: skip


def _byte_range(value: str | None, total: int) -> tuple[int, int] | None:
    """``bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` as (first, last) inclusive; None: the whole."""
    import re

    m = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", value or "")
    if m is None or (not m.group(1) and not m.group(2)) or total <= 0:
        return None
    if not m.group(1):
        lo, hi = max(0, total - int(m.group(2))), total - 1
    else:
        lo, hi = int(m.group(1)), min(int(m.group(2)) if m.group(2) else total - 1, total - 1)
    if lo > hi:
        raise HTTPException(416, detail="录音没有这段字节")
    return lo, hi


def _wav_header(channels: int, width: int, rate: int, data_bytes: int) -> bytes:
    """A PCM WAV header for ``data_bytes`` of samples that follow (the wave module can only
    write one after the samples)."""
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + data_bytes, b"WAVE", b"fmt ", 16, 1, channels, rate,
        rate * channels * width, channels * width, width * 8, b"data", data_bytes,
    )


def _wav_span(path: Path, header: bytes, first: int, last: int, frame_bytes: int, lo: int = 0,
              hi: int | None = None) -> Iterator[bytes]:
    """Bytes ``lo``..``hi`` of the span as a WAV file (header, then frames), streamed from the
    file in pieces: a 3 h hearing is about 350 MB, and a whole span held in memory (twice, as
    the route used to) would take that per listener."""
    hi = len(header) + (last - first) * frame_bytes - 1 if hi is None else hi
    if lo < len(header):
        yield header[lo:hi + 1]
    skip = max(0, lo - len(header))  # bytes of samples before the range
    left = hi + 1 - len(header) - skip  # bytes of samples in it
    if left <= 0:
        return
    with wave.open(str(path), "rb") as wav:
        wav.setpos(first + skip // frame_bytes)
        cut = skip % frame_bytes
        while left > 0:
            frames = wav.readframes(min((left + cut) // frame_bytes + 1, _AUDIO_CHUNK_FRAMES))
            if not frames:
                return  # the file was cut short under us: the client sees a short body
            piece = frames[cut:cut + left]
            cut = 0
            left -= len(piece)
            yield piece


_AUDIO_CHUNK_FRAMES = 16_000 * 4  # 4 s of 16 kHz: 128 KB per piece
