"""Crashes: kill -9 of the worker mid-delivery, and of a process mid-approval.

Each runs on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from sqlalchemy import func, select

from scribe import review
from scribe.delivery.clock import ManualClock
from scribe.delivery.models import Delivery, OutboxMessage
from scribe.delivery.worker import DeliveryWorker
from scribe.review.models import Document

from .conftest import AGREEMENT_FIELDS, add_receiver_endpoint, approve_new, drain, make_files
from .receiver import Receiver, Reply

SCRIBE = Path(sys.executable).parent / "scribe"


def _wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _key_file(db):  # type: ignore[no-untyped-def]
    return db.engine.dialect.scribe_sealer.key_file


def test_kill_9_of_the_worker_mid_delivery_loses_nothing(
    db, tmp_path, settings_d, receiver: Receiver
):
    add_receiver_endpoint(db, receiver, settings_d)
    ids = [approve_new(db, tmp_path, settings_d, name=f"k{i}").message_id for i in range(16)]
    answered_fast = 8  # two batches of 4 are answered at once...
    hold = threading.Event()  # ...the third batch hangs in flight until the worker is dead
    receiver.behaviour = lambda n, r: Reply(200) if n <= answered_fast else Reply(200, hold=hold)

    env = {
        **os.environ,
        "SCRIBE_DATABASE_URL": db.url,
        "SCRIBE_DATA_DIR": str(tmp_path / "worker-data"),
        # a worker on another data directory reads the sealed endpoint secrets with the same key
        "SCRIBE_SECRETS_KEY_FILE": str(_key_file(db)),
        "SCRIBE_DELIVERY_ALLOW_HTTP": "true",
        "SCRIBE_DELIVERY_ALLOW_LOOPBACK": "true",
        "SCRIBE_DELIVERY_TIMEOUT_S": "30",
        "SCRIBE_DELIVERY_LEASE_S": "60",
        "SCRIBE_DELIVERY_BATCH_SIZE": "4",
        "SCRIBE_DELIVERY_CONCURRENCY": "4",
        "SCRIBE_DELIVERY_POLL_INTERVAL_S": "0.1",
    }
    worker = subprocess.Popen(
        [str(SCRIBE), "deliveries", "worker", "--max-seconds", "120"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(lambda: receiver.count() >= answered_fast + 4, 25, "a batch in flight")
        in_flight = {r.id for r in receiver.requests[answered_fast:]}
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        hold.set()  # the receiver finishes answering to a dead socket
    assert worker.returncode == -signal.SIGKILL, worker.stderr.read() if worker.stderr else ""
    receiver.behaviour = lambda n, r: Reply(200)

    with db.transaction() as tx:
        stuck = tx.scalar(select(func.count()).where(Delivery.lease_owner.is_not(None)))
    assert stuck >= 4  # the killed worker's claims are still in the table

    # Restart: a new worker. The dead worker's claims hold until their leases expire; the
    # new worker's clock jumps there (next_due says when) instead of waiting a minute.
    clock = ManualClock(dt.datetime.now(dt.timezone.utc))

    async def restart() -> None:
        async with DeliveryWorker(db, settings_d, clock=clock, rng=random.Random(11)) as w:
            while await w.run_once():  # what the dead worker had not claimed goes at once
                pass
            held = w.next_due()
            assert held is not None and held > clock.now() + dt.timedelta(seconds=50)
            await drain(w, clock)

    asyncio.run(restart())

    with db.transaction() as tx:
        statuses = dict(tx.execute(select(Delivery.message_id, Delivery.status)).all())
    assert statuses == {i: "delivered" for i in ids}  # nothing lost
    seen = receiver.ids()
    assert set(seen) == set(ids)
    assert all(r.error is None for r in receiver.requests)
    # Duplicates are exactly the interrupted ones, resent under the same webhook-id and body.
    duplicated = {i for i, n in seen.items() if n > 1}
    assert in_flight <= duplicated
    for i in duplicated:
        bodies = {r.body for r in receiver.requests if r.id == i}
        assert len(bodies) == 1
    # ...and no document arrived under two different ids.
    doc_to_ids: dict[str, set[str]] = {}
    for r in receiver.requests:
        doc_to_ids.setdefault(r.json()["data"]["document"]["id"], set()).add(r.id)
    assert all(len(v) == 1 for v in doc_to_ids.values()) and len(doc_to_ids) == len(ids)


CRASH_MID_APPROVAL = textwrap.dedent(
    """
    import os, signal, sys
    import scribe.delivery.models, scribe.review.models
    from scribe import review
    from pathlib import Path
    from scribe.settings import Settings
    from scribe.storage import Database
    db = Database(sys.argv[1], key_file=Path(sys.argv[4]))
    settings = Settings(_env_file=None, data_dir=sys.argv[3], delivery_link_secret="k")
    with db.transaction() as tx:
        review.approve(tx, sys.argv[2], "审核员甲", settings=settings)
        tx.flush()
        os.kill(os.getpid(), signal.SIGKILL)  # the power goes before the commit
    """
)


def test_a_crash_mid_approval_neither_approves_nor_enqueues(db, tmp_path, settings_d, receiver):
    add_receiver_endpoint(db, receiver, settings_d)
    with db.transaction() as tx:
        doc = review.save_draft(
            tx, hearing_id="ses_c", office="城关司法所", kind="mediation-agreement",
            fields=AGREEMENT_FIELDS, files=make_files(tmp_path),
        )  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", CRASH_MID_APPROVAL, db.url, doc.id, str(tmp_path / "d"), str(_key_file(db))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr

    def state() -> tuple[str, int, int]:
        with db.transaction() as tx:
            return (
                tx.get(Document, doc.id).status,
                tx.scalar(select(func.count()).select_from(OutboxMessage)),
                tx.scalar(select(func.count()).select_from(Delivery)),
            )

    assert state() == ("draft", 0, 0)

    # An error inside the transaction after approve() rolls both back as well.
    try:
        with db.transaction() as tx:
            review.approve(tx, doc.id, "审核员甲", settings=settings_d)
            raise RuntimeError("the page handler failed after approving")
    except RuntimeError:
        pass
    assert state() == ("draft", 0, 0)

    with db.transaction() as tx:
        approval = review.approve(tx, doc.id, "审核员甲", settings=settings_d)
    assert state() == ("approved", 1, 1)
    assert approval.deliveries == 1
