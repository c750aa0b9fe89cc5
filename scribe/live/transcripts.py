"""The live transcript of a session, rebuilt from its journal (exports use ``scribe.formats``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scribe.live.events import Event
from scribe.types import Transcript, TranscriptSegment, Word

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
                float(d["start"]), float(d["end"]), str(d["text"]), words, d.get("speaker"), True,
                unrecognised=bool(d.get("unrecognised", False)),
            )
            lang = str(d.get("language") or "")
            if not d.get("unrecognised"):
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


def with_role_labels(transcript: Transcript) -> Transcript:
    """Speaker labels replaced by the roles staff assigned (``申请人`` rather than ``S1``)."""
    from dataclasses import replace

    roles: dict[str, str] = dict(transcript.info.get("roles") or {})
    if not roles:
        return transcript
    segs = tuple(
        replace(s, speaker=roles.get(s.speaker, s.speaker)) if s.speaker else s
        for s in transcript.segments
    )
    return replace(transcript, segments=segs)
