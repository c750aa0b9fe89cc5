"""Privacy routes (admin): erase one party's data from a hearing; the retention policy and a
purge run now (the server also runs it on a schedule). See ``scribe.privacy``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from scribe.accounts.principal import Principal, Scope
from scribe.services import services
from scribe.web import hearings
from scribe.web.auth import require
from scribe.web.schemas import ErrorOut

router = APIRouter(tags=["privacy"])
Admin = Annotated[Principal, Depends(require(Scope.ADMIN))]
R: dict[int | str, dict[str, Any]] = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut},
                                      409: {"model": ErrorOut}}  # fmt: skip


class ErasureOut(BaseModel):
    hearing_id: str
    party_index: int
    replaced: int = Field(description="strings changed over every record of the hearing")
    files_rewritten: int
    files_removed: int = Field(description="rendered documents removed (rendered again from the erased draft)")
    lexicon_removed: int = Field(default=0, description="words of the office lexicon that held the party's data")
    failures: list[str]


@router.post("/api/hearings/{hearing_id}/parties/{party_index}/erase", response_model=ErasureOut, responses=R,
             summary="Erase one party's personal data from the hearing's records (admin)")
def erase_party(
    hearing_id: str, party_index: Annotated[int, PathParam(ge=0, le=100)], who: Admin, request: Request,
) -> ErasureOut:
    from scribe.privacy.erasure import erase_party as erase

    app = services(request)
    report = erase(app.db, app.settings, who, hearing_id, party_index,
                   visible=lambda tx, hid: hearings.get_visible(tx, who, hid))  # fmt: skip
    if report.failures:
        raise HTTPException(500, detail=f"the party was erased from the records, but {len(report.failures)} file(s) "
                                        f"could not be changed: {'; '.join(report.failures[:3])} — fix the permission "
                                        "or disk problem and erase again")  # fmt: skip
    return ErasureOut(**report.as_dict())


class RetentionOut(BaseModel):
    audio_retention_days: dict[str, float] = Field(description='per office; "*" for every other office')
    interval_h: float
    pending_removals: int = Field(description="files of deleted data still to be removed (retried on each run)")


@router.get("/api/retention", response_model=RetentionOut, responses=R, summary="The retention policy (admin)")
def retention_policy(who: Admin, request: Request) -> RetentionOut:
    from sqlalchemy import func, select

    from scribe.privacy.models import PendingRemoval

    app = services(request)
    with app.db.transaction() as tx:
        pending = tx.scalar(select(func.count()).select_from(PendingRemoval)) or 0
    return RetentionOut(audio_retention_days=dict(app.settings.server.audio_retention_days),
                        interval_h=app.settings.server.retention_interval_h, pending_removals=int(pending))  # fmt: skip


class PurgeOut(BaseModel):
    purged: list[str]
    bytes_freed: int
    kept: int
    failures: list[str]
    retried: int


@router.post("/api/retention/purge", response_model=PurgeOut, responses=R,
             summary="Purge the audio of closed hearings past their office's retention period now (admin)")
async def purge_now(who: Admin, request: Request) -> PurgeOut:
    from starlette.concurrency import run_in_threadpool

    from scribe.privacy.retention import purge_audio

    app = services(request)
    report = await run_in_threadpool(purge_audio, app.db, app.settings, actor=who.actor)
    return PurgeOut(**report.as_dict())
