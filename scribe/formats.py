"""Writing a Transcript as json (the contract), txt, srt or vtt."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from scribe.errors import OutputError
from scribe.types import Transcript, TranscriptSegment

FORMATS = ("json", "txt", "srt", "vtt")


def _stamp(seconds: float, sep: str) -> str:
    ms = int(round(seconds * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _label(seg_speaker: str | None, text: str) -> str:
    return f"{seg_speaker}：{text}" if seg_speaker else text


def _txt_line(s: TranscriptSegment) -> str:
    if s.unrecognised:
        # txt has no times: say where the speech is, so staff can find it in the recording
        return _label(s.speaker, f"{s.text}（{_stamp(s.start, '.')}–{_stamp(s.end, '.')}）")
    return _label(s.speaker, s.text)


def render(transcript: Transcript, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(transcript.to_dict(), ensure_ascii=False, indent=2) + "\n"
    if fmt == "txt":
        return "".join(_txt_line(s) + "\n" for s in transcript.segments)
    if fmt in ("srt", "vtt"):
        sep = "," if fmt == "srt" else "."
        blocks = []
        for i, s in enumerate(transcript.segments, 1):
            cue = f"{_stamp(s.start, sep)} --> {_stamp(s.end, sep)}\n{_label(s.speaker, s.text)}\n"
            blocks.append(f"{i}\n{cue}" if fmt == "srt" else cue)
        body = "\n".join(blocks)
        return body if fmt == "srt" else "WEBVTT\n\n" + body
    raise OutputError(f"unknown format {fmt!r}", fix=f"use one of: {', '.join(FORMATS)}")


def check_writable(path: Path) -> None:
    """Fail before hours of work if the result could not be saved."""
    if path.is_dir():
        raise OutputError(f"output path {path} is a directory", fix="give a file name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"cannot write {path}: folder {parent} does not exist", fix="create it first")
    try:
        # Probe with a scratch file: permission bits lie for root and on read-only mounts.
        fd, probe = tempfile.mkstemp(prefix=".scribe-probe-", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(
            f"cannot write {path}: {exc.strerror or exc}",
            fix="choose a folder you can write to (-o)",
        ) from None
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(f"cannot write {path}: it is read-only", fix="choose another file (-o)")


def write(transcript: Transcript, fmt: str, path: Path) -> None:
    check_writable(path)
    tmp = path.with_name(path.name + ".part")
    try:
        tmp.write_text(render(transcript, fmt), encoding="utf-8")
        tmp.replace(path)  # readers never see a half-written transcript
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
