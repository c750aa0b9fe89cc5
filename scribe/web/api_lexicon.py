"""The office lexicon on the admin page: the names, places and terms reviewers taught it (and
those an admin typed), which every later recording of the office gets as hotwords."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi import Path as PathParam
from pydantic import Field

from scribe.accounts import audit
from scribe.accounts.audit import Action
from scribe.accounts.principal import Principal, Scope
from scribe.errors import SessionError
from scribe.review import lexicon
from scribe.web.auth import Tx, require
from scribe.web.schemas import ErrorOut, Strict

router = APIRouter(prefix="/api/lexicon", tags=["lexicon"])
Admin = Annotated[Principal, Depends(require(Scope.ADMIN))]
R: dict[int | str, dict[str, Any]] = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut},
                                      409: {"model": ErrorOut}}
Kind = Literal["name", "place", "term"]
EntryId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]


class EntryIn(Strict):
    word: str = Field(min_length=1, max_length=64)
    kind: Kind = "term"
    office: str | None = Field(default=None, max_length=128, description="an all-offices admin names the office")


class EntryPatch(Strict):
    word: str | None = Field(default=None, min_length=1, max_length=64)
    kind: Kind | None = None
    enabled: bool | None = None


def _office(who: Principal, office: str | None) -> str | None:
    if not who.all_offices:
        return who.office
    return office or None


def _entry(tx: Tx, who: Principal, entry_id: int) -> lexicon.LexiconEntry:
    entry = tx.get(lexicon.LexiconEntry, entry_id)
    if entry is None or (not who.all_offices and entry.office != who.office):
        raise HTTPException(404, detail="词库中没有这个词")
    return entry


@router.get("", responses=R, summary="The office's lexicon (an all-offices admin sees every office's)")
def list_entries(who: Admin, tx: Tx, office: Annotated[str | None, Query(max_length=128)] = None) -> list[dict[str, Any]]:
    rows = lexicon.entries(tx, _office(who, office))
    # names of people are personal data: the read is audited like a hearing's
    audit.record(tx, who, Action.VIEW, "lexicon", office or who.office, office=_office(who, office), entries=len(rows))
    return [e.to_dict() for e in rows]


@router.post("", status_code=201, responses=R, summary="Add a word")
def add_entry(body: EntryIn, who: Admin, tx: Tx) -> dict[str, Any]:
    office = _office(who, body.office)
    if office is None:
        raise SessionError("请选择词语所属的单位", fix="填写单位名称")
    entry = lexicon.add(tx, office, body.word, body.kind, by=who.name)
    audit.record(tx, who, Action.CREATE, "lexicon", entry.id, office=office)
    return entry.to_dict()


@router.patch("/{entry_id}", responses=R, summary="Change a word, its kind, or switch it off")
def change_entry(entry_id: EntryId, body: EntryPatch, who: Admin, tx: Tx) -> dict[str, Any]:
    entry = _entry(tx, who, entry_id)
    lexicon.change(tx, entry, word=body.word, kind=body.kind, enabled=body.enabled)
    audit.record(tx, who, Action.CHANGE, "lexicon", entry.id, office=entry.office)
    return entry.to_dict()


@router.delete("/{entry_id}", status_code=204, responses=R, summary="Remove a word")
def delete_entry(entry_id: EntryId, who: Admin, tx: Tx) -> Response:
    entry = _entry(tx, who, entry_id)
    audit.record(tx, who, Action.DELETE, "lexicon", entry.id, office=entry.office)
    tx.delete(entry)
    return Response(status_code=204)
