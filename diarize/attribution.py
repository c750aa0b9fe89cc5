"""Who said each word: speaker turns laid over a transcript's word timings.

Whisper segments are sentences of sound, not of speakers: one segment often holds the end of
one person's sentence and the start of the reply. Each *word* gets the speaker whose turn
covers most of it, and a segment is split wherever the speaker changes between words.

Overlap: when two turns cover a word equally (one person talks over another), the shorter turn
wins, so a brief interjection ("对", "嗯") inside a long turn keeps its own speaker instead of
being swallowed by the long one.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import replace

from scribe.types import SpeakerTurn, Transcript, TranscriptSegment, Word

# a word in a pause between turns goes to the nearest turn within this distance (s)
MAX_SNAP = 1.0


class _TurnIndex:
    """Turns sorted by start, for fast "which turns touch [start, end]" queries."""

    def __init__(self, turns: Sequence[SpeakerTurn]) -> None:
        self.turns = sorted(turns, key=lambda t: (t.start, t.end))
        self.starts = [t.start for t in self.turns]
        # turns can nest, so a turn that started long ago may still be running: remember the
        # longest turn so far to bound the backward scan
        self.max_len = max((t.duration for t in self.turns), default=0.0)

    def speaker_of(self, start: float, end: float) -> str | None:
        if not self.turns:
            return None
        lo = bisect.bisect_left(self.starts, start - self.max_len)
        hi = bisect.bisect_right(self.starts, end)
        best: tuple[float, float, str] | None = None  # (overlap, -duration, speaker)
        for turn in self.turns[lo:hi]:
            overlap = min(end, turn.end) - max(start, turn.start)
            if overlap <= 0 and not (end == start and turn.start <= start <= turn.end):
                continue
            key = (round(max(overlap, 0.0), 3), -turn.duration, turn.speaker)
            if best is None or key > best:
                best = key
        if best is not None:
            return best[2]
        return self._nearest(start, end)

    def _nearest(self, start: float, end: float) -> str | None:
        lo = bisect.bisect_left(self.starts, start - self.max_len - MAX_SNAP)
        hi = bisect.bisect_right(self.starts, end + MAX_SNAP)
        best: tuple[float, str] | None = None
        for turn in self.turns[lo:hi]:
            gap = max(turn.start - end, start - turn.end, 0.0)
            if gap <= MAX_SNAP and (best is None or gap < best[0]):
                best = (gap, turn.speaker)
        return best[1] if best else None


def _join(words: Sequence[Word], language: str) -> str:
    text = "".join(w.word for w in words).strip()
    if language == "zh":
        return text
    return " ".join(text.split())


def attribute_words(transcript: Transcript, turns: Sequence[SpeakerTurn]) -> Transcript:
    """A copy of ``transcript`` whose segments carry ``speaker``, split where it changes.

    Words are attributed one by one (the turn covering most of the word; the shorter turn on a
    tie; the nearest turn within 1 s for a word in a pause; else the previous word's speaker).
    A segment without word timings gets the speaker covering most of it, unsplit. With no
    turns at all, the transcript comes back unchanged. Timings, text and words are preserved:
    the split segments' words concatenate to the original words.
    """
    if not turns:
        return transcript
    index = _TurnIndex(turns)
    out: list[TranscriptSegment] = []
    for seg in transcript.segments:
        if not seg.words:
            out.append(replace(seg, speaker=index.speaker_of(seg.start, seg.end) or seg.speaker))
            continue
        labels: list[str | None] = [index.speaker_of(w.start, w.end) for w in seg.words]
        # fill gaps from neighbours: previous word first, else the next labelled one
        prev: str | None = None
        for i, lab in enumerate(labels):
            if lab is None:
                labels[i] = prev
            prev = labels[i]
        nxt: str | None = None
        for i in range(len(labels) - 1, -1, -1):
            if labels[i] is None:
                labels[i] = nxt
            nxt = labels[i]
        # cut into runs of one speaker
        start_i = 0
        for i in range(1, len(seg.words) + 1):
            if i == len(seg.words) or labels[i] != labels[start_i]:
                words = seg.words[start_i:i]
                out.append(
                    TranscriptSegment(
                        start=seg.start if start_i == 0 else words[0].start,
                        end=seg.end if i == len(seg.words) else words[-1].end,
                        text=seg.text if (start_i == 0 and i == len(seg.words))
                        else _join(words, transcript.language),
                        words=tuple(words),
                        speaker=labels[start_i] or seg.speaker,
                        final=seg.final,
                    )
                )
                start_i = i
    info = dict(transcript.info)
    info["diarization"] = {"speakers": sorted({t.speaker for t in turns})}
    return replace(transcript, segments=tuple(out), info=info)
