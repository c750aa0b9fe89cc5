"""Login, logout, who-am-I; users, API tokens and the audit log (admin)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool
from sqlalchemy import select

from scribe.accounts import audit, service
from scribe.accounts.audit import Action
from scribe.accounts.models import ApiToken, AuditEvent, User
from scribe.accounts.principal import Principal, Scope
from scribe.accounts.passwords import HashesBusy, HashGate
from scribe.accounts.throttle import LoginThrottle, Ticket
from scribe.storage import Database, utcnow
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
    locked = u.locked_until if u.locked_until is not None and service._aware(u.locked_until) > utcnow() else None
    return UserOut(
        id=u.id, username=u.username, display_name=u.display_name, role=u.role, office=u.office, active=u.active,  # type: ignore[arg-type]
        locked_until=locked,
    )


def _token_out(t: ApiToken) -> TokenOut:
    return TokenOut(
        id=t.id, name=t.name, prefix=t.prefix, scopes=t.scopes, office=t.office, created_at=t.created_at,
        expires_at=t.expires_at, revoked_at=t.revoked_at, last_used_at=t.last_used_at,
    )  # fmt: skip


def _too_many(wait: float, detail: str) -> HTTPException:
    return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, detail=detail,
                         headers={"Retry-After": str(max(1, math.ceil(wait)))})


_LOCKED = "该账户密码错误次数过多，已暂时锁定 — 请 {m} 分钟后再试，或请管理员解锁（too many wrong passwords: the account is locked for now）"
_SLOW = "这台电脑登录失败次数过多 — 请 {s} 秒后再试（too many failed logins from this address: wait a moment）"
_BUSY = "登录的人太多，服务器正忙 — 请几秒后再试（the server is busy checking passwords: try again in a few seconds）"


@router.post(
    "/auth/login",
    response_model=MeOut,
    responses={401: {"model": ErrorOut}, 429: {"model": ErrorOut}},
    summary="Log in with user name and password; sets the session cookie",
)
async def login(body: LoginIn, request: Request, response: Response) -> MeOut:
    """Async on purpose: a burst of logins waits for its turn at the password hash on the event
    loop, holding no worker thread and no database connection (each database step is its own
    short transaction), so /health and every other route keep answering."""
    app = request.app
    settings = app.state.settings
    throttle: LoginThrottle = app.state.login_throttle
    gate: HashGate = app.state.hash_gate
    db = app.state.db
    ip = client_ip(request) or "?"
    ticket = throttle.reserve(body.username, ip)  # the slot is taken before any hashing
    if not isinstance(ticket, Ticket) and ticket.account and throttle.recheck_due(body.username):
        # unlocked elsewhere (`scribe users unlock`) since the failures this process counted?
        last = throttle.last_failure_at(body.username)
        if last is not None and await run_in_threadpool(_unlocked_after, db, body.username, last):
            throttle.unlock(body.username)
            ticket = throttle.reserve(body.username, ip)
    if not isinstance(ticket, Ticket):
        if ticket.account:
            raise _too_many(ticket.wait, _LOCKED.format(m=max(1, math.ceil(ticket.wait / 60))))
        raise _too_many(ticket.wait, _SLOW.format(s=math.ceil(ticket.wait)))
    try:
        candidate = await run_in_threadpool(_read_candidate, db, body.username)
        if candidate is not None and candidate.locked_for > 0:  # locked before a restart
            ticket.cancel()
            raise _too_many(candidate.locked_for, _LOCKED.format(m=max(1, math.ceil(candidate.locked_for / 60))))
        ok = await gate.verify(candidate.password_hash if candidate else None, body.password)
    except HashesBusy:
        ticket.cancel()
        raise _too_many(2, _BUSY) from None
    except BaseException:
        ticket.cancel()
        raise
    if ok and candidate is not None and candidate.active:
        ticket.succeeded()
        cookie, principal = await run_in_threadpool(_start, db, candidate.user_id, body.password,
                                                    settings.server.login_session_hours, ip)
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=int(settings.server.login_session_hours * 3600),
            httponly=True,
            secure=app.state.cookie_secure,
            samesite="strict",
            path="/",
        )
        return _me(principal)
    ticket.failed()
    lock = throttle.locked_for(body.username) if candidate is not None else 0.0
    await run_in_threadpool(_failed, db, candidate.user_id if candidate else None, lock, ip)
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="wrong user name or password")


def _unlocked_after(db: Database, username: str, when: float) -> bool:
    with db.transaction() as tx:
        return service.unlocked_after(tx, username, when)


def _read_candidate(db: Database, username: str) -> service.LoginCandidate | None:
    with db.transaction() as tx:
        return service.login_candidate(tx, username)


def _start(db: Database, user_id: int, password: str, hours: float, ip: str) -> tuple[str, Principal]:
    with db.transaction() as tx:
        user = service.login_succeeded(tx, user_id, password)
        cookie, row = service.start_login_session(tx, user, hours)
        principal = service.user_principal(user, row)
        audit.record(tx, principal, Action.LOGIN, "user", user.id, office=user.office, client=ip)
    return cookie, principal


def _failed(db: Database, user_id: int | None, lock_s: float, ip: str) -> None:
    """The failure's audit row (and the account's lock) in one short transaction of its own:
    the login holds no other connection. The user name is not logged: it may be a password
    typed in the wrong box."""
    with db.transaction() as tx:
        if user_id is not None and lock_s > 0:
            service.lock_user(tx, user_id, lock_s)
        if lock_s > 0:
            audit.record(tx, "anonymous", Action.LOGIN_FAILED, "user", "?", client=ip, locked=True)
        else:
            audit.record(tx, "anonymous", Action.LOGIN_FAILED, "user", "?", client=ip)


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


@router.post("/users/{user_id}/unlock", response_model=UserOut, responses={**AUTH_RESPONSES, 404: {"model": ErrorOut}},
             summary="Unlock an account that too many wrong passwords locked")
def unlock_user(user_id: DbId, admin: Admin, tx: Tx, request: Request) -> UserOut:
    user = tx.get(User, user_id)
    if user is None:
        raise HTTPException(404, detail=f"no user {user_id}")
    was_locked = service.unlock_user(tx, user) or request.app.state.login_throttle.locked_for(user.username) > 0
    request.app.state.login_throttle.unlock(user.username)
    audit.record(tx, admin, Action.UNLOCK, "user", user.id, office=user.office, was_locked=was_locked,
                 client=client_ip(request))
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
