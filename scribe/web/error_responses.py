"""Error answers of the server: JSON with a stable ``code``, its ``params`` and the ``message``
in the asker's language for the API; a page in the page language for a browser that opened a
page. ``server.py``'s exception handlers call these, so every error says the same thing."""

from __future__ import annotations

import re

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from scribe.web import messages
from scribe.web.i18n import pick_lang, word

LANG_COOKIE = "scribe_lang"  # the pages' language choice (scribe.web.pages)


def asker_lang(request: Request) -> str:
    # a page's own requests say the page's language (common.js api()), so an error reads like the page
    asked = (request.headers.get("x-page-lang") or request.query_params.get("lang")
             or request.cookies.get(LANG_COOKIE))
    if asked is None and request.headers.get("accept-language", "").lower().startswith("en"):
        asked = "en"
    return pick_lang(asked)


def wants_page(request: Request) -> bool:
    return (request.method == "GET" and "text/html" in request.headers.get("accept", "")
            and not request.url.path.startswith(("/api", "/static", "/ws")))


def error_response(
    request: Request, status: int, error: str, *, fix: str | None = None, code: str = "error",
    params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    # the sentence may name its kind in either half ("… — … the account is locked for now")
    said = f"{error} — {fix}" if fix else error
    code, full = messages.classify(status, said, code, params or {}, headers)
    lang = asker_lang(request)
    text = messages.render(code, full, lang, word(lang))
    if lang != "en" and code in messages.GENERIC_CODES and re.search(r"[\u4e00-\u9fff]", error):
        # a raise site that already says it in Chinese, with no finer code of its own, says more
        # than the class's generic sentence ("无法把“下周”读成一个日期 — 写成 2026年12月31日…")
        text = said
    if wants_page(request):
        from scribe.web.pages import render_error

        return render_error(request, status, text, headers=dict(headers or {}))
    body = {"error": error, "fix": fix, "code": code, "params": full, "message": text, **(extra or {})}
    return JSONResponse(body, status_code=status, headers=dict(headers) if headers else None)


def validation_response(request: Request, errors: Sequence[Mapping[str, Any]], body: Any,
                        detail: Any) -> Response:
    problems = messages.problems_from_pydantic(errors, body)
    english = "; ".join(
        ".".join(str(p) for p in e.get("loc", ()) if p != "body") + f": {e.get('msg')}" for e in errors[:5]
    )
    if problems and problems[0].get("kind") == "bad_json":
        return error_response(request, 422, "invalid request: " + english, fix="send JSON", code="bad_json")
    return error_response(request, 422, "invalid request: " + english, fix="correct those fields",
                          code="invalid", params={"problems": problems}, extra={"detail": detail})
