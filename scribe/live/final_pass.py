"""Stop -> final pass: the whole recording again with the best settings.

Re-transcribes the archived audio with the same ``Transcriber`` and options as
``scribe transcribe`` (beam search, full context, the session's hotwords), so the final
transcript equals the offline one for the same file, and re-diarizes it with the offline
diarizer when one is given. The live transcript (``live.json``) is kept beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

import numpy as np

from scribe.live.archive import SessionFolder, read_wav_pcm
from scribe.transcribe import TranscribeOptions, Transcriber
from scribe.types import SpeakerTurn, Transcript, TranscriptSegment

Progress = Callable[[str, float], None]  # (stage, fraction done)


class OfflineDiarizerLike(Protocol):
    def __call__(self, samples: np.ndarray) -> Sequence[SpeakerTurn]: ...


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

    def options_for(self, meta: dict) -> TranscribeOptions:
        """Exactly what ``scribe transcribe --language L --hotwords H`` uses."""
        return TranscribeOptions(
            language=str(meta.get("language") or "auto"),
            hotwords=tuple(meta.get("hotwords") or ()),
            beam_size=self.beam_size,
        )

    def run(self, folder: SessionFolder, progress: Progress) -> Transcript:
        meta = folder.read_meta()
        samples = read_wav_pcm(folder.audio).astype(np.float32) / 32768.0
        progress("transcribe", 0.0)
        transcript = self.transcriber.transcribe(
            samples,
            self.options_for(meta),
            progress=lambda done, total: progress("transcribe", done / total if total else 1.0),
        )
        progress("transcribe", 1.0)
        info = dict(transcript.info) | {"kind": "final", "session": folder.id}
        if self.diarizer is not None:
            progress("diarize", 0.0)
            turns = list(self.diarizer(samples))
            transcript = replace(transcript, segments=assign_speakers(transcript.segments, turns))
            info["speakers"] = sorted({t.speaker for t in turns})
            progress("diarize", 1.0)
        else:
            info["speakers"] = None  # no diarizer installed: the final text has no speaker labels
        return replace(transcript, info=info)


def assign_speakers(
    segments: Sequence[TranscriptSegment], turns: Sequence[SpeakerTurn]
) -> tuple[TranscriptSegment, ...]:
    """Each segment gets the speaker whose turns overlap it most (None where nobody does)."""
    out = []
    for seg in segments:
        overlap: dict[str, float] = {}
        for t in turns:
            o = min(seg.end, t.end) - max(seg.start, t.start)
            if o > 0:
                overlap[t.speaker] = overlap.get(t.speaker, 0.0) + o
        who = max(overlap, key=lambda s: overlap[s]) if overlap else None
        out.append(replace(seg, speaker=who))
    return tuple(out)
