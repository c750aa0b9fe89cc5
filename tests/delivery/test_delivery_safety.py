"""Outbound safety: which destinations the worker may call."""

from __future__ import annotations

import asyncio
import random

import pytest
from sqlalchemy import select

from scribe.delivery.endpoints import add_endpoint
from scribe.delivery.models import DeliveryAttempt
from scribe.delivery.safety import check_url, resolve
from scribe.delivery.worker import DeliveryWorker
from scribe.errors import DeliveryError

from .conftest import add_receiver_endpoint, approve_new, delivery_settings


def fixed(*addresses: str):
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.1.20", "private"),
        ("172.16.0.5", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.10.10", "link-local"),
        ("fe80::1", "link-local"),
        ("169.254.169.254", "metadata"),
        ("100.100.100.200", "metadata"),  # Alibaba Cloud's metadata service
        ("::ffff:10.0.0.1", "private"),  # IPv4-mapped IPv6 is the IPv4 address
        ("0.0.0.0", "unspecified"),
    ],
)
def test_non_public_destinations_are_refused_by_default(tmp_path, address, why):
    settings = delivery_settings(tmp_path, delivery_allow_loopback=False)
    with pytest.raises(DeliveryError, match=why):
        check_url("https://cases.example.gov.cn/hook", settings, fixed(address))


def test_a_host_with_one_bad_address_among_good_ones_is_refused(tmp_path):
    settings = delivery_settings(tmp_path, delivery_allow_loopback=False)
    with pytest.raises(DeliveryError, match="private"):
        check_url(
            "https://cases.example.gov.cn/hook", settings, fixed("114.114.114.114", "10.0.0.8")
        )


def test_public_https_is_allowed_and_http_needs_the_dev_flag(tmp_path):
    strict = delivery_settings(tmp_path, delivery_allow_http=False, delivery_allow_loopback=False)
    check_url("https://cases.example.gov.cn/hook", strict, fixed("114.114.114.114"))
    with pytest.raises(DeliveryError, match="plain HTTP"):
        check_url("http://cases.example.gov.cn/hook", strict, fixed("114.114.114.114"))
    with pytest.raises(DeliveryError, match="user name or password"):
        check_url("https://u:p@cases.example.gov.cn/hook", strict, fixed("114.114.114.114"))
    with pytest.raises(DeliveryError, match="http"):
        check_url("ftp://cases.example.gov.cn/hook", strict, fixed("114.114.114.114"))


def test_settings_open_exactly_what_they_name(tmp_path):
    loopback_only = delivery_settings(tmp_path)  # what the tests use
    check_url("http://127.0.0.1:9/hook", loopback_only, resolve)
    with pytest.raises(DeliveryError, match="private"):
        check_url("https://x.test/hook", loopback_only, fixed("10.0.0.1"))
    with pytest.raises(DeliveryError, match="metadata"):
        check_url("https://x.test/hook", loopback_only, fixed("169.254.169.254"))
    intranet = delivery_settings(tmp_path, delivery_allowed_networks=["10.20.0.0/16"])
    check_url("https://x.test/hook", intranet, fixed("10.20.3.4"))
    with pytest.raises(DeliveryError, match="private"):
        check_url("https://x.test/hook", intranet, fixed("10.21.3.4"))
    private = delivery_settings(tmp_path, delivery_allow_private=True)
    check_url("https://x.test/hook", private, fixed("192.168.0.9"))
    with pytest.raises(DeliveryError, match="metadata"):  # allow_private does not open metadata
        check_url("https://x.test/hook", private, fixed("100.100.100.200"))


def test_registering_a_refused_destination_fails_with_the_fix(db, tmp_path):
    settings = delivery_settings(tmp_path, delivery_allow_loopback=False)
    with db.transaction() as tx, pytest.raises(DeliveryError) as err:
        add_endpoint(tx, "http://127.0.0.1:8080/hook", ["document.approved"], settings)
    assert "loopback" in str(err.value) and "SCRIBE_DELIVERY_ALLOWED_NETWORKS" in str(err.value)


def test_the_worker_checks_again_before_sending(db, tmp_path, settings_d, clock, receiver):
    """DNS can change after registration (rebinding): the worker re-resolves every time."""
    add_receiver_endpoint(db, receiver, settings_d)
    approval = approve_new(db, tmp_path, settings_d, now=clock.now())

    async def scenario() -> None:
        rebound = fixed("169.254.169.254")
        async with DeliveryWorker(
            db, settings_d, clock=clock, resolver=rebound, rng=random.Random(1)
        ) as w:
            assert await w.run_once() == 1

    asyncio.run(scenario())
    assert receiver.count() == 0  # nothing was sent
    with db.transaction() as tx:
        (log,) = tx.scalars(select(DeliveryAttempt)).all()
    assert log.outcome == "retry" and log.message_id == approval.message_id
    assert "metadata" in (log.error or "")


def test_logs_carry_no_secrets_or_personal_data(db, tmp_path, settings_d, clock, receiver, caplog):
    add_receiver_endpoint(db, receiver, settings_d)
    approve_new(db, tmp_path, settings_d, now=clock.now())
    receiver.behaviour = lambda n, r: _reply(n)

    async def scenario() -> None:
        async with DeliveryWorker(db, settings_d, clock=clock, rng=random.Random(2)) as w:
            from .conftest import drain

            await drain(w, clock)

    with caplog.at_level("DEBUG"):
        asyncio.run(scenario())
    # our own log lines (the CLI turns httpx's request lines, which carry URLs, down to WARNING)
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("scribe"))
    assert "delivered" in text and "retry" in text
    for secret_or_personal in (
        receiver.secrets[0],
        "site=test",
        "张三",
        "13800138000",
        "11010519491231002X",
    ):
        assert secret_or_personal not in text


def _reply(n: int):
    from .receiver import Reply

    return Reply(500 if n == 1 else 200)


def test_the_worker_connects_to_the_vetted_address_not_a_second_dns_answer(
    db, tmp_path, settings_d, clock, receiver
):
    """'case-system.test' exists only in the injected resolver: the request arrives only if
    the connection goes to the address the check vetted (the Host header keeps the name)."""
    from scribe.delivery.endpoints import add_endpoint

    vetted = fixed("127.0.0.1")
    url = f"http://case-system.test:{receiver.port}/hooks/scribe"
    with db.transaction() as tx:
        _, secret = add_endpoint(tx, url, ["document.approved"], settings_d, resolver=vetted)
    receiver.secrets.append(secret)
    approval = approve_new(db, tmp_path, settings_d, now=clock.now())

    async def scenario() -> None:
        async with DeliveryWorker(
            db, settings_d, clock=clock, resolver=vetted, rng=random.Random(3)
        ) as w:
            assert await w.run_once() == 1

    asyncio.run(scenario())
    (got,) = receiver.requests
    assert got.id == approval.message_id and got.error is None
    assert got.headers["host"] == f"case-system.test:{receiver.port}"


def test_the_pinned_client_refuses_hosts_nobody_vetted(receiver):
    import httpx

    from scribe.delivery.pinning import pinned_client

    async def scenario() -> None:
        client, backend = pinned_client(5.0)
        async with client:
            with pytest.raises(httpx.ConnectError, match="not vetted"):
                await client.post(receiver.url, content=b"{}")
            backend.pin("127.0.0.1", receiver.port, "127.0.0.1")
            assert (await client.post(receiver.url, content=b"{}")).status_code == 200

    asyncio.run(scenario())
    assert receiver.count() == 1


def test_redirects_are_not_followed_with_an_injected_transport(
    db, tmp_path, settings_d, clock, receiver
):
    """The httpx transport is the seam: a MockTransport answers 301 to an internal address;
    the worker records a failed attempt instead of following it."""
    import httpx

    add_receiver_endpoint(db, receiver, settings_d)
    approval = approve_new(db, tmp_path, settings_d, now=clock.now())
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(301, headers={"location": "http://169.254.169.254/latest/meta-data"})

    async def scenario() -> None:
        client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        async with client, DeliveryWorker(db, settings_d, client=client, clock=clock) as w:
            assert await w.run_once() == 1

    asyncio.run(scenario())
    assert len(seen) == 1 and seen[0].headers["webhook-id"] == approval.message_id
    with db.transaction() as tx:
        (log,) = tx.scalars(select(DeliveryAttempt)).all()
    assert (log.status_code, log.outcome) == (301, "retry")
