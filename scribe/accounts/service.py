"""Account operations on a database transaction: users, login sessions, API tokens.

Every function takes the caller's ``Session`` (``db.transaction()``) so that an access change
and its audit record commit together.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from scribe.accounts.models import ApiToken, LoginSession, User
from scribe.accounts.passwords import hash_password, needs_rehash, verify_password
from scribe.accounts.principal import ALL_OFFICES, ROLE_SCOPES, Principal, Role, Scope
from scribe.errors import AccountError
from scribe.storage import utcnow

TOKEN_PREFIX = "scr_"  # so a leaked token is recognisable by secret scanners


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _aware(value: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes even for timezone=True columns; they were written as UTC.
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


# -- users ------------------------------------------------------------------------------------
def create_user(
    tx: Session,
    username: str,
    password: str,
    role: Role | str,
    office: str,
    display_name: str = "",
) -> User:
    username = username.strip()
    if not username or len(username) > 64:
        raise AccountError("a user name must have 1 to 64 characters", fix="choose another name")
    try:
        role = Role(role)
    except ValueError:
        raise AccountError(
            f"unknown role {role!r}", fix=f"use one of: {', '.join(r.value for r in Role)}"
        ) from None
    if not office.strip():
        raise AccountError("a user needs an office", fix="give the office (司法所/调委会) name")
    if tx.scalar(select(User).where(User.username == username)) is not None:
        raise AccountError(f"the user name {username!r} is taken", fix="choose another name")
    user = User(
        username=username,
        display_name=display_name or username,
        role=role.value,
        office=ALL_OFFICES if role is Role.ADMIN and office == ALL_OFFICES else office.strip(),
        password_hash=hash_password(password),
    )
    tx.add(user)
    tx.flush()
    return user


def count_users(tx: Session) -> int:
    return int(tx.scalar(select(func.count(User.id))) or 0)


def has_admin(tx: Session) -> bool:
    return tx.scalar(select(User.id).where(User.role == Role.ADMIN.value, User.active)) is not None


def authenticate(tx: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, or None (same cost either way)."""
    user = tx.scalar(select(User).where(User.username == username.strip()))
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


@dataclass(frozen=True)
class LoginCandidate:
    """What a login needs to know of a user before its password is checked (read in a short
    transaction: no database connection is held while Argon2 runs)."""

    user_id: int
    password_hash: str
    active: bool
    locked_for: float  # seconds the account stays locked (0: not locked)


def login_candidate(tx: Session, username: str) -> LoginCandidate | None:
    user = tx.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        return None
    locked = 0.0
    if user.locked_until is not None:
        locked = max(0.0, (_aware(user.locked_until) - utcnow()).total_seconds())
    return LoginCandidate(user.id, user.password_hash, user.active, locked)


def login_succeeded(tx: Session, user_id: int, password: str) -> User:
    """The checked user, its lock cleared and its hash brought up to today's parameters."""
    user = tx.get(User, user_id)
    if user is None:
        raise AccountError("the user was removed while logging in", fix="log in again")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    user.locked_until = None
    return user


def lock_user(tx: Session, user_id: int, seconds: float) -> None:
    user = tx.get(User, user_id)
    if user is not None:
        user.locked_until = utcnow() + dt.timedelta(seconds=seconds)


def unlock_user(tx: Session, user: User) -> bool:
    """Clear a lock; True when there was one.

    ``locked_until`` is set to now, not cleared: a time in the past says when the lock ended,
    which a running server compares with its in-memory count of failures
    (``unlocked_after``), so ``scribe users unlock`` frees an account the server has locked."""
    now = utcnow()
    was = user.locked_until is not None and _aware(user.locked_until) > now
    user.locked_until = now
    return was


def unlocked_after(tx: Session, username: str, when: float) -> bool:
    """True when the account's lock was lifted (by an unlock, or its end) after ``when``
    (``time.time()``): the in-memory failures before it no longer count."""
    user = tx.scalar(select(User).where(User.username == username.strip()))
    if user is None or user.locked_until is None:
        return False
    ended = _aware(user.locked_until)
    return ended <= utcnow() and ended.timestamp() >= when


def set_password(tx: Session, user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    # a password change logs out every browser of that user
    tx.execute(delete(LoginSession).where(LoginSession.user_id == user.id))


def user_principal(user: User, session: LoginSession | None = None) -> Principal:
    role = Role(user.role)
    return Principal(
        kind="user",
        id=user.id,
        name=user.username,
        office=user.office,
        scopes=ROLE_SCOPES[role],
        role=role,
        csrf_token=session.csrf_token if session else None,
        login_session_id=session.id if session else None,
    )


# -- login sessions ---------------------------------------------------------------------------
def start_login_session(tx: Session, user: User, hours: float) -> tuple[str, LoginSession]:
    """A new login: returns the cookie value (shown once) and its row."""
    cookie = secrets.token_urlsafe(32)
    row = LoginSession(
        id=_sha256(cookie),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + dt.timedelta(hours=hours),
    )
    tx.add(row)
    # expired logins of anyone are removed on the way (there is no separate cleaner)
    tx.execute(delete(LoginSession).where(LoginSession.expires_at < utcnow()))
    return cookie, row


def resolve_login_session(tx: Session, cookie: str) -> Principal | None:
    row = tx.get(LoginSession, _sha256(cookie))
    if row is None or _aware(row.expires_at) < utcnow():
        return None
    user = tx.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return user_principal(user, row)


def end_login_session(tx: Session, session_id: str) -> None:
    tx.execute(delete(LoginSession).where(LoginSession.id == session_id))


# -- API tokens -------------------------------------------------------------------------------
def create_token(
    tx: Session,
    name: str,
    scopes: Iterable[Scope | str],
    office: str,
    created_by: int | None = None,
    expires_at: dt.datetime | None = None,
) -> tuple[str, ApiToken]:
    """A new token: returns the secret (shown once, never stored) and its row."""
    try:
        scope_set = sorted({Scope(s).value for s in scopes})
    except ValueError as exc:
        raise AccountError(
            f"unknown scope: {exc}", fix=f"use some of: {', '.join(s.value for s in Scope)}"
        ) from None
    if not scope_set:
        raise AccountError("a token needs at least one scope", fix="name the scopes it needs")
    if Scope.ADMIN.value in scope_set:
        raise AccountError(
            "API tokens cannot carry the admin scope",
            fix="administer through a person's login; give the token only what it needs",
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name.strip() or "token",
        prefix=secret[:10],
        token_hash=_sha256(secret),
        scopes=scope_set,
        office=office,
        created_by=created_by,
        expires_at=expires_at,
    )
    tx.add(row)
    tx.flush()
    return secret, row


def resolve_token(tx: Session, secret: str) -> Principal | None:
    if not secret.startswith(TOKEN_PREFIX):
        return None
    row = tx.scalar(select(ApiToken).where(ApiToken.token_hash == _sha256(secret)))
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and _aware(row.expires_at) < utcnow():
        return None
    row.last_used_at = utcnow()
    return Principal(
        kind="token",
        id=row.id,
        name=row.name,
        office=row.office,
        scopes=frozenset(Scope(s) for s in row.scopes),
    )


def revoke_token(tx: Session, token_id: int) -> ApiToken:
    row = tx.get(ApiToken, token_id)
    if row is None:
        raise AccountError(f"no API token with id {token_id}", fix="list tokens to find the id")
    row.revoked_at = row.revoked_at or utcnow()
    return row
