"""What one endpoint is sent of a message: its own download links, and the transcript only
when it opted in.

The message body (``OutboxMessage.body``) carries the files' hashes and sizes without links;
``endpoint_view`` adds a link per file bound to the endpoint (``DownloadLink``), and leaves the
transcript out for an endpoint that did not ask for it (what people said in the room is the
most sensitive part of a record: PIPL Art. 6, minimum necessary).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from scribe.delivery.events import DOCUMENT_APPROVED
from scribe.delivery.scope import Scope

#: (document id, kind, version, endpoint id) -> (url, expires at)
LinkMinter = Callable[[str, str, int, str], tuple[str, dt.datetime]]


def endpoint_view(
    payload: dict[str, Any], scope: Scope, endpoint_id: str, mint: LinkMinter | None
) -> dict[str, Any]:
    data = payload.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        return payload
    document = data.get("document") if isinstance(data.get("document"), dict) else None
    linkable = payload.get("type") == DOCUMENT_APPROVED and document is not None and mint is not None
    files: list[dict[str, Any]] = []
    for entry in data["files"]:
        if not isinstance(entry, dict):
            continue
        if entry.get("kind") == "transcript" and not scope.include_transcript:
            continue
        entry = dict(entry)
        if linkable and "content_base64" not in entry and "url" not in entry:
            assert mint is not None and document is not None
            url, expires = mint(str(document["id"]), str(entry["kind"]), int(document["version"]), endpoint_id)
            entry["url"] = url
            entry["url_expires_at"] = expires.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
        files.append(entry)
    return {**payload, "data": {**data, "files": files}}
