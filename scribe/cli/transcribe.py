"""``scribe transcribe AUDIO...``: files to text (json contract, txt, srt, vtt)."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from scribe.errors import OutputError

console = Console(stderr=True)


class Language(str, Enum):
    auto = "auto"
    zh = "zh"
    en = "en"


class Format(str, Enum):
    json = "json"
    txt = "txt"
    srt = "srt"
    vtt = "vtt"


def transcribe(
    audio: Annotated[list[Path], typer.Argument(help="audio files: wav, flac, mp3, m4a, ogg; any rate or channels")],
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="a speech model from models.lock (see `scribe models list`); default whisper-base")] = None,
    language: Annotated[Language, typer.Option("--language", "-l", help="spoken language; auto detects it")] = Language.auto,
    hotwords: Annotated[Optional[str], typer.Option(help="names and legal terms that must come out right, comma-separated, e.g. '张三,李四,民法典'")] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="output format; json is the documented contract")] = Format.json,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="output file (one input) or folder (several); default: print to stdout")] = None,
    allow_truncated: Annotated[bool, typer.Option(help="transcribe the readable part of a damaged or truncated file")] = False,
    beam_size: Annotated[int, typer.Option(min=1, max=10, help="beam width; 1 is fastest")] = 5,
    diarize: Annotated[bool, typer.Option("--diarize", help="separate speakers: fill `speaker` (说话人1, 说话人2, ...) word by word")] = False,
    num_speakers: Annotated[Optional[int], typer.Option(min=1, help="with --diarize: the number of speakers, when known")] = None,
    min_speakers: Annotated[Optional[int], typer.Option(min=1, help="with --diarize: at least this many speakers")] = None,
    max_speakers: Annotated[Optional[int], typer.Option(min=1, help="with --diarize: at most this many speakers")] = None,
) -> None:
    """Transcribe recordings. Mandarin comes out in Simplified characters with Chinese
    punctuation; silence and noise give no text (no invented subtitles)."""
    from scribe.audio import decode_audio
    from scribe.formats import check_writable, render, write
    from scribe.settings import get_settings
    from scribe.transcribe import TranscribeOptions, Transcriber

    from scribe.models import open_store

    settings = get_settings()
    store = open_store(settings)
    store.path_for(model or settings.asr_model)  # unknown, missing or corrupt: say so first
    targets = _targets(audio, output, fmt.value)
    for t in targets.values():
        if t is not None:
            check_writable(t)
    # Decode everything first: a bad file is reported before minutes of recognition.
    decoded = {p: decode_audio(p, allow_truncated=allow_truncated) for p in audio}
    transcriber = Transcriber.load(settings, model)
    speakers = _speaker_separation(settings, store, diarize, num_speakers, min_speakers, max_speakers)
    words = tuple(w.strip() for w in (hotwords or "").replace("，", ",").split(",") if w.strip())
    options = TranscribeOptions(
        language=language.value, hotwords=words, beam_size=beam_size, site_languages=tuple(settings.languages)
    )
    show = console.is_terminal
    for path, dec in decoded.items():
        with Progress(
            TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
            TimeRemainingColumn(), console=console, disable=not show, transient=True,
        ) as bar:
            task = bar.add_task(path.name, total=1.0)
            result = transcriber.transcribe(
                dec.samples, options,
                progress=lambda done, total: bar.update(task, completed=done / total if total else 1.0),
            )
        if speakers is not None:
            result = speakers(dec.samples, result)
        target = targets[path]
        if target is None:
            sys.stdout.write(render(result, fmt.value))
        else:
            write(result, fmt.value, target)
            console.print(f"{path.name}: {dec.duration:.1f} s, {result.language}, "
                          f"{len(result.segments)} segments -> {target}")
        lost = (result.info.get("coverage") or {}).get("unrecognised_s") or 0.0
        if lost:
            # on stderr even with stdout output: staff must know the record has gaps to check
            console.print(f"{path.name}: {lost:.1f} s of speech could not be recognised; "
                          "marked 【未能识别】 in the transcript — play those spans back")


def _speaker_separation(settings, store, enabled: bool, num: int | None, lo: int | None, hi: int | None):  # type: ignore[no-untyped-def]
    """With --diarize: a function (samples, transcript) -> transcript with speakers filled."""
    if not enabled:
        if num or lo or hi:
            from scribe.errors import DiarizationError

            raise DiarizationError(
                "--num-speakers/--min-speakers/--max-speakers only apply to speaker separation",
                fix="add --diarize",
            )
        return None
    from diarize import attribute_words
    from scribe.services import load_diarization, offline_diarizer
    from diarize.offline import check_speaker_bounds

    check_speaker_bounds(num, lo, hi)
    diarizer = offline_diarizer(settings, load_diarization(settings, store))

    def run(samples, transcript):  # type: ignore[no-untyped-def]
        turns = diarizer.diarize(samples, num_speakers=num, min_speakers=lo, max_speakers=hi)
        return attribute_words(transcript, turns)

    return run


def _targets(audio: list[Path], output: Path | None, fmt: str) -> dict[Path, Path | None]:
    if output is None:
        return {p: None for p in audio}
    if len(audio) == 1 and not output.is_dir():
        return {audio[0]: output}
    if not output.is_dir():
        raise OutputError(
            f"{len(audio)} inputs need an output folder, but {output} is not one",
            fix="create the folder, or transcribe one file at a time",
        )
    names = [p.stem for p in audio]
    if len(set(names)) != len(names):
        raise OutputError("two inputs share a file name", fix="transcribe them into separate folders")
    return {p: output / f"{p.stem}.{fmt}" for p in audio}


def register(app: typer.Typer) -> None:
    app.command("transcribe")(transcribe)
