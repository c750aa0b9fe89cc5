"""Request authentication and authorisation as FastAPI dependencies.

Two ways in: a login cookie (browsers; unsafe methods must echo the CSRF token in
``X-CSRF-Token``) or ``Authorization: Bearer scr_...`` (case systems and desk clients; no
ambient credential, so no CSRF token). Both end as a ``Principal``. Anything else is 401;
a principal without the scope a route needs is 403.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from scribe.accounts import service
from scribe.accounts.principal import Principal, Scope
from scribe.storage import Database

COOKIE = "scribe_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Declared so the OpenAPI document lists both security schemes; checked by hand below so that
# a missing credential is 401 (FastAPI's own default would be 403).
_bearer = HTTPBearer(auto_error=False, description="API token (scr_...) for case systems and desk clients")
_cookie = APIKeyCookie(name=COOKIE, auto_error=False, description="browser login (POST /api/auth/login)")


def get_db(conn: HTTPConnection) -> Database:
    return conn.app.state.db  # type: ignore[no-any-return]


def get_tx(db: Annotated[Database, Depends(get_db)]) -> Iterator[Session]:
    """One transaction per request: the change and its audit record commit together."""
    with db.transaction() as tx:
        yield tx


# scope="function": commit before the response leaves, so a client that acts on the response
# (a fresh login cookie, a new hearing id) never races the commit.
Tx = Annotated[Session, Depends(get_tx, scope="function")]


class NotAuthenticated(HTTPException):
    def __init__(self) -> None:
        super().__init__(
            status.HTTP_401_UNAUTHORIZED,
            detail="not logged in — log in at /login, or send an API token as 'Authorization: Bearer scr_...'",
            headers={"WWW-Authenticate": 'Bearer realm="scribe"'},
        )


def _resolve(conn: HTTPConnection, db: Database, bearer: str | None, cookie: str | None) -> Principal | None:
    with db.transaction() as tx:
        if bearer:
            return service.resolve_token(tx, bearer)
        if cookie:
            return service.resolve_login_session(tx, cookie)
    return None


def optional_principal(
    conn: HTTPConnection,
    db: Annotated[Database, Depends(get_db)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Principal | None:
    principal = _resolve(conn, db, bearer.credentials if bearer else None, cookie)
    if principal is None:
        return None
    method = conn.scope.get("method", "GET")
    if principal.kind == "user" and method not in SAFE_METHODS:
        sent = conn.headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent, principal.csrf_token or ""):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"missing or wrong CSRF token — reload the page (browsers send it in {CSRF_HEADER})",
            )
    conn.state.principal = principal
    return principal


def current_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise NotAuthenticated()
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(*scopes: Scope) -> Callable[[Principal], Principal]:
    """Dependency: the principal must hold every one of ``scopes`` (else 403)."""

    def check(principal: CurrentPrincipal) -> Principal:
        missing = [s.value for s in scopes if s not in principal.scopes]
        if missing:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"this needs the {', '.join(missing)} permission, which your "
                f"{'role' if principal.kind == 'user' else 'token'} does not have — ask an admin",
            )
        return principal

    return check


def client_ip(conn: HTTPConnection) -> str | None:
    """The real client's address: the peer, unless the peer is one of the site's trusted
    proxies (``SCRIBE_SERVER__TRUSTED_PROXIES``); then the nearest untrusted address in
    ``X-Forwarded-For``. A header sent by anyone else is ignored, so it cannot dodge the
    per-address login limit or forge the audit log's client."""
    peer = conn.client.host if conn.client else None
    settings = getattr(conn.app.state, "settings", None)
    trusted = _networks(tuple(settings.server.trusted_proxies)) if settings is not None else ()
    if peer is None or not trusted or not _is_in(peer, trusted):
        return peer
    hops = [h.strip() for h in ",".join(conn.headers.getlist("x-forwarded-for")).split(",") if h.strip()]
    for hop in reversed(hops):  # the right end was added by the proxy nearest to us
        if not _is_in(hop, trusted):
            return hop if _is_in(hop, None) else peer
    return hops[0] if hops else peer


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip())


def _is_in(address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] | None) -> bool:
    """Whether ``address`` lies in one of ``networks`` (None: whether it is an address at all)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return networks is None or any(ip in net for net in networks)
