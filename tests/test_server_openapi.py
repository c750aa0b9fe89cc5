"""Schemathesis against the published OpenAPI document of a real server on loopback: generated
requests (valid and invalid) on every operation, as a logged-in mediator and as an admin; no
response may be a server error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance, status_code_conformance
from server_support import MemoryLive, ServerThread, login, make_settings, seed_accounts

from server import create_app

_state: dict[str, Any] = {}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root: Path = tmp_path_factory.mktemp("openapi")
    cfg = make_settings(root, soffice_binary="no-soffice-here", server_delivery_worker=False)
    seed_accounts(cfg)
    server = ServerThread(create_app(cfg, live=MemoryLive(root)))
    headers: dict[str, dict[str, str]] = {}
    for who in ("med_a", "admin"):
        with httpx.Client(base_url=server.url) as c:
            csrf = login(c, who)
            headers[who] = {"X-CSRF-Token": csrf, "Cookie": f"scribe_session={c.cookies['scribe_session']}"}
        # a hearing for the generated ids to sometimes hit
    _state.update(url=server.url, headers=headers)
    try:
        # the document itself needs a login (docs/security.md)
        yield schemathesis.openapi.from_url(server.url + "/openapi.json", headers=headers["med_a"])
    finally:
        server.close()


def _fuzz(schema: Any, who: str, examples: int, skip: set[str]) -> int:
    """Every operation of the schema with ``examples`` generated cases each; returns the count.

    (schemathesis' own pytest plugin does not run under this pytest, so the cases are drawn
    from each operation's Hypothesis strategy here.)
    """
    from hypothesis import given

    ran = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in skip:
            continue

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: Any) -> None:
            case.call_and_validate(base_url=_state["url"], headers=_state["headers"][who], timeout=120, checks=[not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance])

        run()
        ran += 1
    return ran


def test_no_server_errors_as_a_mediator(api_schema: Any) -> None:
    # logout would end the login the other cases use
    assert _fuzz(api_schema, "med_a", 25, {"/api/auth/logout"}) >= 30


def test_no_server_errors_as_an_admin(api_schema: Any) -> None:
    # a generated password change or disable of the admin would end its own login
    assert _fuzz(api_schema, "admin", 12, {"/api/auth/logout", "/api/users/{user_id}"}) >= 30
