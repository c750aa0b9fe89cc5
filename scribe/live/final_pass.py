"""Stop -> final pass: the whole recording again with the best settings.

Re-transcribes the archived audio with the same ``Transcriber`` and options as
``scribe transcribe`` (beam search, full context, the session's hotwords), so the final
transcript equals the offline one for the same file, and re-diarizes it with the offline
diarizer when one is given. The live transcript (``live.json``) is kept beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Protocol

import numpy as np

from scribe.live.archive import SessionFolder, SessionMeta, read_wav_pcm
from scribe.text.zh import finish_text
from scribe.transcribe import TranscribeOptions, Transcriber
from scribe.types import SpeakerTurn, Transcript, TranscriptSegment

Progress = Callable[[str, float], None]  # (stage, fraction done)


class OfflineDiarizerLike(Protocol):
    """``diarize.OfflineDiarizer``: the whole recording -> speaker turns."""

    def diarize(self, samples: Any) -> Sequence[SpeakerTurn]: ...


class LiveDiarizerLike(Protocol):
    """``diarize.StreamingDiarizer`` of the session: re-diarizes offline *keeping the labels
    the live transcript showed* (and any roles staff gave them)."""

    def final_pass(self, samples: Any, offline: Any) -> list[SpeakerTurn]: ...


class FinalPass:
    def __init__(
        self,
        transcriber: Transcriber,
        diarizer: OfflineDiarizerLike | None = None,
        *,
        beam_size: int = 5,
    ) -> None:
        self.transcriber = transcriber
        self.diarizer = diarizer
        self.beam_size = beam_size

    def watch(self, session: Any) -> None:
        """A session started recording (the pass alongside starts on it; this one waits)."""

    def close(self) -> None:
        """The manager shuts down."""

    def options_for(self, meta: SessionMeta) -> TranscribeOptions:
        """Exactly what ``scribe transcribe --language L --hotwords H`` uses."""
        return TranscribeOptions(
            language=meta.language or "auto",
            hotwords=meta.hotwords,
            beam_size=self.beam_size,
        )

    def run(
        self, folder: SessionFolder, progress: Progress, live_diarizer: LiveDiarizerLike | None = None
    ) -> Transcript:
        meta = folder.meta()
        samples = read_wav_pcm(folder.audio).astype(np.float32) / 32768.0
        progress("transcribe", 0.0)
        transcript = self.transcriber.transcribe(
            samples,
            self.options_for(meta),
            progress=lambda done, total: progress("transcribe", done / total if total else 1.0),
        )
        progress("transcribe", 1.0)
        transcript = replace(transcript, info=dict(transcript.info) | {"kind": "final", "session": folder.id})
        return self.label(folder, samples, transcript, progress, live_diarizer, self.diarizer)

    def label(
        self,
        folder: SessionFolder,
        samples: Any,
        transcript: Transcript,
        progress: Progress,
        live_diarizer: LiveDiarizerLike | None,
        diarizer: OfflineDiarizerLike | None,
    ) -> Transcript:
        """Speaker turns (``diarizer`` over ``samples``, live labels kept) given to the words.
        The second pass alongside the hearing (scribe.live.alongside) passes a diarizer whose
        answer it already has."""
        info = dict(transcript.info)
        if diarizer is not None:
            from diarize import attribute_words

            progress("diarize", 0.0)
            if live_diarizer is not None:
                turns = list(live_diarizer.final_pass(samples, diarizer))
            else:
                # after a crash (or in another process) the live diarizer is gone, but the
                # journal holds the labels the live text showed and staff may have named
                from scribe.live.transcripts import transcript_from_events

                live_text = transcript_from_events(folder.events(), 0.0, folder.meta())
                turns = keep_live_labels(list(diarizer.diarize(samples)), live_text.segments)
            # word by word, splitting a segment where the speaker changes; a split segment's
            # text is rebuilt from raw Whisper words, so it is typeset again (idempotent)
            transcript = attribute_words(transcript, turns)
            transcript = replace(transcript, segments=tuple(
                s if s.unrecognised else s.with_text(finish_text(s.text, transcript.language))
                for s in transcript.segments
            ))
            info["speakers"] = sorted({t.speaker for t in turns})
            progress("diarize", 1.0)
        else:
            info["speakers"] = None  # no diarizer installed: the final text has no speaker labels
        return replace(transcript, info=info)


def keep_live_labels(turns: Sequence[SpeakerTurn], live: Sequence[TranscriptSegment]) -> list[SpeakerTurn]:
    """Offline speakers renamed to the live label whose finals they overlap most, one to one,
    so names and roles given during the hearing still apply; a voice the live pass did not
    separate gets the next free unknown label."""
    from diarize.labels import UNKNOWN_PREFIX, is_unknown_label, match_by_overlap, unknown_label

    shown = [SpeakerTurn(s.start, s.end, s.speaker) for s in live if s.speaker]
    mapping = match_by_overlap(turns, shown)
    taken = {t.speaker for t in shown}
    n = max((int(x[len(UNKNOWN_PREFIX) :]) for x in taken if is_unknown_label(x)), default=0)
    for lab in sorted({t.speaker for t in turns} - set(mapping)):
        n += 1
        mapping[lab] = unknown_label(n)
    return sorted(SpeakerTurn(t.start, t.end, mapping[t.speaker]) for t in turns)
