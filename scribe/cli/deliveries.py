"""``scribe deliveries list | show | replay | worker``: the outbox and its sender."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from scribe.cli._db import open_database
from scribe.delivery import outbox
from scribe.delivery.worker import DeliveryWorker
from scribe.settings import get_settings

app = typer.Typer(
    help="Webhook deliveries to case systems: inspect, replay, send.", no_args_is_help=True
)
out = Console()


def _when(value: object) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}" if value is not None else "-"


@app.command("list")
def list_(
    status: Annotated[
        Optional[str], typer.Option(help="pending | delivered | failed | unrouted")
    ] = None,
    limit: Annotated[int, typer.Option(help="newest N messages")] = 50,
) -> None:
    """Messages, newest first, with their delivery state per endpoint."""
    with open_database().transaction() as tx:
        rows = outbox.list_messages(tx, status=status, limit=limit)
    table = Table(
        "message (webhook-id)", "event", "subject", "created (UTC)", "status", "endpoints"
    )
    for m in rows:
        per = ", ".join(f"{d.endpoint_id}:{d.status}/{d.attempts}" for d in m.deliveries) or "-"
        table.add_row(m.id, m.event_type, m.subject_id or "-", _when(m.created_at), m.status, per)
    out.print(table)


@app.command("show")
def show(message_id: Annotated[str, typer.Argument()]) -> None:
    """One message: its deliveries and the log of every attempt."""
    with open_database().transaction() as tx:
        m, attempts = outbox.show_message(tx, message_id)
    out.print(
        f"{m.id}  {m.event_type}  subject {m.subject_id or '-'}  created {_when(m.created_at)} UTC"
    )
    out.print(f"status: {m.status}")
    for d in m.deliveries:
        out.print(
            f"  -> {d.endpoint_id}: {d.status}, {d.attempts} attempt(s) this cycle, "
            f"next {_when(d.next_attempt_at)}, delivered {_when(d.delivered_at)}"
        )
    table = Table("time (UTC)", "endpoint", "status", "latency ms", "outcome", "error")
    for a in attempts:
        table.add_row(
            _when(a.attempted_at),
            a.endpoint_id,
            str(a.status_code) if a.status_code is not None else "-",
            f"{a.latency_ms:.0f}" if a.latency_ms is not None else "-",
            a.outcome,
            a.error or "",
        )
    out.print(table)


@app.command("replay")
def replay(
    message_id: Annotated[str, typer.Argument()],
    endpoint: Annotated[
        Optional[str], typer.Option(help="only to this endpoint (default: every subscriber)")
    ] = None,
) -> None:
    """Send a message again with the same webhook-id (receivers deduplicate by it)."""
    with open_database().transaction() as tx:
        targets = outbox.replay(tx, message_id, endpoint_id=endpoint)
    out.print(f"{message_id} queued again for {', '.join(targets)}")


@app.command("worker")
def worker(
    once: Annotated[bool, typer.Option(help="send what is due, then exit")] = False,
    max_seconds: Annotated[
        Optional[float], typer.Option(help="exit after this many seconds")
    ] = None,
) -> None:
    """Run the sender (until SIGTERM / Ctrl-C, or --once / --max-seconds)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # httpx logs every request with its full URL, whose query may hold a receiver's token.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = get_settings()
    db = open_database(settings)

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with DeliveryWorker(db, settings) as w:
            return await w.run(stop=stop, max_seconds=max_seconds, until_idle=once)

    made = asyncio.run(main())
    out.print(f"{made} attempt(s) made")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="deliveries")
