"""Fault benchmark of case-system delivery.

1,000 approvals (one every 1.8 simulated seconds) are delivered to a real receiver on loopback
that verifies every request with ``standardwebhooks``, fails 30% of requests at random (500,
502, 503 or 429, the last two with ``Retry-After``) and is down (connection refused) for an
hour of simulated time. Time is simulated with the worker's injectable clock (the clock jumps
to the next due retry), so a day of backoff runs in seconds; the HTTP traffic is real.

Checks: every message delivered, zero lost, no message accepted twice, every request carrying
a valid signature, every document under one ``webhook-id``. Reports throughput (real time) and
the delivery-delay distribution (simulated time), on SQLite and PostgreSQL side by side.

    .venv/bin/python benchmarks/delivery_faults.py            # both databases, writes docs/
    .venv/bin/python benchmarks/delivery_faults.py --db sqlite --n 200 --no-write
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

import scribe.delivery.models  # noqa: E402,F401
import scribe.review.models  # noqa: E402,F401
from benchmarks.report import machine_line, md_table, write_section  # noqa: E402
from scribe import review  # noqa: E402
from scribe.delivery import outbox  # noqa: E402
from scribe.delivery.clock import ManualClock  # noqa: E402
from scribe.delivery.endpoints import add_endpoint  # noqa: E402
from scribe.delivery.models import FAILED, Delivery, DeliveryAttempt  # noqa: E402
from scribe.delivery.worker import DeliveryWorker  # noqa: E402
from scribe.settings import Settings  # noqa: E402
from scribe.storage import Database  # noqa: E402
from tests.delivery.conftest import AGREEMENT_FIELDS, make_files  # noqa: E402
from tests.delivery.pgserver import create_database, postgres_server  # noqa: E402
from tests.delivery.receiver import Receiver, Reply  # noqa: E402


@dataclass
class Result:
    db: str
    n: int
    delivered: int
    lost: int
    accepted_twice: int
    requests: int
    bad_signatures: int
    ids_per_document_max: int
    attempts_logged: int
    replayed: int  # exhausted their ~24 h schedule and were replayed by the "admin"
    wall_s: float
    approve_wall_s: float
    send_wall_s: float
    delays: list[float]  # simulated seconds, approval -> delivered
    outage_delays: list[float]
    status_counts: Counter[str]
    load: tuple[float, float, float]


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def run(db_url: str, label: str, n: int, fail_rate: float, down_at: float, down_for: float,
              gap: float, seed: int, workdir: Path) -> Result:  # fmt: skip
    db = Database(db_url, key_file=workdir / "secrets.key")
    db.create_schema()
    settings = Settings(
        _env_file=None,
        data_dir=workdir / "data",
        delivery_allow_http=True,
        delivery_allow_loopback=True,
        delivery_timeout_s=10,
        delivery_lease_s=30,
        delivery_batch_size=50,
        delivery_concurrency=8,
        delivery_link_secret="bench",
    )
    rng = random.Random(seed)
    lock = threading.Lock()
    replies: list[tuple[str, int]] = []

    def behaviour(_n: int, got) -> Reply:  # noqa: ANN001
        with lock:
            fail = rng.random() < fail_rate
            status = rng.choice([500, 502, 503, 429]) if fail else 200
            replies.append((got.id, status))
        headers = {"Retry-After": "20"} if status in (429, 503) else {}
        return Reply(status, headers)

    receiver = Receiver().start()
    receiver.behaviour = behaviour
    with db.transaction() as tx:
        _, secret = add_endpoint(tx, receiver.url, ["document.approved"], settings, name="bench")
    receiver.secrets.append(secret)
    files = make_files(workdir, label)

    clock = ManualClock(dt.datetime.now(dt.timezone.utc).replace(microsecond=0))
    t0 = clock.now()
    approve_at = [t0 + dt.timedelta(seconds=i * gap) for i in range(n)]
    down_from = t0 + dt.timedelta(seconds=down_at)
    down_until = down_from + dt.timedelta(seconds=down_for)
    approved_at: dict[str, dt.datetime] = {}
    doc_of: dict[str, str] = {}
    next_approval = 0
    approve_wall = 0.0
    replayed = 0
    started = time.perf_counter()
    async with DeliveryWorker(db, settings, clock=clock, rng=random.Random(seed + 1)) as worker:
        for _ in range(200_000):  # bounded: each round either sends, approves, or moves time
            now = clock.now()
            if next_approval >= n and worker.next_due() is None:
                # The schedule ran out for some (10 attempts in ~24 h): the admin replays them.
                with db.transaction() as tx:
                    exhausted = list(
                        tx.scalars(select(Delivery.message_id).where(Delivery.status == FAILED))
                    )
                    for message_id in exhausted:
                        outbox.replay(tx, message_id, now=now)
                replayed += len(exhausted)
                if not exhausted:
                    break
            while next_approval < n and approve_at[next_approval] <= now:
                a0 = time.perf_counter()
                with db.transaction() as tx:
                    doc = review.save_draft(
                        tx, hearing_id=f"ses_{next_approval}", office="城关司法所",
                        kind="mediation-agreement", fields=AGREEMENT_FIELDS, files=files, now=now,
                    )  # fmt: skip
                    approval = review.approve(tx, doc.id, "审核员甲", settings=settings, now=now)
                approve_wall += time.perf_counter() - a0
                approved_at[approval.message_id] = now
                doc_of[approval.message_id] = approval.document_id
                next_approval += 1
            should_be_up = not (down_from <= now < down_until)
            if should_be_up != receiver.up:
                receiver.start() if should_be_up else receiver.stop()
            if await worker.run_once():
                continue
            candidates = [worker.next_due()]
            if next_approval < n:
                candidates.append(approve_at[next_approval])
            candidates += [t for t in (down_from, down_until) if t > now]
            future = [c for c in candidates if c is not None]
            if future:
                clock.set(max(now, min(future)))
        else:
            raise RuntimeError("the benchmark did not converge")
    wall = time.perf_counter() - started
    receiver.stop()

    with db.transaction() as tx:
        rows = tx.execute(select(Delivery.message_id, Delivery.status, Delivery.delivered_at)).all()
        attempts_logged = len(tx.scalars(select(DeliveryAttempt.id)).all())
    delivered_at = {m: d for m, s, d in rows if s == "delivered"}
    delays = [(delivered_at[m] - approved_at[m]).total_seconds() for m in delivered_at]
    outage = [
        (delivered_at[m] - approved_at[m]).total_seconds()
        for m in delivered_at
        if down_from <= approved_at[m] < down_until
    ]
    accepted = Counter(i for i, s in replies if 200 <= s < 300)
    ids_per_doc: dict[str, set[str]] = {}
    for r in receiver.requests:
        ids_per_doc.setdefault(r.json()["data"]["document"]["id"], set()).add(r.id)
    db.dispose()
    return Result(
        db=label,
        n=n,
        delivered=len(delivered_at),
        lost=len(set(approved_at) - set(accepted)),
        accepted_twice=sum(1 for c in accepted.values() if c > 1),
        requests=receiver.count(),
        bad_signatures=sum(1 for r in receiver.requests if r.error is not None),
        ids_per_document_max=max((len(v) for v in ids_per_doc.values()), default=0),
        attempts_logged=attempts_logged,
        replayed=replayed,
        wall_s=wall,
        approve_wall_s=approve_wall,
        send_wall_s=wall - approve_wall,
        delays=delays,
        outage_delays=outage,
        status_counts=Counter(str(s) for _, s in replies),
        load=os.getloadavg(),
    )


def fmt_s(seconds: float) -> str:
    if seconds != seconds:
        return "-"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def report(results: list[Result], args: argparse.Namespace) -> str:
    lines = [
        "Script: `benchmarks/delivery_faults.py` "
        f"(`--n {args.n} --fail-rate {args.fail_rate} --down-at {args.down_at:g} "
        f"--down-for {args.down_for:g} --seed {args.seed}`). {machine_line()}.",
        "",
        f"{args.n} approvals (one every {args.gap:g} simulated s) to a loopback receiver that "
        f"verifies every request with `standardwebhooks`, answers {args.fail_rate:.0%} of requests "
        "with 500/502/503/429 at random (503/429 with `Retry-After: 20`), and refuses connections "
        f"for {fmt_s(args.down_for)} starting {fmt_s(args.down_at)} in. Simulated time (the "
        "worker's injectable clock jumps to the next due retry); real HTTP, real database. "
        "Throughput is real wall time; delays are simulated time from approval to the 2xx.",
        "",
        md_table(
            [
                "database",
                "delivered",
                "lost",
                "accepted twice",
                "bad signatures",
                "ids per document (max)",
                "requests received",
                "attempts logged",
                "schedule exhausted, replayed",
            ],
            [
                [
                    r.db,
                    f"{r.delivered}/{r.n}",
                    r.lost,
                    r.accepted_twice,
                    r.bad_signatures,
                    r.ids_per_document_max,
                    r.requests,
                    r.attempts_logged,
                    r.replayed,
                ]
                for r in results
            ],
        ),  # fmt: skip
        "",
        md_table(
            [
                "database",
                "wall s (all)",
                "approvals/s",
                "attempts/s (send side)",
                "delivered/s (end to end)",
                "load avg 1/5/15 min at end",
            ],
            [
                [
                    r.db,
                    f"{r.wall_s:.1f}",
                    f"{r.n / r.approve_wall_s:.0f}",
                    f"{r.attempts_logged / r.send_wall_s:.0f}",
                    f"{r.delivered / r.wall_s:.1f}",
                    " / ".join(f"{x:.1f}" for x in r.load),
                ]
                for r in results
            ],
        ),  # fmt: skip
        "",
        "Delivery delay (approval -> accepted), simulated time:",
        "",
        md_table(
            [
                "database",
                "messages",
                "p50",
                "p90",
                "p99",
                "max",
                "outage-time approvals: p50",
                "p99",
                "max",
            ],
            [
                [
                    r.db,
                    len(r.delays),
                    fmt_s(pct(r.delays, 50)),
                    fmt_s(pct(r.delays, 90)),
                    fmt_s(pct(r.delays, 99)),
                    fmt_s(max(r.delays)),
                    fmt_s(pct(r.outage_delays, 50)),
                    fmt_s(pct(r.outage_delays, 99)),
                    fmt_s(max(r.outage_delays, default=float("nan"))),
                ]
                for r in results
            ],
        ),  # fmt: skip
        "",
        "Receiver answers: "
        + "; ".join(
            f"{r.db}: " + ", ".join(f"{k}: {v}" for k, v in sorted(r.status_counts.items()))
            for r in results
        )
        + " (attempts refused while down are logged but not answered, so not counted here). "
        "Retries of a message run at about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h "
        "after its first attempt, so a message approved during the outage waits for its next "
        "slot after the receiver is back; that is most of the delay above.",
    ]
    if len(results) == 2:
        a, b = results
        lines += [
            "",
            f"Ratio {b.db}/{a.db} in the same run: wall time {b.wall_s / a.wall_s:.2f}x, "
            f"approvals/s {(b.n / b.approve_wall_s) / (a.n / a.approve_wall_s):.2f}x, "
            f"send-side attempts/s "
            f"{(b.attempts_logged / b.send_wall_s) / (a.attempts_logged / a.send_wall_s):.2f}x.",
        ]
    lines += [
        "",
        "The machine has 2 cores shared with other engineers' runs (load average above); "
        "absolute rates move with that load, the ratios and the loss/duplicate counts do not.",
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--fail-rate", type=float, default=0.3)
    ap.add_argument("--down-at", type=float, default=600.0, help="simulated s after the start")
    ap.add_argument("--down-for", type=float, default=3600.0, help="simulated s of outage")
    ap.add_argument("--gap", type=float, default=1.8, help="simulated s between approvals")
    ap.add_argument("--seed", type=int, default=31000)
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    args = ap.parse_args()

    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="scribe-bench-") as tmp:
        work = Path(tmp)
        common = (args.n, args.fail_rate, args.down_at, args.down_for, args.gap, args.seed)
        if args.db in ("sqlite", "both"):
            results.append(
                asyncio.run(run(f"sqlite:///{work / 'bench.db'}", "sqlite", *common, work))
            )
            print(
                f"sqlite: {results[-1].delivered}/{args.n} delivered in {results[-1].wall_s:.1f} s",
                flush=True,
            )
        if args.db in ("postgresql", "both"):
            with postgres_server() as base:
                results.append(asyncio.run(run(create_database(base), "postgresql", *common, work)))
            print(
                f"postgresql: {results[-1].delivered}/{args.n} delivered in {results[-1].wall_s:.1f} s",
                flush=True,
            )
    text = report(results, args)
    print(text)
    ok = all(r.delivered == r.n and r.lost == 0 and r.accepted_twice == 0 and r.bad_signatures == 0
             and r.ids_per_document_max == 1 for r in results)  # fmt: skip
    if not args.no_write:
        write_section("delivery", text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
