"""Writes the published JSON Schemas in docs/schemas/ (``python -m doc_templates.publish_schemas``).

A test compares them with the models, so a schema change without re-publishing fails CI.
"""

from __future__ import annotations

import json
from pathlib import Path

from doc_templates.registry import load_registry
from scribe.casefile import CaseFile

DOCS = Path(__file__).resolve().parent.parent / "docs" / "schemas"


def publish(target: Path = DOCS) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    reg = load_registry()
    schemas = {name: reg.get(name).json_schema() for name in reg.names()}
    schemas["session"] = CaseFile.model_json_schema()
    written = []
    for name, schema in schemas.items():
        path = target / f"{name}.json"
        path.write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for p in publish():
        print(p)
