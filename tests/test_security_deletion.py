"""Deletion and retention (PIPL Art. 47), probed on a real server on loopback with a real
database file, a real webhook receiver and the real CLI:

- deleting a hearing removes its session folder and audio even on a server without the live
  engine; its queued webhook messages are dropped (never sent), a delivered one keeps only ids
  and hashes; a file that cannot be removed is reported (500), kept on a retry list and removed
  by the next ``scribe retention purge``;
- one party's data is erased from the hearing, its documents (the re-rendered .docx too), the
  outbox and the session folder, by the API and by the CLI, audited;
- closed hearings' audio is purged after the office's retention period (command and the
  server's scheduled job), audited, other offices' and younger audio kept;
- voiceprints are listed and deleted from the web by office (audited), deleted from the CLI
  (audited), and a hearing's diarizer loads only its own office's voiceprints.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import os
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from server_support import OFFICE_A, OFFICE_B, MemoryLive, ServerThread, login, make_settings, seed_accounts
from sqlalchemy import select

from scribe.accounts.models import AuditEvent
from scribe.delivery.models import Delivery, OutboxMessage
from scribe.settings import Settings
from scribe.storage import Database
from scribe.web.models import Hearing
from server import create_app

ROOT = Path(__file__).resolve().parent.parent


class DialogueLive(MemoryLive):
    """The in-memory engine with a mediation dialogue naming both parties, whose session folder
    is a real one under the settings' sessions path (audio, journal, transcript, session.json)."""

    def __init__(self, root: Path, sessions: Path) -> None:
        super().__init__(root)
        self.sessions = sessions

    def session_id_for(self, hearing_id: str) -> str:
        return "h-" + hearing_id

    def open(self, start: Any) -> str:
        sid = self.session_id_for(start.hearing_id)
        folder = self.sessions / sid
        folder.mkdir(parents=True, exist_ok=True)
        _wav(folder / "audio.wav")
        (folder / "session.json").write_text(json.dumps({"id": sid, "case": start.casefile}, ensure_ascii=False),
                                             encoding="utf-8")  # fmt: skip
        lines = [{"type": "final", "text": t} for t in (s["text"] for s in self._segments())]
        (folder / "journal.jsonl").write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n",
                                              encoding="utf-8")  # fmt: skip
        (folder / "live.json").write_text(json.dumps(self.transcript(sid), ensure_ascii=False), encoding="utf-8")
        self.states[sid] = "recording"
        self.starts.append(start)
        return sid

    def _segments(self) -> list[dict[str, Any]]:
        lines = [
            ("S1", "今天我们就张三和李四之间的院墙纠纷进行调解。"),
            ("S2", "我是张三，电话13800138000，住城关镇幸福村3组12号。"),
            ("S3", "墙本来就旧了，我可以出一部分钱。"),
            ("S1", "经调解，双方自愿达成如下协议：一、李四于2026年12月31日前赔偿张三修墙费用三千元。"),
            ("S2", "我同意。"),
            ("S3", "我也同意。"),
        ]
        return [{"start": i * 4.5, "end": i * 4.5 + 4.0, "speaker": s, "text": t, "words": []}
                for i, (s, t) in enumerate(lines)]  # fmt: skip

    def transcript(self, sid: str) -> dict[str, Any] | None:
        return {"language": "zh", "duration": 27.0, "model": "memory", "segments": self._segments()}

    def audio_path(self, sid: str) -> Path | None:
        path = self.sessions / sid / "audio.wav"
        return path if path.exists() else None

    def session_dir(self, sid: str) -> Path | None:
        folder = self.sessions / sid
        return folder if folder.exists() else None


def _wav(path: Path, seconds: float = 1.0) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.sin(np.arange(int(16000 * seconds)) / 5) * 8000).astype(np.int16).tobytes())


PARTIES = [
    {"role": "applicant", "name": "张三", "gender": "男", "phone": "13800138000", "address": "城关镇幸福村3组12号"},
    {"role": "respondent", "name": "李四", "gender": "女"},
]


def _hearing(c: httpx.Client, parties: list[dict[str, Any]] | None = None) -> str:
    r = c.post("/api/hearings", json={"kind": "mediation", "case_number": "（2026）城人调字第9号", "category": "邻里",
                                      "parties": parties or PARTIES})  # fmt: skip
    assert r.status_code == 201, r.text
    hid = str(r.json()["id"])
    for i in range(len(parties or PARTIES)):
        assert c.post(f"/api/hearings/{hid}/consent", json={"party_index": i, "consented": True, "notice_read": True}).status_code == 201
    for label, role, name in (("S1", "mediator", "王调解员"), ("S2", "applicant", "张三"), ("S3", "respondent", "李四")):
        assert c.put(f"/api/hearings/{hid}/speakers/{label}", json={"role": role, "name": name}).status_code == 200
    assert c.post(f"/api/hearings/{hid}/record").status_code == 200, "record"
    assert c.post(f"/api/hearings/{hid}/stop").status_code == 200, "stop"
    return hid


def _audit(settings: Settings, object_type: str, object_id: str) -> list[AuditEvent]:
    db = Database(settings.db_url)
    try:
        with db.transaction() as tx:
            return list(tx.scalars(select(AuditEvent).where(AuditEvent.object_type == object_type,
                                                            AuditEvent.object_id == object_id)))  # fmt: skip
    finally:
        db.dispose()


def _cli(settings: Settings, *args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SCRIBE_DATA_DIR": str(settings.data_dir),
           "SCRIBE_DATABASE_URL": settings.db_url, **(extra or {})}  # fmt: skip
    return subprocess.run([sys.executable, "-m", "scribe", *args], env=env, capture_output=True, text=True,
                          timeout=180, cwd=settings.data_dir)  # fmt: skip


@pytest.fixture()
def srv(tmp_path: Path) -> Iterator[dict[str, Any]]:
    from delivery.receiver import Receiver

    from scribe.delivery.endpoints import add_endpoint

    receiver = Receiver().start()
    settings = make_settings(tmp_path / "data", soffice_binary="no-soffice-here", server_delivery_worker=False,
                             delivery_allow_loopback=True, delivery_allow_http=True)  # fmt: skip
    seed_accounts(settings)
    db = Database(settings.db_url)
    with db.transaction() as tx:
        up, secret = add_endpoint(tx, receiver.url, ["document.approved", "session.completed"], settings,
                                  name="up", offices=[OFFICE_A], include_transcript=True)  # fmt: skip
        receiver.secrets.append(secret)
        # a second case system that is down: what it was to get stays queued
        down, _ = add_endpoint(tx, "http://127.0.0.1:9/hook", ["document.approved", "session.completed"], settings,
                               name="down", offices=[OFFICE_A])  # fmt: skip
    db.dispose()
    live = DialogueLive(tmp_path, settings.sessions_path)
    server = ServerThread(create_app(settings, live=live))
    try:
        yield {"url": server.url, "settings": settings, "receiver": receiver, "up": up.id, "down": down.id}
    finally:
        server.close()
        receiver.stop()


def _deliver_once(settings: Settings) -> int:
    from scribe.delivery.worker import DeliveryWorker

    db = Database(settings.db_url)

    async def go() -> int:
        async with DeliveryWorker(db, settings, worker_id="test") as worker:
            return await worker.run_once()

    try:
        return asyncio.run(go())
    finally:
        db.dispose()


def test_deleting_a_hearing_drops_queued_webhooks_scrubs_delivered_ones_and_removes_every_file(srv: dict[str, Any]) -> None:
    settings: Settings = srv["settings"]
    with closing(httpx.Client(base_url=srv["url"], timeout=120)) as med:
        login(med, "med_a")
        hid = _hearing(med)
        doc = med.post(f"/api/hearings/{hid}/documents", json={}).json()
    with closing(httpx.Client(base_url=srv["url"], timeout=120)) as rev:
        login(rev, "rev_a")
        assert rev.post(f"/api/hearings/{hid}/documents/{doc['id']}/approve").status_code == 200
    # the worker sends: the receiver that is up gets both messages, the one that is down none
    assert _deliver_once(settings) >= 2
    received = srv["receiver"].requests
    assert {r.json()["type"] for r in received} == {"session.completed", "document.approved"}
    assert "张三" in json.dumps([r.json() for r in received], ensure_ascii=False)
    session = settings.sessions_path / f"h-{hid}"
    documents = settings.data_dir / "documents" / doc["id"]
    assert (session / "audio.wav").exists() and documents.exists()
    with closing(httpx.Client(base_url=srv["url"], timeout=120)) as admin:
        login(admin, "admin")
        assert admin.delete(f"/api/hearings/{hid}").status_code == 204
        assert admin.get(f"/api/hearings/{hid}").status_code == 404
    assert not session.exists() and not documents.exists()  # audio, journal, drafts, rendered files
    from scribe.delivery.models import DeliveryBody  # each endpoint's own body (its links)

    db = Database(settings.db_url)
    with db.transaction() as tx:
        messages = list(tx.scalars(select(OutboxMessage).where(OutboxMessage.subject_id.in_([hid, doc["id"]]))))
        pending = list(tx.scalars(select(Delivery).where(Delivery.status != "delivered")))
        bodies = list(tx.scalars(select(DeliveryBody.body)))
    db.dispose()
    assert pending == []  # nothing left to send to the receiver that was down
    # what the case system that was up received stays provable: ids and hashes, no names
    assert len(messages) == 2
    for m in messages:
        body = json.loads(m.body)
        assert body["data"]["erased"] is True
        for personal in ("张三", "李四", "13800138000", "院墙", "城人调字"):
            assert personal not in m.body
    assert not any("张三" in b for b in bodies)
    assert any(f.get("sha256") for m in messages for f in json.loads(m.body)["data"]["files"])
    # nothing more goes out after the deletion
    before = len(srv["receiver"].requests)
    _deliver_once(settings)
    assert len(srv["receiver"].requests) == before
    [deleted] = [e for e in _audit(settings, "hearing", hid) if e.action == "delete"]
    assert deleted.detail["documents"] == 1 and deleted.detail["messages_scrubbed"] == 2
    assert "张三" not in json.dumps(deleted.detail, ensure_ascii=False)


def test_deleting_a_hearing_on_a_server_without_the_live_engine_removes_its_recording(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", server_delivery_worker=False)
    seed_accounts(settings)
    server = ServerThread(create_app(settings))  # no models: no live engine
    try:
        with closing(httpx.Client(base_url=server.url, timeout=60)) as med:
            login(med, "med_a")
            hid = med.post("/api/hearings", json={"kind": "consultation", "parties": [{"role": "visitor", "name": "周五"}]}).json()["id"]
        # recorded earlier by this server when it ran with its models
        folder = settings.sessions_path / f"h-{hid}"
        folder.mkdir(parents=True)
        _wav(folder / "audio.wav")
        (folder / "journal.jsonl").write_text('{"type": "final", "text": "我叫周五"}\n', encoding="utf-8")
        db = Database(settings.db_url)
        with db.transaction() as tx:
            h = tx.get(Hearing, hid)
            assert h is not None
            h.live_session_id, h.status = f"h-{hid}", "stopped"
        db.dispose()
        with closing(httpx.Client(base_url=server.url, timeout=60)) as admin:
            login(admin, "admin")
            assert admin.delete(f"/api/hearings/{hid}").status_code == 204
        assert not folder.exists()
    finally:
        server.close()


def _immovable(path: Path) -> Any:
    """Make ``path`` impossible to remove for this process (root ignores permissions, so the
    immutable attribute; otherwise a read-only parent). Returns the undo."""
    if os.geteuid() == 0:
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
        if done.returncode != 0:
            pytest.fail(f"chattr +i is needed to make a file unremovable as root: {done.stderr!r}")
        return lambda: subprocess.run(["chattr", "-i", str(path)], check=True)
    path.parent.chmod(0o500)
    return lambda: path.parent.chmod(0o700)


def test_a_file_that_cannot_be_removed_is_reported_kept_and_removed_by_the_next_purge(srv: dict[str, Any]) -> None:
    settings: Settings = srv["settings"]
    with closing(httpx.Client(base_url=srv["url"], timeout=120)) as med:
        login(med, "med_a")
        hid = _hearing(med)
    audio = settings.sessions_path / f"h-{hid}" / "audio.wav"
    undo = _immovable(audio)
    try:
        with closing(httpx.Client(base_url=srv["url"], timeout=120)) as admin:
            login(admin, "admin")
            r = admin.delete(f"/api/hearings/{hid}")
            assert r.status_code == 500, r.text
            assert "audio.wav" in r.json()["error"] and "retention purge" in (r.json()["fix"] or "")
            assert admin.get(f"/api/hearings/{hid}").status_code == 404  # the records are gone
            policy = admin.get("/api/retention").json()
            assert policy["pending_removals"] == 1
        assert audio.exists()
        still = _cli(settings, "retention", "purge")
        assert still.returncode == 1 and "audio.wav" in still.stdout
    finally:
        undo()
    done = _cli(settings, "retention", "purge")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["retried"] == 1
    assert not audio.exists() and not audio.parent.exists()
    steps = [e.detail.get("step") for e in _audit(settings, "hearing", hid) if e.action == "delete"]
    assert steps == [None, "files"]  # the deletion, then the files that failed


def _docx_text(content: bytes) -> str:
    from docx import Document as DocxDocument

    d = DocxDocument(io.BytesIO(content))
    cells = [c.text for t in d.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in d.paragraphs] + cells)


def test_erasing_a_party_replaces_their_data_in_every_record_of_the_hearing(srv: dict[str, Any]) -> None:
    settings: Settings = srv["settings"]
    with closing(httpx.Client(base_url=srv["url"], timeout=120)) as med:
        login(med, "med_a")
        hid = _hearing(med)
        r = med.put(f"/api/hearings/{hid}/transcript/segments/3", json={"text": "李四赔偿张三三千元。"})
        assert r.status_code == 200
        doc = med.post(f"/api/hearings/{hid}/documents", json={}).json()
        r = med.patch(f"/api/hearings/{hid}/documents/{doc['id']}/fields",
                      json={"path": "parties.0.phone", "value": "13800138000"})  # fmt: skip
        assert r.status_code == 200, r.text
        before = med.get(f"/api/hearings/{hid}/documents/{doc['id']}/file/docx")
        assert "张三" in _docx_text(before.content)
        # a mediator may not erase
        assert med.post(f"/api/hearings/{hid}/parties/0/erase").status_code == 403
    with closing(httpx.Client(base_url=srv["url"], timeout=120)) as admin:
        login(admin, "admin")
        r = admin.post(f"/api/hearings/{hid}/parties/0/erase")
        assert r.status_code == 200, r.text
        assert r.json()["replaced"] > 0 and r.json()["failures"] == []
        h = admin.get(f"/api/hearings/{hid}").json()
        assert h["parties"][0]["name"] == "〔当事人1·已删除〕" and h["parties"][0]["role"] == "applicant"
        assert h["parties"][0]["phone"] == "" and h["parties"][0]["address"] == ""
        assert h["parties"][1]["name"] == "李四"  # the other party is untouched
        assert admin.get("/api/hearings", params={"party": "张三"}).json()["total"] == 0
        assert h["speakers"]["S2"]["name"] == "〔当事人1·已删除〕"
        text = json.dumps(admin.get(f"/api/hearings/{hid}/documents/{doc['id']}").json(), ensure_ascii=False)
        assert "张三" not in text and "13800138000" not in text and "李四" in text
        after = admin.get(f"/api/hearings/{hid}/documents/{doc['id']}/file/docx")
        assert after.status_code == 200
        printed = _docx_text(after.content)
        assert "张三" not in printed and "〔当事人1·已删除〕" in printed
        again = admin.post(f"/api/hearings/{hid}/parties/0/erase")
        assert again.status_code == 409  # already erased
    # every file of the hearing on disk: drafts, the session folder's journal and transcripts
    for root in (settings.data_dir / "documents" / doc["id"], settings.sessions_path / f"h-{hid}"):
        for path in root.rglob("*.json*"):
            content = path.read_text(encoding="utf-8")
            assert "张三" not in content and "13800138000" not in content, path
    db = Database(settings.db_url)
    with db.transaction() as tx:
        outbox = [m.body for m in tx.scalars(select(OutboxMessage))]
        h_row = tx.get(Hearing, hid)
        assert h_row is not None
        consents = [c.party_name for c in h_row.consents]
        corrections = json.dumps(h_row.corrections, ensure_ascii=False)
    db.dispose()
    assert outbox and not any("张三" in b for b in outbox)
    assert "〔当事人1·已删除〕" in consents and "张三" not in consents
    assert "张三" not in corrections
    [erased] = [e for e in _audit(settings, "hearing", hid) if e.detail.get("step") == "erase_party"]
    assert erased.actor.startswith("user:") and erased.detail["party"] == 0
    assert "张三" not in json.dumps(erased.detail, ensure_ascii=False)


def test_the_cli_erases_a_party_and_deletes_a_hearing_audited(srv: dict[str, Any]) -> None:
    settings: Settings = srv["settings"]
    with closing(httpx.Client(base_url=srv["url"], timeout=120)) as med:
        login(med, "med_a")
        hid = _hearing(med)
    journal = settings.sessions_path / f"h-{hid}" / "journal.jsonl"
    assert "13800138000" in journal.read_text(encoding="utf-8")
    erased = _cli(settings, "privacy", "erase-party", hid, "--party", "1")
    assert erased.returncode == 0, erased.stderr
    assert "13800138000" not in journal.read_text(encoding="utf-8")
    assert "张三" not in (journal.parent / "session.json").read_text(encoding="utf-8")
    missing = _cli(settings, "privacy", "erase-party", hid, "--party", "5")
    assert missing.returncode != 0 and "no party 5" in missing.stderr and "Traceback" not in missing.stderr
    deleted = _cli(settings, "privacy", "delete-hearing", hid)
    assert deleted.returncode == 0, deleted.stderr
    assert not journal.parent.exists()
    actions = [(e.action, e.actor.split(":")[0], e.detail.get("step")) for e in _audit(settings, "hearing", hid)]
    assert ("change", "cli", "erase_party") in actions and ("delete", "cli", None) in actions


def _lexicon(admin: httpx.Client) -> dict[str, dict[str, Any]]:
    return {e["word"]: e for e in admin.get("/api/lexicon", params={"office": OFFICE_A}).json()}


def test_names_the_lexicon_learnt_go_with_their_party_and_their_hearing(srv: dict[str, Any]) -> None:
    """The office lexicon learns a party's name from a reviewer's correction. Erasing the party
    removes it (the words of other parties and the place words stay); deleting a hearing removes
    the names learnt from it, and keeps its place words unlinked from it."""
    settings: Settings = srv["settings"]
    with closing(httpx.Client(base_url=srv["url"], timeout=120)) as med:
        login(med, "med_a")
        a = _hearing(med)
        base = f"/api/hearings/{a}/transcript/turns"
        assert med.put(f"{base}/t2", json={"text": "墙本来就旧了，李四可以出一部分钱。"}).json()["learnt"] == ["李四"]
        assert med.put(f"{base}/t1", json={"text": "我是张三，电话13800138000，住石门镇幸福村3组12号。"}).json()["learnt"] == ["石门镇"]
        b = _hearing(med, [{"role": "applicant", "name": "孙七"}, {"role": "respondent", "name": "周八"}])
        r = med.put(f"/api/hearings/{b}/transcript/turns/t2", json={"text": "墙本来就旧了，周八可以出一部分钱。"})
        assert r.json()["learnt"] == ["周八"]
    with closing(httpx.Client(base_url=srv["url"], timeout=120)) as admin:
        login(admin, "admin")
        words = _lexicon(admin)
        assert {"李四", "石门镇", "周八"} <= set(words) and words["李四"]["hearing_id"] == a
        # erasing 李四 (party 2 of hearing A) removes the name from the office lexicon
        r = admin.post(f"/api/hearings/{a}/parties/1/erase")
        assert r.status_code == 200 and r.json()["lexicon_removed"] == 1, r.text
        words = _lexicon(admin)
        assert "李四" not in words and {"石门镇", "周八"} <= set(words)
        # deleting hearing B removes the names learnt from it
        r = admin.delete(f"/api/hearings/{b}")
        assert r.status_code in (200, 204), r.text
        assert "周八" not in _lexicon(admin)
        # deleting hearing A: its place word stays, linked to no hearing
        assert admin.delete(f"/api/hearings/{a}").status_code in (200, 204)
        words = _lexicon(admin)
        assert "石门镇" in words and words["石门镇"]["hearing_id"] is None
    [erased] = [e for e in _audit(settings, "hearing", a) if e.detail.get("step") == "erase_party"]
    assert erased.detail["lexicon_removed"] == 1
    [deleted] = [e for e in _audit(settings, "hearing", b) if e.action == "delete"]
    assert deleted.detail["lexicon_removed"] == 1


def _closed_hearing(settings: Settings, office: str, age_days: float) -> tuple[str, Path]:
    """A stopped hearing of ``office`` whose recording ended ``age_days`` ago."""
    from scribe.web.models import new_hearing_id

    hid = new_hearing_id()
    folder = settings.sessions_path / f"h-{hid}"
    folder.mkdir(parents=True)
    _wav(folder / "audio.wav")
    (folder / "final.json").write_text('{"segments": []}', encoding="utf-8")
    ended = time.time() - age_days * 86400
    os.utime(folder / "audio.wav", (ended, ended))
    db = Database(settings.db_url)
    with db.transaction() as tx:
        tx.add(Hearing(id=hid, office=office, kind="mediation", parties=[{"role": "applicant", "name": "甲"}],
                       status="approved", live_session_id=f"h-{hid}"))  # fmt: skip
    db.dispose()
    return hid, folder


def test_retention_purges_closed_hearings_audio_after_the_office_period(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", audio_retention_days={OFFICE_A: 365})
    seed_accounts(settings)
    old_a, folder_old_a = _closed_hearing(settings, OFFICE_A, 400)
    young_a, folder_young_a = _closed_hearing(settings, OFFICE_A, 30)
    old_b, folder_old_b = _closed_hearing(settings, OFFICE_B, 400)  # office B set no period
    env = {"SCRIBE_SERVER__AUDIO_RETENTION_DAYS": json.dumps({OFFICE_A: 365}, ensure_ascii=False)}
    dry = _cli(settings, "retention", "purge", "--dry-run", extra=env)
    assert dry.returncode == 0 and json.loads(dry.stdout.splitlines()[-1])["purged"] == [old_a]
    assert (folder_old_a / "audio.wav").exists()
    done = _cli(settings, "retention", "purge", extra=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["purged"] == [old_a] and report["bytes_freed"] > 30_000 and report["kept"] == 1
    assert not (folder_old_a / "audio.wav").exists()
    assert (folder_old_a / "final.json").exists()  # the transcript stays
    marker = json.loads((folder_old_a / "audio.purged.json").read_text(encoding="utf-8"))
    assert marker["retention_days"] == 365
    assert (folder_young_a / "audio.wav").exists() and (folder_old_b / "audio.wav").exists()
    [entry] = _audit(settings, "audio", old_a)
    assert entry.action == "delete" and entry.actor.startswith("cli:") and entry.detail["reason"] == "retention"


def test_the_server_purges_on_its_schedule(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", audio_retention_days={"*": 10}, retention_interval_h=0.0005)
    seed_accounts(settings)
    hid, folder = _closed_hearing(settings, OFFICE_B, 11)
    server = ServerThread(create_app(settings))
    try:
        # the file goes first and the audit row is committed just after it: wait for the row
        deadline = time.monotonic() + 20
        while not _audit(settings, "audio", hid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not (folder / "audio.wav").exists()
        [entry] = _audit(settings, "audio", hid)
        assert entry.actor == "system:retention"
    finally:
        server.close()


# -- voiceprints -------------------------------------------------------------------------------


def _enrol(settings: Settings, name: str, office: str | None, user_id: int | None = None) -> str:
    from diarize.voiceprints import Consent, VoiceprintStore

    from scribe.privacy.voiceprints import assign

    db = Database(settings.db_url)
    rng = np.random.default_rng(len(name))
    info = VoiceprintStore(db).enrol(
        name=name, role="调解员", embedding=rng.standard_normal(192).astype(np.float32), speech_seconds=8.0,
        consent=Consent(dt.datetime.now(dt.timezone.utc), name, "声纹告知书"),
    )  # fmt: skip
    assign(db, info.id, office, user_id)
    db.dispose()
    return info.id


def _user_id(settings: Settings, username: str) -> int:
    from scribe.accounts.models import User

    db = Database(settings.db_url)
    with db.transaction() as tx:
        uid = tx.scalar(select(User.id).where(User.username == username))
    db.dispose()
    assert uid is not None
    return int(uid)


def test_voiceprints_are_listed_and_deleted_from_the_web_by_office_and_audited(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", server_delivery_worker=False)
    seed_accounts(settings)
    mine = _enrol(settings, "王调解员", OFFICE_A, _user_id(settings, "med_a"))
    theirs = _enrol(settings, "钱调解员", OFFICE_B, _user_id(settings, "med_b"))
    server = ServerThread(create_app(settings))
    try:
        with closing(httpx.Client(base_url=server.url, timeout=60)) as med_b:
            login(med_b, "med_b")
            seen = med_b.get("/api/voiceprints").json()
            assert [v["id"] for v in seen] == [theirs] and seen[0]["own"] is True
            # another office's voiceprint: answered like a missing one, and kept
            assert med_b.delete(f"/api/voiceprints/{mine}").status_code == 404
        with closing(httpx.Client(base_url=server.url, timeout=60)) as admin:
            login(admin, "admin")
            listed = admin.get("/api/voiceprints").json()
            assert {v["id"]: v["office"] for v in listed} == {mine: OFFICE_A, theirs: OFFICE_B}
            assert [v["id"] for v in admin.get("/api/voiceprints", params={"office": OFFICE_A}).json()] == [mine]
            assert admin.delete(f"/api/voiceprints/{mine}").status_code == 204
            assert [v["id"] for v in admin.get("/api/voiceprints").json()] == [theirs]
            page = admin.get("/admin")
            assert page.status_code == 200 and 'id="voiceprints"' in page.text
        with closing(httpx.Client(base_url=server.url, timeout=60)) as med_b:
            login(med_b, "med_b")  # a person withdraws their own consent
            assert med_b.delete(f"/api/voiceprints/{theirs}").status_code == 204
    finally:
        server.close()
    [deleted] = [e for e in _audit(settings, "voiceprint", mine) if e.action == "delete"]
    assert deleted.actor.startswith("user:") and deleted.office == OFFICE_A
    assert [e.action for e in _audit(settings, "voiceprint", theirs)] == ["delete"]


def test_the_cli_voiceprint_delete_is_audited(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    seed_accounts(settings)
    vid = _enrol(settings, "赵记录", None)
    listed = _cli(settings, "voiceprints", "list")
    assert listed.returncode == 0 and vid in listed.stdout
    done = _cli(settings, "voiceprints", "delete", vid)
    assert done.returncode == 0, done.stderr
    assert vid not in _cli(settings, "voiceprints", "list").stdout
    [entry] = _audit(settings, "voiceprint", vid)
    assert entry.action == "delete" and entry.actor.startswith("cli:")


def test_a_hearing_diarizer_loads_only_its_own_office_voiceprints(tmp_path: Path) -> None:
    """Live and final-pass diarization are one ``StreamingDiarizer`` per session (its
    ``final_pass`` keeps the voiceprint labels); the engine builds it for the hearing's office."""
    from diarize import DiarizationModels
    from test_diarize_units import DummyEmbedder, DummySegmenter

    from scribe.live.engine import LiveEngine
    from scribe.live.pipeline import LiveOptions
    from scribe.privacy.voiceprints import loader
    from scribe.services import streaming_diarizers

    settings = make_settings(tmp_path / "data")
    seed_accounts(settings)
    a = _enrol(settings, "王调解员", OFFICE_A)
    _enrol(settings, "钱调解员", OFFICE_B)
    everywhere = _enrol(settings, "赵记录", None)  # enrolled on this desk PC without an office
    db = Database(settings.db_url)
    engine = LiveEngine(settings, transcriber=None, vad_path=tmp_path,  # type: ignore[arg-type]
                        streaming_diarizer=streaming_diarizers(settings, DiarizationModels(DummySegmenter(), DummyEmbedder()), loader(db)))  # fmt: skip
    diarizer = engine._diarizer(LiveOptions(voiceprint_office=OFFICE_A))
    assert diarizer is not None
    assert sorted(s.label for s in diarizer._speakers if s.fixed) == ["王调解员", "赵记录"]  # type: ignore[attr-defined]
    assert {v.id for v in loader(db)(OFFICE_A)} == {a, everywhere}
    db.dispose()


def test_a_purged_recording_says_so_and_the_admin_can_purge_now(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", server_delivery_worker=False, audio_retention_days={OFFICE_A: 30})
    seed_accounts(settings)
    server = ServerThread(create_app(settings, live=DialogueLive(tmp_path, settings.sessions_path)))
    try:
        with closing(httpx.Client(base_url=server.url, timeout=120)) as med:
            login(med, "med_a")
            hid = _hearing(med)
            assert med.get(f"/api/hearings/{hid}/audio").status_code == 200
            audio = settings.sessions_path / f"h-{hid}" / "audio.wav"
            ended = time.time() - 31 * 86400
            os.utime(audio, (ended, ended))
            assert med.post("/api/retention/purge").status_code == 403  # admin only
        with closing(httpx.Client(base_url=server.url, timeout=120)) as admin:
            login(admin, "admin")
            r = admin.post("/api/retention/purge")
            assert r.status_code == 200 and r.json()["purged"] == [hid]
            gone = admin.get(f"/api/hearings/{hid}/audio")
            assert gone.status_code == 410 and "retention" in gone.json()["error"]
            assert admin.get(f"/api/hearings/{hid}/transcript").json()["segments"]  # the transcript stays
    finally:
        server.close()
    [entry] = [e for e in _audit(settings, "audio", hid) if e.action == "delete"]
    assert entry.actor.startswith("user:") and entry.detail["retention_days"] == 30
