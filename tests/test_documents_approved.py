"""The papers are the approved document: Word and PDF downloaded from a real server (LibreOffice
for the PDF) and read back (python-docx, pdftotext) carry the fields of the version downloaded,
an approved version carries no draft banner, a changed field changes the PDF, and a list field
(人民调解员) typed or sent as a list prints as names, never one character at a time."""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import pytest
from docx import Document as DocxDocument
from server_support import ServerThread, login, make_settings, seed_accounts
from sqlalchemy import select
from test_server_review import DialogueLive, _hearing

from doc_templates.render import DRAFT_NOTICE, find_soffice
from scribe.delivery.models import OutboxMessage
from scribe.storage import Database
from server import create_app

BANNER = "【草稿】"


@pytest.fixture()
def srv(tmp_path) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    assert find_soffice() is not None, "these tests print PDFs: apt-get install libreoffice-writer-nogui"
    settings = make_settings(tmp_path, server_delivery_worker=False)
    seed_accounts(settings)
    server = ServerThread(create_app(settings, live=DialogueLive(tmp_path)))
    try:
        yield {"url": server.url, "settings": settings}
    finally:
        server.close()


def docx_text(data: bytes) -> str:
    doc = DocxDocument(io.BytesIO(data))
    parts = [p.text for p in doc.paragraphs]
    parts += [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return re.sub(r"\s+", "", "".join(parts))


def pdf_text(data: bytes, tmp_path) -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / f"{hashlib.sha256(data).hexdigest()[:12]}.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"\s+", "", out)


def _unnamed_mediator_hearing(c: httpx.Client) -> str:
    """A hearing whose mediator nobody named: 人民调解员 is missing in the draft."""
    h = c.post("/api/hearings", json={"kind": "mediation", "case_number": "（2026）城人调字第6号", "category": "邻里",
                                      "parties": [{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "李四"}]}).json()  # fmt: skip
    for i in (0, 1):
        c.post(f"/api/hearings/{h['id']}/consent", json={"party_index": i, "consented": True, "notice_read": True})
    for label, role, name in (("S2", "applicant", "张三"), ("S3", "respondent", "李四")):
        c.put(f"/api/hearings/{h['id']}/speakers/{label}", json={"role": role, "name": name})
    assert c.post(f"/api/hearings/{h['id']}/record").status_code == 200
    assert c.post(f"/api/hearings/{h['id']}/stop").status_code == 200
    return str(h["id"])


def test_a_typed_mediator_is_a_list_of_names_and_round_trips(srv: dict[str, Any]) -> None:
    with closing(httpx.Client(base_url=srv["url"], timeout=120)) as med:
        login(med, "med_a")
        hid = _unnamed_mediator_hearing(med)
        doc = med.post(f"/api/hearings/{hid}/documents", json={}).json()
        did, url = doc["id"], f"/api/hearings/{hid}/documents/{doc['id']}"
        assert doc["fields"]["mediators"]["source"] == "missing" and "mediators" in doc["missing"]
        assert {"mediators", "terms", "legal_bases"} <= set(doc["list_fields"])
        # what a person types into the one box: a name, not three characters
        r = med.patch(f"{url}/fields", json={"path": "mediators", "value": "李调解"})
        assert r.status_code == 200, r.text
        assert r.json()["fields"]["mediators"]["value"] == ["李调解"]
        assert not [p for p in r.json()["problems"] if "mediators" in p], r.json()["problems"]
        # the whole list, as the review page sends it
        r = med.patch(f"{url}/fields", json={"path": "mediators", "value": ["李调解", "王调解员"]})
        assert r.json()["fields"]["mediators"]["value"] == ["李调解", "王调解员"]
        assert "mediators" not in r.json()["missing"]
        again = med.get(url).json()
        assert [i["value"] for i in again["fields"]["mediators"]["items"]] == ["李调解", "王调解员"]
        # one entry edited by its own path; the list stays a list
        r = med.patch(f"{url}/fields", json={"path": "mediators.1", "value": "王建国"})
        assert r.json()["fields"]["mediators"]["value"] == ["李调解", "王建国"]
        text = docx_text(med.get(f"{url}/file/docx").content)
        assert "李调解、王建国" in text and "李、调、解" not in text
        # emptied: missing again, with the reason
        r = med.patch(f"{url}/fields", json={"path": "mediators", "value": []})
        assert r.json()["fields"]["mediators"]["source"] == "missing" and "mediators" in r.json()["missing"]
        # a list for a one-value field is refused, saying so
        r = med.patch(f"{url}/fields", json={"path": "facts", "value": ["a", "b"]})
        assert r.status_code == 422 and "not a list" in r.json()["error"]
        # the names offered: this office's staff accounts only
        staff = med.get(f"/api/hearings/{hid}/staff").json()
        names = {p["name"] for p in staff}
        assert {"王调解员", "赵审核"} <= names and "钱调解员" not in names and "admin" not in names
    assert did


def test_a_consultations_outcome_is_a_list_of_the_fixed_values(srv: dict[str, Any]) -> None:
    with closing(httpx.Client(base_url=srv["url"], timeout=120)) as med:
        login(med, "med_a")
        h = med.post("/api/hearings", json={"kind": "consultation", "parties": [{"role": "visitor", "name": "周五"}]}).json()
        med.post(f"/api/hearings/{h['id']}/consent", json={"party_index": 0, "consented": True, "notice_read": True})
        med.post(f"/api/hearings/{h['id']}/record")
        med.post(f"/api/hearings/{h['id']}/stop")
        doc = med.post(f"/api/hearings/{h['id']}/documents", json={}).json()
        assert "outcome" in doc["list_fields"] and "转法律援助" in doc["choices"]["outcome"]
        url = f"/api/hearings/{h['id']}/documents/{doc['id']}"
        r = med.patch(f"{url}/fields", json={"path": "outcome", "value": ["已解答", "转法律援助"]})
        assert r.json()["fields"]["outcome"]["value"] == ["已解答", "转法律援助"]
        assert not [p for p in r.json()["problems"] if "outcome" in p], r.json()["problems"]
        r = med.patch(f"{url}/fields", json={"path": "outcome", "value": "已解答"})  # typed: one entry
        assert r.json()["fields"]["outcome"]["value"] == ["已解答"]


def test_the_approved_pdf_and_word_are_the_approved_document(srv: dict[str, Any], tmp_path) -> None:  # type: ignore[no-untyped-def]
    with closing(httpx.Client(base_url=srv["url"], timeout=300)) as med:
        login(med, "med_a")
        hid = _hearing(med)
        doc = med.post(f"/api/hearings/{hid}/documents", json={}).json()
        url = f"/api/hearings/{hid}/documents/{doc['id']}"
        # the terms as a list: one added, then removed again; the dictated ones keep their evidence
        said = doc["fields"]["terms"]["items"]
        assert said and all(t["evidence"] for t in said)
        med.post(f"{url}/terms", json={"text": "双方今后互不追究。"})
        r = med.patch(f"{url}/fields", json={"path": "terms", "value": [t["value"] for t in said]})
        assert r.json()["fields"]["terms"]["items"] == said
        assert med.patch(f"{url}/fields", json={"path": "performance_place", "value": "幸福村村委会"}).status_code == 200
        draft_pdf = med.get(f"{url}/file/pdf")
        assert draft_pdf.status_code == 200 and draft_pdf.headers["content-type"] == "application/pdf"
        first = pdf_text(draft_pdf.content, tmp_path)
        assert BANNER in first and "幸福村村委会" in first
        # the same version, changed: the PDF follows (it used to be rendered once and kept)
        med.patch(f"{url}/fields", json={"path": "performance_place", "value": "城关司法所调解室"})
        med.patch(f"{url}/fields", json={"path": "performance_manner", "value": "现金一次性支付"})
        draft_pdf2 = med.get(f"{url}/file/pdf").content
        second = pdf_text(draft_pdf2, tmp_path)
        assert draft_pdf2 != draft_pdf.content
        assert "城关司法所调解室" in second and "幸福村村委会" not in second and BANNER in second
        assert med.get(f"{url}/file/pdf").content == draft_pdf2  # unchanged content: the same file
    with closing(httpx.Client(base_url=srv["url"], timeout=300)) as rev:
        login(rev, "rev_a")
        approved = rev.post(f"{url}/approve")
        assert approved.status_code == 200, approved.text
        body = approved.json()
        assert body["status"] == "approved" and "pdf" in body["files"]
        pdf = rev.get(f"{url}/file/pdf").content
        word = rev.get(f"{url}/file/docx").content
    pdf_words, word_words = pdf_text(pdf, tmp_path), docx_text(word)
    assert pdf != draft_pdf2  # same fields, but the approved print has no banner
    for text in (pdf_words, word_words):
        assert BANNER not in text and re.sub(r"\s+", "", DRAFT_NOTICE) not in text
        assert "幸福村村委会" not in text
        # every value of the approved version is printed
        fields = body["fields"]
        for name in ("facts", "performance_place", "performance_manner", "case_number"):
            assert re.sub(r"\s+", "", str(fields[name]["value"])) in text, name
        for term in fields["terms"]["items"]:
            assert re.sub(r"\s+", "", term["value"]) in text
        assert "、".join(fields["mediators"]["value"]) in text
        for path in body["missing"]:  # and what is still missing shows as a gap, not a guess
            assert "【待补充" in text, path
    # the files are the ones the approval hashed and the case system is told about
    db = Database(srv["settings"].db_url)
    with db.transaction() as tx:
        message = json.loads(tx.scalars(select(OutboxMessage.body).where(OutboxMessage.subject_id == body["id"])).one())
    db.dispose()
    hashes = {f["kind"]: f["sha256"] for f in message["data"]["files"]}
    assert hashes["pdf"] == hashlib.sha256(pdf).hexdigest() and hashes["docx"] == hashlib.sha256(word).hexdigest()
    # a correction after approval is version 2, a draft again; version 1's files stay as approved
    with closing(httpx.Client(base_url=srv["url"], timeout=300)) as rev:
        login(rev, "rev_a")
        r = rev.patch(f"{url}/fields", json={"path": "performance_manner", "value": "银行转账"})
        assert r.json()["version"] == 2 and r.json()["status"] == "draft"
        v2 = pdf_text(rev.get(f"{url}/file/pdf").content, tmp_path)
        assert BANNER in v2 and "银行转账" in v2
    db = Database(srv["settings"].db_url)
    rendered = srv["settings"].data_dir / "documents" / body["id"] / "rendered"
    on_disk = {hashlib.sha256(p.read_bytes()).hexdigest() for p in rendered.glob("*.pdf")}
    db.dispose()
    assert hashes["pdf"] in on_disk


def test_a_mediator_list_saved_as_one_text_prints_as_names(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Drafts saved before lists were lists hold 人民调解员 as one text: it prints as names."""
    from doc_templates.registry import load_registry
    from doc_templates.render import render_docx
    from scribe.extract.draft import Draft
    from scribe.extract.fields import FieldValue, Source

    spec = load_registry().get("mediation-agreement")
    draft = Draft(template=spec.name, document=spec.document, title=spec.title, created_at="2026-11-20T10:00:00Z",
                  session={}, transcript={},
                  fields={"mediators": FieldValue(value="李调解、王建国", source=Source.SESSION, confidence=1.0)})  # fmt: skip
    text = docx_text(render_docx(draft, spec, tmp_path / "a.docx").read_bytes())
    assert "李调解、王建国" in text and "李、调、解" not in text
