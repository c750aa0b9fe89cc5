"""Speaker labels shown to people: unknown voices are 说话人1, 说话人2, ... in order of first
appearance in the recording."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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
