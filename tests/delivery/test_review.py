"""The Document record through review: drafts, returns, approvals and new versions."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from scribe import review
from scribe.delivery.models import OutboxMessage
from scribe.errors import DocumentError

from .conftest import AGREEMENT_FIELDS, make_files


def count_messages(db) -> int:
    with db.transaction() as tx:
        return tx.scalar(select(func.count()).select_from(OutboxMessage))


def new_draft(db, tmp_path, name="r"):
    with db.transaction() as tx:
        return review.save_draft(
            tx, hearing_id="ses_r", office="城关司法所", kind="mediation-agreement",
            fields=AGREEMENT_FIELDS, files=make_files(tmp_path, name),
        )  # fmt: skip


def test_return_correct_approve_and_correct_again(db, tmp_path, settings_d):
    doc = new_draft(db, tmp_path)
    assert doc.status == "draft" and doc.version == 1
    assert set(doc.files) == {"docx", "pdf", "transcript", "audio"}
    with db.transaction() as tx:
        returned = review.return_for_changes(tx, doc.id, "审核员甲", "第二条履行期限写错了")
    assert returned.status == "returned" and returned.return_note == "第二条履行期限写错了"
    with db.transaction() as tx, pytest.raises(DocumentError, match="not a draft"):
        review.approve(tx, doc.id, "审核员甲", settings=settings_d)
    assert count_messages(db) == 0

    corrected = dict(AGREEMENT_FIELDS, performance_deadline="2026-12-15")
    with db.transaction() as tx:
        doc2 = review.save_draft(
            tx, hearing_id="ses_r", office="城关司法所", kind="mediation-agreement",
            fields=corrected, document_id=doc.id,
        )  # fmt: skip
    assert doc2.version == 2 and doc2.status == "draft"
    with db.transaction() as tx:
        first = review.approve(tx, doc.id, "审核员甲", settings=settings_d)
    assert first.version == 2
    with db.transaction() as tx, pytest.raises(DocumentError, match="already approved"):
        review.approve(tx, doc.id, "审核员乙", settings=settings_d)
    with db.transaction() as tx, pytest.raises(DocumentError, match="only a draft"):
        review.return_for_changes(tx, doc.id, "审核员乙", "改")

    # a correction after approval is a new version, approved (and delivered) as a new message
    with db.transaction() as tx:
        review.save_draft(
            tx, hearing_id="ses_r", office="城关司法所", kind="mediation-agreement",
            fields=corrected, document_id=doc.id,
        )  # fmt: skip
        second = review.approve(tx, doc.id, "审核员乙", settings=settings_d)
    assert second.version == 3 and second.message_id != first.message_id
    assert count_messages(db) == 2
    with db.transaction() as tx:
        final = review.get_document(tx, doc.id)
        assert (final.status, final.approved_by) == ("approved", "审核员乙")
        assert [d.id for d in review.documents_of_hearing(tx, "ses_r")] == [doc.id]


def test_bad_input_is_refused_with_a_fix(db, tmp_path, settings_d):
    with db.transaction() as tx, pytest.raises(DocumentError, match="unknown document kind"):
        review.save_draft(tx, hearing_id="s", office="o", kind="letter", fields={})
    with db.transaction() as tx, pytest.raises(DocumentError, match="does not exist"):
        review.save_draft(
            tx, hearing_id="s", office="o", kind="hearing-record", fields={},
            files={"pdf": tmp_path / "missing.pdf"},
        )  # fmt: skip
    doc = new_draft(db, tmp_path, "b")
    with db.transaction() as tx, pytest.raises(DocumentError, match="needs a note"):
        review.return_for_changes(tx, doc.id, "审核员甲", "  ")
    (tmp_path / "files" / "b" / "张三-调解协议书.pdf").unlink()  # the rendered file vanished
    with db.transaction() as tx, pytest.raises(DocumentError, match="render the document again"):
        review.approve(tx, doc.id, "审核员甲", settings=settings_d)
    assert count_messages(db) == 0


def test_approval_hashes_the_files_as_approved(db, tmp_path, settings_d):
    doc = new_draft(db, tmp_path, "h")
    pdf = tmp_path / "files" / "h" / "张三-调解协议书.pdf"
    pdf.write_bytes(b"%PDF re-rendered after the last save")
    with db.transaction() as tx:
        review.approve(tx, doc.id, "审核员甲", settings=settings_d)
        approved = review.get_document(tx, doc.id)
    import hashlib

    assert approved.files["pdf"]["sha256"] == hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert approved.files["pdf"]["sha256"] != doc.files["pdf"]["sha256"]


def test_two_reviewers_approving_at_once_make_one_approval(db, tmp_path, settings_d):
    doc = new_draft(db, tmp_path, "c")
    results: list[object] = []
    barrier = threading.Barrier(2)

    def reviewer(name: str) -> None:
        barrier.wait()
        try:
            with db.transaction() as tx:
                results.append(review.approve(tx, doc.id, name, settings=settings_d))
        except Exception as exc:  # noqa: BLE001  (the loser's error is what we check)
            results.append(exc)

    threads = [threading.Thread(target=reviewer, args=(n,)) for n in ("审核员甲", "审核员乙")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    approvals = [r for r in results if isinstance(r, review.Approval)]
    assert len(approvals) == 1, results
    (loser,) = [r for r in results if not isinstance(r, review.Approval)]
    # the loser either lost the conditional UPDATE ("approve again") or, when its transaction
    # began after the winner committed, found the document already approved: both refuse
    assert isinstance(loser, DocumentError)
    assert "approve again" in str(loser) or "already approved" in str(loser), loser
    assert count_messages(db) == 1
