"""Standard Webhooks v1 secrets and signatures (the ``standardwebhooks`` library signs)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import secrets

from standardwebhooks.webhooks import Webhook

from scribe.errors import DeliveryError

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the spec asks for at least 24


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def check_secret(secret: str) -> str:
    """``secret`` if it is a usable ``whsec_`` secret; a ``DeliveryError`` otherwise."""
    fix = "pass whsec_ followed by base64 of at least 24 random bytes, or omit it to generate one"
    if not secret.startswith(SECRET_PREFIX):
        raise DeliveryError("the signing secret does not start with 'whsec_'", fix=fix)
    try:
        raw = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DeliveryError(
            "the signing secret is not valid base64 after 'whsec_'", fix=fix
        ) from exc
    if len(raw) < 24:
        raise DeliveryError(f"the signing secret holds {len(raw)} bytes, fewer than 24", fix=fix)
    return secret


def signature_header(
    secrets_in_use: list[str], message_id: str, timestamp: dt.datetime, body: str
) -> str:
    """``webhook-signature``: one ``v1,<base64>`` per secret, space separated (rotation)."""
    return " ".join(Webhook(s).sign(message_id, timestamp, body) for s in secrets_in_use)
