"""Webhook minimisation and control, on a real server on loopback with its own delivery worker,
real receivers that verify every signature, and a real database file:

- each endpoint is sent only the hearings of its offices;
- transcript links only to an endpoint that opted in; every link opens one file of one
  document, lives a day by default (a setting), is revoked with its endpoint or its document,
  and every pull is audited;
- the admin API (the admin page's webhook section): add for some offices (the secret shown
  once), rotate, test-send to the receiver, and each endpoint's recent failures with a reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from delivery.receiver import Receiver, Reply
from server_support import OFFICE_A, OFFICE_B, ServerThread, login, make_settings, seed_accounts
from sqlalchemy import func, select
from test_security_deletion import DialogueLive, _audit, _hearing

from scribe.delivery.models import Delivery
from scribe.settings import Settings
from scribe.storage import Database
from server import create_app

B_PARTIES = [{"role": "applicant", "name": "孙七"}, {"role": "respondent", "name": "周八"}]


def wait_for(what: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = what()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


@pytest.fixture()
def srv(tmp_path: Path) -> Iterator[dict[str, Any]]:
    settings = make_settings(tmp_path / "data", soffice_binary="no-soffice-here", server_delivery_worker=True,
                             delivery_allow_loopback=True, delivery_allow_http=True, delivery_poll_interval_s=0.2,
                             delivery_timeout_s=5.0, delivery_lease_s=10.0)  # fmt: skip
    seed_accounts(settings)
    server = ServerThread(create_app(settings, live=DialogueLive(tmp_path, settings.sessions_path)))
    receivers: list[Receiver] = []

    def receiver() -> Receiver:
        r = Receiver().start()
        receivers.append(r)
        return r

    try:
        yield {"url": server.url, "settings": settings, "receiver": receiver}
    finally:
        server.close()
        for r in receivers:
            r.stop()


def _client(srv: dict[str, Any], user: str) -> httpx.Client:
    c = httpx.Client(base_url=srv["url"], timeout=120)
    login(c, user)
    return c


def _add(admin: httpx.Client, receiver: Receiver | None, offices: list[str], *, transcript: bool = False,
         url: str | None = None, events: list[str] | None = None) -> str:
    r = admin.post("/api/endpoints", json={
        "url": url or (receiver.url if receiver else ""), "name": f"case system {offices}", "offices": offices,
        "event_types": events or ["document.approved"], "include_transcript": transcript,
    })  # fmt: skip
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["secret"].startswith("whsec_") and body["endpoint"]["offices"] == offices
    if receiver is not None:
        receiver.secrets.append(body["secret"])
    return str(body["endpoint"]["id"])


def _approved(srv: dict[str, Any], mediator: str = "med_a", reviewer: str = "rev_a",
              parties: list[dict[str, Any]] | None = None) -> tuple[str, str]:
    with closing(_client(srv, mediator)) as med:
        hid = _hearing(med, parties)
        doc = med.post(f"/api/hearings/{hid}/documents", json={}).json()
    with closing(_client(srv, reviewer)) as rev:
        r = rev.post(f"/api/hearings/{hid}/documents/{doc['id']}/approve")
        assert r.status_code == 200, r.text
    return hid, str(doc["id"])


def _approved_payload(receiver: Receiver, doc_id: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        for r in receiver.requests:
            body = r.json()
            if body["type"] == "document.approved" and body["data"]["document"]["id"] == doc_id:
                assert r.verified_with, r.error  # signed with this endpoint's secret
                return body  # type: ignore[no-any-return]
        return None

    return wait_for(find)  # type: ignore[no-any-return]


def _deliveries_to(settings: Settings, endpoint_id: str) -> int:
    db = Database(settings.db_url)
    try:
        with db.transaction() as tx:
            return int(tx.scalar(select(func.count()).select_from(Delivery).where(Delivery.endpoint_id == endpoint_id)) or 0)
    finally:
        db.dispose()


def test_an_endpoint_is_sent_only_the_hearings_of_its_offices(srv: dict[str, Any]) -> None:
    ra, rb, rall = srv["receiver"](), srv["receiver"](), srv["receiver"]()
    with closing(_client(srv, "admin")) as admin:
        # an endpoint must say whose hearings it gets
        assert admin.post("/api/endpoints", json={"url": ra.url, "offices": []}).status_code == 422
        ep_a = _add(admin, ra, [OFFICE_A])
        ep_b = _add(admin, rb, [OFFICE_B])
        ep_all = _add(admin, rall, ["*"])
        listed = {e["id"]: e for e in admin.get("/api/endpoints").json()}
        assert listed[ep_b]["offices"] == [OFFICE_B] and "secret" not in json.dumps(listed)
    _, doc_a = _approved(srv)
    _approved_payload(ra, doc_a)
    _approved_payload(rall, doc_a)
    _, doc_b = _approved(srv, "med_b", "rev_b", B_PARTIES)
    _approved_payload(rb, doc_b)
    _approved_payload(rall, doc_b)
    # office A's documents never reached office B's case system, nor the other way round
    assert all(r.json()["data"]["document"]["office"] == OFFICE_B for r in rb.requests)
    assert all(r.json()["data"]["document"]["office"] == OFFICE_A for r in ra.requests)
    assert _deliveries_to(srv["settings"], ep_a) == 1 and _deliveries_to(srv["settings"], ep_b) == 1
    assert _deliveries_to(srv["settings"], ep_all) == 2


def test_transcript_links_only_on_opt_in_and_each_link_opens_one_file_for_a_day(srv: dict[str, Any]) -> None:
    assert Settings(_env_file=None).delivery.link_ttl_s == 24 * 3600  # the default: a day, not a week
    plain, full = srv["receiver"](), srv["receiver"]()
    with closing(_client(srv, "admin")) as admin:
        _add(admin, plain, [OFFICE_A])
        _add(admin, full, [OFFICE_A], transcript=True)
    _, doc = _approved(srv)
    _, other = _approved(srv)
    p_plain, p_full = _approved_payload(plain, doc), _approved_payload(full, doc)
    plain_kinds = {f["kind"] for f in p_plain["data"]["files"]}
    assert "docx" in plain_kinds and "transcript" not in plain_kinds  # no transcript without opting in
    files = {f["kind"]: f for f in p_full["data"]["files"]}
    assert set(files) == plain_kinds | {"transcript"}
    sent_at = dt.datetime.fromisoformat(p_full["timestamp"].replace("Z", "+00:00"))
    for f in files.values():
        expires = dt.datetime.fromisoformat(f["url_expires_at"].replace("Z", "+00:00"))
        assert abs((expires - sent_at).total_seconds() - 24 * 3600) < 5
    with httpx.Client(timeout=30) as c:
        got = c.get(files["transcript"]["url"])
        assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == files["transcript"]["sha256"]
        assert "张三" in got.text  # the transcript itself: only this endpoint could fetch it
        # each link opens its one file of its one document
        docx = files["docx"]["url"]
        assert c.get(docx).status_code == 200
        assert c.get(docx.replace(f"/documents/{doc}/", f"/documents/{other}/")).status_code == 403
        assert c.get(docx.replace("/files/docx?", "/files/transcript?")).status_code == 403
        # the plain endpoint's docx link does not become a transcript link either
        plain_docx = next(f["url"] for f in p_plain["data"]["files"] if f["kind"] == "docx")
        assert c.get(plain_docx.replace("/files/docx?", "/files/transcript?")).status_code == 403


def test_a_shorter_link_lifetime_is_a_setting(tmp_path: Path) -> None:
    from delivery.conftest import add_link_endpoint, approve_new, delivery_settings, sent_body

    settings = delivery_settings(tmp_path, delivery_link_ttl_s=600)
    db = Database(f"sqlite:///{tmp_path / 'scribe.db'}")
    db.create_schema()
    ep = add_link_endpoint(db, settings)
    approval = approve_new(db, tmp_path, settings, name="ttl")
    body = json.loads(sent_body(db, approval.message_id, ep))
    sent_at = dt.datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00"))
    for f in body["data"]["files"]:
        assert "&link=lnk_" in f["url"]  # the endpoint's own revocable link
        expires = dt.datetime.fromisoformat(f["url_expires_at"].replace("Z", "+00:00"))
        assert abs((expires - sent_at).total_seconds() - 600) < 5
    db.dispose()


def test_revoking_an_endpoint_or_a_document_ends_its_links_and_every_pull_is_audited(srv: dict[str, Any]) -> None:
    one, two = srv["receiver"](), srv["receiver"]()
    with closing(_client(srv, "admin")) as admin:
        ep_one = _add(admin, one, [OFFICE_A])
        ep_two = _add(admin, two, [OFFICE_A])
    _, doc = _approved(srv)
    link_one = next(f["url"] for f in _approved_payload(one, doc)["data"]["files"] if f["kind"] == "docx")
    link_two = next(f["url"] for f in _approved_payload(two, doc)["data"]["files"] if f["kind"] == "docx")
    with httpx.Client(timeout=30) as c:
        assert c.get(link_one).status_code == 200
        assert c.get(link_two).status_code == 200
    pulls = [e for e in _audit(srv["settings"], "document", doc) if e.action == "export"]
    assert {e.actor for e in pulls} == {f"endpoint:{ep_one}", f"endpoint:{ep_two}"}
    assert all(e.detail["via"] == "link" and e.detail["kind"] == "docx" and e.office == OFFICE_A for e in pulls)
    # revoking the endpoint ends its links only, at once (long before they expire)
    with closing(_client(srv, "admin")) as admin:
        assert admin.delete(f"/api/endpoints/{ep_one}").status_code == 204
        state = {e["id"]: e for e in admin.get("/api/endpoints").json()}[ep_one]
        assert state["revoked_at"] and not state["enabled"]
        assert admin.patch(f"/api/endpoints/{ep_one}", json={"enabled": True}).status_code == 409
    with httpx.Client(timeout=30) as c:
        r = c.get(link_one)
        assert r.status_code == 403 and "revoked" in r.text
        assert c.get(link_two).status_code == 200
    # a revoked endpoint is sent nothing more
    _, later = _approved(srv)
    _approved_payload(two, later)
    assert all(r.json()["data"]["document"]["id"] == doc for r in one.requests)
    # revoking a document's links ends every endpoint's
    with closing(_client(srv, "admin")) as admin:
        r = admin.post(f"/api/endpoints/documents/{doc}/revoke-links")
        assert r.status_code == 200 and r.json()["links_revoked"] >= 1
    with httpx.Client(timeout=30) as c:
        assert c.get(link_two).status_code == 403
    [revoked] = [e for e in _audit(srv["settings"], "endpoint", ep_one) if e.action == "delete"]
    assert revoked.actor.startswith("user:") and revoked.detail["links_revoked"] >= 1


def test_the_admin_adds_rotates_test_sends_and_sees_why_deliveries_fail(srv: dict[str, Any]) -> None:
    receiver = srv["receiver"]()
    with closing(_client(srv, "admin")) as admin:
        page = admin.get("/admin")
        assert page.status_code == 200 and 'id="endpoints"' in page.text and "案件系统推送" in page.text
        # outbound safety still applies to what an admin types
        r = admin.post("/api/endpoints", json={"url": "http://10.0.0.7/hook", "offices": [OFFICE_A]})
        assert r.status_code == 409 and "private" in r.json()["error"].lower()
        ep = _add(admin, receiver, [OFFICE_A])
        first_secret = receiver.secrets[-1]
        r = admin.post(f"/api/endpoints/{ep}/test")
        assert r.status_code == 200, r.text
        assert r.json()["ok"] is True and r.json()["status_code"] == 200 and r.json()["reason"] == "ok"
        test = receiver.requests[-1]
        assert test.json()["type"] == "endpoint.test" and test.verified_with == (first_secret,)
        # rotate: a new secret, and both sign during the grace period
        r = admin.post(f"/api/endpoints/{ep}/rotate")
        assert r.status_code == 200 and r.json()["secret"] != first_secret
        assert r.json()["endpoint"]["rotating_until"]
        receiver.secrets.append(r.json()["secret"])
        assert admin.post(f"/api/endpoints/{ep}/test").json()["ok"] is True
        assert set(receiver.requests[-1].verified_with) == {first_secret, r.json()["secret"]}
        # the receiver fails: the test says why
        receiver.behaviour = lambda n, got: Reply(503)
        r = admin.post(f"/api/endpoints/{ep}/test").json()
        assert r["ok"] is False and r["status_code"] == 503 and r["reason"] == "http_5xx"
        # a case system that is down: the failures list says so, with the next attempt
        down = _add(admin, None, [OFFICE_A], url="http://127.0.0.1:9/hook")
    _, doc = _approved(srv)
    with closing(_client(srv, "admin")) as admin:
        failures = wait_for(lambda: admin.get(f"/api/endpoints/{down}/failures").json())
        f = failures[0]
        assert f["reason"] == "unreachable" and f["event_type"] == "document.approved"
        assert f["subject_id"] == doc and f["delivery_status"] == "pending" and f["next_attempt_at"]
        assert "张三" not in json.dumps(failures, ensure_ascii=False)
        bad = wait_for(lambda: admin.get(f"/api/endpoints/{ep}/failures").json())
        assert bad[0]["reason"] == "http_5xx" and bad[0]["status_code"] == 503
        assert {e["id"]: e for e in admin.get("/api/endpoints").json()}[down]["failures_24h"] >= 1
        # a mediator cannot touch endpoints
    with closing(_client(srv, "med_a")) as med:
        assert med.get("/api/endpoints").status_code == 403
        assert med.post(f"/api/endpoints/{ep}/test").status_code == 403
    actions = [(e.action, e.detail.get("step") or ",".join(e.detail.get("fields") or [])) for e in _audit(srv["settings"], "endpoint", ep)]
    assert ("create", "") in actions and ("change", "secret") in actions and ("export", "test") in actions


# -- the outbound check: the never-allowed list first, IPv4 inside IPv6 judged as IPv4 ----------
def _resolves_to(*addresses: str) -> Callable[[str, int], list[str]]:
    return lambda host, port: list(addresses)


def test_an_allowed_network_never_opens_a_metadata_address(tmp_path: Path) -> None:
    from scribe.delivery.safety import check_url
    from scribe.errors import DeliveryError

    # a site that opens carrier-grade NAT space (an intranet behind 100.64.0.0/10) and link-local
    cgnat = make_settings(tmp_path, delivery_allowed_networks=["100.64.0.0/10", "169.254.0.0/16"])
    check_url("https://cases.example.gov.cn/hook", cgnat, _resolves_to("100.64.3.4"))  # what it opened
    for metadata in ("100.100.100.200", "169.254.169.254", "::ffff:100.100.100.200"):
        with pytest.raises(DeliveryError, match="metadata"):
            check_url("https://cases.example.gov.cn/hook", cgnat, _resolves_to(metadata))


@pytest.mark.parametrize(("address", "why"), [
    ("2002:7f00:1::1", "loopback"),  # 6to4 of 127.0.0.1
    ("2002:a00:1::1", "private"),  # 6to4 of 10.0.0.1
    ("2002:a9fe:a9fe::1", "metadata"),  # 6to4 of 169.254.169.254
    ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
    ("64:ff9b::a9fe:a9fe", "metadata"),  # NAT64 of 169.254.169.254
    ("64:ff9b:1::c0a8:101", "private"),  # local-use NAT64 (RFC 8215) of 192.168.1.1
    ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
    ("::ffff:6464:64c8", "metadata"),  # IPv4-mapped 100.100.100.200
    ("::7f00:1", "loopback"),  # IPv4-compatible (deprecated) 127.0.0.1
    ("::a00:1", "private"),  # IPv4-compatible 10.0.0.1
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),  # Teredo: the client is 127.0.0.1
])  # fmt: skip
def test_ipv4_inside_ipv6_is_judged_as_the_ipv4_address(tmp_path: Path, address: str, why: str) -> None:
    from scribe.delivery.safety import check_url
    from scribe.errors import DeliveryError

    strict = make_settings(tmp_path, delivery_allow_loopback=False)
    with pytest.raises(DeliveryError, match=why) as err:
        check_url("https://cases.example.gov.cn/hook", strict, _resolves_to(address))
    assert str(ipaddress.ip_address(address)) in str(err.value)  # the message names what was resolved
    # the same forms of a public address pass
    for public in ("2002:7272:7272::1", "64:ff9b::7272:7272", "::ffff:114.114.114.114"):
        check_url("https://cases.example.gov.cn/hook", strict, _resolves_to(public))
    # an allowed network of the embedded address opens its IPv6 forms too, never loopback
    intranet = make_settings(tmp_path, delivery_allow_loopback=False, delivery_allowed_networks=["10.0.0.0/8"])
    check_url("https://cases.example.gov.cn/hook", intranet, _resolves_to("::ffff:10.0.0.1"))
    check_url("https://cases.example.gov.cn/hook", intranet, _resolves_to("2002:a00:1::1"))


# -- the webhook's DNS lookup never runs on the event loop --------------------------------
SLOW_DNS_S = 3.0


def test_a_slow_webhook_dns_lookup_does_not_stall_the_server(srv: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """A case system's name that takes 3 s to resolve: while the admin adds or test-sends to it,
    and while the server's own delivery worker vets it before sending, /health answers at once
    (before, the worker's lookup ran on the event loop and every request waited for it)."""
    import socket
    import threading

    real = socket.getaddrinfo
    lookups: list[threading.Event] = []

    def slow_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "slow-dns.test":
            for started in list(lookups):
                started.set()
            time.sleep(SLOW_DNS_S)
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_getaddrinfo)
    receiver = srv["receiver"]()

    def health_during(act: Callable[[], Any]) -> tuple[Any, list[float]]:
        started = threading.Event()
        lookups.append(started)
        out: dict[str, Any] = {}
        worker = threading.Thread(target=lambda: out.setdefault("r", act()))
        worker.start()
        assert started.wait(30), "the slow lookup never started"
        times: list[float] = []
        with httpx.Client(base_url=srv["url"], timeout=30) as c:
            for _ in range(4):
                t0 = time.perf_counter()
                assert c.get("/health").status_code == 200
                times.append(time.perf_counter() - t0)
                time.sleep(0.3)
        worker.join(60)
        lookups.remove(started)
        return out.get("r"), times

    slow_url = f"http://slow-dns.test:{receiver.port}/hook"
    with closing(_client(srv, "admin")) as admin:
        # adding the endpoint resolves its host (the outbound check)
        ep, times_add = health_during(lambda: _add(admin, receiver, [OFFICE_A], url=slow_url))
        # a test-send resolves it again
        test, times_test = health_during(lambda: admin.post(f"/api/endpoints/{ep}/test"))
        assert test.status_code == 200 and test.json()["ok"] is True, test.text
    # the server's delivery worker vets the address before each delivery
    approved: dict[str, str] = {}
    _, times_worker = health_during(lambda: approved.setdefault("doc", _approved(srv)[1]))
    assert _approved_payload(receiver, approved["doc"])["data"]["document"]["id"] == approved["doc"]
    for name, times in (("add", times_add), ("test-send", times_test), ("worker", times_worker)):
        assert max(times) < SLOW_DNS_S / 2, f"/health waited {max(times):.2f} s during the {name}'s lookup"
