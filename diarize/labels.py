"""Speaker labels shown to people: unknown voices are 说话人1, 说话人2, ... in order of first
appearance in the recording."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from scribe.types import SpeakerTurn

UNKNOWN_PREFIX = "说话人"


def unknown_label(index: int) -> str:
    """``unknown_label(1) == "说话人1"``."""
    return f"{UNKNOWN_PREFIX}{index}"


def is_unknown_label(label: str) -> bool:
    return label.startswith(UNKNOWN_PREFIX) and label[len(UNKNOWN_PREFIX) :].isdigit()


def first_appearance_order(turns: Iterable[SpeakerTurn]) -> list[str]:
    """Distinct speakers of ``turns`` in the order they first speak."""
    seen: dict[str, None] = {}
    for turn in sorted(turns, key=lambda t: (t.start, t.end)):
        seen.setdefault(turn.speaker, None)
    return list(seen)


def relabel(turns: Sequence[SpeakerTurn], mapping: dict[str, str]) -> list[SpeakerTurn]:
    return sorted(
        SpeakerTurn(t.start, t.end, mapping.get(t.speaker, t.speaker)) for t in turns
    )


def merge_turns(turns: Iterable[SpeakerTurn], *, max_gap: float = 0.0) -> list[SpeakerTurn]:
    """Join turns of the same speaker that touch or are at most ``max_gap`` apart."""
    out: list[SpeakerTurn] = []
    last: dict[str, int] = {}
    for turn in sorted(turns):
        i = last.get(turn.speaker)
        if i is not None and turn.start - out[i].end <= max_gap:
            prev = out[i]
            out[i] = SpeakerTurn(prev.start, max(prev.end, turn.end), prev.speaker)
            continue
        last[turn.speaker] = len(out)
        out.append(turn)
    return sorted(out)


def overlap_seconds(a: Sequence[SpeakerTurn], b: Sequence[SpeakerTurn]) -> float:
    """Seconds during which a turn of ``a`` and a turn of ``b`` both run."""
    if not a or not b:
        return 0.0
    b_start = np.array([t.start for t in b])
    b_end = np.array([t.end for t in b])
    total = 0.0
    for x in a:  # vectorised over b: a 3 h session has thousands of turns per speaker
        total += float(np.clip(np.minimum(x.end, b_end) - np.maximum(x.start, b_start), 0, None).sum())
    return total


def match_by_overlap(turns: Sequence[SpeakerTurn], reference: Sequence[SpeakerTurn]) -> dict[str, str]:
    """Each speaker of ``turns`` -> the speaker of ``reference`` it overlaps most, one to one
    (the assignment with the most overlap in all); speakers sharing no time are left out."""
    from scipy.optimize import linear_sum_assignment

    labels = sorted({t.speaker for t in turns})
    ref_labels = sorted({t.speaker for t in reference})
    if not labels or not ref_labels:
        return {}
    overlap = np.array([
        [overlap_seconds([t for t in turns if t.speaker == lab], [t for t in reference if t.speaker == ref])
         for ref in ref_labels]
        for lab in labels
    ])
    rows, cols = linear_sum_assignment(overlap, maximize=True)
    return {labels[r]: ref_labels[c] for r, c in zip(rows, cols) if overlap[r, c] > 0}
