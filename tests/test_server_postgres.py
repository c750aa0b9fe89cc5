"""The server on PostgreSQL by URL (a real throwaway server, Debian's postgresql): accounts,
office scoping, search, consent, drafting and approval with its outbox message."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import pytest
from delivery.pgserver import create_database, drop_database, postgres_server
from server_support import ServerThread, login, make_settings, seed_accounts
from test_server_review import DialogueLive, _hearing

from server import create_app


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("pg")
    with postgres_server() as base:
        url = create_database(base)
        settings = make_settings(root, database_url=url, soffice_binary="no-soffice-here", server_delivery_worker=False)
        seed_accounts(settings)
        server = ServerThread(create_app(settings, live=DialogueLive(root)))
        try:
            yield {"url": server.url}
        finally:
            server.close()
            drop_database(url)


def test_a_hearing_through_approval_on_postgresql(srv: dict[str, Any]) -> None:
    with closing(httpx.Client(base_url=srv["url"], timeout=60)) as med:
        login(med, "med_a")
        hid = _hearing(med)
        assert [h["id"] for h in med.get("/api/hearings", params={"q": "第5号"}).json()["items"]] == [hid]
        assert med.get("/api/hearings", params={"q": "5_"}).json()["total"] == 0  # LIKE wildcards literal
        doc = med.post(f"/api/hearings/{hid}/documents", json={}).json()
        assert doc["status"] == "draft"
    with closing(httpx.Client(base_url=srv["url"], timeout=60)) as other:
        login(other, "med_b")
        assert other.get(f"/api/hearings/{hid}").status_code == 404
    with closing(httpx.Client(base_url=srv["url"], timeout=60)) as rev:
        login(rev, "rev_a")
        r = rev.post(f"/api/hearings/{hid}/documents/{doc['id']}/approve")
        assert r.status_code == 200 and r.json()["status"] == "approved"
    with closing(httpx.Client(base_url=srv["url"], timeout=60)) as admin:
        login(admin, "admin")
        actions = [e["action"] for e in admin.get("/api/audit", params={"object_id": doc["id"]}).json()]
        assert "approve" in actions and "create" in actions
        created = admin.get("/api/audit", params={"object_id": hid}).json()
        assert created[0]["at"].endswith(("Z", "+00:00"))
