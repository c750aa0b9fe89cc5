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
from scribe.web.schemas import CATEGORIES, LIMITS, HearingKind, PartyRole, SpeakerRole, StaffRoleIn

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
LANG_COOKIE = "scribe_lang"
# the 56 nationalities of China (民族), offered as the ethnicity field's suggestions
ETHNICITIES = (
    "汉族 蒙古族 回族 藏族 维吾尔族 苗族 彝族 壮族 布依族 朝鲜族 满族 侗族 瑶族 白族 土家族 哈尼族 哈萨克族 傣族 黎族 "
    "傈僳族 佤族 畲族 高山族 拉祜族 水族 东乡族 纳西族 景颇族 柯尔克孜族 土族 达斡尔族 仫佬族 羌族 布朗族 撒拉族 "
    "毛南族 仡佬族 锡伯族 阿昌族 普米族 塔吉克族 怒族 乌孜别克族 俄罗斯族 鄂温克族 德昂族 保安族 裕固族 京族 塔塔尔族 "
    "独龙族 鄂伦春族 赫哲族 门巴族 珞巴族 基诺族"
).split()
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
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
            # every "<" escaped: "</script>" or "<!--<script>" in a party's name cannot end the block
            "page_data": json.dumps(page_data, ensure_ascii=False, default=str).replace("<", "\\u003c"),
            **ctx,
        },
    )
    response.headers["Content-Security-Policy"] = CSP
    if request.query_params.get("lang") in ("zh", "en"):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True)
    return response


def render_error(request: Request, status: int, text: str, headers: dict[str, str] | None = None) -> HTMLResponse:
    """A page saying what went wrong in the page language (a 404 of a case, a refused page)."""
    response = render(request, "error.html", None, status=status, text=text)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
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
    return render(request, "login.html", None, page_data={"next": safe_next(request.query_params.get("next"))})


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path of this site, else "/". Browsers read a backslash
    as a slash (``/\\evil.example`` is ``//evil.example``, another site), so anything that is
    not a plain local path is refused: an open redirect would lend this site's name to phishing."""
    from urllib.parse import urlsplit

    if not target or not target.startswith("/") or "\\" in target or any(ord(ch) < 0x20 for ch in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return "/"
    return target


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
    audit.record_reads(tx, who, "hearing", ((h.id, h.office) for h in rows), via="list", page="list")
    return render(
        request, "list.html", who, rows=rows, total=total,
        form={"q": q, "date_from": date_from, "date_to": date_to, "category": category, "status": status, "kind": kind},
        statuses=[s.value for s in HearingState],
    )  # fmt: skip


@router.get("/hearings/new", response_class=HTMLResponse)
def new_session(request: Request, who: Annotated[Principal, Depends(require(Scope.SESSIONS_WRITE))]) -> Response:
    me = {"user_id": who.id, "role": who.role.value if who.role else None} if who.kind == "user" else None
    return render(
        request, "new.html", who, party_roles=[r.value for r in PartyRole], today=dt.date.today().isoformat(),
        limits=LIMITS, ethnicities=ETHNICITIES,
        page_data={"limits": LIMITS, "me": me, "party_roles": [r.value for r in PartyRole],
                   "staff_roles": [r.value for r in StaffRoleIn]},
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
                  limits=LIMITS, page_data={"me_id": who.id, "limits": LIMITS}, **privacy_words(_lang(request)))
