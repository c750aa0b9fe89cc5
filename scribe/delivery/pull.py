"""The pull side: case systems download documents and transcripts with a signed, expiring
link (carried in the webhook) or a scoped API token (``Authorization: Bearer sct_...``)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from scribe.delivery.models import ApiToken, DownloadLink
from scribe.errors import DeliveryError
from scribe.settings import Settings
from scribe.storage import utcnow

TOKEN_PREFIX = "sct_"
# What each file kind needs; documents:read also covers the JSON of an approved document.
SCOPES = {"documents:read", "transcripts:read", "audio:read"}
SCOPE_FOR_KIND = {
    "docx": "documents:read",
    "pdf": "documents:read",
    "transcript": "transcripts:read",
    "audio": "audio:read",
}
LINK_KEY_FILE = "delivery-link.key"


class AccessDenied(DeliveryError):
    """A download was refused (bad, expired or out-of-scope credentials)."""


# -- signed links ---------------------------------------------------------------------------


def link_key(settings: Settings) -> bytes:
    """The key that signs download links: configured, or created once in the data dir."""
    if settings.delivery.link_secret:
        return settings.delivery.link_secret.get_secret_value().encode("utf-8")
    path = settings.data_dir / LINK_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once cannot end up with different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(32))
    return path.read_text().strip().encode("utf-8")


def _link_sig(key: bytes, document_id: str, kind: str, version: int, expires: int, link_id: str) -> str:
    msg = f"{document_id}\n{kind}\n{version}\n{expires}\n{link_id}".encode()
    mac = hmac.new(key, msg, hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode("ascii").rstrip("=")


def file_path(document_id: str, kind: str) -> str:
    return f"/api/v1/documents/{document_id}/files/{kind}"


def public_base_url(settings: Settings, request_base: str | None = None) -> str:
    """Where a case system reaches this server, for the links in a payload: the configured
    ``SCRIBE_DELIVERY_PUBLIC_BASE_URL``, else ``SCRIBE_PUBLIC_URL`` (the address people type),
    else the address the approving request itself came in on, else the address the server
    listens on (``SCRIBE_HOST``/``SCRIBE_PORT``). Never a fixed port."""
    for base in (settings.delivery.public_base_url, settings.server.public_url, request_base):
        if base and base.strip():
            return base.strip().rstrip("/")
    host = "127.0.0.1" if settings.server.host in ("0.0.0.0", "::", "") else settings.server.host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.server.port}"


def signed_file_url(
    tx: Session,
    document_id: str,
    kind: str,
    version: int,
    settings: Settings,
    *,
    now: dt.datetime,
    endpoint_id: str | None = None,
    base_url: str | None = None,
) -> tuple[str, dt.datetime]:
    """A download link for one file of one document version, given to ``endpoint_id``, and
    when it expires. The link is a row (``DownloadLink``) its signature binds: it opens this
    one file and nothing else, and revoking the endpoint or the document ends it.
    ``base_url``: the request's own address, used when no public URL is configured."""
    expires_at = now + dt.timedelta(seconds=settings.delivery.link_ttl_s)
    expires = int(expires_at.timestamp())
    link_id = f"lnk_{secrets.token_hex(10)}"
    tx.add(
        DownloadLink(
            id=link_id, document_id=document_id, kind=kind, version=version,
            endpoint_id=endpoint_id, created_at=now, expires_at=expires_at,
        )
    )  # fmt: skip
    query = urlencode(
        {
            "v": version,
            "expires": expires,
            "link": link_id,
            "sig": _link_sig(link_key(settings), document_id, kind, version, expires, link_id),
        }
    )
    base = public_base_url(settings, base_url)
    return f"{base}{file_path(document_id, kind)}?{query}", expires_at


def verify_link(
    tx: Session,
    document_id: str,
    kind: str,
    version: int,
    expires: int,
    link_id: str,
    sig: str,
    settings: Settings,
    *,
    now: dt.datetime | None = None,
) -> DownloadLink:
    """The link's row if the signature matches, it has not expired and nothing revoked it."""
    from scribe.delivery.scope import scope_of

    now = now or utcnow()
    expected = _link_sig(link_key(settings), document_id, kind, version, expires, link_id)
    if not hmac.compare_digest(expected, sig):
        raise AccessDenied(
            "the download link's signature does not match",
            fix="use the link exactly as the webhook gave it, or an API token",
        )
    if now.timestamp() > expires:
        raise AccessDenied(
            "the download link has expired",
            fix="download with an API token (`scribe endpoints token`), or ask for a replay",
        )
    row = tx.get(DownloadLink, link_id)
    revoked = (
        row is None
        or row.revoked_at is not None
        or (row.endpoint_id is not None and scope_of(tx, row.endpoint_id).revoked_at is not None)
    )
    if revoked or row is None:
        raise AccessDenied(
            "the download link was revoked", fix="ask the office for a new delivery or an API token"
        )
    if (row.document_id, row.kind, row.version) != (document_id, kind, version):
        raise AccessDenied("the download link is for another file", fix="use the link as given")
    return row


# -- API tokens -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenInfo:
    id: str
    name: str
    scopes: tuple[str, ...]
    office: str | None
    expires_at: dt.datetime | None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(
    tx: Session,
    name: str,
    scopes: list[str],
    *,
    office: str | None = None,
    ttl: dt.timedelta | None = None,
    now: dt.datetime | None = None,
) -> tuple[TokenInfo, str]:
    """A new token; the plain value is returned once and only its hash is kept."""
    unknown = sorted(set(scopes) - SCOPES)
    if unknown or not scopes:
        raise DeliveryError(
            f"unknown or missing scopes {unknown}", fix=f"choose from {sorted(SCOPES)}"
        )
    now = now or utcnow()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        id=f"tok_{secrets.token_hex(6)}",
        name=name,
        token_sha256=_hash(token),
        scopes=sorted(set(scopes)),
        office=office,
        created_at=now,
        expires_at=now + ttl if ttl else None,
    )
    tx.add(row)
    tx.flush()
    return _info(row), token


def revoke_token(tx: Session, token_id: str, *, now: dt.datetime | None = None) -> None:
    row = tx.get(ApiToken, token_id)
    if row is None:
        raise DeliveryError(f"there is no API token {token_id!r}", fix="check the token id")
    row.revoked_at = now or utcnow()


def authorize_token(
    tx: Session, token: str, scope: str, office: str, *, now: dt.datetime | None = None
) -> TokenInfo:
    """The token's info if it may read ``scope`` for ``office``; ``AccessDenied`` otherwise."""
    info = authenticate_token(tx, token, scope, now=now)
    if info.office is not None and info.office != office:
        raise AccessDenied(
            "the API token is for another office", fix="use the token issued for this office"
        )
    return info


def authenticate_token(
    tx: Session, token: str, scope: str, *, now: dt.datetime | None = None
) -> TokenInfo:
    """The token's info if it is known, live and carries ``scope`` (any office).

    Routes call this before looking anything up, so a caller without valid credentials
    cannot learn whether a document exists.
    """
    now = now or utcnow()
    row = tx.scalar(select(ApiToken).where(ApiToken.token_sha256 == _hash(token)))
    if row is None or row.revoked_at is not None:
        raise AccessDenied("the API token is unknown or revoked", fix="ask the office for a token")
    if row.expires_at is not None and row.expires_at <= now:
        raise AccessDenied("the API token has expired", fix="ask the office for a new token")
    if scope not in row.scopes:
        raise AccessDenied(
            f"the API token lacks the scope {scope}", fix="ask for a token with that scope"
        )
    return _info(row)


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(row.id, row.name, tuple(row.scopes), row.office, row.expires_at)
