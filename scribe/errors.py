"""One error tree for the whole product.

Every error a user can cause or meet says what went wrong *and* how to fix it, so
the CLI and the server can show ``str(error)`` as-is and never a traceback.
"""

from __future__ import annotations


class ScribeError(Exception):
    """Base of every error the product raises on purpose."""

    #: exit status the CLI uses for this kind of error
    exit_code: int = 1

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        self.message = message
        self.fix = fix
        super().__init__(message if fix is None else f"{message} — {fix}")


class ConfigError(ScribeError):
    """Settings or a lock file are wrong."""

    exit_code = 2


class ModelError(ScribeError):
    """A model is unknown, not installed, or its files fail verification."""

    exit_code = 3


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


class OutputError(ScribeError):
    """A result cannot be written where it was asked to go."""

    exit_code = 5


class DiarizationError(ScribeError):
    exit_code = 6


class SessionError(ScribeError):
    """A live session cannot do what was asked (wrong state, missing consent, ...)."""

    exit_code = 7


class DocumentError(ScribeError):
    """A template or a draft is invalid."""

    exit_code = 8


class NoAgreementError(DocumentError):
    """A 人民调解协议书 was asked for a hearing that reached no agreement (调解不成 / 调解终止)."""

    def __init__(self, outcome: str, evidence: str, *, when: str = "") -> None:
        self.outcome = outcome
        self.evidence = evidence
        at = f"（{when}）" if when else ""
        super().__init__(
            f"本次调解的结果是“{outcome}”，没有达成协议，不能起草人民调解协议书。依据{at}：“{evidence}”",
            fix=(f"the hearing ended {outcome} (no agreement), so there is no 人民调解协议书 to draft: "
                 "draft the 人民调解记录 instead (--template hearing-record), which records the result; "
                 "if the outcome was misheard, correct it on the review page of the hearing record"),
        )


class DeliveryError(ScribeError):
    """A webhook endpoint or delivery is misconfigured or refused."""

    exit_code = 9


class AccountError(ScribeError):
    """A user, password or API token request is invalid."""

    exit_code = 10
