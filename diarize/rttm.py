"""RTTM, the diarization exchange format: one ``SPEAKER`` line per turn.

``SPEAKER <uri> 1 <start> <duration> <NA> <NA> <speaker> <NA> <NA>``; speaker names may not
contain spaces, so spaces become underscores.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from scribe.errors import OutputError
from scribe.types import SpeakerTurn


def format_rttm(turns: Sequence[SpeakerTurn], uri: str) -> str:
    uri = uri.replace(" ", "_") or "audio"
    return "".join(
        f"SPEAKER {uri} 1 {t.start:.3f} {t.duration:.3f} <NA> <NA> "
        f"{t.speaker.replace(' ', '_')} <NA> <NA>\n"
        for t in sorted(turns)
    )


def write_rttm(turns: Sequence[SpeakerTurn], path: Path, uri: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(format_rttm(turns, uri), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise OutputError(
            f"cannot write {path} ({exc.strerror})", fix="choose a writable output path"
        ) from None


def read_rttm(path: Path) -> list[SpeakerTurn]:
    turns = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        f = line.split()
        if len(f) >= 8 and f[0] == "SPEAKER":
            start, dur = float(f[3]), float(f[4])
            turns.append(SpeakerTurn(start, start + dur, f[7]))
    return sorted(turns)
