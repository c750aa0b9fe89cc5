"""The Mandarin development set: every zh clip of manifest.json and manifest2.json (audio2/ and
the simulated hearing conv_zh_dev_02), with its tier and its part (``tune`` or ``frozen``).

The frozen part is fixed by a hash of the file id alone — decided before any result was
looked at, and never looked at while tuning: ``sha256(id) % 3 == 0`` is frozen (about a third).

Tiers: ``A`` the corpus's own human transcript (CER figures), ``B`` unverified, helper-made,
dialect or concatenated references (reported apart), ``C`` a vendor's or a model's output (never
for accuracy; used only for "nothing lost"). Sichuanese and code-switched clips are tier B.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


@dataclass(frozen=True)
class DevFile:
    id: str
    path: Path
    reference: str
    tier: str  # A | B | C
    duration_s: float

    @property
    def part(self) -> str:
        return "frozen" if int(hashlib.sha256(self.id.encode()).hexdigest(), 16) % 3 == 0 else "tune"


def _strip_speakers(text: str) -> str:
    return re.sub(r"^\[[^\]]*\]\s*", "", text, flags=re.M)


def mandarin_devset(data: Path = DATA) -> list[DevFile]:
    out: list[DevFile] = []
    m1 = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    for f in m1["files"]:
        if f["language"] != "zh" or not f.get("reference_transcript"):
            continue
        tier = "A" if f.get("reference_quality") == "corpus human transcript" else "B"
        out.append(DevFile(f["id"], data / f["path"], _strip_speakers(f["reference_transcript"]), tier,
                           float(f["duration_s"])))
    m2 = json.loads((data / "manifest2.json").read_text(encoding="utf-8"))
    for f in m2["files"]:
        if not str(f.get("language", "zh")).startswith("zh") or not f.get("reference_transcript"):
            continue
        out.append(DevFile(f["id"], data / f["file"], f["reference_transcript"], f["tier"],
                           float(f["duration_s"])))
    for c in m2.get("conversations", []):
        turns = json.loads((data / c["transcript_json"]).read_text(encoding="utf-8"))
        ref = "".join(t["text"] for t in sorted(turns, key=lambda t: t["start"]))
        # a concatenation of A and B references: reported with tier B
        out.append(DevFile(c["id"], data / c["path"], ref, "B", float(c["duration_s"])))
    return out
