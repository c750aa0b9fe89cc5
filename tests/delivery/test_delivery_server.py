"""The payloads a case-system engineer receives from a running server (real uvicorn on a free
loopback port, never 8000; its own delivery worker; a verifying loopback receiver): every event
type of the catalogue is emitted and delivered, file links point at the server that made them
and download the approved bytes, a missing field is null with its reason, 化解责任人 is named,
and a refused delivery's reason reaches the review page's data."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import jsonschema
import pytest
from server_support import ServerThread, login, make_settings, seed_accounts
from test_server_review import DialogueLive, _hearing

from scribe.delivery.endpoints import add_endpoint
from scribe.delivery.events import EVENT_TYPES
from scribe.storage import Database
from server import create_app

from .receiver import Receiver, Reply


@pytest.fixture()
def stack(tmp_path, payload_schema) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    receiver = Receiver().start()
    refusing = Receiver().start()
    refusing.behaviour = lambda n, r: Reply(403)
    settings = make_settings(
        tmp_path, server_delivery_worker=True, delivery_allow_loopback=True, delivery_allow_http=True,
        delivery_poll_interval_s=0.2, delivery_retry_schedule_s=[60, 120],
        # no public URL configured: links must come from the address the server is reached on
        delivery_public_base_url=None, public_url=None,
    )  # fmt: skip
    seed_accounts(settings)
    db = Database(settings.db_url)
    with db.transaction() as tx:
        _, secret = add_endpoint(tx, receiver.url, sorted(EVENT_TYPES), settings, name="市矛盾纠纷平台")
        _, refused_secret = add_endpoint(tx, refusing.url, ["document.approved"], settings, name="区数据中台")
    db.dispose()
    receiver.secrets.append(secret)
    refusing.secrets.append(refused_secret)
    server = ServerThread(create_app(settings, live=DialogueLive(tmp_path)))
    try:
        yield {"url": server.url, "port": server.port, "receiver": receiver, "refusing": refusing,
               "settings": settings, "schema": payload_schema}  # fmt: skip
    finally:
        server.close()
        receiver.stop()
        refusing.stop()


def _wait_for(receiver: Receiver, types: set[str], timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = {r.json()["type"]: r for r in list(receiver.requests)}
        if types <= set(got):
            return got
        time.sleep(0.2)
    raise AssertionError(f"only {sorted(got)} arrived of {sorted(types)}")


def test_every_event_type_arrives_with_links_to_this_server(stack: dict[str, Any]) -> None:
    assert stack["port"] != 8000
    base = stack["url"]
    with closing(httpx.Client(base_url=base, timeout=300)) as med:
        login(med, "med_a")
        hid = _hearing(med)  # recorded and stopped: session.completed
        doc = med.post(f"/api/hearings/{hid}/documents", json={}).json()
    with closing(httpx.Client(base_url=base, timeout=300)) as rev:
        login(rev, "rev_a")
        approved = rev.post(f"/api/hearings/{hid}/documents/{doc['id']}/approve")
        assert approved.status_code == 200, approved.text
        got = _wait_for(stack["receiver"], set(EVENT_TYPES))
        for event in EVENT_TYPES:  # each verified with the endpoint's secret, each valid
            assert got[event].verified_with, got[event].error
            jsonschema.validate(got[event].json(), stack["schema"], format_checker=jsonschema.FormatChecker())
            assert got[event].json()["schema_version"] == "1.1"
        session = got["session.completed"].json()["data"]["session"]
        assert session["id"] == hid and session["type"] == "mediation" and session["case_number"] == "（2026）城人调字第5号"
        assert session["recorded_s"] == pytest.approx(2.0)  # the in-memory engine's 2 s WAV
        data = got["document.approved"].json()["data"]
        # links: this server's own address and port, and they download the approved bytes
        assert data["files"] and all(f["url"].startswith(f"{base}/api/v1/documents/") for f in data["files"])
        for f in data["files"]:
            r = httpx.get(f["url"], timeout=60)
            assert r.status_code == 200, (f["kind"], r.text)
            assert hashlib.sha256(r.content).hexdigest() == f["sha256"]
        # a missing field: null, with the reason beside it (never the draft's internal object)
        fields, missing = data["document"]["fields"], data["document"]["missing"]
        raw = got["document.approved"].body.decode("utf-8")
        assert '"source"' not in raw and '"confidence"' not in raw
        assert missing and all(m["reason"] for m in missing)
        for m in missing:
            node: Any = fields
            for step in m["field"].split("."):
                if isinstance(node, list):
                    node = node[int(step)]
                elif step in node:
                    node = node[step]
                else:
                    node = None  # left out by minimisation (a phone, an address)
                    break
            assert node in (None, []), m
        assert fields["performance_place"] is None
        assert any(m["field"] == "performance_place" for m in missing)
        record = data["case_record"]
        assert record["responsible_person"]["name"] == "王调解员"  # the mediator named at the desk
        # the refusing case system: its reason is on the document, not a bare "pending"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            out = rev.get(f"/api/hearings/{hid}/documents/{doc['id']}").json()
            rows = {d["endpoint_name"]: d for m in out["deliveries"] for d in m["deliveries"]}
            if rows.get("区数据中台", {}).get("last_error"):
                break
            time.sleep(0.3)
        refused = rows["区数据中台"]
        assert refused["status"] == "pending" and refused["last_error"] == "HTTP 403"
        assert refused["last_status_code"] == 403 and refused["next_attempt_at"] and refused["attempts"] == 1
        assert rows["市矛盾纠纷平台"]["status"] == "delivered"
    assert stack["refusing"].count() >= 1
    assert json.loads(stack["refusing"].requests[0].body)["type"] == "document.approved"


def test_links_use_the_configured_public_address_before_the_requests_own(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from scribe.delivery.pull import public_base_url

    from .conftest import delivery_settings

    s = delivery_settings(tmp_path, delivery_public_base_url=None, public_url=None, port=8123)
    assert public_base_url(s, "http://127.0.0.1:43210/") == "http://127.0.0.1:43210"
    assert public_base_url(s) == "http://127.0.0.1:8123"  # no request (a CLI approval): the listening port
    s = delivery_settings(tmp_path, delivery_public_base_url=None, public_url="https://desk.example.gov.cn/")
    assert public_base_url(s, "http://127.0.0.1:43210/") == "https://desk.example.gov.cn"
    s = delivery_settings(tmp_path, delivery_public_base_url="https://files.example.gov.cn/scribe",
                          public_url="https://desk.example.gov.cn")  # fmt: skip
    assert public_base_url(s, "http://127.0.0.1:43210/") == "https://files.example.gov.cn/scribe"


def test_missing_fields_are_null_with_their_reason_and_a_typed_mediator_is_named(tmp_path, payload_schema) -> None:  # type: ignore[no-untyped-def]
    from .conftest import DOCS_AGREEMENT, approve_new, delivery_settings

    fields = {
        **DOCS_AGREEMENT,
        # as a draft stores a field nobody supplied (exclude_none drops the null value)
        "performance_place": {"source": "missing", "confidence": 0.0, "note": "协议条款未说明履行地点",
                              "note_en": "the terms do not say where they are performed"},
        "recorder": {"source": "missing", "confidence": 0.0, "note": "会话文件中未填写记录人"},
        "mediators": "李调解、王建国",  # saved before mediators were edited as a list
    }  # fmt: skip
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    db.create_schema()
    settings = delivery_settings(tmp_path)
    approval = approve_new(db, tmp_path, settings, fields=fields)
    with db.transaction() as tx:
        from scribe.delivery.models import OutboxMessage

        payload = json.loads(tx.get(OutboxMessage, approval.message_id).body)
    db.dispose()
    jsonschema.validate(payload, payload_schema, format_checker=jsonschema.FormatChecker())
    doc = payload["data"]["document"]
    assert doc["fields"]["performance_place"] is None and doc["fields"]["recorder"] is None
    assert {"field": "performance_place", "reason": "协议条款未说明履行地点",
            "reason_en": "the terms do not say where they are performed"} in doc["missing"]  # fmt: skip
    assert {"field": "recorder", "reason": "会话文件中未填写记录人", "reason_en": None} in doc["missing"]
    assert payload["data"]["case_record"]["responsible_person"]["name"] == "李调解"
    assert "source" not in json.dumps(payload, ensure_ascii=False)
