"""The live WebSocket of the desk server: its authentication and its mount.

The server opens a live session when a mediator presses Record (after the consent check); the
browser then attaches to ``/ws/sessions/<id>``, sends ``{"op": "start"}`` (its socket becomes
the session's audio source) and streams PCM. Stop seals the audio and runs the final pass in a
background thread; its progress events reach the desk on the same socket.
"""

from __future__ import annotations

import logging
from typing import Any

from collections.abc import Callable

from fastapi import Depends, WebSocket, WebSocketException, status

from scribe.accounts import audit, service
from scribe.accounts.audit import Action
from scribe.accounts.principal import Principal, Scope
from scribe.errors import ScribeError, SessionError
from scribe.live.manager import SessionManager
from scribe.services import AppServices
from scribe.web import hearings, messages
from scribe.web.auth import COOKIE
from scribe.web.models import Hearing

log = logging.getLogger(__name__)


# -- the WebSocket's authentication -------------------------------------------------------------
def _deny(reason: str) -> WebSocketException:
    return WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason=reason)


def get_manager(websocket: WebSocket) -> SessionManager:
    app: AppServices | None = websocket.app.state.services
    manager = app.live.session_manager if app is not None and app.live is not None else None
    if manager is None:
        raise WebSocketException(code=status.WS_1011_INTERNAL_ERROR, reason="the live engine is not running")
    return manager


def ws_principal(websocket: WebSocket, session_id: str) -> Principal:
    """Cookie (same-origin browsers) or bearer token (desk clients); the hearing must be the
    caller's office's and Record must have been pressed. Connecting replays the transcript (an
audited read)."""
    origin = websocket.headers.get("origin")
    host = websocket.headers.get("host", "")
    if origin is not None and origin.split("://", 1)[-1] != host:
        # cookies ride along on cross-site WebSocket handshakes: refuse other origins
        raise _deny("cross-origin WebSocket refused")
    db = websocket.app.state.db
    auth = websocket.headers.get("authorization", "")
    with db.transaction() as tx:
        principal: Principal | None = None
        if auth.lower().startswith("bearer "):
            principal = service.resolve_token(tx, auth[7:].strip())
        elif websocket.cookies.get(COOKIE):
            principal = service.resolve_login_session(tx, websocket.cookies[COOKIE])
        if principal is None:
            raise _deny("not logged in")
        if Scope.LIVE_STREAM not in principal.scopes:
            raise _deny("this needs the live:stream permission")
        hearing = tx.scalar(hearings.visible_query(principal).where(Hearing.live_session_id == session_id))
        if hearing is None:
            raise _deny("no such hearing in your office")
        # consent is checked where audio starts (``ws_gate``), not here: a desk whose hearing
        # paused for want of consent still connects, to see why and what it missed
        audit.record(tx, principal, Action.VIEW, "transcript", hearing.id, office=hearing.office,
                     via="websocket")
    return principal


def ws_gate(websocket: WebSocket, principal: Principal = Depends(ws_principal)) -> Callable[[str, str], None]:  # noqa: B008
    """The WebSocket's ``start``/``resume`` through the hearing lifecycle: the same consent
    check, status change and audit entry as the desk's Record."""
    app: AppServices = websocket.app.state.services

    def check(session_id: str, op: str) -> None:
        try:
            app.lifecycle.socket_step(session_id, principal, op)
        except ScribeError as exc:
            # the refusal's catalogue code and params (consent_missing + names, ...), as an HTTP
            # answer would carry them: the desk says it in its own language
            code, params = messages.classify(409, exc.message, exc.code, exc.params)
            raise SessionError(exc.message, fix=exc.fix, code=code, params=params) from exc

    return check


def build_ws_router() -> Any:
    from scribe.live.ws import build_router

    return build_router(get_manager, ws_principal, gate=ws_gate)
