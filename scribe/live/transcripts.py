"""Transcripts out of a session: the live one rebuilt from the journal, and exports.

Exports (txt, srt, vtt, json) work on any ``Transcript``: the live text or the final pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scribe.live.events import Event
from scribe.types import Transcript, TranscriptSegment, Word

EXPORT_FORMATS = ("txt", "srt", "vtt", "json")


def transcript_from_events(events: Iterable[Event], duration: float, meta: dict[str, Any]) -> Transcript:
    """Every final event, with the latest speaker/role updates applied, as a Transcript."""
    finals: dict[str, TranscriptSegment] = {}
    roles: dict[str, str] = {}
    languages: dict[str, int] = {}
    for e in events:
        d = e.data
        if e.type == "final":
            words = tuple(
                Word(float(w["start"]), float(w["end"]), str(w["word"]), float(w.get("probability", 1.0)))
                for w in d.get("words") or ()
            )
            finals[d["id"]] = TranscriptSegment(
                float(d["start"]), float(d["end"]), str(d["text"]), words, d.get("speaker"), True
            )
            lang = str(d.get("language") or "")
            languages[lang] = languages.get(lang, 0) + len(d["text"])
        elif e.type == "speaker":
            if d.get("id") and d["id"] in finals:
                finals[d["id"]] = _with_speaker(finals[d["id"]], d.get("speaker"))
            if d.get("speaker") and d.get("role"):
                roles[str(d["speaker"])] = str(d["role"])
    segments = tuple(sorted(finals.values(), key=lambda s: (s.start, s.end)))
    language = max(languages, key=lambda k: languages[k]) if languages else str(meta.get("language") or "")
    return Transcript(
        language=language or "",
        duration=duration,
        model=str(meta.get("live_model", "")),
        segments=segments,
        info={"kind": "live", "session": meta.get("id"), "roles": roles},
    )


def _with_speaker(seg: TranscriptSegment, speaker: str | None) -> TranscriptSegment:
    from dataclasses import replace

    return replace(seg, speaker=speaker)


def _label(seg: TranscriptSegment, roles: dict[str, str]) -> str:
    if not seg.speaker:
        return ""
    return roles.get(seg.speaker, seg.speaker)


def _stamp(t: float, sep: str) -> str:
    ms = int(round(t * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def export_text(transcript: Transcript, fmt: str) -> str:
    import json

    roles: dict[str, str] = dict(transcript.info.get("roles") or {})
    segs = transcript.segments
    colon = "：" if transcript.language.startswith("zh") else ": "
    if fmt == "json":
        return json.dumps(transcript.to_dict(), ensure_ascii=False, indent=2) + "\n"
    if fmt == "txt":
        lines = []
        for s in segs:
            who = _label(s, roles)
            lines.append(f"[{_stamp(s.start, '.')[:-4]}] " + (f"{who}{colon}" if who else "") + s.text)
        return "\n".join(lines) + "\n"
    if fmt in ("srt", "vtt"):
        sep = "," if fmt == "srt" else "."
        blocks = ["WEBVTT\n"] if fmt == "vtt" else []
        for i, s in enumerate(segs, 1):
            who = _label(s, roles)
            text = f"{who}{colon}{s.text}" if who else s.text
            head = f"{i}\n" if fmt == "srt" else ""
            blocks.append(f"{head}{_stamp(s.start, sep)} --> {_stamp(s.end, sep)}\n{text}\n")
        return "\n".join(blocks)
    from scribe.errors import OutputError

    raise OutputError(f"unknown export format {fmt!r}", fix=f"use one of {', '.join(EXPORT_FORMATS)}")
