"""The FastAPI app factory: the desk and review server (``scribe serve``).

``create_app(settings)`` wires thin routes (``scribe/web``) over the accounts, hearings, live,
documents and delivery areas. The lifespan opens the database, creates the first admin from
``SCRIBE_ADMIN_PASSWORD`` when there is none, and loads the speech models once for every session
(``scribe.services.AppServices``, injected into routes with ``Depends(services)``). Tests build their own ``Settings`` and may inject a live engine.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from scribe.accounts.throttle import LoginThrottle
from scribe.errors import (
    AccountError,
    ConfigError,
    DeliveryError,
    DiarizationError,
    DocumentError,
    ModelError,
    ScribeError,
    SessionError,
)
from scribe.live.service import LiveService
from scribe.services import build_app_services
from scribe.settings import Settings, get_settings
from scribe.storage import Database

log = logging.getLogger("scribe.server")
WEB = Path(__file__).resolve().parent / "scribe" / "web"

_STATUS_FOR: list[tuple[type[ScribeError], int]] = [
    (AccountError, 400),
    (SessionError, 409),
    (DocumentError, 422),
    (DiarizationError, 422),  # e.g. an enrolment recording with too little speech
    (DeliveryError, 409),
    (ModelError, 503),
    (ConfigError, 503),
]


def _status_for(exc: ScribeError) -> int:
    from scribe.web.hearings import HearingNotFound

    if isinstance(exc, HearingNotFound):
        return 404
    for cls, code in _STATUS_FOR:
        if isinstance(exc, cls):
            return code
    return 400


class Metrics:
    """Prometheus figures of one app (own registry, so several apps in one test run coexist)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "scribe_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "scribe_http_request_seconds", "HTTP request latency", ["route"], registry=self.registry
        )
        self.live_sessions = Gauge("scribe_live_sessions", "Live sessions open", registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _import_tables() -> None:
    # Each area keeps its tables beside its code; importing registers them on Base.
    import scribe.accounts.models  # noqa: F401
    import scribe.web.models  # noqa: F401

    for optional in ("scribe.review.models", "scribe.delivery.models"):
        try:
            __import__(optional)
        except ModuleNotFoundError as exc:
            if not optional.startswith(exc.name or "\0"):
                raise


def bootstrap_admin(db: Database, settings: Settings) -> str | None:
    """Create the first admin from SCRIBE_ADMIN_PASSWORD when no admin exists. Returns its name."""
    from scribe.accounts import audit, service
    from scribe.accounts.audit import Action
    from scribe.accounts.principal import ALL_OFFICES, Role

    with db.transaction() as tx:
        if service.has_admin(tx) or settings.server.admin_password is None:
            return None
        user = service.create_user(
            tx,
            settings.server.admin_username,
            settings.server.admin_password.get_secret_value(),
            Role.ADMIN,
            ALL_OFFICES,
            display_name=settings.server.admin_username,
        )
        audit.record(tx, "system:bootstrap", Action.CREATE, "user", user.id, role="admin")
        return user.username


async def _run_delivery_worker(db: Database, settings: Settings, stop: asyncio.Event) -> None:
    """Send approved documents to the case systems while the server runs (the outbox is
    durable: a delivery interrupted by a shutdown is sent by the next start)."""
    from scribe.delivery.worker import DeliveryWorker

    while not stop.is_set():
        try:
            async with DeliveryWorker(db, settings, worker_id="server") as worker:
                await worker.run(stop=stop)
        except Exception:  # noqa: BLE001 - keep the server up; the outbox keeps the message
            log.exception("the delivery worker failed; restarting it in 5 s")
            try:
                await asyncio.wait_for(stop.wait(), timeout=5)
            except TimeoutError:
                pass


def create_app(settings: Settings | None = None, *, live: LiveService | None = None) -> FastAPI:
    """The app; ``live`` replaces the live engine the lifespan would build (tests)."""
    settings = settings or get_settings()
    metrics = Metrics()

    _import_tables()
    db = Database(settings.db_url)  # no connection yet: the lifespan creates the schema

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db.create_schema()
        created = bootstrap_admin(db, settings)
        if created:
            log.info("created the first admin %r from SCRIBE_ADMIN_PASSWORD", created)
        # the composition root: the speech models load once here (seconds) and serve every
        # hearing of the process; routes get the parts with Depends(services)
        built = await asyncio.to_thread(build_app_services, settings, db, live=live)
        app.state.services = built
        # before the first request: hearings a crash left "recording" become "interrupted",
        # their audio sealed and their final passes queued
        for found in await asyncio.to_thread(built.lifecycle.recover):
            log.info("hearing %s was interrupted; %.0f s of recording recovered",
                     found.hearing_id, found.recovered_seconds)
        stop = asyncio.Event()
        worker_task = None
        if settings.server.delivery_worker:
            worker_task = asyncio.create_task(_run_delivery_worker(db, settings, stop))
        try:
            yield
        finally:
            stop.set()
            if worker_task is not None:
                await worker_task
            await asyncio.to_thread(built.close)
            db.dispose()

    app = FastAPI(
        title="Mediation scribe",
        version="0.1.0",
        description=(
            "Desk and review server: hearing sessions with consent and live transcript, draft "
            "review and approval. Browsers log in with a cookie (unsafe requests echo the CSRF "
            "token in `X-CSRF-Token`); case systems and desk clients use scoped API tokens "
            "(`Authorization: Bearer scr_...`). Every route except `/health` and login needs one."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.metrics = metrics
    app.state.login_throttle = LoginThrottle()
    app.state.services = None  # the lifespan builds them
    secure = settings.server.cookie_secure
    if secure is None:
        secure = bool(settings.server.public_url and settings.server.public_url.startswith("https://"))
    app.state.cookie_secure = secure

    @app.middleware("http")
    async def measure_and_harden(request: Request, call_next: Any) -> Any:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        metrics.requests.labels(request.method, path, str(response.status_code)).inc()
        metrics.latency.labels(path).observe(time.perf_counter() - started)
        # pages are private: no caching by shared proxies, no framing by other sites. The
        # desk's scripts and styles (no personal data) may be kept for a few minutes: a page
        # reloaded mid-hearing then opens the microphone without fetching them again
        static = request.url.path.startswith("/static/") and response.status_code == 200
        response.headers.setdefault("Cache-Control", "private, max-age=300" if static else "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @app.exception_handler(ScribeError)
    async def scribe_error(_request: Request, exc: ScribeError) -> JSONResponse:
        return JSONResponse({"error": exc.message, "fix": exc.fix}, status_code=_status_for(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        wants_html = "text/html" in request.headers.get("accept", "") and not request.url.path.startswith("/api")
        if exc.status_code == 401 and wants_html and request.method == "GET":
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        message, _, fix = detail.partition(" — ")
        return JSONResponse(
            {"error": message, "fix": fix or None}, status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            problems.append(f"{where}: {err.get('msg')}")
        return JSONResponse(
            {"error": "invalid request: " + "; ".join(problems), "fix": "correct those fields", "detail": jsonable(exc.errors())},
            status_code=422,
        )

    from scribe.web import api_accounts, api_hearings, pages, system

    app.include_router(system.router)
    app.include_router(api_accounts.router)
    app.include_router(api_hearings.router)
    app.include_router(pages.router)
    from scribe.delivery.routes import make_router as delivery_pull_router
    from scribe.web import api_review, api_voiceprints
    from scribe.web.live_socket import build_ws_router

    app.include_router(api_review.router)
    app.include_router(api_voiceprints.router)
    app.include_router(build_ws_router())
    # the delivery area's routes answer these too; published here so the OpenAPI matches
    from scribe.web.schemas import ErrorOut

    pull_errors: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (401, 403, 404)}
    app.include_router(delivery_pull_router(db, settings), responses=pull_errors)
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    return app


def jsonable(errors: Any) -> Any:
    from fastapi.encoders import jsonable_encoder

    try:
        return jsonable_encoder(errors)
    except Exception:  # noqa: BLE001 - odd input objects (bytes) only lose the detail list
        return []


__all__ = ["bootstrap_admin", "create_app"]
