"""Who is asking: a logged-in person or an API token, reduced to what access checks need."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    MEDIATOR = "mediator"
    REVIEWER = "reviewer"
    ADMIN = "admin"


class Scope(StrEnum):
    """What an API token may do. People get scopes from their role (``ROLE_SCOPES``)."""

    SESSIONS_READ = "sessions:read"  # list and read hearings, transcripts
    SESSIONS_WRITE = "sessions:write"  # create hearings, record consent, edit speakers
    LIVE_STREAM = "live:stream"  # desk clients: send audio over the WebSocket
    DOCUMENTS_READ = "documents:read"  # case systems: pull drafts and rendered files
    DOCUMENTS_WRITE = "documents:write"  # edit drafts
    DOCUMENTS_APPROVE = "documents:approve"  # approve or return
    METRICS = "metrics:read"  # monitoring: /metrics
    ADMIN = "admin"  # users, tokens, audit log, endpoints


ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.MEDIATOR: frozenset(
        {
            Scope.SESSIONS_READ,
            Scope.SESSIONS_WRITE,
            Scope.LIVE_STREAM,
            Scope.DOCUMENTS_READ,
            Scope.DOCUMENTS_WRITE,
        }
    ),
    Role.REVIEWER: frozenset(
        {Scope.SESSIONS_READ, Scope.DOCUMENTS_READ, Scope.DOCUMENTS_WRITE, Scope.DOCUMENTS_APPROVE}
    ),
    Role.ADMIN: frozenset(Scope),
}

ALL_OFFICES = "*"  # an admin, or a city-wide case-system token


@dataclass(frozen=True)
class Principal:
    kind: str  # "user" or "token"
    id: int
    name: str  # username or token name (never a secret)
    office: str
    scopes: frozenset[Scope]
    role: Role | None = None  # people only
    csrf_token: str | None = None  # cookie logins only: unsafe requests must echo it
    login_session_id: str | None = field(default=None, repr=False)

    @property
    def is_admin(self) -> bool:
        return Scope.ADMIN in self.scopes

    @property
    def all_offices(self) -> bool:
        return self.office == ALL_OFFICES or self.is_admin

    def can_see_office(self, office: str) -> bool:
        return self.all_offices or office == self.office

    @property
    def actor(self) -> str:
        """How the audit log names this principal."""
        return f"{self.kind}:{self.id}:{self.name}"
