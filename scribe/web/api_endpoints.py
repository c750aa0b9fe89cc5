"""Webhook endpoints for the admin page: list, add, change offices / transcript opt-in, rotate
the secret, test-send, see why deliveries fail, revoke (and revoke a document's links).

The same registry as ``scribe endpoints`` (``scribe.delivery.endpoints``, ``.scope``,
``.admin``). A secret is shown once, in the answer that created it; every change is audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from scribe.accounts import audit
from scribe.accounts.audit import Action
from scribe.accounts.principal import Principal, Scope
from scribe.delivery import admin as delivery_admin
from scribe.delivery import endpoints as registry
from scribe.delivery import scope as scopes
from scribe.delivery.events import EVENT_TYPES
from scribe.delivery.models import Endpoint
from scribe.services import services
from scribe.web.auth import Tx, require
from scribe.web.schemas import ErrorOut

router = APIRouter(prefix="/api/endpoints", tags=["webhook endpoints"])
Admin = Annotated[Principal, Depends(require(Scope.ADMIN))]
EndpointId = Annotated[str, PathParam(max_length=40, pattern=r"^ep_[0-9a-f]{1,36}$")]
R: dict[int | str, dict[str, Any]] = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut},
                                      409: {"model": ErrorOut}}  # fmt: skip


class EndpointOut(BaseModel):
    id: str
    name: str
    url: str
    event_types: list[str]
    offices: list[str] = Field(description='the offices whose hearings it is sent; ["*"]: every office')
    include_transcript: bool = Field(description="also given links to the transcript")
    enabled: bool
    disabled_reason: str | None
    rotating_until: dt.datetime | None = Field(description="the old secret signs beside the new one until then")
    revoked_at: dt.datetime | None
    failures_24h: int = Field(description="attempts that did not deliver in the last 24 hours")


class EndpointIn(BaseModel):
    url: str = Field(min_length=8, max_length=2000)
    name: str = Field(default="", max_length=200)
    event_types: list[str] = Field(default_factory=lambda: ["document.approved"], min_length=1, max_length=8)
    offices: list[str] = Field(min_length=1, max_length=50, description='office names, or ["*"] for every office')
    include_transcript: bool = False


class EndpointPatch(BaseModel):
    offices: list[str] | None = Field(default=None, min_length=1, max_length=50)
    include_transcript: bool | None = None
    enabled: bool | None = None


class SecretOut(BaseModel):
    endpoint: EndpointOut
    secret: str = Field(description="the whsec_ signing secret: shown this once, give it to the receiver")


class TestOut(BaseModel):
    ok: bool
    status_code: int | None
    latency_ms: float | None
    error: str | None
    reason: str = Field(description="ok | http_4xx | http_5xx | timeout | unreachable | refused | gone | other")
    message_id: str


class FailureOut(BaseModel):
    attempted_at: dt.datetime
    message_id: str
    event_type: str | None
    subject_id: str | None
    status_code: int | None
    error: str | None
    outcome: str
    reason: str = Field(description="ok | http_4xx | http_5xx | timeout | unreachable | refused | gone | other")
    delivery_status: str | None
    next_attempt_at: dt.datetime | None


def _out(tx: Any, info: registry.EndpointInfo) -> EndpointOut:
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=24)
    recent = [f for f in delivery_admin.recent_failures(tx, info.id, limit=200) if _aware(f.attempted_at) >= since]
    return EndpointOut(
        id=info.id, name=info.name, url=_shown_url(info.url), event_types=list(info.event_types),
        offices=list(info.offices), include_transcript=info.include_transcript, enabled=info.enabled,
        disabled_reason=info.disabled_reason, rotating_until=info.rotating_until, revoked_at=info.revoked_at,
        failures_24h=len(recent),
    )  # fmt: skip


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.timezone.utc)


def _shown_url(url: str) -> str:
    # a case system may put a token in its hook URL's query: the page shows the address only
    from scribe.delivery.safety import redact_url

    return redact_url(url)


def _info(tx: Any, endpoint_id: str) -> registry.EndpointInfo:
    ep = tx.get(Endpoint, endpoint_id)
    if ep is None:
        raise HTTPException(404, detail=f"there is no endpoint {endpoint_id} — see the list of endpoints")
    return registry.EndpointInfo.of(ep, scope=scopes.scope_of(tx, endpoint_id))


@router.get("", response_model=list[EndpointOut], responses=R, summary="Webhook endpoints (admin)")
def list_endpoints(who: Admin, tx: Tx) -> list[EndpointOut]:
    return [_out(tx, info) for info in registry.list_endpoints(tx)]


@router.post("", response_model=SecretOut, status_code=201, responses=R,
             summary="Add a webhook endpoint for some offices; answers its signing secret once (admin)")
async def add_endpoint(body: EndpointIn, who: Admin, request: Request) -> SecretOut:
    app = services(request)

    def work() -> SecretOut:
        # in a thread: the URL check resolves the host name (DNS must not stall the event loop)
        with app.db.transaction() as tx:
            unknown = sorted(set(body.event_types) - set(EVENT_TYPES) - {"*"})
            if unknown:
                raise HTTPException(422, detail=f"unknown event types {unknown} — use some of {sorted(EVENT_TYPES)}")
            info, secret = registry.add_endpoint(
                tx, body.url.strip(), body.event_types, app.settings, name=body.name.strip() or None,
                offices=body.offices, include_transcript=body.include_transcript,
            )  # fmt: skip
            audit.record(tx, who, Action.CREATE, "endpoint", info.id, offices=list(info.offices),
                         include_transcript=info.include_transcript)  # fmt: skip
            return SecretOut(endpoint=_out(tx, info), secret=secret)

    return await run_in_threadpool(work)


@router.patch("/{endpoint_id}", response_model=EndpointOut, responses=R,
              summary="Change an endpoint's offices, transcript opt-in, or enable/disable it (admin)")
async def patch_endpoint(endpoint_id: EndpointId, body: EndpointPatch, who: Admin, request: Request) -> EndpointOut:
    app = services(request)

    def work() -> EndpointOut:
        with app.db.transaction() as tx:
            _info(tx, endpoint_id)
            changed: list[str] = []
            if body.offices is not None or body.include_transcript is not None:
                scopes.set_scope(tx, endpoint_id, offices=body.offices, include_transcript=body.include_transcript)
                changed += [n for n in ("offices", "include_transcript") if getattr(body, n) is not None]
            if body.enabled is True:
                registry.enable_endpoint(tx, endpoint_id, app.settings)
                changed.append("enabled")
            elif body.enabled is False:
                registry.disable_endpoint(tx, endpoint_id, "disabled by an admin")
                changed.append("enabled")
            audit.record(tx, who, Action.CHANGE, "endpoint", endpoint_id, fields=changed)
            return _out(tx, _info(tx, endpoint_id))

    return await run_in_threadpool(work)


@router.post("/{endpoint_id}/rotate", response_model=SecretOut, responses=R,
             summary="Give an endpoint a new signing secret; the old one signs beside it for the grace period (admin)")
def rotate(endpoint_id: EndpointId, who: Admin, tx: Tx, request: Request) -> SecretOut:
    settings = services(request).settings
    _info(tx, endpoint_id)
    if scopes.scope_of(tx, endpoint_id).revoked_at is not None:
        raise HTTPException(409, detail="this endpoint was revoked — add the case system again as a new endpoint")
    secret = registry.rotate_secret(tx, endpoint_id, grace=dt.timedelta(hours=settings.delivery.rotation_grace_h))
    audit.record(tx, who, Action.CHANGE, "endpoint", endpoint_id, fields=["secret"])
    return SecretOut(endpoint=_out(tx, _info(tx, endpoint_id)), secret=secret)


@router.post("/{endpoint_id}/test", response_model=TestOut, responses=R,
             summary="Send a signed endpoint.test message to the endpoint now and say how it answered (admin)")
async def test_send(endpoint_id: EndpointId, who: Admin, request: Request) -> TestOut:
    app = services(request)
    with app.db.transaction() as tx:
        _info(tx, endpoint_id)
    result = await run_in_threadpool(delivery_admin.send_test, app.db, app.settings, endpoint_id)
    with app.db.transaction() as tx:
        audit.record(tx, who, Action.EXPORT, "endpoint", endpoint_id, step="test", status=result.status_code,
                     reason=result.reason)  # fmt: skip
    return TestOut(**result.__dict__)


@router.get("/{endpoint_id}/failures", response_model=list[FailureOut], responses=R,
            summary="The endpoint's recent attempts that did not deliver, newest first, with the reason (admin)")
def failures(
    endpoint_id: EndpointId, who: Admin, tx: Tx, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> list[FailureOut]:
    _info(tx, endpoint_id)
    return [FailureOut(**f.__dict__) for f in delivery_admin.recent_failures(tx, endpoint_id, limit)]


@router.delete("/{endpoint_id}", status_code=204, responses=R,
               summary="Revoke an endpoint: nothing more is sent, its queued messages and every link it got end (admin)")
def revoke(endpoint_id: EndpointId, who: Admin, tx: Tx) -> Response:
    _info(tx, endpoint_id)
    links = scopes.revoke(tx, endpoint_id)
    audit.record(tx, who, Action.DELETE, "endpoint", endpoint_id, links_revoked=links)
    return Response(status_code=204)


@router.post("/documents/{document_id}/revoke-links", responses=R,
             summary="Every download link given out for a document stops working (admin)")
def revoke_document_links(
    document_id: Annotated[str, PathParam(max_length=40)], who: Admin, tx: Tx
) -> dict[str, int]:
    from scribe.review.models import Document

    doc = tx.get(Document, document_id)
    if doc is None:
        raise HTTPException(404, detail=f"there is no document {document_id}")
    n = scopes.revoke_document_links(tx, [document_id])
    audit.record(tx, who, Action.CHANGE, "document", document_id, office=doc.office, step="revoke_links", links=n)
    return {"links_revoked": n}
