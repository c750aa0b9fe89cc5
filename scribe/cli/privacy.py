"""``scribe retention purge`` and ``scribe privacy erase-party | delete-hearing``: the PIPL
Art. 47 commands (``scribe.privacy``). Each is audited under the machine account that runs it."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from scribe.cli._db import open_database
from scribe.settings import get_settings

retention_app = typer.Typer(help="Retention of recordings (per-office periods, SCRIBE_SERVER__AUDIO_RETENTION_DAYS).",
                            no_args_is_help=True)
privacy_app = typer.Typer(help="Erase a party's data, delete a hearing with everything it holds.",
                          no_args_is_help=True)
out = Console()


@retention_app.command("purge")
def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="say what would go, remove nothing")] = False,
) -> None:
    """Purge the audio of closed hearings past their office's retention period, and retry
    removals left over from earlier deletions. Prints a JSON report; exits 1 on a failure."""
    from scribe.cli.diarize import _cli_actor
    from scribe.privacy.retention import purge_audio

    settings = get_settings()
    if not settings.server.audio_retention_days:
        out.print("no retention period is set (SCRIBE_SERVER__AUDIO_RETENTION_DAYS): audio is kept until deleted")
    report = purge_audio(open_database(settings), settings, actor=_cli_actor(), dry_run=dry_run)
    print(json.dumps({"dry_run": dry_run, **report.as_dict()}, ensure_ascii=False))
    if report.failures:
        raise typer.Exit(1)


@privacy_app.command("erase-party")
def erase_party(
    hearing_id: Annotated[str, typer.Argument(help="the hearing's id")],
    party: Annotated[int, typer.Option("--party", min=1, help="the party's number in the hearing's list (1 = first)")],
) -> None:
    """Replace one party's personal data by a placeholder in every record of the hearing."""
    from scribe.cli.diarize import _cli_actor
    from scribe.privacy.erasure import erase_party as erase

    settings = get_settings()
    report = erase(open_database(settings), settings, _cli_actor(), hearing_id, party - 1)
    print(json.dumps(report.as_dict(), ensure_ascii=False))
    if report.failures:
        raise typer.Exit(1)


@privacy_app.command("delete-hearing")
def delete_hearing(hearing_id: Annotated[str, typer.Argument(help="the hearing's id")]) -> None:
    """Delete a hearing with its audio, session folder, documents and queued messages."""
    from scribe.cli.diarize import _cli_actor
    from scribe.privacy.deletion import delete_hearing as delete

    settings = get_settings()
    report = delete(open_database(settings), settings, _cli_actor(), hearing_id)
    print(json.dumps(report.as_dict(), ensure_ascii=False))


def register(root: typer.Typer) -> None:
    root.add_typer(retention_app, name="retention")
    root.add_typer(privacy_app, name="privacy")
