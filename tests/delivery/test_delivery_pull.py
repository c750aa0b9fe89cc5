"""The pull side over real HTTP (uvicorn on loopback): signed links and scoped API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select

from scribe.delivery.models import OutboxMessage
from scribe.delivery.pull import issue_token, revoke_token, signed_file_url
from scribe.delivery.routes import make_router
from scribe.settings import Settings
from scribe.storage import Database

from .conftest import add_link_endpoint, approve_new, delivery_settings, sent_body
from .pgserver import free_port


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Database, Settings, str]]:
    port = free_port()
    settings = delivery_settings(
        tmp_path, delivery_public_base_url=f"http://127.0.0.1:{port}", delivery_include_audio=False
    )
    db = Database(f"sqlite:///{tmp_path / 'pull.db'}")
    db.create_schema()
    app = FastAPI()
    app.include_router(make_router(db, settings))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield db, settings, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def payload_of(db: Database, message_id: str) -> dict:
    with db.transaction() as tx:
        return json.loads(
            tx.scalar(select(OutboxMessage.body).where(OutboxMessage.id == message_id))
        )


def test_signed_links_from_the_webhook_download_the_approved_files(served, tmp_path):
    db, settings, _ = served
    ep = add_link_endpoint(db, settings)
    approval = approve_new(db, tmp_path, settings)
    files = json.loads(sent_body(db, approval.message_id, ep))["data"]["files"]
    with httpx.Client(timeout=10) as client:
        for entry in files:
            r = client.get(entry["url"])
            assert r.status_code == 200, r.text
            assert hashlib.sha256(r.content).hexdigest() == entry["sha256"]
            assert r.headers["x-content-sha256"] == entry["sha256"]
        pdf = next(f["url"] for f in files if f["kind"] == "pdf")
        # tampering with any part of the link breaks it
        assert client.get(pdf.replace("sig=", "sig=A")).status_code == 403
        assert client.get(pdf.replace("/pdf?", "/docx?")).status_code == 403
        q = parse_qs(urlsplit(pdf).query)
        later = pdf.replace(f"expires={q['expires'][0]}", f"expires={int(q['expires'][0]) + 60}")
        assert client.get(later).status_code == 403


def test_expired_links_and_changed_files_are_refused(served, tmp_path):
    db, settings, base = served
    approval = approve_new(db, tmp_path, settings, name="x")
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=settings.delivery.link_ttl_s + 5)
    with db.transaction() as tx:
        url, _ = signed_file_url(tx, approval.document_id, "pdf", 1, settings, now=old)
    with httpx.Client(timeout=10) as client:
        r = client.get(url)
        assert r.status_code == 403 and "expired" in r.text
        (tmp_path / "files" / "x" / "张三-调解协议书.pdf").write_bytes(
            b"%PDF edited after approval"
        )
        with db.transaction() as tx:
            fresh, _ = signed_file_url(
                tx, approval.document_id, "pdf", 1, settings, now=dt.datetime.now(dt.timezone.utc)
            )
        assert client.get(fresh).status_code == 409


def test_api_tokens_are_scoped_by_kind_and_office(served, tmp_path):
    db, settings, base = served
    approval = approve_new(db, tmp_path, settings, name="t")
    with db.transaction() as tx:
        _, docs_only = issue_token(tx, "city platform", ["documents:read"])
        _, transcripts = issue_token(tx, "archive", ["transcripts:read"], office="城关司法所")
        _, elsewhere = issue_token(
            tx, "other town", ["documents:read", "transcripts:read"], office="河东司法所"
        )
        revoked_info, revoked = issue_token(tx, "old", ["documents:read"])
        revoke_token(tx, revoked_info.id)
    doc = f"{base}/api/v1/documents/{approval.document_id}"

    def get(url: str, token: str | None) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.get(url, headers=headers, timeout=10)

    assert get(f"{doc}/files/docx", docs_only).status_code == 200
    assert get(f"{doc}/files/transcript", docs_only).status_code == 403
    assert get(f"{doc}/files/transcript", transcripts).status_code == 200
    assert get(f"{doc}/files/docx", elsewhere).status_code == 403
    assert get(f"{doc}/files/docx", revoked).status_code == 403
    assert get(f"{doc}/files/docx", None).status_code == 401
    assert get(f"{doc}/files/audio", docs_only).status_code == 404  # audio is not allowed here
    r = get(doc, docs_only)  # the approved payload itself, same as the webhook body
    assert r.status_code == 200 and r.json() == payload_of(db, approval.message_id)
    assert get(f"{base}/api/v1/documents/doc_missing/files/pdf", docs_only).status_code == 404
    # without valid credentials, a missing and an existing document answer alike
    missing = f"{base}/api/v1/documents/doc_missing"
    for url in (f"{missing}/files/docx", f"{doc}/files/docx", missing, doc):
        assert get(url, None).status_code == 401, url
        assert get(url, revoked).status_code == 403, url
    assert get(f"{missing}/files/docx?v=1&expires=9999999999&sig=AAAA", None).status_code == 403
