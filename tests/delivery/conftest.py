"""Fixtures of the delivery tests: SQLite and a real PostgreSQL server, a loopback receiver,
and approved documents with real files."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import scribe.delivery.models  # noqa: F401  (tables)
import scribe.review.models  # noqa: F401
from scribe.delivery.clock import ManualClock
from scribe.settings import Settings
from scribe.storage import Database

from .pgserver import create_database, drop_database, postgres_server
from .receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "docs" / "webhooks" / "payload-v1.schema.json"


@pytest.fixture(scope="session")
def pg_base_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'scribe.db'}")
        database.create_schema()
        yield database
        database.dispose()
    else:
        url = create_database(request.getfixturevalue("pg_base_url"))
        database = Database(url, key_file=tmp_path / "secrets.key")
        database.create_schema()
        yield database
        database.dispose()
        drop_database(url)


def delivery_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for tests: loopback and plain HTTP allowed (the receiver is on 127.0.0.1),
    nothing else opened."""
    values: dict[str, Any] = dict(
        data_dir=tmp_path / "data",
        delivery_allow_http=True,
        delivery_allow_loopback=True,
        delivery_timeout_s=10.0,
        delivery_lease_s=30.0,
        delivery_link_secret="test-link-key",
        delivery_public_base_url="http://127.0.0.1:8765",
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings_d(tmp_path: Path) -> Settings:
    return delivery_settings(tmp_path)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(dt.datetime.now(dt.timezone.utc).replace(microsecond=0))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture(scope="session")
def payload_schema() -> dict[str, Any]:
    return json.loads(SCHEMA.read_text(encoding="utf-8"))


AGREEMENT_FIELDS: dict[str, Any] = {
    "case_number": "（2026）青人调字第12号",
    "date": "2026-11-20",
    "place": {"value": "城关司法所调解室", "source": {"segments": [3], "quote": "在城关司法所"}},
    "organisation": "城关镇人民调解委员会",
    "matter": "相邻通行纠纷",
    "dispute_category": "邻里",
    "parties": [
        {
            "id": "p1", "role": "申请人", "name": "张三", "gender": "男", "ethnicity": "汉族",
            "age": 45, "phone": "13800138000", "address": "城关镇幸福村3组12号",
            "id_type": "居民身份证", "id_number": "11010519491231002X",
        },
        {
            "id": "p2", "role": "被申请人", "name": "李四", "gender": "女", "ethnicity": "汉族",
            "phone": "13900139000", "address": "城关镇幸福村3组14号",
        },
    ],
    "staff": [
        {"id": "m1", "role": "调解员", "name": "王调解", "phone": "0971-1234567"},
        {"id": "r1", "role": "记录人", "name": "赵记录"},
    ],
    "facts": {"value": "双方因院墙外通道宽度发生争执。", "source": {"segments": [5, 6]}},
    "issues": "通道宽度及修缮费用的承担。",
    "terms": ["一、李四于2026年12月1日前拆除占道杂物。", "二、修缮费用由双方各承担一半。"],
    "performance_deadline": "2026-12-01",
}  # fmt: skip


def make_files(tmp_path: Path, name: str = "doc") -> dict[str, Path]:
    """Small real files standing in for the rendered documents and the transcript."""
    folder = tmp_path / "files" / name
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "docx": folder / "张三-调解协议书.docx",
        "pdf": folder / "张三-调解协议书.pdf",
        "transcript": folder / "transcript.json",
        "audio": folder / "hearing.flac",
    }
    files["docx"].write_bytes(b"PK\x03\x04 docx stand-in " + name.encode())
    files["pdf"].write_bytes(b"%PDF-1.7 stand-in " + name.encode())
    files["transcript"].write_text(
        json.dumps(
            {"segments": [{"start": 0.0, "end": 1.0, "text": "调解员：现在开始调解。"}]},
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    files["audio"].write_bytes(b"fLaC stand-in " + name.encode())
    return files


# -- helpers shared by the delivery tests ----------------------------------------------------


def add_receiver_endpoint(
    db: Database, receiver: Receiver, settings: Settings, events: list[str] | None = None
) -> str:
    from scribe.delivery.endpoints import add_endpoint

    with db.transaction() as tx:
        info, secret = add_endpoint(
            tx, receiver.url, events or ["document.approved", "session.completed"], settings,
            name="city dispute platform (test)", include_transcript=True,
        )  # fmt: skip
    receiver.secrets.append(secret)
    return info.id


def add_link_endpoint(db: Database, settings: Settings, *, include_transcript: bool = True) -> str:
    """An endpoint nothing is sent to in the test (port 9): approvals then mint its links."""
    from scribe.delivery.endpoints import add_endpoint

    with db.transaction() as tx:
        info, _ = add_endpoint(tx, "http://127.0.0.1:9/hook", ["document.approved"], settings,
                               name="links", offices=["城关司法所"], include_transcript=include_transcript)  # fmt: skip
    return info.id


def sent_body(db: Database, message_id: str, endpoint_id: str) -> str:
    """The exact text ``endpoint_id`` is sent for ``message_id`` (its own links)."""
    from scribe.delivery.outbox import delivery_body

    with db.transaction() as tx:
        return delivery_body(tx, message_id, endpoint_id)


def approve_new(
    db: Database,
    tmp_path: Path,
    settings: Settings,
    *,
    fields: dict[str, Any] | None = None,
    kind: str = "mediation-agreement",
    name: str = "doc",
    now: dt.datetime | None = None,
    user: str = "审核员甲",
):
    """Save a draft with real files and approve it; returns the ``Approval``."""
    from scribe import review

    files = make_files(tmp_path, name)
    with db.transaction() as tx:
        doc = review.save_draft(
            tx, hearing_id=f"ses_{name}", office="城关司法所", kind=kind,
            fields=fields or AGREEMENT_FIELDS, files=files, now=now,
        )  # fmt: skip
    with db.transaction() as tx:
        return review.approve(tx, doc.id, user, settings=settings, now=now)


async def drain(worker: Any, clock: ManualClock, max_rounds: int = 200) -> int:
    """Run the worker, jumping the clock to each next due time, until nothing is pending or
    due (bounded). Returns the attempts made."""
    made = 0
    for _ in range(max_rounds):
        n = await worker.run_once()
        made += n
        if n:
            continue
        due = worker.next_due()
        if due is None:
            return made
        clock.set(max(due, clock.now()))
    raise AssertionError(f"deliveries still pending after {max_rounds} rounds")


# Fields as the documents area drafts them (doc_templates/schemas.py), some wrapped with their
# provenance the way scribe/extract's FieldValue serialises.
DOCS_AGREEMENT: dict[str, Any] = {
    "organisation": "城关镇人民调解委员会",
    "case_number": "（2026）青人调字第12号",
    "date": "2026-11-20",
    "parties": {
        "value": [
            {"side": "甲方", "role": "申请人", "name": "张三", "gender": "男", "ethnicity": "汉族",
             "age": 45, "occupation": "农民", "phone": "13800138000", "address": "城关镇幸福村3组12号"},
            {"side": "乙方", "role": "被申请人", "name": "李四", "gender": "女", "ethnicity": "汉族",
             "age": 52, "occupation": "个体", "phone": "13900139000", "address": "城关镇幸福村3组14号"},
        ],
        "source": "session", "evidence": [], "confidence": 1.0, "note": None,
    },
    "dispute_category": "邻里",
    "facts": {"value": "双方因院墙外通道宽度发生争执，李四堆放杂物占用通道。", "source": "transcript",
              "evidence": [{"segment": 5, "start": 61.2, "end": 66.0, "text": "杂物堆在路上"}],
              "confidence": 0.8},
    "responsibility": "李四占道，负主要责任。",
    "terms": ["李四于2026年12月1日前拆除占道杂物。", "修缮费用由双方各承担一半。"],
    "performance_manner": "自行履行",
    "performance_place": "幸福村3组",
    "performance_deadline": "2026-12-01",
    "copies": 3,
    "judicial_confirmation_deadline": "2026-12-20",
    "mediators": ["王调解"],
    "recorder": "赵记录",
    "legal_bases": ["《中华人民共和国民法典》第二百九十一条"],
}  # fmt: skip

DOCS_CONSULTATION: dict[str, Any] = {
    "organisation": "城关镇公共法律服务工作站",
    "case_number": "咨字第2026-031号",
    "time": "2026-11-21T09:30:00",
    "channel": "现场来访",
    "visitor": {"name": "陈五", "gender": "男", "age": 38, "phone": "13700137000",
                "address": "城关镇东街8号"},
    "category": "劳动争议",
    "question": "公司拖欠三个月工资怎么办？",
    "answer": "可向劳动争议仲裁委员会申请仲裁，也可申请法律援助。",
    "legal_bases": ["《劳动争议调解仲裁法》第二条"],
    "outcome": ["已解答", "转法律援助"],
    "staff": "刘律师",
}  # fmt: skip

DOCS_HEARING: dict[str, Any] = {
    "organisation": "城关镇人民调解委员会",
    "case_number": "（2026）青人调字第12号",
    "time": "2026-11-20T14:00:00",
    "place": "城关司法所调解室",
    "matter": "相邻通行纠纷",
    "mediators": ["王调解"],
    "recorder": "赵记录",
    "parties": ["申请人张三", "被申请人李四"],
    "others": ["证人王五"],
    "result": {"outcome": "口头协议", "reason": None, "remedies": None, "terms": ["李四当日清走堆在路上的杂物。"]},
    "turns": [
        {"speaker": "调解员王调解", "text": "现在开始调解。", "start": 0.0, "end": 2.0},
        {"speaker": "申请人张三", "text": "他家杂物堆在路上。", "start": 2.5, "end": 5.0},
    ],
}  # fmt: skip
