"""``scribe endpoints add | rotate | disable | enable | list | token``: the case systems that
receive webhooks, and the API tokens they pull files with."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from scribe.cli._db import open_database
from scribe.delivery import endpoints as registry
from scribe.delivery.pull import SCOPES, issue_token
from scribe.settings import get_settings

app = typer.Typer(
    help="Case-system webhook endpoints (Standard Webhooks) and pull tokens.",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)


@app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="the case system's https:// webhook URL")],
    event: Annotated[
        list[str],
        typer.Option("--event", "-e", help="event type to send (repeat; '*' for all)"),
    ] = ["document.approved"],  # noqa: B006
    name: Annotated[Optional[str], typer.Option(help="a name admins recognise")] = None,
    secret: Annotated[
        Optional[str], typer.Option(help="use this whsec_ secret instead of generating one")
    ] = None,
    office: Annotated[
        list[str], typer.Option("--office", "-o", help="an office whose hearings it is sent (repeat)")
    ] = [],  # noqa: B006
    all_offices: Annotated[
        bool, typer.Option("--all-offices", help="a platform that serves every office")
    ] = False,
    transcript: Annotated[
        bool, typer.Option("--transcript", help="also give it links to the transcript")
    ] = False,
) -> None:
    """Register a case system for some offices. Prints its signing secret ONCE: give it to
    the receiver."""
    from scribe.errors import DeliveryError

    if not office and not all_offices:
        raise DeliveryError(
            "say which offices' hearings the endpoint is sent",
            fix="add --office NAME (repeat it), or --all-offices for a platform serving every office",
        )
    settings = get_settings()
    with open_database(settings).transaction() as tx:
        info, whsec = registry.add_endpoint(
            tx, url, event, settings, name=name, secret=secret,
            offices=["*"] if all_offices else office, include_transcript=transcript,
        )  # fmt: skip
        from scribe.accounts import audit
        from scribe.accounts.audit import Action
        from scribe.cli.diarize import _cli_actor

        audit.record(tx, _cli_actor(), Action.CREATE, "endpoint", info.id, offices=list(info.offices),
                     include_transcript=info.include_transcript)  # fmt: skip
    out.print(f"endpoint {info.id} added for {', '.join(info.event_types)} "
              f"({'every office' if '*' in info.offices else ', '.join(info.offices)})")
    out.print(f"signing secret (shown once): {whsec}", soft_wrap=True)


@app.command("rotate")
def rotate(
    endpoint_id: Annotated[str, typer.Argument()],
    grace_hours: Annotated[
        Optional[float],
        typer.Option(help="hours the old secret keeps signing beside the new one"),
    ] = None,
) -> None:
    """Give an endpoint a new secret; both sign until the grace period ends."""
    settings = get_settings()
    hours = settings.delivery.rotation_grace_h if grace_hours is None else grace_hours
    with open_database(settings).transaction() as tx:
        new = registry.rotate_secret(tx, endpoint_id, grace=dt.timedelta(hours=hours))
    out.print(f"endpoint {endpoint_id}: new secret, old one still signs for {hours:g} h")
    out.print(f"signing secret (shown once): {new}", soft_wrap=True)


@app.command("disable")
def disable(
    endpoint_id: Annotated[str, typer.Argument()],
    reason: Annotated[str, typer.Option(help="why (shown in `list`)")] = "disabled by an admin",
) -> None:
    """Stop sending to an endpoint; its messages wait until it is enabled."""
    with open_database().transaction() as tx:
        registry.disable_endpoint(tx, endpoint_id, reason)
    out.print(f"endpoint {endpoint_id} disabled")


@app.command("enable")
def enable(endpoint_id: Annotated[str, typer.Argument()]) -> None:
    """Send to an endpoint again; what waited for it falls due at once."""
    settings = get_settings()
    with open_database(settings).transaction() as tx:
        registry.enable_endpoint(tx, endpoint_id, settings)
    out.print(f"endpoint {endpoint_id} enabled")


@app.command("offices")
def set_offices(
    endpoint_id: Annotated[str, typer.Argument()],
    office: Annotated[list[str], typer.Option("--office", "-o", help="office (repeat); '*' for every office")],
    transcript: Annotated[
        Optional[bool], typer.Option("--transcript/--no-transcript", help="give it transcript links")
    ] = None,
) -> None:
    """Change which offices' hearings an endpoint is sent (and its transcript opt-in)."""
    from scribe.delivery.scope import set_scope

    with open_database().transaction() as tx:
        registry.get_endpoint(tx, endpoint_id)
        scope = set_scope(tx, endpoint_id, offices=office, include_transcript=transcript)
    out.print(f"endpoint {endpoint_id}: {', '.join(scope.offices)}"
              + (" + transcript" if scope.include_transcript else ""))


@app.command("revoke")
def revoke(endpoint_id: Annotated[str, typer.Argument()]) -> None:
    """End an endpoint for good: nothing more is sent, its queued messages are dropped and
    every download link it was given stops working."""
    from scribe.accounts import audit
    from scribe.accounts.audit import Action
    from scribe.cli.diarize import _cli_actor
    from scribe.delivery.scope import revoke as revoke_endpoint

    with open_database().transaction() as tx:
        links = revoke_endpoint(tx, endpoint_id)
        audit.record(tx, _cli_actor(), Action.DELETE, "endpoint", endpoint_id, links_revoked=links)
    out.print(f"endpoint {endpoint_id} revoked ({links} links ended)")


@app.command("list")
def list_() -> None:
    """Endpoints, their events and state (never their secrets)."""
    with open_database().transaction() as tx:
        rows = registry.list_endpoints(tx)
    table = Table("id", "name", "url", "events", "offices", "state")
    for ep in rows:
        state = "enabled" if ep.enabled else f"disabled: {ep.disabled_reason}"
        if ep.revoked_at:
            state = f"revoked {ep.revoked_at:%Y-%m-%d %H:%M} UTC"
        if ep.rotating_until:
            state += f" (rotating until {ep.rotating_until:%Y-%m-%d %H:%M} UTC)"
        offices = ", ".join(ep.offices) + (" + transcript" if ep.include_transcript else "")
        table.add_row(ep.id, ep.name, ep.url, ", ".join(ep.event_types), offices, state)
    out.print(table)


@app.command("token")
def token(
    name: Annotated[str, typer.Argument(help="who gets it, e.g. the city dispute platform")],
    scope: Annotated[
        list[str], typer.Option("--scope", "-s", help=f"repeat; one of {sorted(SCOPES)}")
    ] = ["documents:read"],  # noqa: B006
    office: Annotated[Optional[str], typer.Option(help="limit it to one office")] = None,
    days: Annotated[Optional[int], typer.Option(help="expire after this many days")] = None,
) -> None:
    """Issue an API token for pulling documents. Prints it ONCE (only its hash is kept)."""
    with open_database().transaction() as tx:
        info, value = issue_token(
            tx, name, scope, office=office, ttl=dt.timedelta(days=days) if days else None
        )
    out.print(f"token {info.id} for {', '.join(info.scopes)}")
    out.print(f"API token (shown once): {value}", soft_wrap=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="endpoints")
