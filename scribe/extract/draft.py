"""``draft.json``: a document's fields with provenance, ready for review and rendering.

The format is documented in ``docs/draft-format.md``. ``fields`` maps each field of the
document's schema (``doc_templates/schemas.py``) to a :class:`FieldValue`; ``missing`` lists
every leaf nobody supported (dotted paths, e.g. ``parties.1.phone``); ``problems`` lists what
keeps the values from being a valid finished document under the law's rules; ``warnings``
says what the drafter could not do (e.g. a drafting model fell back to rules).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scribe.errors import DocumentError
from scribe.extract.fields import Evidence, FieldValue

DRAFT_FORMAT = "mediation-scribe/draft"


class DrafterInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: Literal["rules", "model"] = "rules"
    model: str | None = None
    # how the drafting model was reached: "transformers" (in process) or "openai-chat" (a server)
    backend: str | None = None
    seconds: float | None = None
    # why the model's answer was not used (server down, timeout, not JSON, no evidence ...)
    fallback: str | None = None


class Candidate(BaseModel):
    """A value found in the transcript, listed beside the draft so a reviewer can take a missed one
    in one click: an amount, a date, a person or an obligation, and what became of it."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["amount", "date", "person", "obligation"]
    value: str
    status: Literal["used", "rejected", "superseded", "unused"]
    field: str | None = Field(default=None, description="the draft field it belongs in, e.g. terms")
    reason: str | None = None
    evidence: Evidence


class Draft(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["mediation-scribe/draft"] = DRAFT_FORMAT
    version: Literal[1] = 1
    template: str = Field(description="template name, e.g. mediation-agreement")
    document: str = Field(description="document kind the template fills")
    title: str
    created_at: dt.datetime
    session: dict[str, Any] = Field(description="case number, type, date of the session file")
    transcript: dict[str, Any] = Field(description="language, model, duration, segment count")
    drafter: DrafterInfo = Field(default_factory=DrafterInfo)
    fields: dict[str, FieldValue]
    missing: list[str] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    candidates: list[Candidate] = Field(default_factory=list)

    def values(self) -> dict[str, Any]:
        return {name: f.value for name, f in self.fields.items()}

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def dump(self, path: Path) -> None:
        try:
            Path(path).write_text(
                json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
            )
        except OSError as exc:
            raise DocumentError(f"cannot write the draft to {path}: {exc}", fix="choose a writable path") from exc

    @classmethod
    def load(cls, path: Path) -> Draft:
        try:
            return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise DocumentError(f"draft {path} does not exist", fix="run `scribe draft` first") from exc
        except ValidationError as exc:
            raise DocumentError(
                f"{path} is not a draft.json ({exc.error_count()} errors, first: {exc.errors()[0]['msg']})",
                fix="see docs/draft-format.md",
            ) from exc
