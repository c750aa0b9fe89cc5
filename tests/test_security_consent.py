"""Consent to recording follows the person, and is enforced while the hearing records.

Real uvicorn servers on loopback with a real SQLite file; the WebSocket test runs the real live
engine (whisper-base, Silero VAD) and speaks the real protocol.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_support import MemoryLive, ServerThread, login, make_settings, seed_accounts
from sqlalchemy import select

from scribe.accounts.models import AuditEvent
from scribe.storage import Database
from server import create_app

FRAME = 3200
PARTIES = [{"role": "applicant", "name": "张三", "phone": "13800000001"},
           {"role": "respondent", "name": "李四"}]


@pytest.fixture()
def srv(tmp_path: Path) -> Iterator[dict[str, Any]]:
    settings = make_settings(tmp_path, server_delivery_worker=False)
    seed_accounts(settings)
    live = MemoryLive(tmp_path)
    server = ServerThread(create_app(settings, live=live))
    try:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            login(c, "med_a")
            yield {"c": c, "live": live, "settings": settings}
    finally:
        server.close()


def _audit(settings: Any, **where: Any) -> list[AuditEvent]:
    db = Database(settings.db_url)
    try:
        with db.transaction() as tx:
            rows = list(tx.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    finally:
        db.dispose()
    return [r for r in rows if all((r.detail or {}).get(k) == v for k, v in where.items())]


def _consented_hearing(c: httpx.Client, parties: list[dict[str, Any]] = PARTIES) -> dict[str, Any]:
    h = c.post("/api/hearings", json={"kind": "mediation", "parties": parties}).json()
    for party in h["parties"]:
        r = c.post(f"/api/hearings/{h['id']}/consent",
                   json={"party_id": party["id"], "consented": True, "notice_read": True})
        assert r.status_code == 201, r.text
    got = c.get(f"/api/hearings/{h['id']}").json()
    assert got["all_consented"]
    return got


def test_replacing_a_party_drops_that_persons_consent(srv: dict[str, Any]) -> None:
    c = srv["c"]
    h = _consented_hearing(c)
    ids = [p["id"] for p in h["parties"]]
    assert len(set(ids)) == 2 and all(ids)
    # the second party is replaced by someone else at the same place in the list
    r = c.patch(f"/api/hearings/{h['id']}", json={"parties": [h["parties"][0], {"role": "respondent", "name": "王五"}]})
    assert r.status_code == 200, r.text
    got = r.json()
    assert not got["all_consented"]
    assert got["parties"][0]["id"] == ids[0] and got["parties"][1]["id"] != ids[1]
    assert [x["party_index"] for x in got["consents"]] == [0]  # only 张三's consent still counts
    rec = c.post(f"/api/hearings/{h['id']}/record")
    assert rec.status_code == 409 and "王五" in rec.json()["error"]
    # the same with the old id sent along: a different name is a different person
    h2 = _consented_hearing(c)
    forged = {**h2["parties"][1], "name": "赵六"}
    got2 = c.patch(f"/api/hearings/{h2['id']}", json={"parties": [h2["parties"][0], forged]}).json()
    assert not got2["all_consented"] and got2["parties"][1]["id"] != h2["parties"][1]["id"]
    # an id of another hearing's party is not taken over either
    h3 = _consented_hearing(c)
    stolen = {**h3["parties"][1], "id": h2["parties"][0]["id"]}
    got3 = c.patch(f"/api/hearings/{h3['id']}", json={"parties": [h3["parties"][0], stolen]}).json()
    assert got3["parties"][1]["id"] != h2["parties"][0]["id"]


def test_correcting_a_phone_number_keeps_the_consent_and_reordering_keeps_it_per_person(srv: dict[str, Any]) -> None:
    c = srv["c"]
    h = _consented_hearing(c)
    fixed = [{**h["parties"][0], "phone": "13900000009"}, h["parties"][1]]
    got = c.patch(f"/api/hearings/{h['id']}", json={"parties": fixed}).json()
    assert got["all_consented"] and got["parties"][0]["phone"] == "13900000009"
    # the list turned round (ids sent): each consent stays with its person
    swapped = c.patch(f"/api/hearings/{h['id']}", json={"parties": [got["parties"][1], got["parties"][0]]}).json()
    assert swapped["all_consented"]
    by_index = {x["party_index"]: x["party_name"] for x in swapped["consents"]}
    assert by_index == {0: "李四", 1: "张三"}


def test_consent_by_list_position_is_bound_to_the_person_standing_there(srv: dict[str, Any]) -> None:
    c = srv["c"]
    h = c.post("/api/hearings", json={"kind": "mediation", "parties": PARTIES}).json()
    for i in range(2):  # the desk page's older way: by index
        assert c.post(f"/api/hearings/{h['id']}/consent",
                      json={"party_index": i, "consented": True, "notice_read": True}).status_code == 201
    got = c.patch(f"/api/hearings/{h['id']}", json={"parties": [PARTIES[0], {"role": "respondent", "name": "王五"}]}).json()
    assert not got["all_consented"]
    r = c.post(f"/api/hearings/{h['id']}/consent", json={"consented": True, "notice_read": True})
    assert r.status_code == 422  # no party named


def test_a_refusal_while_recording_pauses_at_once_and_the_desk_hears_why(srv: dict[str, Any]) -> None:
    c, live = srv["c"], srv["live"]
    h = _consented_hearing(c)
    assert c.post(f"/api/hearings/{h['id']}/record").status_code == 200
    r = c.post(f"/api/hearings/{h['id']}/consent",
               json={"party_id": h["parties"][1]["id"], "consented": False, "notice_read": True})
    assert r.status_code == 201
    got = c.get(f"/api/hearings/{h['id']}").json()
    assert got["status"] == "paused" and not got["all_consented"]
    sid = got["live_session_id"]
    assert ("pause", sid) in live.calls and live.states[sid] == "paused"
    notice = live.notices[-1]
    assert notice["code"] == "consent_paused" and notice["reason"] == "consent_refused" and "李四" in notice["message"]
    assert _audit(srv["settings"], step="pause", reason="consent_refused")
    # Record stays refused until that person agrees
    rec = c.post(f"/api/hearings/{h['id']}/record")
    assert rec.status_code == 409 and "李四" in rec.json()["error"]
    c.post(f"/api/hearings/{h['id']}/consent",
           json={"party_id": h["parties"][1]["id"], "consented": True, "notice_read": True})
    assert c.post(f"/api/hearings/{h['id']}/record").status_code == 200
    assert live.calls[-1] == ("resume", sid)
    starts = _audit(srv["settings"], step="start") + _audit(srv["settings"], step="resume")
    assert len(starts) == 2 and all(e.actor.startswith("user:") for e in starts)


def test_a_party_added_while_recording_pauses_it(srv: dict[str, Any]) -> None:
    c, live = srv["c"], srv["live"]
    h = _consented_hearing(c)
    c.post(f"/api/hearings/{h['id']}/record")
    more = [*h["parties"], {"role": "third_party", "name": "周七"}]
    got = c.patch(f"/api/hearings/{h['id']}", json={"parties": more}).json()
    assert got["status"] == "paused" and not got["all_consented"]
    assert live.notices[-1]["reason"] == "party_added" and "周七" in live.notices[-1]["message"]
    # a change that is not about people leaves the recording alone
    h2 = _consented_hearing(c)
    c.post(f"/api/hearings/{h2['id']}/record")
    assert c.patch(f"/api/hearings/{h2['id']}", json={"title": "围墙纠纷"}).json()["status"] == "recording"


def test_a_consent_to_an_older_notice_does_not_count(srv: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from scribe.web import consent

    c = srv["c"]
    h = _consented_hearing(c)
    monkeypatch.setattr(consent, "NOTICE_VERSION", "2027-01-v2")  # the notice's wording changed
    got = c.get(f"/api/hearings/{h['id']}").json()
    assert not got["all_consented"] and got["consents"] == []
    assert c.post(f"/api/hearings/{h['id']}/record").status_code == 409


def test_a_database_of_the_earlier_version_keeps_its_consents(tmp_path: Path) -> None:
    """Consent rows written before party ids existed are bound to the party standing at their
    place under the same name; the column is added to the old table at start-up."""
    import sqlite3

    settings = make_settings(tmp_path, server_delivery_worker=False)
    seed_accounts(settings)
    live = MemoryLive(tmp_path)
    server = ServerThread(create_app(settings, live=live))
    try:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            login(c, "med_a")
            h = _consented_hearing(c)
    finally:
        server.close()
    # make it look like the earlier version's database: no ids, no party_id column
    con = sqlite3.connect(tmp_path / "scribe.db")
    parties = json.loads(con.execute("select parties from hearings where id=?", (h["id"],)).fetchone()[0])
    con.execute("update hearings set parties=? where id=?",
                (json.dumps([{k: v for k, v in p.items() if k != "id"} for p in parties], ensure_ascii=False), h["id"]))
    con.execute("drop index if exists ix_hearing_consents_party_id")
    con.execute("alter table hearing_consents drop column party_id")
    con.commit()
    con.close()
    server = ServerThread(create_app(settings, live=MemoryLive(tmp_path)))
    try:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            login(c, "med_a")
            got = c.get(f"/api/hearings/{h['id']}").json()
            assert got["all_consented"] and all(p["id"] for p in got["parties"])
            assert c.post(f"/api/hearings/{h['id']}/record").status_code == 200
    finally:
        server.close()


# -- the WebSocket, on the real live engine ------------------------------------------------------


def _recv_until(ws: Any, done: Any, timeout: float = 60) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = json.loads(ws.recv(timeout=deadline - time.monotonic()))
        got.append(event)
        if done(event):
            return got
    raise AssertionError(f"timed out; last events: {got[-5:]}")


@pytest.mark.models
def test_websocket_resume_goes_through_the_same_consent_check_status_change_and_audit(
    tmp_path: Path, transcriber_base: Any, model_store: Any, shared_data: Path
) -> None:
    from websockets.sync.client import connect

    from scribe.audio import decode_audio
    from scribe.live.archive import to_pcm16
    from scribe.live.bridge import ManagerBridge
    from scribe.live.engine import LiveEngine

    pcm = to_pcm16(decode_audio(shared_data / "conversations" / "conv_zh_dev_01.wav").samples)
    settings = make_settings(tmp_path, model_dir=model_store.root, cpu_threads=2, live_max_lag=600.0,
                             server_delivery_worker=False)
    seed_accounts(settings)
    vad = model_store.path_for(settings.vad_model) / "silero_vad_v6.onnx"
    engine = LiveEngine(settings, transcriber_base, vad)
    server = ServerThread(create_app(settings, live=ManagerBridge(engine.manager())))
    try:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            login(c, "med_a")
            h = _consented_hearing(c)
            rec = c.post(f"/api/hearings/{h['id']}/record").json()
            url = server.url.replace("http://", "ws://") + rec["websocket"]
            cookie = {"Cookie": f"scribe_session={c.cookies['scribe_session']}"}
            with connect(url, additional_headers=cookie, open_timeout=30) as ws:
                ws.send(json.dumps({"op": "start"}))
                for i in range(0, 16000 * 2, FRAME):
                    ws.send(pcm[i : i + FRAME].tobytes())
                # a party refuses at the desk: the session pauses at once and says why
                c.post(f"/api/hearings/{h['id']}/consent",
                       json={"party_id": h["parties"][1]["id"], "consented": False, "notice_read": True})
                got = _recv_until(ws, lambda e: e["type"] == "warning" and e.get("code") == "consent_paused")
                assert any(e["type"] == "state" and e["state"] == "paused" for e in got) or \
                    _recv_until(ws, lambda e: e["type"] == "state" and e["state"] == "paused")
                assert "李四" in got[-1]["message"] and got[-1]["reason"] == "consent_refused"
                # the socket's own resume is refused: no consent check passes, nothing changes
                ws.send(json.dumps({"op": "resume"}))
                refused = _recv_until(ws, lambda e: e["type"] == "error")
                assert refused[-1]["code"] == "refused" and "李四" in refused[-1]["message"]
                time.sleep(0.5)
                assert c.get(f"/api/hearings/{h['id']}").json()["status"] == "paused"
                assert c.get(f"/api/hearings/{h['id']}/live").json()["state"] == "paused"
                # the party agrees: the same resume now goes through, recorded under the person
                c.post(f"/api/hearings/{h['id']}/consent",
                       json={"party_id": h["parties"][1]["id"], "consented": True, "notice_read": True})
                ws.send(json.dumps({"op": "resume"}))
                _recv_until(ws, lambda e: e["type"] == "state" and e["state"] == "recording")
                assert c.get(f"/api/hearings/{h['id']}").json()["status"] == "recording"
            resumed = _audit(settings, step="resume", via="websocket")
            assert len(resumed) == 1 and resumed[0].actor.startswith("user:") and "med_a" in resumed[0].actor
            assert _audit(settings, step="attach", via="websocket")
            assert _audit(settings, via="websocket") and any(
                e.action == "view" and e.object_type == "transcript" for e in _audit(settings, via="websocket"))
            assert c.post(f"/api/hearings/{h['id']}/stop").status_code == 200
    finally:
        server.close()
