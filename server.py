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
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from scribe.accounts.passwords import HashGate
from scribe.accounts.throttle import LoginThrottle
from scribe.errors import (
    AccountError,
    ApiError,
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
    if isinstance(exc, ApiError):
        return exc.status
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

    for optional in ("scribe.review.models", "scribe.review.lexicon", "scribe.delivery.models", "scribe.privacy.models"):
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
    # no connection yet: the lifespan creates the schema
    db = Database(settings.db_url, key_file=settings.secrets_key_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from scribe.storage.files import protect_data_dir, service_umask

        service_umask()  # recordings, documents, the database and keys: this user's only
        protect_data_dir(settings.data_dir)
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
        from scribe.privacy.retention import run_schedule

        retention_task = asyncio.create_task(run_schedule(db, settings, stop))  # audio past its period
        try:
            yield
        finally:
            stop.set()
            if worker_task is not None:
                await worker_task
            await retention_task
            await asyncio.to_thread(built.close)
            db.dispose()

    app = FastAPI(
        title="Mediation scribe",
        version="0.1.0",
        description=(
            "Desk and review server: hearing sessions with consent and live transcript, draft "
            "review and approval. Browsers log in with a cookie (unsafe requests echo the CSRF "
            "token in `X-CSRF-Token`); case systems and desk clients use scoped API tokens "
            "(`Authorization: Bearer scr_...`). Every route except `/health` and login needs one, "
            "this document too."
        ),
        lifespan=lifespan,
        # the API's documents need a login (scribe/web/api_docs.py), and work offline
        docs_url=None, redoc_url=None, openapi_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.metrics = metrics
    app.state.login_throttle = LoginThrottle(
        account_limit=settings.server.login_max_failures, account_window=settings.server.login_lockout_s,
        address_limit=settings.server.login_address_failures,
    )
    app.state.hash_gate = HashGate(settings.server.login_hash_concurrency, settings.server.login_hash_wait_s)
    app.state.services = None  # the lifespan builds them
    secure = settings.server.cookie_secure
    if secure is None:
        secure = bool(settings.server.public_url and settings.server.public_url.startswith("https://"))
    app.state.cookie_secure = secure
    hsts = bool(settings.server.public_url and settings.server.public_url.startswith("https://"))

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
        if hsts:  # served as https (behind the site's proxy): browsers never fall back to http
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    from scribe.web.error_responses import error_response, validation_response

    @app.exception_handler(ScribeError)
    async def scribe_error(request: Request, exc: ScribeError) -> Any:
        return error_response(request, _status_for(exc), exc.message, fix=exc.fix, code=exc.code,
                              params=exc.params, headers=getattr(exc, "headers", None))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        wants_html = "text/html" in request.headers.get("accept", "") and not request.url.path.startswith("/api")
        if exc.status_code == 401 and wants_html and request.method == "GET":
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        if isinstance(exc.detail, dict):  # {"code": ..., "message": ..., "params": ...}
            d = exc.detail
            return error_response(request, exc.status_code, str(d.get("message") or d.get("error") or ""),
                                  fix=d.get("fix"), code=str(d.get("code") or "error"), params=d.get("params"),
                                  headers=getattr(exc, "headers", None))
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        message, _, fix = detail.partition(" — ")
        return error_response(request, exc.status_code, message, fix=fix or None,
                              headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Any:
        return validation_response(request, exc.errors(), exc.body, jsonable(exc.errors()))

    from scribe.web import api_accounts, api_hearings, pages, system

    app.include_router(system.router)
    app.include_router(api_accounts.router)
    app.include_router(api_hearings.router)
    from scribe.web import api_office

    app.include_router(api_office.router)
    app.include_router(pages.router)
    from scribe.delivery.routes import make_router as delivery_pull_router
    from scribe.web import api_lexicon, api_review, api_transcript, api_voiceprints
    from scribe.web.live_socket import build_ws_router

    app.include_router(api_review.router)
    app.include_router(api_transcript.router)
    app.include_router(api_lexicon.router)
    app.include_router(api_voiceprints.router)
    from scribe.web import api_endpoints, api_privacy

    app.include_router(api_privacy.router)
    app.include_router(api_endpoints.router)
    app.include_router(build_ws_router())
    # the delivery area's routes answer these too; published here so the OpenAPI matches
    from scribe.web.schemas import ErrorOut

    pull_errors: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (401, 403, 404)}
    app.include_router(delivery_pull_router(db, settings, _audit_pull), responses=pull_errors)
    from scribe.web import api_docs

    app.include_router(api_docs.router)
    app.mount(api_docs.ASSETS, api_docs.swagger_assets(), name="docs-assets")
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    return app


def _audit_pull(tx: Any, actor: str, document_id: str, office: str, what: str, via: str) -> None:
    """A case system's pull of a document (its payload or a file) is a read of personal data:
    who (the endpoint a link was given to, or the token), which document, which file, how."""
    from scribe.accounts import audit
    from scribe.accounts.audit import Action

    audit.record(tx, actor, Action.EXPORT, "document", document_id, office=office, via=via, kind=what)


def jsonable(errors: Any) -> Any:
    from fastapi.encoders import jsonable_encoder

    try:
        return jsonable_encoder(errors)
    except Exception:  # noqa: BLE001 - odd input objects (bytes) only lose the detail list
        return []


__all__ = ["bootstrap_admin", "create_app"]
