"""The caller's office: the staff accounts a new case's mediators and recorder are picked from."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from scribe.accounts.models import User
from scribe.accounts.principal import ALL_OFFICES, Principal, Scope
from scribe.web.auth import Tx, require
from scribe.web.schemas import ErrorOut, OfficeStaffOut

router = APIRouter(prefix="/api", tags=["hearings"])
R: dict[int | str, dict[str, Any]] = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}}


@router.get("/staff", response_model=list[OfficeStaffOut], responses=R,
            summary="Active staff accounts of your office (an all-offices caller names the office)")
def office_staff(
    who: Annotated[Principal, Depends(require(Scope.SESSIONS_READ))], tx: Tx,
    office: Annotated[str, Query(max_length=128)] = "",
) -> list[OfficeStaffOut]:
    wanted = office if (who.office == ALL_OFFICES and office) else who.office
    users = tx.scalars(
        select(User).where(User.office == wanted, User.active.is_(True), User.role.in_(("mediator", "reviewer")))
        .order_by(User.role, User.display_name, User.username)
    )
    return [OfficeStaffOut(user_id=u.id, name=u.display_name or u.username, role=u.role) for u in users]  # type: ignore[arg-type]
