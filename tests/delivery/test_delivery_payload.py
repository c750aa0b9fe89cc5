"""The payload: schema v1, the GB/T 31000 mapping, minimisation, files and inlining."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from pathlib import Path

import jsonschema
import pytest
from sqlalchemy import select

from scribe.delivery.models import OutboxMessage
from scribe.storage import Database

from .conftest import AGREEMENT_FIELDS, add_link_endpoint, approve_new, delivery_settings, sent_body

PERSONAL = (
    "13800138000",
    "13900139000",
    "0971-1234567",
    "11010519491231002X",
    "幸福村3组12号",
    "幸福村3组14号",
)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'p.db'}")
    db.create_schema()
    return db


def body_of(db: Database, message_id: str) -> str:
    with db.transaction() as tx:
        return tx.scalar(select(OutboxMessage.body).where(OutboxMessage.id == message_id))


def validate(payload: dict, schema: dict) -> None:
    jsonschema.validate(payload, schema, format_checker=jsonschema.FormatChecker())


def test_minimised_payload_maps_onto_the_gbt31000_record(sqlite_db, tmp_path, payload_schema):
    settings = delivery_settings(tmp_path)  # minimisation is on by default
    approval = approve_new(sqlite_db, tmp_path, settings)
    raw = body_of(sqlite_db, approval.message_id)
    payload = json.loads(raw)
    validate(payload, payload_schema)
    for value in PERSONAL:  # no ID number, phone or address anywhere in the bytes sent
        assert value not in raw
    data = payload["data"]
    rec = data["case_record"]
    assert rec["event_name"] == "相邻通行纠纷"
    assert rec["occurred_on"] == "2026-11-20"
    assert rec["place"] == "城关司法所调解室"  # provenance wrapper stripped
    assert rec["category_name"] == "邻里" and rec["category_code"] == "MS02"
    assert rec["people_count"] == 2
    assert rec["summary"].startswith("双方因院墙外通道宽度发生争执。")
    assert [p["name"] for p in rec["parties"]] == ["张三", "李四"]
    assert [p["role"] for p in rec["parties"]] == ["申请人", "被申请人"]
    assert "id_number" not in rec["parties"][0] and "address" not in rec["parties"][0]
    assert rec["resolution_method"] == "人民调解"
    assert rec["resolution_org"] == "城关镇人民调解委员会"
    assert rec["responsible_person"] == {"name": "王调解"}
    assert rec["resolved"] is True and rec["status"] == "已化解"
    assert rec["resolution_deadline"] == "2026-12-01"
    assert "修缮费用由双方各承担一半" in rec["resolution_details"]
    doc = data["document"]
    assert doc["kind_name"] == "人民调解协议书" and doc["number"] == "（2026）青人调字第12号"
    assert doc["approved_by"] == "审核员甲" and doc["version"] == 1
    assert doc["fields"]["facts"] == "双方因院墙外通道宽度发生争执。"
    assert "phone" not in doc["fields"]["parties"][0]
    assert data["privacy"]["minimised"] is True and "id_number" in data["privacy"]["omitted"]


def test_full_payload_when_minimisation_is_off(sqlite_db, tmp_path, payload_schema):
    settings = delivery_settings(
        tmp_path, delivery_minimise_payload=False, delivery_category_codes={"邻里": "0203"}
    )
    payload = json.loads(body_of(sqlite_db, approve_new(sqlite_db, tmp_path, settings).message_id))
    validate(payload, payload_schema)
    rec = payload["data"]["case_record"]
    assert rec["parties"][0]["id_number"] == "11010519491231002X"
    assert rec["parties"][0]["address"] == "城关镇幸福村3组12号"
    assert rec["responsible_person"]["phone"] == "0971-1234567"
    assert rec["category_code"] == "0203"  # the site's own code table wins
    assert payload["data"]["privacy"] == {
        "minimised": False,
        "omitted": [],
        "audio_included": False,
    }


def test_files_carry_hashes_and_links_and_audio_only_when_allowed(
    sqlite_db, tmp_path, payload_schema
):
    settings = delivery_settings(tmp_path)
    ep = add_link_endpoint(sqlite_db, settings)
    approval = approve_new(sqlite_db, tmp_path, settings, name="f")
    payload = json.loads(sent_body(sqlite_db, approval.message_id, ep))
    files = {f["kind"]: f for f in payload["data"]["files"]}
    assert set(files) == {"docx", "pdf", "transcript"}  # audio is not allowed by default
    pdf = tmp_path / "files" / "f" / "张三-调解协议书.pdf"
    assert files["pdf"]["sha256"] == hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert files["pdf"]["size"] == pdf.stat().st_size
    assert files["pdf"]["url"].startswith(
        f"http://127.0.0.1:8765/api/v1/documents/{approval.document_id}/files/pdf?"
    )
    assert "张三" not in json.dumps(files, ensure_ascii=False)  # names stay out of file names

    with_audio = delivery_settings(tmp_path, delivery_include_audio=True)
    payload = json.loads(
        body_of(sqlite_db, approve_new(sqlite_db, tmp_path, with_audio, name="g").message_id)
    )
    validate(payload, payload_schema)
    assert {f["kind"] for f in payload["data"]["files"]} == {"docx", "pdf", "transcript", "audio"}
    assert payload["data"]["privacy"]["audio_included"] is True


def test_inline_base64_when_configured_with_a_size_cap(sqlite_db, tmp_path, payload_schema):
    settings = delivery_settings(tmp_path, delivery_inline_files=True, delivery_inline_max_bytes=30)
    ep = add_link_endpoint(sqlite_db, settings)
    payload = json.loads(
        sent_body(sqlite_db, approve_new(sqlite_db, tmp_path, settings, name="i").message_id, ep)
    )
    validate(payload, payload_schema)
    files = {f["kind"]: f for f in payload["data"]["files"]}
    docx = tmp_path / "files" / "i" / "张三-调解协议书.docx"
    assert base64.b64decode(files["docx"]["content_base64"]) == docx.read_bytes()
    assert "url" not in files["docx"]
    assert (
        "url" in files["transcript"] and "content_base64" not in files["transcript"]
    )  # > 30 bytes


def test_consultation_and_hearing_records_map_their_own_outcomes(
    sqlite_db, tmp_path, payload_schema
):
    settings = delivery_settings(tmp_path)
    consultation = {
        "case_number": "咨字第2026-031号",
        "date": "2026-11-21",
        "consultation_category": "劳动争议",
        "parties": [{"id": "v1", "role": "咨询人", "name": "陈五", "phone": "13700137000"}],
        "staff": [{"id": "s1", "role": "接待人", "name": "刘律师"}],
        "question": "公司拖欠三个月工资怎么办？" * 300,  # longer than the 2000-character limit
        "answer": "可申请劳动仲裁。",
        "outcome": "转法律援助",
    }
    approval = approve_new(
        sqlite_db, tmp_path, settings, fields=consultation, kind="consultation-record", name="c"
    )
    payload = json.loads(body_of(sqlite_db, approval.message_id))
    validate(payload, payload_schema)
    rec = payload["data"]["case_record"]
    assert rec["resolution_method"] == "法律咨询（转法律援助）"
    assert rec["status"] == "已转办" and rec["resolved"] is None
    assert rec["category_code"] == "MS10" and len(rec["summary"]) == 2000
    assert rec["responsible_person"] == {"name": "刘律师"}
    assert "13700137000" not in json.dumps(payload, ensure_ascii=False)

    hearing = copy.deepcopy(AGREEMENT_FIELDS)
    hearing["agreement_reached"] = False
    payload = json.loads(
        body_of(
            sqlite_db,
            approve_new(
                sqlite_db, tmp_path, settings, fields=hearing, kind="hearing-record", name="h"
            ).message_id,
        )
    )
    validate(payload, payload_schema)
    assert payload["data"]["case_record"]["resolved"] is False
    assert payload["data"]["case_record"]["status"] == "化解不成功"


@pytest.mark.parametrize(
    ("kind", "fields_name"),
    [
        ("mediation-agreement", "DOCS_AGREEMENT"),
        ("consultation-record", "DOCS_CONSULTATION"),
        ("hearing-record", "DOCS_HEARING"),
    ],
)
def test_documents_area_fields_map_onto_the_case_record(
    sqlite_db, tmp_path, payload_schema, kind, fields_name
):
    """The contract with the documents area: fields valid under doc_templates/schemas.py (as
    drafted, with provenance) produce a valid payload and a filled GB/T 31000 record."""
    from doc_templates.schemas import DOCUMENT_MODELS
    from scribe.delivery.payload import values_of

    from . import conftest

    fields = getattr(conftest, fields_name)
    DOCUMENT_MODELS[kind].model_validate(values_of(fields))  # the fixture is a real document
    settings = delivery_settings(tmp_path)
    approval = approve_new(sqlite_db, tmp_path, settings, fields=fields, kind=kind, name=kind)
    raw = body_of(sqlite_db, approval.message_id)
    payload = json.loads(raw)
    validate(payload, payload_schema)
    for value in ("13800138000", "13900139000", "13700137000", "幸福村3组12号", "东街8号"):
        assert value not in raw
    assert '"evidence"' not in raw and '"confidence"' not in raw  # provenance stays home
    if kind == "mediation-agreement":
        assert "杂物堆在路上" not in raw  # the quoted transcript words behind a field
    rec = payload["data"]["case_record"]
    if kind == "mediation-agreement":
        assert rec["occurred_on"] == "2026-11-20" and rec["category_code"] == "MS02"
        assert [(p["role"], p["name"]) for p in rec["parties"]] == [
            ("申请人", "张三"),
            ("被申请人", "李四"),
        ]
        assert rec["summary"].startswith("双方因院墙外通道宽度发生争执")
        assert rec["responsible_person"] == {"name": "王调解"}
        assert rec["resolution_deadline"] == "2026-12-01" and rec["status"] == "已化解"
        assert rec["resolution_org"] == "城关镇人民调解委员会"
        assert payload["data"]["document"]["fields"]["facts"].startswith("双方因")
    elif kind == "consultation-record":
        assert rec["occurred_on"] == "2026-11-21" and rec["category_code"] == "MS10"
        assert [(p["role"], p["name"]) for p in rec["parties"]] == [("咨询人", "陈五")]
        assert rec["resolution_method"] == "法律咨询（已解答、转法律援助）"
        assert rec["status"] == "已转办" and rec["resolved"] is None
        assert rec["responsible_person"] == {"name": "刘律师"}
        assert rec["summary"] == "公司拖欠三个月工资怎么办？"
    else:
        assert rec["event_name"] == "相邻通行纠纷" and rec["place"] == "城关司法所调解室"
        assert [(p["role"], p["name"]) for p in rec["parties"]] == [
            ("申请人", "张三"),
            ("被申请人", "李四"),
        ]
        assert rec["people_count"] == 2 and rec["status"] == "化解中"


def test_unminimised_fields_validate_against_the_published_document_schemas(sqlite_db, tmp_path):
    from . import conftest

    settings = delivery_settings(tmp_path, delivery_minimise_payload=False)
    for kind, fields in (
        ("mediation-agreement", conftest.DOCS_AGREEMENT),
        ("consultation-record", conftest.DOCS_CONSULTATION),
        ("hearing-record", conftest.DOCS_HEARING),
    ):
        schema = json.loads(
            (conftest.ROOT / "docs" / "schemas" / f"{kind}.json").read_text("utf-8")
        )
        approval = approve_new(
            sqlite_db, tmp_path, settings, fields=fields, kind=kind, name=f"u-{kind}"
        )
        sent = json.loads(body_of(sqlite_db, approval.message_id))["data"]["document"]["fields"]
        jsonschema.validate(sent, schema, format_checker=jsonschema.FormatChecker())
