"""Accounts and access: users with roles and an office, login sessions, API tokens, audit log.

Roles: ``mediator`` (runs hearings, edits drafts), ``reviewer`` (reviews, approves, returns),
``admin`` (everything, in every office, plus users and tokens). Mediators and reviewers see only
their own office's hearings.
"""

from scribe.accounts.models import ApiToken, AuditEvent, LoginSession, User
from scribe.accounts.principal import Principal, Role, Scope

__all__ = ["ApiToken", "AuditEvent", "LoginSession", "Principal", "Role", "Scope", "User"]
