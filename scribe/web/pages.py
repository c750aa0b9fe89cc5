"""HTML pages: login, session list, new session, hearing desk, draft review, admin.

Pages are rendered on the server with the data they open with; the desk and review pages then
talk to the JSON API (``/api/...``) with the CSRF token the page carries.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from scribe.accounts import audit
from scribe.accounts.audit import Action
from scribe.accounts.principal import Principal, Scope
from scribe.lifecycle import HearingState
from scribe.services import services
from scribe.web import hearings
from scribe.web.auth import Tx, optional_principal, require
from scribe.web.i18n import CATEGORY_EN, pick_lang, table
from scribe.web.models import Hearing
from scribe.web.schemas import CATEGORIES, HearingKind, PartyRole, SpeakerRole

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
LANG_COOKIE = "scribe_lang"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)


def _lang(request: Request) -> str:
    return pick_lang(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE))


def render(request: Request, name: str, who: Principal | None, **ctx: Any) -> HTMLResponse:
    lang = _lang(request)
    t = table(lang)
    page_data = {"lang": lang, "t": t, "csrf": who.csrf_token if who else None, **ctx.pop("page_data", {})}
    response = templates.TemplateResponse(
        request,
        name,
        {
            "t": t,
            "lang": lang,
            "who": who,
            "categories": CATEGORIES,
            "category_label": (lambda c: CATEGORY_EN.get(c, c)) if lang == "en" else (lambda c: c),
            "page_data": json.dumps(page_data, ensure_ascii=False, default=str).replace("</", "<\\/"),
            **ctx,
        },
    )
    response.headers["Content-Security-Policy"] = CSP
    if request.query_params.get("lang") in ("zh", "en"):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True)
    return response


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None  # a mistyped date filters nothing rather than failing the page


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, who: Annotated[Principal | None, Depends(optional_principal)]) -> Response:
    if who is not None:
        return RedirectResponse("/", status_code=303)
    return render(request, "login.html", None)


@router.get("/", response_class=HTMLResponse)
def session_list(
    request: Request,
    who: Annotated[Principal, Depends(require(Scope.SESSIONS_READ))],
    tx: Tx,
    q: Annotated[str, Query(max_length=100)] = "",
    # text, not dates: the search form sends empty fields as ""
    date_from: Annotated[str, Query(max_length=10)] = "",
    date_to: Annotated[str, Query(max_length=10)] = "",
    category: Annotated[str, Query(max_length=32)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    kind: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    status = status if status in {s.value for s in HearingState} else ""
    kind = kind if kind in {k.value for k in HearingKind} else ""
    total, rows = hearings.search(
        tx, who, q=q, date_from=_date(date_from), date_to=_date(date_to), category=category, status=status,
        kind=kind, limit=100,
    )
    return render(
        request, "list.html", who, rows=rows, total=total,
        form={"q": q, "date_from": date_from, "date_to": date_to, "category": category, "status": status, "kind": kind},
        statuses=[s.value for s in HearingState],
    )  # fmt: skip


@router.get("/hearings/new", response_class=HTMLResponse)
def new_session(request: Request, who: Annotated[Principal, Depends(require(Scope.SESSIONS_WRITE))]) -> Response:
    return render(
        request, "new.html", who, party_roles=[r.value for r in PartyRole], today=dt.date.today().isoformat()
    )


@router.get("/hearings/{hearing_id}", response_class=HTMLResponse)
def desk_page(request: Request, hearing_id: str, who: Annotated[Principal, Depends(require(Scope.SESSIONS_READ))], tx: Tx) -> Response:
    hearing = hearings.get_visible(tx, who, hearing_id)
    audit.record(tx, who, Action.VIEW, "hearing", hearing.id, office=hearing.office, page="desk")
    out = hearings.to_out(hearing).model_dump(mode="json")
    return render(
        request, "desk.html", who, hearing=out, recovery=_recovery_note(request, hearing),
        speaker_roles=[r.value for r in SpeakerRole],
        page_data={"hearing": out, "speaker_roles": [r.value for r in SpeakerRole]},
    )  # fmt: skip


def _recovery_note(request: Request, hearing: Hearing) -> str:
    """"interrupted at hh:mm — recovered, N seconds kept" for a hearing a crash cut off."""
    live = services(request).live
    if hearing.status != HearingState.INTERRUPTED.value or live is None or not hearing.live_session_id:
        return ""
    state = live.state(hearing.live_session_id)
    at = state.get("interrupted_at")
    # the desk PC's own clock: the server runs on it or in its office
    hhmm = dt.datetime.fromisoformat(at).astimezone().strftime("%H:%M") if at else "?"
    return table(_lang(request))["interrupted_recovered"].format(
        at=hhmm, n=round(float(state.get("recovered_seconds") or 0.0)))


@router.get("/hearings/{hearing_id}/review", response_class=HTMLResponse)
def review_page(request: Request, hearing_id: str, who: Annotated[Principal, Depends(require(Scope.DOCUMENTS_READ))], tx: Tx) -> Response:
    hearing = hearings.get_visible(tx, who, hearing_id)
    audit.record(tx, who, Action.VIEW, "hearing", hearing.id, office=hearing.office, page="review")
    out = hearings.to_out(hearing).model_dump(mode="json")
    can_approve = Scope.DOCUMENTS_APPROVE in who.scopes
    return render(
        request, "review.html", who, hearing=out, can_approve=can_approve,
        page_data={"hearing": out, "can_approve": can_approve, "categories": list(CATEGORIES)},
    )  # fmt: skip


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, who: Annotated[Principal, Depends(require(Scope.ADMIN))]) -> Response:
    from scribe.web.i18n_admin_privacy import context as privacy_words

    return render(request, "admin.html", who, scopes=[s.value for s in Scope if s is not Scope.ADMIN],
                  **privacy_words(_lang(request)))
