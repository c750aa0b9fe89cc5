"""Speaker label -> person and role, as set by the user at any time during or after a session.

Labels are stable for a whole session, so a mapping set at minute 40 applies to the turns of
minute 1 as well: the roster is applied when a transcript or a record is shown or written, not
baked into the turns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from scribe.errors import DiarizationError
from scribe.types import SpeakerTurn, Transcript

# Roles at a mediation hearing or a consultation desk (docs/domain.md).
ROLES: tuple[str, ...] = (
    "调解员",  # mediator
    "申请人",  # applicant
    "被申请人",  # respondent
    "代理人",  # agent
    "记录人",  # recorder
    "咨询人",  # visitor at a consultation
    "接待人",  # consultation staff
    "当事人",  # a party, side not yet known
    "其他",
)


@dataclass(frozen=True)
class Assignment:
    role: str | None = None
    name: str | None = None

    def display(self, label: str) -> str:
        """How the record shows this speaker: 申请人张三, 调解员, or the label itself."""
        text = f"{self.role or ''}{self.name or ''}"
        return text or label


class SpeakerRoster:
    """The session's mapping from speaker labels (说话人1, or an enrolled name) to role/name."""

    def __init__(self, assignments: dict[str, Assignment] | None = None) -> None:
        self._map: dict[str, Assignment] = dict(assignments or {})

    def assign(self, label: str, *, role: str | None = None, name: str | None = None) -> None:
        """Map ``label`` to a role and/or name (replacing any earlier mapping of it)."""
        if role is not None and role not in ROLES:
            raise DiarizationError(
                f"unknown role {role!r}", fix="use one of: " + "、".join(ROLES)
            )
        if role is None and not name:
            self._map.pop(label, None)
            return
        self._map[label] = Assignment(role, name.strip() if name else None)

    def get(self, label: str) -> Assignment | None:
        return self._map.get(label)

    def display(self, label: str | None) -> str | None:
        if label is None:
            return None
        a = self._map.get(label)
        return a.display(label) if a else label

    def apply_turns(self, turns: Sequence[SpeakerTurn]) -> list[SpeakerTurn]:
        return [replace(t, speaker=self.display(t.speaker) or t.speaker) for t in turns]

    def apply(self, transcript: Transcript) -> Transcript:
        """A copy of ``transcript`` with display names in ``speaker`` (roster in ``info``)."""
        segments = tuple(replace(s, speaker=self.display(s.speaker)) for s in transcript.segments)
        info = dict(transcript.info)
        info["speakers"] = self.to_dict()
        return replace(transcript, segments=segments, info=info)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {k: {"role": v.role, "name": v.name} for k, v in sorted(self._map.items())}

    @classmethod
    def from_dict(cls, data: dict[str, dict[str, Any]]) -> SpeakerRoster:
        roster = cls()
        for label, v in data.items():
            roster.assign(label, role=v.get("role"), name=v.get("name"))
        return roster

    @classmethod
    def from_voiceprints(cls, voiceprints) -> SpeakerRoster:  # type: ignore[no-untyped-def]
        """Enrolled people are known from the start: their label is their name."""
        roster = cls()
        for vp in voiceprints:
            roster.assign(vp.label, role=vp.role, name=vp.label)
        return roster
