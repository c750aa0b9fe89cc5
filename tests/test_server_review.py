"""Draft review over the API on a real server: draft from the transcript (with staff
corrections), edit a field, add a term, change the category, return, re-approve; files and the
outbox message that approval writes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from docx import Document as DocxDocument
from server_support import MemoryLive, ServerThread, login, make_settings, seed_accounts
from sqlalchemy import select

from scribe.delivery.models import OutboxMessage
from scribe.storage import Database
from server import create_app


class DialogueLive(MemoryLive):
    """The in-memory engine with a real mediation dialogue as its transcript."""

    def transcript(self, sid: str) -> dict[str, Any] | None:
        lines = [
            ("S1", "今天我们就张三和李四之间的院墙纠纷进行调解。"),
            ("S2", "李四家翻修房子的时候把我家院墙推倒了一段，我要求他赔偿修墙的钱。"),
            ("S3", "墙本来就旧了，我可以出一部分钱。"),
            ("S1", "经调解，双方自愿达成如下协议：一、李四于2026年12月31日前赔偿张三修墙费用三千元。二、双方今后和睦相处。"),
            ("S2", "我同意。"),
            ("S3", "我也同意。"),
        ]
        segs, t = [], 0.0
        for spk, text in lines:
            segs.append({"start": t, "end": t + 4.0, "speaker": spk, "text": text, "words": []})
            t += 4.5
        return {"language": "zh", "duration": t, "model": "memory", "segments": segs}


@pytest.fixture()
def srv(tmp_path) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    from scribe.delivery.endpoints import add_endpoint

    settings = make_settings(tmp_path, soffice_binary="no-soffice-here", server_delivery_worker=False,
                             delivery_allow_loopback=True, delivery_allow_http=True)  # fmt: skip
    seed_accounts(settings)
    db = Database(settings.db_url)
    with db.transaction() as tx:
        add_endpoint(tx, "http://127.0.0.1:9/hook", ["document.approved"], settings, name="city")
    db.dispose()
    server = ServerThread(create_app(settings, live=DialogueLive(tmp_path)))
    try:
        yield {"url": server.url, "settings": settings}
    finally:
        server.close()


def _hearing(c: httpx.Client) -> str:
    h = c.post("/api/hearings", json={"kind": "mediation", "case_number": "（2026）城人调字第5号", "category": "邻里",
                                      "parties": [{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "李四"}]}).json()  # fmt: skip
    for i in (0, 1):
        c.post(f"/api/hearings/{h['id']}/consent", json={"party_index": i, "consented": True, "notice_read": True})
    for label, role, name in (("S1", "mediator", "王调解员"), ("S2", "applicant", "张三"), ("S3", "respondent", "李四")):
        assert c.put(f"/api/hearings/{h['id']}/speakers/{label}", json={"role": role, "name": name}).status_code == 200
    assert c.post(f"/api/hearings/{h['id']}/record").status_code == 200
    assert c.post(f"/api/hearings/{h['id']}/stop").status_code == 200
    return str(h["id"])


def test_draft_edit_term_category_return_and_approve(srv: dict[str, Any]) -> None:
    base = srv["url"]
    with closing(httpx.Client(base_url=base, timeout=60)) as med:
        login(med, "med_a")
        hid = _hearing(med)
        # a correction before drafting: the draft uses it, the original stays beside it
        r = med.put(f"/api/hearings/{hid}/transcript/segments/2", json={"text": "墙本来就旧了，我可以出一半的钱。"})
        assert r.status_code == 200 and r.json()["original"] == "墙本来就旧了，我可以出一部分钱。"
        doc = med.post(f"/api/hearings/{hid}/documents", json={}).json()
        assert doc["kind"] == "mediation-agreement" and doc["status"] == "draft"
        terms = doc["fields"]["terms"]
        assert any("三千元" in str(t["value"]) or "3000" in str(t["value"]) for t in terms["items"])
        assert terms["items"][0]["evidence"][0]["quote"]  # each term points at the words it came from
        assert doc["missing"]  # phones, addresses ... nobody said them
        assert med.get(f"/api/hearings/{hid}").json()["status"] == "drafted"
        # edit a field, add a term, change the category (a wrong one is refused)
        did = doc["id"]
        r = med.patch(f"/api/hearings/{hid}/documents/{did}/fields", json={"path": "parties.0.phone", "value": "13800000000"})
        assert r.status_code == 200, r.text
        assert "parties.0.phone" not in r.json()["missing"]
        r = med.post(f"/api/hearings/{hid}/documents/{did}/terms", json={"text": "李四负责清理院墙废料。"})
        assert r.json()["fields"]["terms"]["items"][-1]["value"] == "李四负责清理院墙废料。"
        assert med.patch(f"/api/hearings/{hid}/documents/{did}/fields", json={"path": "dispute_category", "value": "火星"}).status_code == 422
        r = med.patch(f"/api/hearings/{hid}/documents/{did}/fields", json={"path": "dispute_category", "value": "房屋宅基地"})
        assert r.json()["fields"]["dispute_category"]["value"] == "房屋宅基地"
        # a mediator cannot approve
        assert med.post(f"/api/hearings/{hid}/documents/{did}/approve").status_code == 403
        docx = med.get(f"/api/hearings/{hid}/documents/{did}/file/docx")
        assert docx.status_code == 200
    with open(srv["settings"].data_dir / "check.docx", "wb") as fh:
        fh.write(docx.content)
    text = "\n".join(p.text for p in DocxDocument(str(srv["settings"].data_dir / "check.docx")).paragraphs)
    tables = "\n".join(c.text for t in DocxDocument(str(srv["settings"].data_dir / "check.docx")).tables for row in t.rows for c in row.cells)
    assert "李四负责清理院墙废料" in text + tables and "13800000000" in text + tables
    with closing(httpx.Client(base_url=base, timeout=60)) as rev:
        login(rev, "rev_a")
        r = rev.post(f"/api/hearings/{hid}/documents/{did}/return", json={"note": "请补充履行地点"})
        assert r.json()["status"] == "returned" and r.json()["return_note"] == "请补充履行地点"
        assert rev.post(f"/api/hearings/{hid}/documents/{did}/approve").status_code == 422  # returned, not a draft
        # the correction starts version 2 as a draft; version 1's files stay as they were
        r = rev.patch(f"/api/hearings/{hid}/documents/{did}/fields", json={"path": "performance_place", "value": "城关司法所调解室"})
        assert r.json()["status"] == "draft" and r.json()["version"] == 2
        r = rev.post(f"/api/hearings/{hid}/documents/{did}/approve")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "approved" and body["approved_by"] == "rev_a"
        assert body["deliveries"] and body["deliveries"][0]["status"] == "pending"  # queued for the worker
        assert rev.get(f"/api/hearings/{hid}").json()["status"] == "approved"
    db = Database(srv["settings"].db_url)
    with db.transaction() as tx:
        messages = list(tx.scalars(select(OutboxMessage).where(OutboxMessage.subject_id == did)))
    db.dispose()
    assert len(messages) == 1 and messages[0].event_type == "document.approved"
    assert "城关司法所调解室" in messages[0].body
    # each version keeps its own draft.json; the files are rendered from it by content hash
    v1 = srv["settings"].data_dir / "documents" / did / "v1" / "draft.json"
    v2 = srv["settings"].data_dir / "documents" / did / "v2" / "draft.json"
    assert v1.exists() and v2.exists() and v1.read_bytes() != v2.read_bytes()
    rendered = srv["settings"].data_dir / "documents" / did / "rendered"
    assert {"docx", "transcript"} <= set(body["files"])
    assert len(list(rendered.glob("*.docx"))) >= 3  # v1 drafts, the v2 draft, the approved v2


def test_drafting_before_stop_is_refused(srv: dict[str, Any]) -> None:
    with closing(httpx.Client(base_url=srv["url"], timeout=60)) as med:
        login(med, "med_a")
        h = med.post("/api/hearings", json={"kind": "consultation", "parties": [{"role": "visitor", "name": "周五"}]}).json()
        med.post(f"/api/hearings/{h['id']}/consent", json={"party_index": 0, "consented": True, "notice_read": True})
        assert med.post(f"/api/hearings/{h['id']}/documents", json={}).status_code == 409  # nothing recorded
        med.post(f"/api/hearings/{h['id']}/record")
        r = med.post(f"/api/hearings/{h['id']}/documents", json={})
        assert r.status_code == 409 and "Stop" in r.json()["fix"]


def test_a_list_field_is_edited_as_text(srv: dict[str, Any]) -> None:
    with closing(httpx.Client(base_url=srv["url"], timeout=60)) as med:
        login(med, "med_a")
        hid = _hearing(med)
        doc = med.post(f"/api/hearings/{hid}/documents", json={}).json()
        assert doc["fields"]["mediators"]["value"] == ["王调解员"]
        r = med.patch(f"/api/hearings/{hid}/documents/{doc['id']}/fields", json={"path": "mediators", "value": "王调解员、刘调解员"})
        assert r.json()["fields"]["mediators"]["value"] == ["王调解员", "刘调解员"]


def test_deleting_a_hearing_removes_its_drafts_and_says_so_in_the_audit_log(srv: dict[str, Any]) -> None:
    with closing(httpx.Client(base_url=srv["url"], timeout=60)) as med:
        login(med, "med_a")
        hid = _hearing(med)
        doc = med.post(f"/api/hearings/{hid}/documents", json={}).json()
    folder = srv["settings"].data_dir / "documents" / doc["id"]
    assert (folder / "v1" / "draft.json").exists() and list((folder / "rendered").glob("*.docx"))
    with closing(httpx.Client(base_url=srv["url"], timeout=60)) as admin:
        login(admin, "admin")
        assert admin.delete(f"/api/hearings/{hid}").status_code == 204
        assert admin.get(f"/api/hearings/{hid}").status_code == 404
        assert admin.get(f"/api/hearings/{hid}/documents/{doc['id']}").status_code == 404
        assert admin.get("/api/audit", params={"object_id": hid, "action": "delete"}).json()
    assert not folder.exists()


@pytest.mark.parametrize("drafting_server", ["up", "down"])
def test_the_sites_drafting_server_is_used_and_a_dead_one_leaves_the_rules(tmp_path, drafting_server: str) -> None:  # type: ignore[no-untyped-def]
    """SCRIBE_DRAFTING_URL on the web path: a real scripted chat-completions process on
    loopback (tests/chat_server.py); its facts are used with their quotes as evidence, and a
    server that is not there leaves the rule-based draft with the reason among the warnings."""
    import socket
    import tempfile

    from tests.chat_server import requests_for, running

    facts = "李四家翻修房子时推倒了张三家的一段院墙，张三要求李四赔偿修墙的钱；李四认为墙本来就旧了，愿意出一部分钱。"
    quotes = ["李四家翻修房子的时候把我家院墙推倒了一段，我要求他赔偿修墙的钱", "墙本来就旧了，我可以出一部分钱"]
    cases = {"site-model": {"content": json.dumps({"facts": {"text": facts, "quotes": quotes}}, ensure_ascii=False)}}
    with running(cases, Path(tempfile.mkdtemp(dir=tmp_path))) as (url, log):
        if drafting_server == "down":
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                url = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
        settings = make_settings(tmp_path, soffice_binary="no-soffice-here", server_delivery_worker=False,
                                 drafting_url=url, drafting_model="site-model", drafting_timeout_s=20)
        seed_accounts(settings)
        server = ServerThread(create_app(settings, live=DialogueLive(tmp_path)))
        try:
            with closing(httpx.Client(base_url=server.url, timeout=60)) as med:
                login(med, "med_a")
                hid = _hearing(med)
                doc = med.post(f"/api/hearings/{hid}/documents", json={}).json()
        finally:
            server.close()
        got = doc["fields"]["facts"]
        if drafting_server == "up":
            assert got["source"] == "model" and got["value"] == facts
            assert [e["quote"] for e in got["evidence"]] == quotes and got["evidence"][1]["role"] == "被申请人"
            assert len(requests_for(log, "site-model")) == 1
        else:
            assert got["source"] == "transcript"
            assert any("drafting model site-model: cannot reach the drafting server" in w for w in doc["warnings"])
        assert doc["fields"]["terms"]["source"] == "transcript"  # no terms in the answer: the rules' stand
class FailedLive(MemoryLive):
    """A hearing that ends without agreement: the mediator's offer is refused."""

    def transcript(self, sid: str) -> dict[str, Any] | None:
        lines = [
            ("S2", "李四家的树根把我家院墙顶裂了，我要他赔两千。"),
            ("S3", "两千不行，我最多出五百。"),
            ("S1", "要是双方同意的话，李四出一千，把树根处理掉，行不行？"),
            ("S2", "一千不行。"),
            ("S1", "那今天这个调解就调不成了，双方对赔偿金额分歧太大，你们可以向人民法院起诉。"),
        ]
        segs, t = [], 0.0
        for spk, text in lines:
            segs.append({"start": t, "end": t + 4.0, "speaker": spk, "text": text, "words": []})
            t += 4.5
        return {"language": "zh", "duration": t, "model": "memory", "segments": segs}


def test_a_failed_hearing_gets_no_agreement_but_a_record_with_its_result(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, soffice_binary="no-soffice-here", server_delivery_worker=False)
    seed_accounts(settings)
    server = ServerThread(create_app(settings, live=FailedLive(tmp_path)))
    try:
        with closing(httpx.Client(base_url=server.url, timeout=60)) as med:
            login(med, "med_a")
            hid = _hearing(med)
            r = med.post(f"/api/hearings/{hid}/documents", json={"template": "mediation-agreement"})
            assert r.status_code == 422
            body = r.json()
            assert "调解不成" in body["error"] and "调不成" in body["error"] and "hearing-record" in body["fix"]
            r = med.post(f"/api/hearings/{hid}/documents", json={"template": "hearing-record"})
            assert r.status_code == 201, r.text
            doc = r.json()
            result = doc["fields"]["result"]
            assert result["value"]["outcome"] == "调解不成"
            assert "法院" in result["value"]["remedies"]
            # the refused offer is listed beside the draft for the reviewer, not drafted
            assert any(c["kind"] == "amount" and c["value"] == "1000元" for c in doc["candidates"]) or \
                any("一千" in c["evidence"]["quote"] for c in doc["candidates"])
    finally:
        server.close()
