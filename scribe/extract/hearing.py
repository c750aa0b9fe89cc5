"""One reading of a mediation hearing, shared by its documents: the obligations said and what
became of each, the agreed terms, and the outcome. Computed once per dialogue."""

from __future__ import annotations

from dataclasses import dataclass

from scribe.casefile import CaseFile
from scribe.extract.dialogue import Dialogue
from scribe.extract.handover import arrange
from scribe.extract.instalments import complete
from scribe.extract.mentions import Names
from scribe.extract.obligations import Frame, Term, agreed_terms, decide, frames_of
from scribe.extract.outcome import NO_AGREEMENT, Outcome, decide_outcome


@dataclass(frozen=True)
class Hearing:
    names: Names
    frames: tuple[Frame, ...]
    terms: tuple[Term, ...]
    outcome: Outcome

    @property
    def agreed(self) -> bool:
        return self.outcome.outcome not in NO_AGREEMENT


def read_hearing(dialogue: Dialogue, casefile: CaseFile) -> Hearing:
    cached = getattr(dialogue, "_hearing", None)
    if cached is not None:
        return cached
    names = Names(casefile)
    frames = decide(frames_of(dialogue, casefile, names), dialogue, casefile)
    frames = complete(arrange(frames, dialogue, casefile), dialogue, casefile)
    terms = agreed_terms(frames, names)
    outcome = decide_outcome(dialogue, has_terms=bool(terms))
    if outcome.outcome in NO_AGREEMENT:
        terms = []
    hearing = Hearing(names, tuple(frames), tuple(terms), outcome)
    dialogue._hearing = hearing  # type: ignore[attr-defined]
    return hearing
