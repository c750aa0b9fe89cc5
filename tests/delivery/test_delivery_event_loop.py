"""The worker shares the server's event loop: it must never wait for SQLite's lock on it.

A web request writes in a threadpool job and commits in another the event loop schedules
(FastAPI's dependency teardown). A worker that waited for the write lock *on* the loop would
keep that commit from running: both would wait until the 30 s busy timeout, the worker would
crash with "database is locked", and the delivery would sit leased (the failure CI showed)."""

from __future__ import annotations

import asyncio
import random
import threading

from sqlalchemy import text

from scribe.delivery.worker import DeliveryWorker
from scribe.storage import Database

from .conftest import add_receiver_endpoint, approve_new
from .test_delivery_webhooks import delivery_of

FALLBACK_S = 10.0  # the holder gives up waiting for the loop after this (the old code's fate)


def test_the_worker_waits_for_a_held_lock_off_the_event_loop(tmp_path, settings_d, clock, receiver):
    db = Database(f"sqlite:///{tmp_path / 'scribe.db'}")
    db.create_schema()
    add_receiver_endpoint(db, receiver, settings_d)
    approval = approve_new(db, tmp_path, settings_d, now=clock.now())
    holding, release = threading.Event(), threading.Event()
    how: list[str] = []

    def request_holding_the_lock() -> None:
        # a request that has written (SQLite's write lock is taken) and whose commit is up to
        # the event loop
        with db.transaction() as tx:
            tx.execute(text("UPDATE delivery_deliveries SET attempts = attempts"))
            holding.set()
            how.append("released by the loop" if release.wait(FALLBACK_S) else "loop was blocked")

    async def commit_scheduled_by_the_loop() -> None:
        await asyncio.sleep(0.5)  # runs only if the loop is free while the worker waits
        release.set()

    async def scenario() -> int:
        holder = threading.Thread(target=request_holding_the_lock)
        holder.start()
        await asyncio.to_thread(holding.wait, 5)
        releaser = asyncio.create_task(commit_scheduled_by_the_loop())
        async with DeliveryWorker(db, settings_d, clock=clock, rng=random.Random(3)) as w:
            made = await w.run_once()
        await releaser
        await asyncio.to_thread(holder.join)
        return made

    try:
        assert asyncio.run(scenario()) == 1
        assert how == ["released by the loop"]
        assert receiver.count() == 1
        assert delivery_of(db, approval.message_id).status == "delivered"
    finally:
        db.dispose()
