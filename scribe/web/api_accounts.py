"""Login, logout, who-am-I; users, API tokens and the audit log (admin)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from sqlalchemy import select

from scribe.accounts import audit, service
from scribe.accounts.audit import Action
from scribe.accounts.models import ApiToken, AuditEvent, User
from scribe.accounts.principal import Principal, Scope
from scribe.storage import utcnow
from scribe.web.auth import COOKIE, CurrentPrincipal, Tx, client_ip, require
from scribe.web.schemas import (
    AuditOut,
    ErrorOut,
    LoginIn,
    MeOut,
    TokenCreated,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    UserPatch,
)

router = APIRouter(prefix="/api", tags=["accounts"])
DbId = Annotated[int, Path(ge=1, le=2**31 - 1, description="a row id")]  # larger ids overflow the database
Admin = Annotated[Principal, Depends(require(Scope.ADMIN))]
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}}


def _me(p: Principal) -> MeOut:
    return MeOut(
        kind=p.kind, name=p.name, office=p.office, role=p.role, scopes=sorted(p.scopes), csrf_token=p.csrf_token
    )


def _user_out(u: User) -> UserOut:
    return UserOut(
        id=u.id, username=u.username, display_name=u.display_name, role=u.role, office=u.office, active=u.active  # type: ignore[arg-type]
    )


def _token_out(t: ApiToken) -> TokenOut:
    return TokenOut(
        id=t.id, name=t.name, prefix=t.prefix, scopes=t.scopes, office=t.office, created_at=t.created_at,
        expires_at=t.expires_at, revoked_at=t.revoked_at, last_used_at=t.last_used_at,
    )  # fmt: skip


@router.post(
    "/auth/login",
    response_model=MeOut,
    responses={401: {"model": ErrorOut}, 429: {"model": ErrorOut}},
    summary="Log in with user name and password; sets the session cookie",
)
def login(body: LoginIn, request: Request, response: Response, tx: Tx) -> MeOut:
    settings = request.app.state.settings
    throttle = request.app.state.login_throttle
    ip = client_ip(request) or "?"
    keys = (f"user:{body.username.strip().lower()}", f"ip:{ip}")
    wait = throttle.retry_after(*keys)
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail="too many failed logins — wait a few minutes, or ask an admin to reset the password",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    user = service.authenticate(tx, body.username, body.password)
    if user is None:
        throttle.failed(*keys)
        # its own transaction: the request's own one rolls back with the 401 below.
        # The user name is not logged: it may be a password typed in the wrong box.
        with request.app.state.db.transaction() as own:
            audit.record(own, "anonymous", Action.LOGIN_FAILED, "user", "?", client=ip)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="wrong user name or password")
    throttle.succeeded(*keys)
    cookie, row = service.start_login_session(tx, user, settings.server.login_session_hours)
    principal = service.user_principal(user, row)
    audit.record(tx, principal, Action.LOGIN, "user", user.id, office=user.office, client=ip)
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=int(settings.server.login_session_hours * 3600),
        httponly=True,
        secure=request.app.state.cookie_secure,
        samesite="strict",
        path="/",
    )
    return _me(principal)


@router.post("/auth/logout", status_code=204, responses=AUTH_RESPONSES, summary="End this browser's login")
def logout(principal: CurrentPrincipal, tx: Tx, response: Response) -> Response:
    if principal.login_session_id:
        service.end_login_session(tx, principal.login_session_id)
        audit.record(tx, principal, Action.LOGOUT, "user", principal.id, office=principal.office)
    response.status_code = 204
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/auth/me", response_model=MeOut, responses=AUTH_RESPONSES, summary="Who is logged in")
def me(principal: CurrentPrincipal) -> MeOut:
    return _me(principal)


# -- users (admin) ------------------------------------------------------------------------
@router.get("/users", response_model=list[UserOut], responses=AUTH_RESPONSES, summary="List users")
def list_users(admin: Admin, tx: Tx) -> list[UserOut]:
    return [_user_out(u) for u in tx.scalars(select(User).order_by(User.id))]


@router.post("/users", response_model=UserOut, status_code=201, responses={**AUTH_RESPONSES, 400: {"model": ErrorOut}}, summary="Create a user")
def create_user(body: UserIn, admin: Admin, tx: Tx) -> UserOut:
    user = service.create_user(tx, body.username, body.password, body.role, body.office, body.display_name)
    audit.record(tx, admin, Action.CREATE, "user", user.id, office=user.office, role=user.role)
    return _user_out(user)


@router.patch("/users/{user_id}", response_model=UserOut, responses={**AUTH_RESPONSES, 404: {"model": ErrorOut}}, summary="Disable a user, reset a password")
def patch_user(user_id: DbId, body: UserPatch, admin: Admin, tx: Tx) -> UserOut:
    user = tx.get(User, user_id)
    if user is None:
        raise HTTPException(404, detail=f"no user {user_id}")
    changed = []
    if body.active is not None and body.active != user.active:
        if not body.active and user.id == admin.id:
            raise HTTPException(409, detail="you cannot disable your own account — ask another admin")
        user.active = body.active
        changed.append("active")
    if body.display_name is not None:
        user.display_name = body.display_name
        changed.append("display_name")
    if body.password is not None:
        service.set_password(tx, user, body.password)
        changed.append("password")
    audit.record(tx, admin, Action.CHANGE, "user", user.id, office=user.office, fields=changed)
    return _user_out(user)


# -- API tokens (admin) -------------------------------------------------------------------
@router.get("/tokens", response_model=list[TokenOut], responses=AUTH_RESPONSES, summary="List API tokens")
def list_tokens(admin: Admin, tx: Tx) -> list[TokenOut]:
    return [_token_out(t) for t in tx.scalars(select(ApiToken).order_by(ApiToken.id))]


@router.post("/tokens", response_model=TokenCreated, status_code=201, responses={**AUTH_RESPONSES, 400: {"model": ErrorOut}}, summary="Create a scoped API token")
def create_token(body: TokenIn, admin: Admin, tx: Tx) -> TokenCreated:
    expires = utcnow() + dt.timedelta(days=body.expires_days) if body.expires_days else None
    secret, row = service.create_token(tx, body.name, body.scopes, body.office, admin.id, expires)
    audit.record(tx, admin, Action.CREATE, "api_token", row.id, office=row.office, scopes=row.scopes)
    return TokenCreated(**_token_out(row).model_dump(), token=secret)


@router.delete("/tokens/{token_id}", status_code=204, responses={**AUTH_RESPONSES, 404: {"model": ErrorOut}}, summary="Revoke an API token")
def revoke_token(token_id: DbId, admin: Admin, tx: Tx) -> Response:
    if tx.get(ApiToken, token_id) is None:
        raise HTTPException(404, detail=f"no API token {token_id}")
    service.revoke_token(tx, token_id)
    audit.record(tx, admin, Action.DELETE, "api_token", token_id)
    return Response(status_code=204)


# -- audit log (admin) --------------------------------------------------------------------
@router.get("/audit", response_model=list[AuditOut], responses=AUTH_RESPONSES, summary="Read the audit log")
def read_audit(
    admin: Admin,
    tx: Tx,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditOut]:
    q = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if object_id:
        q = q.where(AuditEvent.object_id == object_id)
    if action:
        q = q.where(AuditEvent.action == action)
    return [
        AuditOut(
            id=e.id, at=e.at, actor=e.actor, action=e.action, object_type=e.object_type,
            object_id=e.object_id, office=e.office, detail=e.detail or {},
        )  # fmt: skip
        for e in tx.scalars(q)
    ]
