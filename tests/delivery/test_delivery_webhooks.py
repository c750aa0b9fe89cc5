"""The worker against a real receiver on loopback, every request verified with the
``standardwebhooks`` library; each test runs on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import threading

import jsonschema
from sqlalchemy import select

from scribe.delivery import outbox
from scribe.delivery.endpoints import enable_endpoint, get_endpoint, rotate_secret
from scribe.delivery.models import Delivery, DeliveryAttempt
from scribe.delivery.worker import DeliveryWorker
from scribe.storage import Database

from .conftest import add_receiver_endpoint, approve_new, delivery_settings, drain
from .receiver import Receiver, Reply


def attempts_of(db: Database, message_id: str) -> list[DeliveryAttempt]:
    with db.transaction() as tx:
        return list(
            tx.scalars(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.message_id == message_id)
                .order_by(DeliveryAttempt.id)
            )
        )


def delivery_of(db: Database, message_id: str) -> Delivery:
    with db.transaction() as tx:
        return tx.scalars(select(Delivery).where(Delivery.message_id == message_id)).one()


def test_signed_request_carries_standard_webhooks_headers(
    db, tmp_path, settings_d, clock, receiver: Receiver, payload_schema
):
    add_receiver_endpoint(db, receiver, settings_d)
    approval = approve_new(db, tmp_path, settings_d, now=clock.now())
    assert approval.deliveries == 1

    async def scenario() -> int:
        async with DeliveryWorker(db, settings_d, clock=clock, rng=random.Random(1)) as w:
            return await w.run_once()

    assert asyncio.run(scenario()) == 1
    assert receiver.count() == 1
    got = receiver.requests[0]
    assert got.error is None and got.verified_with == (receiver.secrets[0],)
    assert got.id == approval.message_id and got.id.startswith("msg_")
    assert abs(int(got.timestamp) - dt.datetime.now(dt.timezone.utc).timestamp()) < 300
    assert got.signature.startswith("v1,") and " " not in got.signature
    assert got.headers["content-type"].startswith("application/json")
    body = got.json()
    jsonschema.validate(body, payload_schema, format_checker=jsonschema.FormatChecker())
    assert body["type"] == "document.approved"
    assert body["data"]["document"]["id"] == approval.document_id

    d = delivery_of(db, approval.message_id)
    assert d.status == "delivered" and d.attempts == 1 and d.lease_owner is None
    (log,) = attempts_of(db, approval.message_id)
    assert log.status_code == 200 and log.outcome == "delivered" and log.latency_ms > 0


def test_receiver_down_then_up_delivers_once_it_is_back(db, tmp_path, settings_d, clock, receiver):
    add_receiver_endpoint(db, receiver, settings_d)
    approval = approve_new(db, tmp_path, settings_d, now=clock.now())
    receiver.stop()  # the case system is down: connections are refused
    start = clock.now()

    async def scenario() -> None:
        async with DeliveryWorker(db, settings_d, clock=clock, rng=random.Random(2)) as w:
            for _ in range(4):  # four failures while it is down, each at its due time
                assert await w.run_once() == 1
                assert await w.run_once() == 0  # nothing is due before the backoff ends
                clock.set(w.next_due())
            receiver.start()  # back up on the same port
            assert await w.run_once() == 1
            assert w.next_due() is None

    asyncio.run(scenario())
    assert receiver.ids() == {approval.message_id: 1}
    assert receiver.requests[0].error is None
    log = attempts_of(db, approval.message_id)
    assert [a.outcome for a in log] == ["retry"] * 4 + ["delivered"]
    assert all(a.status_code is None and "ConnectError" in (a.error or "") for a in log[:4])
    # backoff: offsets 5 s, 5 min, 30 min, 2 h from the first attempt, +/-20% jitter per gap
    waited = (log[-1].attempted_at - start).total_seconds()
    assert 0.8 * 7200 <= waited <= 1.2 * 7200


def test_500_then_200_is_retried_with_the_same_webhook_id(
    db, tmp_path, settings_d, clock, receiver
):
    add_receiver_endpoint(db, receiver, settings_d)
    approval = approve_new(db, tmp_path, settings_d, now=clock.now())
    receiver.behaviour = lambda n, r: Reply(500 if n == 1 else 200)

    async def scenario() -> int:
        async with DeliveryWorker(db, settings_d, clock=clock, rng=random.Random(3)) as w:
            return await drain(w, clock)

    assert asyncio.run(scenario()) == 2
    first, second = receiver.requests
    assert first.id == second.id == approval.message_id
    assert first.body == second.body
    assert first.error is None and second.error is None
    log = attempts_of(db, approval.message_id)
    assert [(a.status_code, a.outcome) for a in log] == [(500, "retry"), (200, "delivered")]
    delay = (log[1].attempted_at - log[0].attempted_at).total_seconds()
    assert 4.0 <= delay <= 6.0  # the first gap: 5 s +/- 20%


def test_410_disables_the_endpoint_and_enabling_resumes(db, tmp_path, settings_d, clock, receiver):
    ep_id = add_receiver_endpoint(db, receiver, settings_d)
    approval = approve_new(db, tmp_path, settings_d, now=clock.now())
    receiver.behaviour = lambda n, r: Reply(410 if n == 1 else 200)

    async def scenario() -> None:
        async with DeliveryWorker(db, settings_d, clock=clock, rng=random.Random(4)) as w:
            assert await w.run_once() == 1
            clock.advance(3 * 86400)
            assert await w.run_once() == 0  # disabled: nothing goes out, however long
            assert w.next_due() is None
            with db.transaction() as tx:
                ep = get_endpoint(tx, ep_id)
                assert not ep.enabled and "410" in (ep.disabled_reason or "")
                enable_endpoint(tx, ep_id, settings_d, now=clock.now())
            assert await w.run_once() == 1

    asyncio.run(scenario())
    assert receiver.ids() == {approval.message_id: 2}
    log = attempts_of(db, approval.message_id)
    assert [(a.status_code, a.outcome) for a in log] == [(410, "gone"), (200, "delivered")]


def test_slow_receiver_times_out_and_is_retried(db, tmp_path, clock, receiver):
    settings = delivery_settings(tmp_path, delivery_timeout_s=0.3, delivery_lease_s=5)
    add_receiver_endpoint(db, receiver, settings)
    approval = approve_new(db, tmp_path, settings, now=clock.now())
    receiver.behaviour = lambda n, r: Reply(200, delay_s=1.5 if n == 1 else 0.0)

    async def scenario() -> int:
        async with DeliveryWorker(db, settings, clock=clock, rng=random.Random(5)) as w:
            return await drain(w, clock)

    assert asyncio.run(scenario()) == 2
    assert receiver.ids() == {approval.message_id: 2}
    log = attempts_of(db, approval.message_id)
    assert log[0].outcome == "retry" and log[0].status_code is None
    assert "timeout" in (log[0].error or "")
    assert log[1].outcome == "delivered"


def test_retry_after_is_honoured(db, tmp_path, settings_d, clock, receiver):
    add_receiver_endpoint(db, receiver, settings_d)
    approval = approve_new(db, tmp_path, settings_d, now=clock.now())
    later = (clock.now() + dt.timedelta(hours=3)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    replies = {1: Reply(429, {"Retry-After": "900"}), 2: Reply(503, {"Retry-After": later})}
    receiver.behaviour = lambda n, r: replies.get(n, Reply(200))

    async def scenario() -> None:
        async with DeliveryWorker(db, settings_d, clock=clock, rng=random.Random(6)) as w:
            await drain(w, clock)

    asyncio.run(scenario())
    log = attempts_of(db, approval.message_id)
    assert [a.status_code for a in log] == [429, 503, 200]
    # 900 s instead of the scheduled 5 s; then until the HTTP date, not the scheduled ~5 min
    assert (log[1].attempted_at - log[0].attempted_at).total_seconds() >= 900
    assert (log[2].attempted_at - log[0].attempted_at).total_seconds() >= 3 * 3600 - 1


def test_rotation_sends_both_signatures_during_the_grace_period(
    db, tmp_path, settings_d, clock, receiver
):
    ep_id = add_receiver_endpoint(db, receiver, settings_d)
    old = receiver.secrets[0]
    with db.transaction() as tx:
        new = rotate_secret(tx, ep_id, grace=dt.timedelta(hours=24), now=clock.now())
    assert new != old and new.startswith("whsec_")
    receiver.secrets.append(new)
    first = approve_new(db, tmp_path, settings_d, name="a", now=clock.now())

    async def scenario() -> None:
        async with DeliveryWorker(db, settings_d, clock=clock, rng=random.Random(7)) as w:
            await w.run_once()
            clock.advance(25 * 3600)  # the grace period is over
            approve_new(db, tmp_path, settings_d, name="b", now=clock.now())
            await w.run_once()

    asyncio.run(scenario())
    during, after = receiver.requests
    assert during.id == first.message_id
    assert len(during.signature.split(" ")) == 2
    assert set(during.verified_with) == {old, new}  # either secret verifies on its own
    assert len(after.signature.split(" ")) == 1 and after.verified_with == (new,)


def test_replay_resends_with_the_same_id_and_exhausted_messages_can_be_replayed(
    db, tmp_path, clock, receiver
):
    settings = delivery_settings(tmp_path, delivery_retry_schedule_s=[5, 60])
    add_receiver_endpoint(db, receiver, settings)
    approval = approve_new(db, tmp_path, settings, now=clock.now())
    receiver.behaviour = lambda n, r: Reply(500)

    async def scenario() -> None:
        async with DeliveryWorker(db, settings, clock=clock, rng=random.Random(8)) as w:
            assert await drain(w, clock) == 3  # the first try + the 2 retries of the schedule
            assert delivery_of(db, approval.message_id).status == "failed"
            receiver.behaviour = lambda n, r: Reply(200)
            with db.transaction() as tx:
                outbox.replay(tx, approval.message_id, now=clock.now())
            assert await drain(w, clock) == 1
            with db.transaction() as tx:  # a replay of a delivered message sends it again
                outbox.replay(tx, approval.message_id, now=clock.now())
            assert await drain(w, clock) == 1

    asyncio.run(scenario())
    assert receiver.ids() == {approval.message_id: 5}
    assert len({r.body for r in receiver.requests}) == 1
    with db.transaction() as tx:
        summary, log = outbox.show_message(tx, approval.message_id)
    assert summary.status == "delivered"
    assert [a.outcome for a in log] == ["retry", "retry", "failed", "delivered", "delivered"]


def test_fan_out_by_event_type_and_session_completed(
    db, tmp_path, settings_d, clock, payload_schema
):
    from scribe import review

    docs_rx, sessions_rx = Receiver().start(), Receiver().start()
    try:
        add_receiver_endpoint(db, docs_rx, settings_d, ["document.approved"])
        add_receiver_endpoint(db, sessions_rx, settings_d, ["session.completed"])
        approval = approve_new(db, tmp_path, settings_d, now=clock.now())
        transcript = tmp_path / "t.json"
        transcript.write_text('{"segments": []}', encoding="utf-8")
        with db.transaction() as tx:
            msg_id = review.session_completed(
                tx,
                review.SessionSummary(
                    session_id="ses_1", office="城关司法所", session_type="mediation",
                    started_at=clock.now() - dt.timedelta(minutes=40), ended_at=clock.now(),
                    transcript_path=transcript,
                ),
                settings=settings_d,
                now=clock.now(),
            )  # fmt: skip

        async def scenario() -> int:
            async with DeliveryWorker(db, settings_d, clock=clock, rng=random.Random(9)) as w:
                return await drain(w, clock)

        assert asyncio.run(scenario()) == 2
        assert docs_rx.ids() == {approval.message_id: 1}
        assert sessions_rx.ids() == {msg_id: 1}
        body = sessions_rx.requests[0].json()
        jsonschema.validate(body, payload_schema, format_checker=jsonschema.FormatChecker())
        assert body["data"]["session"]["duration_s"] == 2400.0
        assert sessions_rx.requests[0].error is None and docs_rx.requests[0].error is None
    finally:
        docs_rx.stop()
        sessions_rx.stop()


def test_many_messages_with_bounded_concurrency(db, tmp_path, clock, receiver):
    settings = delivery_settings(tmp_path, delivery_batch_size=7, delivery_concurrency=3)
    add_receiver_endpoint(db, receiver, settings)
    ids = {
        approve_new(db, tmp_path, settings, name=f"d{i}", now=clock.now()).message_id
        for i in range(20)
    }
    in_flight, peak = 0, 0
    lock = threading.Lock()

    def behaviour(n: int, r) -> Reply:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        threading.Event().wait(0.02)
        with lock:
            in_flight -= 1
        return Reply(200)

    receiver.behaviour = behaviour

    async def scenario() -> int:
        async with DeliveryWorker(db, settings, clock=clock, rng=random.Random(10)) as w:
            return await drain(w, clock)

    assert asyncio.run(scenario()) == 20
    assert receiver.ids() == {i: 1 for i in ids}
    assert 1 <= peak <= 3
    assert all(json.loads(r.body)["type"] == "document.approved" for r in receiver.requests)


def test_two_workers_share_the_queue_without_sending_twice(db, tmp_path, clock, receiver):
    """Two workers (threads, each with its own event loop) drain one outbox: every message
    goes out exactly once (SKIP LOCKED on PostgreSQL, the conditional claim on SQLite)."""
    settings = delivery_settings(tmp_path, delivery_batch_size=3, delivery_concurrency=2)
    add_receiver_endpoint(db, receiver, settings)
    ids = {
        approve_new(db, tmp_path, settings, name=f"w{i}", now=clock.now()).message_id
        for i in range(24)
    }
    receiver.behaviour = lambda n, r: Reply(200, delay_s=0.01)
    made: list[int] = []

    def run_worker(seed: int) -> None:
        async def go() -> int:
            async with DeliveryWorker(
                db, settings, clock=clock, rng=random.Random(seed), worker_id=f"w{seed}"
            ) as w:
                return await w.run(until_idle=True)

        made.append(asyncio.run(go()))

    threads = [threading.Thread(target=run_worker, args=(s,)) for s in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sum(made) == 24
    assert receiver.ids() == {i: 1 for i in ids}
    with db.transaction() as tx:
        workers = set(tx.scalars(select(DeliveryAttempt.worker)))
    assert workers <= {"w1", "w2"}
