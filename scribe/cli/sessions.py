"""``scribe sessions``: list, show, export, recover and finish recorded sessions."""

from __future__ import annotations

import json
import shutil
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from scribe.errors import OutputError, SessionError

console = Console(stderr=True)
app = typer.Typer(help="Recorded sessions: list, show, export (txt, srt, vtt, json, audio), recover, finish.",
                  no_args_is_help=True)


class Which(str, Enum):
    best = "best"  # the final pass when there is one, else the live text
    final = "final"
    live = "live"


class Format(str, Enum):
    json = "json"
    txt = "txt"
    srt = "srt"
    vtt = "vtt"


def _manager():  # type: ignore[no-untyped-def]
    """A manager for stored sessions (no models: recording and finishing load their own).

    When this machine's desk database exists, the hearing lifecycle observes the manager, so a
    session recovered or finished here moves its hearing exactly as the server would."""
    from scribe.live.manager import SessionManager
    from scribe.settings import get_settings

    def no_pipeline(_options):  # type: ignore[no-untyped-def]
        raise SessionError("this command does not record", fix="use `scribe record`")

    settings = get_settings()
    manager = SessionManager(settings.sessions_path, no_pipeline)
    if _desk_database_exists(settings):
        from scribe.cli._db import open_database
        from scribe.lifecycle import HearingLifecycle
        from scribe.live.bridge import ManagerBridge

        HearingLifecycle(open_database(settings), ManagerBridge(manager))  # observes the manager
    return manager


def _desk_database_exists(settings) -> bool:  # type: ignore[no-untyped-def]
    url = settings.db_url
    return not url.startswith("sqlite") or Path(url.split("///", 1)[-1]).exists()


def _transcript(folder, which: Which):  # type: ignore[no-untyped-def]
    from scribe.types import Transcript

    paths = {
        Which.final: [folder.final_transcript],
        Which.live: [folder.live_transcript],
        Which.best: [folder.final_transcript, folder.live_transcript],
    }[which]
    for p in paths:
        if p.exists():
            return Transcript.from_dict(json.loads(p.read_text(encoding="utf-8")))
    if which is Which.live or which is Which.best:
        # still recording or crashed: rebuild from the journal
        from scribe.live.transcripts import transcript_from_events

        meta = folder.meta()
        return transcript_from_events(folder.events(), meta.duration or 0.0, meta)
    raise SessionError(f"session {folder.id} has no final transcript yet",
                       fix=f"run `scribe sessions finish {folder.id}`")


@app.command("list")
def list_sessions(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
) -> None:
    """Every session on this machine, newest last."""
    sessions = _manager().list()
    if as_json:
        sys.stdout.write(json.dumps(sessions, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table("id", "created (UTC)", "state", "duration", "title", "final")
    for m in sessions:
        dur = m.get("duration")
        table.add_row(m["id"], str(m.get("created_at", ""))[:19].replace("T", " "), str(m.get("state")),
                      f"{dur:.0f} s" if isinstance(dur, (int, float)) else "-", m.get("title") or "",
                      "yes" if m.get("state") == "finished" else "no")
    Console().print(table)


@app.command()
def show(
    session_id: Annotated[str, typer.Argument(help="session id (see `scribe sessions list`)")],
    which: Annotated[Which, typer.Option(help="best: the final pass if done, else the live text")] = Which.best,
) -> None:
    """A session's details and transcript."""
    from scribe.formats import render
    from scribe.live.transcripts import with_role_labels

    folder = _manager().folder(session_id)
    meta = folder.read_meta()
    for key in ("id", "state", "created_at", "duration", "language", "source", "title", "audio_sha256"):
        if meta.get(key) not in (None, ""):
            print(f"{key}: {meta[key]}")
    print(f"folder: {folder.root}")
    transcript = _transcript(folder, which)
    print(f"transcript: {transcript.info.get('kind', which.value)}, {len(transcript.segments)} segments\n")
    sys.stdout.write(render(with_role_labels(transcript), "txt"))


@app.command()
def export(
    session_id: Annotated[str, typer.Argument(help="session id")],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="transcript format")] = Format.txt,
    which: Annotated[Which, typer.Option(help="final, live, or best (final if done)")] = Which.best,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="transcript file; default: stdout")] = None,
    audio: Annotated[Optional[Path], typer.Option(help="also write the recording here (.wav as recorded, or .flac)")] = None,
) -> None:
    """Export a session's transcript (txt, srt, vtt, json) and its audio."""
    from scribe.formats import render, write
    from scribe.live.archive import sha256_of
    from scribe.live.transcripts import with_role_labels

    folder = _manager().folder(session_id)
    transcript = _transcript(folder, which)
    if fmt is not Format.json:
        transcript = with_role_labels(transcript)
    if audio is not None:
        _export_audio(folder, audio, sha256_of)
    if output is None:
        sys.stdout.write(render(transcript, fmt.value))
    else:
        write(transcript, fmt.value, output)
        console.print(f"{session_id}: {len(transcript.segments)} segments -> {output}")


def _export_audio(folder, target: Path, sha256_of) -> None:  # type: ignore[no-untyped-def]
    meta = folder.read_meta()
    expected = meta.get("audio_sha256")
    if expected and sha256_of(folder.audio) != expected:
        raise SessionError(f"the audio of session {folder.id} does not match its recorded sha256",
                           fix="the archive was altered or damaged; restore it from a backup")
    suffix = target.suffix.lower()
    try:
        if suffix == ".wav":
            shutil.copyfile(folder.audio, target)
        elif suffix == ".flac":
            import soundfile as sf

            from scribe.live.archive import read_wav_pcm

            sf.write(str(target), read_wav_pcm(folder.audio), 16000, subtype="PCM_16", format="FLAC")
        else:
            raise OutputError(f"cannot export audio as {suffix or 'a file without extension'}",
                              fix="name the audio file .wav or .flac")
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}", fix="choose another path") from None
    console.print(f"{folder.id}: audio -> {target} (sha256 {expected or 'not sealed yet'})")


@app.command()
def recover() -> None:
    """Seal sessions whose recorder was killed: audio up to the last write, every final kept."""
    manager = _manager()
    found = manager.unfinished()
    if not found:
        console.print("no interrupted sessions")
    for folder in found:
        meta = manager.recover(folder.id)  # its hearing (if any) becomes "interrupted"
        console.print(f"{folder.id}: recovered {meta.duration or 0.0:.1f} s of audio; "
                      f"finish it with `scribe sessions finish {folder.id}`")


@app.command()
def finish(
    session_id: Annotated[str, typer.Argument(help="session id")],
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="speech model from models.lock")] = None,
) -> None:
    """The final pass for a stopped or interrupted session (recovers it first if needed)."""
    from scribe.services import load_live_engine
    from scribe.settings import get_settings

    settings = get_settings()
    manager = _manager()
    manager.folder(session_id)  # unknown id: say so before loading models
    engine = load_live_engine(settings, model=model)
    manager.final_pass = engine.final_pass()

    def progress(e):  # type: ignore[no-untyped-def]
        if e.type == "progress":
            console.print(f"final pass: {e.data['stage']} {e.data['fraction'] * 100:.0f}%")

    transcript = manager.finish(session_id, listener=progress)
    console.print(f"{session_id}: {len(transcript.segments)} segments -> "
                  f"{manager.folder(session_id).final_transcript}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="sessions")
