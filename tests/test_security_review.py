"""Approval rules, on a real server on loopback with a real database file:

- approving and returning a draft are a person's acts: an API token that carries the
  ``documents:approve`` scope can do neither;
- four-eyes (``SCRIBE_SERVER__FOUR_EYES``): a reviewer who generated a version of a draft or
  edited its fields cannot approve that version; another reviewer can, and the refusal says so
  in Chinese from the message catalogue. Off (the default), one reviewer edits and approves, as a
  one-desk office must.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_support import OFFICE_A, PASSWORD, ServerThread, login, make_settings, seed_accounts
from test_security_deletion import DialogueLive, _audit, _hearing

from scribe.accounts import service
from scribe.accounts.principal import Role, Scope
from scribe.storage import Database
from server import create_app


def _serve(tmp_path: Path, **overrides: Any) -> tuple[ServerThread, dict[str, Any]]:
    settings = make_settings(tmp_path / "data", soffice_binary="no-soffice-here", server_delivery_worker=False,
                             **overrides)  # fmt: skip
    seed_accounts(settings)
    db = Database(settings.db_url)
    with db.transaction() as tx:
        service.create_user(tx, "rev_a2", PASSWORD, Role.REVIEWER, OFFICE_A, "钱审核")
        token, _ = service.create_token(tx, "case system that may approve",
                                        [Scope.DOCUMENTS_READ, Scope.DOCUMENTS_APPROVE, Scope.SESSIONS_READ], OFFICE_A)
    db.dispose()
    server = ServerThread(create_app(settings, live=DialogueLive(tmp_path, settings.sessions_path)))
    return server, {"url": server.url, "settings": settings, "token": token}


@pytest.fixture()
def srv(tmp_path: Path) -> Iterator[dict[str, Any]]:
    server, info = _serve(tmp_path)
    try:
        yield info
    finally:
        server.close()


@pytest.fixture()
def four_eyes(tmp_path: Path) -> Iterator[dict[str, Any]]:
    server, info = _serve(tmp_path, four_eyes=True)
    try:
        yield info
    finally:
        server.close()


def _client(srv: dict[str, Any], user: str) -> httpx.Client:
    c = httpx.Client(base_url=srv["url"], timeout=120)
    login(c, user)
    return c


def _draft(srv: dict[str, Any], author: str = "med_a") -> tuple[str, str]:
    with closing(_client(srv, "med_a")) as med:
        hid = _hearing(med)
    with closing(_client(srv, author)) as c:
        r = c.post(f"/api/hearings/{hid}/documents", json={})
        assert r.status_code == 201, r.text
        return hid, str(r.json()["id"])


def test_a_token_can_neither_approve_nor_return_a_draft(srv: dict[str, Any]) -> None:
    hid, doc = _draft(srv)
    with httpx.Client(base_url=srv["url"], timeout=60, headers={"Authorization": f"Bearer {srv['token']}"}) as tok:
        assert tok.get(f"/api/hearings/{hid}/documents/{doc}").status_code == 200  # the scope works
        r = tok.post(f"/api/hearings/{hid}/documents/{doc}/approve")
        assert r.status_code == 403 and r.json()["code"] == "approve_by_person"
        r = tok.post(f"/api/hearings/{hid}/documents/{doc}/return", json={"note": "请核对金额"})
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "return_by_person" and "审核人本人" in r.json()["message"]
    with closing(_client(srv, "rev_a")) as rev:
        assert rev.get(f"/api/hearings/{hid}/documents/{doc}").json()["status"] == "draft"  # untouched
        assert rev.post(f"/api/hearings/{hid}/documents/{doc}/return", json={"note": "请核对金额"}).status_code == 200
    assert [e.action for e in _audit(srv["settings"], "document", doc) if e.action == "return"] == ["return"]


def test_without_four_eyes_one_reviewer_edits_and_approves(srv: dict[str, Any]) -> None:
    hid, doc = _draft(srv, author="rev_a")
    with closing(_client(srv, "rev_a")) as rev:
        assert rev.patch(f"/api/hearings/{hid}/documents/{doc}/fields",
                         json={"path": "performance_place", "value": "城关司法所"}).status_code == 200
        r = rev.post(f"/api/hearings/{hid}/documents/{doc}/approve")
        assert r.status_code == 200 and r.json()["approved_by"] == "rev_a"


def test_four_eyes_a_reviewer_who_edited_or_generated_a_version_cannot_approve_it(four_eyes: dict[str, Any]) -> None:
    srv = four_eyes
    # edited by one reviewer: that reviewer is refused, in Chinese, the draft stays a draft
    hid, doc = _draft(srv)
    url = f"/api/hearings/{hid}/documents/{doc}"
    with closing(_client(srv, "rev_a")) as rev:
        assert rev.patch(f"{url}/fields", json={"path": "performance_place", "value": "城关司法所"}).status_code == 200
        r = rev.post(f"{url}/approve")
        assert r.status_code == 409, r.text
        body = r.json()
        assert body["code"] == "four_eyes" and "另一位审核人" in body["message"]
        assert rev.get(url).json()["status"] == "draft"
        # returning is not approving: the editor may still send it back (tested below by rev_a2)
    with closing(_client(srv, "rev_a2")) as other:
        r = other.post(f"{url}/approve")
        assert r.status_code == 200 and r.json()["approved_by"] == "rev_a2"
        # rev_a2 now edits the approved document: a new version, which rev_a2 cannot approve alone,
        # while rev_a (who did not touch this version) can
        assert other.post(f"{url}/terms", json={"text": "三、双方互不追究。"}).status_code == 200
        assert other.get(url).json()["version"] == 2
        assert other.post(f"{url}/approve").json()["code"] == "four_eyes"
    with closing(_client(srv, "rev_a")) as rev:
        r = rev.post(f"{url}/approve")
        assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["approved_by"] == "rev_a"
    # generated by a reviewer: the same
    hid2, doc2 = _draft(srv, author="rev_a")
    with closing(_client(srv, "rev_a")) as rev:
        assert rev.post(f"/api/hearings/{hid2}/documents/{doc2}/approve").json()["code"] == "four_eyes"
    with closing(_client(srv, "rev_a2")) as other:
        assert other.post(f"/api/hearings/{hid2}/documents/{doc2}/approve").status_code == 200
    # a mediator's draft, untouched by reviewers: any one reviewer approves it
    hid3, doc3 = _draft(srv)
    with closing(_client(srv, "rev_a")) as rev:
        assert rev.post(f"/api/hearings/{hid3}/documents/{doc3}/approve").status_code == 200
    refused = [e for e in _audit(srv["settings"], "document", doc) if e.action == "approve"]
    assert [e.actor.split(":")[-1] for e in refused] == ["rev_a2", "rev_a"]  # refusals approve nothing
