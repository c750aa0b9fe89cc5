"""Health (public, for load balancers and the setup script) and metrics (authenticated)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel
from sqlalchemy import text

from scribe.accounts.principal import Principal, Scope
from scribe.web.auth import require
from scribe.web.schemas import ErrorOut

router = APIRouter(tags=["system"])


class HealthOut(BaseModel):
    status: str
    database: str
    live_engine: bool
    version: str


@router.get("/health", response_model=HealthOut, summary="Liveness and readiness (no login needed)")
def health(request: Request, response: Response) -> HealthOut:
    db_state = "ok"
    try:
        with request.app.state.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any database failure means "not ready"
        db_state = "unavailable"
        response.status_code = 503
    return HealthOut(
        status="ok" if db_state == "ok" else "degraded",
        database=db_state,
        live_engine=request.app.state.services is not None and request.app.state.services.live is not None,
        version=request.app.version,
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, 401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
    summary="Prometheus metrics (needs the metrics:read permission)",
)
def metrics(request: Request, who: Annotated[Principal, Depends(require(Scope.METRICS))]) -> Response:
    m = request.app.state.metrics
    live = request.app.state.services.live if request.app.state.services else None
    manager = live.session_manager if live is not None else None
    if manager is not None:
        m.live_sessions.set(sum(1 for s in manager.list() if s.get("state") in ("recording", "paused")))
    return Response(m.render(), media_type="text/plain; version=0.0.4")
