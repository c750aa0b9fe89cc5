"""The transcript editor's and the lexicon's routes over HTTP against a real server thread:
byte ranges of the recording, edits audited with the original kept, who may do what, the draft
made from the corrected transcript, 生成草稿 again as the next version."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import pytest
from server_support import ServerThread, login, make_settings, seed_accounts
from test_server_review import DialogueLive, _hearing

from scribe.accounts.models import AuditEvent
from scribe.storage import Database
from server import create_app


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("transcript")
    settings = make_settings(root, soffice_binary="no-soffice-here", server_delivery_worker=False)
    seed_accounts(settings)
    server = ServerThread(create_app(settings, live=DialogueLive(root)))
    with closing(httpx.Client(base_url=server.url, timeout=60)) as c:
        login(c, "med_a")
        hid = _hearing(c)
    try:
        yield {"url": server.url, "settings": settings, "hearing": hid}
    finally:
        server.close()


def _c(srv: dict[str, Any], user: str) -> httpx.Client:
    c = httpx.Client(base_url=srv["url"], timeout=120)
    login(c, user)
    return c


def test_the_recording_is_served_in_byte_ranges(srv: dict[str, Any]) -> None:
    with closing(_c(srv, "med_a")) as c:
        url = f"/api/hearings/{srv['hearing']}/audio"
        whole = c.get(url)
        assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
        size = len(whole.content)
        for rng, lo, hi in (("bytes=0-99", 0, 99), ("bytes=40-1000", 40, 1000), ("bytes=1001-", 1001, size - 1),
                            ("bytes=-500", size - 500, size - 1)):
            r = c.get(url, headers={"Range": rng})
            assert r.status_code == 206, rng
            assert r.headers["content-range"] == f"bytes {lo}-{hi}/{size}"
            assert r.content == whole.content[lo:hi + 1], rng
        assert c.get(url, headers={"Range": f"bytes={size + 10}-"}).status_code == 416


def test_edits_are_audited_keep_the_original_and_reach_the_draft(srv: dict[str, Any]) -> None:
    hid = srv["hearing"]
    with closing(_c(srv, "med_a")) as c:
        base = f"/api/hearings/{hid}/transcript"
        view = c.get(f"{base}/turns").json()
        assert [p["name"] for p in view["people"]][:2] == ["张三", "李四"] and any(p["name"] == "赵审核" for p in view["people"])
        r = c.put(f"{base}/turns/t2", json={"text": "墙本来就旧了，李四可以出一半的钱。"})
        assert r.status_code == 200 and r.json()["turns"][2]["original"] == "墙本来就旧了，我可以出一部分钱。"
        assert r.json()["learnt"] == ["李四"]  # the party's name typed in; 一半 is a common word
        r = c.post(f"{base}/replace", json={"find": "院墙", "replace": "围墙"})
        assert r.json()["replaced"] == 2 and r.json()["learnt"] == []
        r = c.post(f"{base}/replace", json={"find": "围墙", "replace": "院墙"})
        assert r.json()["replaced"] == 2
        r = c.put(f"{base}/turns/t4/speaker", json={"role": "third_party", "name": "王五"})
        assert r.status_code == 200 and r.json()["turns"][4]["speaker"] == "人工1"
        assert r.json()["speakers"]["人工1"] == {"role": "third_party", "name": "王五"}
        assert c.put(f"{base}/turns/t4/speaker", json={"label": "S9"}).status_code == 409
        assert c.put(f"{base}/turns/t77", json={"text": "x"}).status_code == 404
        assert c.post(f"{base}/turns/t0/merge").status_code == 409
        doc = c.post(f"/api/hearings/{hid}/documents", json={}).json()
        facts = str(doc["fields"]["facts"]["value"])
        assert "一半" in facts and "一部分" not in facts  # the draft reads the corrected text
        again = c.post(f"/api/hearings/{hid}/documents", json={"template": None}).json()
        assert again["id"] == doc["id"] and again["version"] == doc["version"] + 1
        versions = c.get(f"/api/hearings/{hid}/documents/{doc['id']}/versions").json()
        assert [v["version"] for v in versions] == [1, 2] and versions[-1]["current"] and versions[0]["by"] == "med_a"
        assert len(c.get(f"/api/hearings/{hid}/documents").json()) == 1
        r = c.patch(f"/api/hearings/{hid}/documents/{doc['id']}/fields", json={"path": "performance_deadline", "value": "2026年12月31日前"})
        assert r.status_code == 200 and r.json()["fields"]["performance_deadline"]["value"] == "2026-12-31"
        r = c.patch(f"/api/hearings/{hid}/documents/{doc['id']}/fields", json={"path": "performance_deadline", "value": "等有钱了"})
        assert r.status_code == 422 and "无法把" in r.json()["error"]
    db = Database(srv["settings"].db_url)
    try:
        with db.transaction() as tx:
            rows = [a for a in tx.query(AuditEvent).filter(AuditEvent.object_type == "transcript", AuditEvent.object_id == hid)]
            ops = [a.detail.get("op") for a in rows if a.action == "change"]
            assert ops.count("text") == 1 and ops.count("replace") == 2 and ops.count("speaker") == 1
            assert not any("一半" in str(a.detail) or "围墙" in str(a.detail) for a in rows)  # no text in the audit trail
    finally:
        db.dispose()


def test_who_may_edit_and_who_sees_the_lexicon(srv: dict[str, Any]) -> None:
    hid = srv["hearing"]
    with closing(_c(srv, "med_b")) as other:  # another office: the hearing is not there
        assert other.get(f"/api/hearings/{hid}/transcript/turns").status_code == 404
        assert other.post(f"/api/hearings/{hid}/transcript/replace", json={"find": "张三", "replace": "x"}).status_code == 404
    with closing(_c(srv, "med_a")) as med:
        assert med.get("/api/lexicon").status_code == 403
    with closing(_c(srv, "admin")) as admin:
        words = admin.get("/api/lexicon").json()
        assert any(w["word"] == "李四" and w["office"] == "城关司法所" for w in words)
        r = admin.post("/api/lexicon", json={"word": "幸福村", "kind": "place", "office": "城关司法所"})
        assert r.status_code == 201
        eid = r.json()["id"]
        assert admin.post("/api/lexicon", json={"word": "幸福村", "kind": "place", "office": "城关司法所"}).status_code == 409
        assert admin.patch(f"/api/lexicon/{eid}", json={"kind": "term", "enabled": False}).json()["enabled"] is False
        assert admin.delete(f"/api/lexicon/{eid}").status_code == 204
        assert admin.patch(f"/api/lexicon/{eid}", json={"kind": "term"}).status_code == 404
