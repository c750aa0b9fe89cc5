"""Every read of personal data leaves an audit row naming who and which object, and nothing of
the data itself: hearing lists (API and page), document lists, audio spans, case systems'
pulls (token and signed link). Real uvicorn on loopback, a real SQLite file.
(The WebSocket's transcript replay is checked in test_security_consent, on the live engine.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from delivery.conftest import AGREEMENT_FIELDS, make_files
from server_support import OFFICE_A, ServerThread, login, make_settings, seed_accounts
from sqlalchemy import select
from test_server_review import DialogueLive, _hearing

from scribe.accounts.models import AuditEvent
from scribe.storage import Database, utcnow
from server import create_app

PHONE = "13800000001"
PARTIES = [{"role": "applicant", "name": "张三", "phone": PHONE, "address": "城关镇幸福路1号"},
           {"role": "respondent", "name": "李四"}]


@pytest.fixture()
def srv(tmp_path: Path) -> Iterator[dict[str, Any]]:
    settings = make_settings(tmp_path, server_delivery_worker=False, delivery_link_secret="test-link-key",
                             delivery_allow_http=True, delivery_allow_loopback=True)
    seed_accounts(settings)
    server = ServerThread(create_app(settings, live=DialogueLive(tmp_path)))
    try:
        yield {"url": server.url, "settings": settings, "tmp": tmp_path}
    finally:
        server.close()


def _rows(settings: Any, after: int = 0) -> list[AuditEvent]:
    db = Database(settings.db_url)
    try:
        with db.transaction() as tx:
            return list(tx.scalars(select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id)))
    finally:
        db.dispose()


def _last_id(settings: Any) -> int:
    rows = _rows(settings)
    return rows[-1].id if rows else 0


def _no_personal_data(rows: list[AuditEvent]) -> None:
    for e in rows:
        text = json.dumps([e.actor, e.object_type, e.object_id, e.detail, e.note], ensure_ascii=False)
        for personal in ("张三", "李四", PHONE, "幸福路"):
            assert personal not in text, (personal, text)


def test_listing_and_searching_hearings_is_an_audited_read_of_each_hearing_shown(srv: dict[str, Any]) -> None:
    settings = srv["settings"]
    with httpx.Client(base_url=srv["url"], timeout=30) as c:
        login(c, "med_a")
        ids = [c.post("/api/hearings", json={"kind": "mediation", "parties": PARTIES}).json()["id"] for _ in range(3)]
        before = _last_id(settings)
        r = c.get("/api/hearings", params={"party": "张三", "q": "张三"})
        assert r.status_code == 200 and {h["id"] for h in r.json()["items"]} == set(ids)
        rows = _rows(settings, before)
        views = [e for e in rows if e.action == "view" and e.object_type == "hearing"]
        assert sorted(e.object_id for e in views) == sorted(ids)
        assert all(e.actor.startswith("user:") and "med_a" in e.actor and e.office == OFFICE_A for e in views)
        assert all(e.detail.get("via") == "list" for e in views)
        _no_personal_data(rows)  # the search terms (a name, a phone number) are not written
        # the list page shows the same data: the same reads
        before = _last_id(settings)
        page = c.get("/", params={"q": "张三"}, headers={"accept": "text/html"})
        assert page.status_code == 200 and "张三" in page.text
        rows = _rows(settings, before)
        assert sorted(e.object_id for e in rows if e.action == "view") == sorted(ids)
        _no_personal_data(rows)
        # an empty result reads nobody
        before = _last_id(settings)
        assert c.get("/api/hearings", params={"party": "无此人"}).json()["items"] == []
        assert [e for e in _rows(settings, before) if e.action == "view"] == []
        # an audio span is an export of that hearing's audio, with its span
        h = ids[0]
        for i in range(2):
            c.post(f"/api/hearings/{h}/consent", json={"party_index": i, "consented": True, "notice_read": True})
        c.post(f"/api/hearings/{h}/record")
        before = _last_id(settings)
        assert c.get(f"/api/hearings/{h}/audio", params={"start": 0.5, "end": 1.0}).status_code == 200
        span = [e for e in _rows(settings, before) if e.object_type == "audio"]
        assert len(span) == 1 and span[0].object_id == h
        assert {k: span[0].detail[k] for k in ("start", "end")} == {"start": 0.5, "end": 1.0}


def test_listing_documents_and_case_system_pulls_are_audited(srv: dict[str, Any]) -> None:
    from scribe import review
    from scribe.delivery.pull import issue_token, signed_file_url

    settings = srv["settings"]
    with httpx.Client(base_url=srv["url"], timeout=120) as c:
        login(c, "med_a")
        hid = _hearing(c)
        drafted = c.post(f"/api/hearings/{hid}/documents", json={})
        assert drafted.status_code == 201, drafted.text
    db = Database(settings.db_url)
    try:
        files = make_files(srv["tmp"], "audited")
        with db.transaction() as tx:  # an approved document with real files, for the pulls
            doc = review.save_draft(tx, hearing_id="ses_pulled", office=OFFICE_A, kind="mediation-agreement",
                                    fields=AGREEMENT_FIELDS, files=files)
        with db.transaction() as tx:
            approval = review.approve(tx, doc.id, "赵审核", settings=settings)
        with db.transaction() as tx:
            _, token = issue_token(tx, "city platform", ["documents:read"], office=OFFICE_A)
    finally:
        db.dispose()
    doc_id = approval.document_id
    with httpx.Client(base_url=srv["url"], timeout=30) as c:
        before = _last_id(settings)
        r = c.get(f"/api/v1/documents/{doc_id}", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        links = Database(settings.db_url)
        try:
            with links.transaction() as tx:
                link, _ = signed_file_url(tx, doc_id, "docx", approval.version, settings, now=utcnow())
        finally:
            links.dispose()
        r = c.get("/" + link.split("://", 1)[1].split("/", 1)[1])
        assert r.status_code == 200, r.text
        pulls = [e for e in _rows(settings, before) if e.object_type == "document"]
        assert [(e.action, e.detail.get("via"), e.detail.get("kind")) for e in pulls] == [
            ("export", "token", "payload"), ("export", "link", "docx")]
        assert pulls[0].actor.startswith("pull-token:") and "city platform" in pulls[0].actor
        assert pulls[1].actor.startswith("link:") and all(e.object_id == doc_id for e in pulls)
        assert all(e.office == OFFICE_A for e in pulls) and "sig" not in json.dumps([e.detail for e in pulls])
        # a refused pull hands out nothing and reads nothing
        before = _last_id(settings)
        assert c.get(f"/api/v1/documents/{doc_id}", headers={"Authorization": "Bearer scr_wrong"}).status_code == 403
        assert [e for e in _rows(settings, before) if e.object_type == "document"] == []
        # the desk's document list: one read per document shown, by the person
        login(c, "rev_a")
        before = _last_id(settings)
        r = c.get(f"/api/hearings/{hid}/documents")
        assert r.status_code == 200 and [d["id"] for d in r.json()] == [drafted.json()["id"]]
        rows = _rows(settings, before)
        listed = [e for e in rows if e.action == "view" and e.object_type == "document"]
        assert [(e.object_id, e.detail.get("via"), e.detail.get("hearing")) for e in listed] == [
            (drafted.json()["id"], "list", hid)]
        assert "rev_a" in listed[0].actor
        _no_personal_data(rows)
