"""One error tree for the whole product.

Every error a user can cause or meet says what went wrong *and* how to fix it, so
the CLI and the server can show ``str(error)`` as-is and never a traceback.

Each error also carries a stable ``code`` and its ``params``: the server sends both, and the
pages say the error in their own language from the one message catalogue
(``scribe/web/messages.py``), so a Chinese page never shows the English ``message``.
"""

from __future__ import annotations

from typing import Any


class ScribeError(Exception):
    """Base of every error the product raises on purpose."""

    #: exit status the CLI uses for this kind of error
    exit_code: int = 1
    #: stable name of the message in the catalogue; a raise site may give a finer one
    code: str = "error"

    def __init__(
        self, message: str, *, fix: str | None = None, code: str | None = None, params: dict[str, Any] | None = None
    ) -> None:
        self.message = message
        self.fix = fix
        if code is not None:
            self.code = code
        self.params: dict[str, Any] = dict(params or {})
        super().__init__(message if fix is None else f"{message} — {fix}")


class ApiError(ScribeError):
    """A request refused with an HTTP status of its own (routes that used ``HTTPException``)."""

    def __init__(
        self, status: int, code: str, message: str, *, fix: str | None = None,
        params: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.headers = headers
        super().__init__(message, fix=fix, code=code, params=params)


class ConfigError(ScribeError):
    """Settings or a lock file are wrong."""

    exit_code = 2
    code = "config"


class ModelError(ScribeError):
    """A model is unknown, not installed, or its files fail verification."""

    exit_code = 3
    code = "model"


class ModelNotInstalled(ModelError):
    pass


class ModelCorrupt(ModelError):
    pass


class DrafterFailed(ModelError):
    """The drafting model gave no usable answer (server down, too slow, refused the request).

    Never shown as an error: the drafter catches it, keeps the rule-based draft and puts the
    message in the draft's warnings and ``drafter.fallback``.
    """


class AudioError(ScribeError):
    """An input cannot be read as audio."""

    exit_code = 4
    code = "audio"


class OutputError(ScribeError):
    """A result cannot be written where it was asked to go."""

    exit_code = 5
    code = "output"


class DiarizationError(ScribeError):
    exit_code = 6
    code = "diarization"


class SessionError(ScribeError):
    """A live session cannot do what was asked (wrong state, missing consent, ...)."""

    exit_code = 7
    code = "session"


class DocumentError(ScribeError):
    """A template or a draft is invalid."""

    exit_code = 8
    code = "document"


class NoAgreementError(DocumentError):
    """A 人民调解协议书 was asked for a hearing that reached no agreement (调解不成 / 调解终止)."""

    def __init__(self, outcome: str, evidence: str, *, when: str = "") -> None:
        self.outcome = outcome
        self.evidence = evidence
        at = f"（{when}）" if when else ""
        super().__init__(code="no_agreement", params={"outcome": outcome, "evidence": evidence, "when": when}, message=f"本次调解的结果是“{outcome}”，没有达成协议，不能起草人民调解协议书。依据{at}：“{evidence}”",
            fix=(f"the hearing ended {outcome} (no agreement), so there is no 人民调解协议书 to draft: "
                 "draft the 人民调解记录 instead (--template hearing-record), which records the result; "
                 "if the outcome was misheard, correct it on the review page of the hearing record"),
        )


class DeliveryError(ScribeError):
    """A webhook endpoint or delivery is misconfigured or refused."""

    exit_code = 9
    code = "delivery"


class AccountError(ScribeError):
    """A user, password or API token request is invalid."""

    exit_code = 10
    code = "account"
