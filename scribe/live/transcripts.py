"""The live transcript of a session, rebuilt from its journal (exports use ``scribe.formats``)."""

from __future__ import annotations

from collections.abc import Iterable

from scribe.live.archive import SessionMeta
from scribe.live.events import Event, FinalPayload, SpeakerPayload
from scribe.types import Transcript, TranscriptSegment, Word


def transcript_from_events(events: Iterable[Event], duration: float, meta: SessionMeta | None) -> Transcript:
    """Every final event, with the latest speaker/role updates applied, as a Transcript."""
    finals: dict[str, TranscriptSegment] = {}
    roles: dict[str, str] = {}
    languages: dict[str, int] = {}
    for e in events:
        p = e.payload
        if isinstance(p, FinalPayload):
            # the journal keeps 3 decimals: so does the live transcript, whatever the source
            words = tuple(Word(round(w.start, 3), round(w.end, 3), w.word, round(w.probability, 4))
                          for w in p.words)
            finals[p.id] = TranscriptSegment(round(p.start, 3), round(p.end, 3), p.text, words, p.speaker, True,
                                             unrecognised=p.unrecognised)
            if not p.unrecognised:
                languages[p.language] = languages.get(p.language, 0) + len(p.text)
        elif isinstance(p, SpeakerPayload):
            if p.id and p.id in finals:
                finals[p.id] = _with_speaker(finals[p.id], p.speaker)
            if p.speaker and p.role:
                roles[p.speaker] = p.role
    segments = tuple(sorted(finals.values(), key=lambda s: (s.start, s.end)))
    fixed = meta.language if meta is not None else ""
    language = max(languages, key=lambda k: languages[k]) if languages else fixed
    return Transcript(
        language=language or "",
        duration=duration,
        model=meta.live_model if meta is not None else "",
        segments=segments,
        info={"kind": "live", "session": meta.id if meta is not None else None, "roles": roles},
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
