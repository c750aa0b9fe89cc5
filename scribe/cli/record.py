"""``scribe record``: a live session from the microphone (or a replayed file) in the terminal.

Shows the live transcript as people speak (grey partial text that may change, then the final
line), a level meter and the session state; ``--jsonl`` prints the event stream instead (one JSON
object a line, the same events as the WebSocket). Ctrl-C stops the recording; the final pass
then re-transcribes the whole recording (skip it with --no-final-pass and run
``scribe sessions finish ID`` later).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from scribe.live.events import Event

console = Console(stderr=True)


class Language(str, Enum):
    auto = "auto"
    zh = "zh"
    en = "en"


def record(
    input: Annotated[Optional[Path], typer.Option("--input", "-i", help="replay this audio file instead of the microphone (demos, tests)")] = None,
    realtime: Annotated[bool, typer.Option("--realtime/--fast", help="replay --input at real-time pace, or as fast as possible")] = True,
    device: Annotated[Optional[str], typer.Option("--device", "-d", help="input device number or part of its name (see --list-devices); default: the system default")] = None,
    list_devices: Annotated[bool, typer.Option("--list-devices", help="list input devices and exit")] = False,
    language: Annotated[Language, typer.Option("--language", "-l", help="spoken language; auto detects it per utterance")] = Language.auto,
    hotwords: Annotated[Optional[str], typer.Option(help="party names and legal terms, comma-separated, e.g. '张三,李四,民法典'")] = None,
    casefile: Annotated[Optional[Path], typer.Option(help="the session's case file (S.json): its hotwords are used and it is archived with the session")] = None,
    title: Annotated[str, typer.Option(help="a title for the session list")] = "",
    session_id: Annotated[Optional[str], typer.Option("--session-id", help="choose the session id (default: date-time-random)")] = None,
    duration: Annotated[Optional[float], typer.Option(min=0.1, help="stop after this many seconds of audio")] = None,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="print the event stream as JSON lines on stdout")] = False,
    final_pass: Annotated[bool, typer.Option("--final-pass/--no-final-pass", help="re-transcribe the whole recording after stopping")] = True,
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="speech model from models.lock; default whisper-base")] = None,
) -> None:
    """Record a hearing or consultation with live transcription; the session is saved as it goes."""
    from scribe.services import load_live_engine
    from scribe.storage import Database
    from scribe.live.sources import FileSource, MicrophoneSource, list_input_devices
    from scribe.settings import get_settings

    if list_devices:
        for d in list_input_devices():
            mark = "*" if d.is_default else " "
            print(f"{mark} {d.index:3d}  {d.name}  ({d.channels} ch, {d.default_rate} Hz)")
        return
    words = [w.strip() for w in (hotwords or "").replace("，", ",").split(",") if w.strip()]
    case = None
    if casefile is not None:
        case, case_words = _read_casefile(casefile)
        words += case_words
    # open the source first: a missing file or microphone is reported before models load
    source = (
        FileSource(input, realtime=realtime)
        if input is not None
        else MicrophoneSource(device, max_seconds=duration)
    )
    settings = get_settings()
    # the server's engine: the same options, diarizers and enrolled voiceprints
    engine = load_live_engine(settings, model=model, db=Database(settings.db_url, key_file=settings.secrets_key_path))
    manager = engine.manager()
    crashed = manager.unfinished()
    if crashed:
        console.print(f"[yellow]{len(crashed)} interrupted session(s) found "
                      f"({', '.join(f.id for f in crashed[:3])}{'...' if len(crashed) > 3 else ''}): "
                      "finish them with `scribe sessions finish ID`[/yellow]")
    options = engine.options(language.value, tuple(dict.fromkeys(words)))
    session = manager.create(options, session_id=session_id, source=source.description,
                             title=title, case=case)
    view = _JsonLines() if jsonl else _TerminalView(session.id)
    session.bus.subscribe(view)
    # the session's first events (state: recording) came before the subscription
    for e in session.folder.events():
        view(e)
    session.start_source(source)
    with view.display():
        try:
            while not session.wait_source(timeout=0.25):
                if duration is not None and session.writer.duration >= duration:
                    break
        except KeyboardInterrupt:
            pass
        meta = session.stop()
    error = session.source_error
    if error is not None:
        console.print(f"[red]capture stopped: {error}[/red] (what was recorded is kept)")
    console.print(f"session {session.id}: {meta.duration or 0.0:.1f} s recorded -> {session.folder.root}")
    if final_pass:
        transcript = manager.finish(session.id)  # the view is subscribed to the bus already
        console.print(f"final pass: {len(transcript.segments)} segments -> {session.folder.final_transcript}")
    manager.forget(session.id)
    if error is not None:
        raise typer.Exit(4)


def _read_casefile(path: Path) -> tuple[dict, list[str]]:
    """The case file as JSON and its hotwords: every name in it too when the ``scribe.casefile``
    model is installed (names are what Whisper gets wrong most)."""
    from scribe.errors import SessionError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SessionError(f"cannot read the case file {path}: {exc}",
                           fix="give the S.json saved from the session form") from None
    if not isinstance(data, dict):
        raise SessionError(f"the case file {path} is not a JSON object", fix="give the S.json file")
    try:
        from scribe.casefile import CaseFile  # lands with the documents work
    except ModuleNotFoundError:
        return data, [str(h) for h in data.get("hotwords") or [] if str(h).strip()]
    case = CaseFile.from_dict(data, origin=str(path))
    return case.to_dict(), case.recognition_hotwords()


class _JsonLines:
    """Every event as one JSON line on stdout (levels included: a UI may want the meter)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            sys.stdout.write(event.to_json() + "\n")
            sys.stdout.flush()

    def display(self):  # type: ignore[no-untyped-def]
        from contextlib import nullcontext

        return nullcontext()


class _TerminalView:
    """Finals scroll up; the partial line, the meter and the state stay at the bottom."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.partial = ""
        self.level = -90.0
        self.clock = 0.0
        self.state = "recording"
        self.note = ""
        self.speakers: dict[str, str] = {}
        self._live: Live | None = None
        self._lock = threading.Lock()

    def __call__(self, e: Event) -> None:
        with self._lock:
            d = e.data
            if e.type == "final":
                who = d.get("speaker")
                label = f"[cyan]{self.speakers.get(who, who)}[/cyan] " if who else ""
                line = f"[dim]{_clock(d['start'])}[/dim] {label}{d['text']}"
                (self._live.console if self._live else console).print(line)
                self.partial = ""
            elif e.type == "partial":
                self.partial = d["text"]
            elif e.type == "level":
                self.level, self.clock = d["rms_dbfs"], d["t"]
            elif e.type == "state":
                self.state = d["state"]
            elif e.type == "progress":
                self.note = f"final pass: {d['stage']} {d['fraction'] * 100:.0f}%"
            elif e.type in ("warning", "error"):
                (self._live.console if self._live else console).print(
                    f"[{'yellow' if e.type == 'warning' else 'red'}]{d['message']}[/]")
            elif e.type == "speaker" and d.get("role") and d.get("speaker"):
                self.speakers[d["speaker"]] = d["role"]
            if self._live is not None:
                self._live.update(self._render())

    def _render(self) -> Group:
        bars = int(max(0.0, min(1.0, (self.level + 60) / 60)) * 30)
        meter = Text(f"● {self.state} {_clock(self.clock)}  ", style="red" if self.state == "recording" else "")
        meter.append("▮" * bars, style="green").append("▯" * (30 - bars), style="dim")
        meter.append(f" {self.level:5.1f} dBFS  {self.note}")
        return Group(Text(self.partial, style="italic dim"), meter)

    def display(self) -> Live:
        self._live = Live(self._render(), console=console, refresh_per_second=8, transient=True)
        return self._live


def _clock(t: float) -> str:
    m, s = divmod(int(t), 60)
    h, m = divmod(m, 60)
    return f"{h:d}:{m:02d}:{s:02d}"


def register(app: typer.Typer) -> None:
    app.command("record")(record)
