"""Loading the hand-written test dialogues of tests/data/dialogues (see make_dialogues.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scribe.casefile import CaseFile
from scribe.types import Transcript

DIALOGUE_DIR = Path(__file__).resolve().parent / "data" / "dialogues"
NAMES = ("neighbour-wall", "wage-arrears", "divorce-property", "traffic-compensation", "custody-phone")
MUST_SHOW = NAMES[:3]  # the three dialogues the issue names


@dataclass(frozen=True)
class Dialogue:
    name: str
    transcript: Transcript
    casefile: CaseFile
    expected: dict[str, Any]
    transcript_path: Path
    session_path: Path


def load(name: str) -> Dialogue:
    t = DIALOGUE_DIR / f"{name}.transcript.json"
    s = DIALOGUE_DIR / f"{name}.session.json"
    return Dialogue(
        name=name,
        transcript=Transcript.from_dict(json.loads(t.read_text(encoding="utf-8"))),
        casefile=CaseFile.load(s),
        expected=json.loads((DIALOGUE_DIR / f"{name}.expected.json").read_text(encoding="utf-8")),
        transcript_path=t,
        session_path=s,
    )
