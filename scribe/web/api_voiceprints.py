"""Enrolment of a staff member's own voice (the mediator's voiceprint), from the desk page.

The browser records 5-30 s of the logged-in person speaking alone and sends it as 16 kHz mono
s16le PCM. A voiceprint is biometric data (PIPL Art 28-29): it is stored only with the
person's separate consent, given on the page (``consent=true``) after the notice is shown.
Embedding and storage are the diarize package's (``diarize.voiceprints``); the models load
once, on the first enrolment.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi import Response
from pydantic import BaseModel, Field

from scribe.accounts import audit
from scribe.accounts.audit import Action
from scribe.accounts.principal import ALL_OFFICES, Principal, Scope
from scribe.services import services
from scribe.storage import utcnow
from scribe.web.auth import get_db, require
from scribe.web.schemas import ErrorOut

router = APIRouter(prefix="/api/voiceprints", tags=["voiceprints"])
NOTICE = (
    "声纹仅用于在本所的调解/咨询记录中识别您的发言，存于本机数据库，可随时由管理员删除。"
    " / The voiceprint is used only to recognise your turns in this office's records, is kept in "
    "this machine's database, and can be deleted by an admin at any time."
)
MAX_BYTES = 31 * 16_000 * 2  # 31 s of 16 kHz s16le


class EnrolOut(BaseModel):
    id: str
    name: str
    role: str | None
    speech_seconds: float


@router.post(
    "/me",
    response_model=EnrolOut,
    status_code=201,
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 409: {"model": ErrorOut}, 413: {"model": ErrorOut},
               422: {"model": ErrorOut}, 503: {"model": ErrorOut}},
    openapi_extra={"requestBody": {"required": True, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}},
    summary="Enrol your own voice (5-30 s of 16 kHz s16le PCM); needs consent=true",
)
async def enrol_me(
    request: Request,
    who: Annotated[Principal, Depends(require(Scope.SESSIONS_WRITE))],
    consent: Annotated[bool, Query(description="the person agreed to the voiceprint notice")] = False,
) -> EnrolOut:
    if who.kind != "user":
        raise HTTPException(403, detail="a voiceprint belongs to a person — log in as that person")
    if not consent:
        raise HTTPException(409, detail="a voiceprint needs your separate consent — tick the consent box after reading the notice")
    body = await request.body()
    if len(body) > MAX_BYTES:
        raise HTTPException(413, detail="the recording is longer than 30 s — record 5-30 s")
    if len(body) % 2:
        raise HTTPException(422, detail="the body is not 16-bit PCM (odd length) — send s16le samples")
    samples = np.frombuffer(body, dtype="<i2").astype(np.float32) / 32768.0
    from starlette.concurrency import run_in_threadpool

    app = services(request)

    def work() -> EnrolOut:
        from diarize.voiceprints import Consent, VoiceprintStore, enrolment_embedding

        # off the event loop: the first enrolment on a server without a live engine loads the
        # models (seconds), and every live WebSocket shares this loop
        models = app.diarization_models()
        embedding, speech = enrolment_embedding(models, samples)
        store = VoiceprintStore(get_db(request))
        info = store.enrol(
            name=who.name, role=(who.role.value if who.role else None), embedding=embedding, speech_seconds=speech,
            consent=Consent(given_at=utcnow(), confirmed_by=who.name, notice=NOTICE),
        )  # fmt: skip
        from scribe.privacy.voiceprints import assign

        # the enrolling person's office: only that office's hearings load it
        assign(get_db(request), info.id, None if who.office == ALL_OFFICES else who.office, who.id)
        with get_db(request).transaction() as tx:
            audit.record(tx, who, Action.CREATE, "voiceprint", info.id, office=who.office)
        return EnrolOut(id=info.id, name=info.name, role=info.role, speech_seconds=round(info.speech_seconds, 1))

    return await run_in_threadpool(work)


class VoiceprintOut(BaseModel):
    id: str
    name: str
    role: str | None
    office: str | None = Field(description="null: enrolled on this machine without an office (every office's hearings)")
    speech_seconds: float
    consent_given_at: dt.datetime
    consent_confirmed_by: str
    created_at: dt.datetime
    own: bool = Field(description="the asking person's own voiceprint")


@router.get("", response_model=list[VoiceprintOut], responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
            summary="Voiceprints: an admin sees every office's (or one office's), a person their own")
def list_voiceprints(
    request: Request, who: Annotated[Principal, Depends(require(Scope.SESSIONS_READ))],
    office: Annotated[str | None, Query(max_length=128)] = None,
) -> list[VoiceprintOut]:
    from scribe.privacy.voiceprints import listing

    db = get_db(request)
    out = [VoiceprintOut(**e.__dict__) for e in listing(db, who, office)]
    with db.transaction() as tx:  # a list of biometric records is a read of personal data
        audit.record(tx, who, Action.VIEW, "voiceprints", office or who.office, office=office or who.office, count=len(out))
    return out


@router.delete("/{voiceprint_id}", status_code=204,
               responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}},
               summary="Delete a voiceprint for good (an admin of its office, or the person themself)")
def delete_voiceprint(
    voiceprint_id: Annotated[str, PathParam(max_length=40)], request: Request,
    who: Annotated[Principal, Depends(require(Scope.SESSIONS_READ))],
) -> Response:
    from scribe.errors import DiarizationError
    from scribe.privacy.voiceprints import delete

    try:
        delete(get_db(request), who, voiceprint_id)
    except DiarizationError as exc:
        raise HTTPException(404, detail=f"{exc.message} — {exc.fix}") from exc
    return Response(status_code=204)
