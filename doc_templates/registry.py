"""Where templates come from: the built-ins, overridden or extended by a site directory.

A template is a folder holding ``template.docx`` (Word, with docxtpl/Jinja tags) and
``template.json`` (its field schema)::

    <site dir>/mediation-agreement/template.docx   replaces the built-in of that name
    <site dir>/mediation-agreement/template.json
    <site dir>/family-agreement/template.docx      a new template
    <site dir>/family-agreement/template.json      {"document": "mediation-agreement", ...}

``template.json`` says which document the template prints (``document``: one of
mediation-agreement, consultation-record, hearing-record: that decides which fields are
drafted and how they are validated), its title, and ``extra_fields``: site-specific values
(filled from the session file's ``custom`` map) the template may use. No code is needed; the
linter (``scribe templates lint``) checks that the template only uses declared fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from doc_templates.schemas import DOCUMENT_MODELS
from scribe.errors import DocumentError

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"
TEMPLATE_FILE = "template.docx"
SCHEMA_FILE = "template.json"


class ExtraField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str
    type: str = Field(default="string", pattern="^(string|integer|number|boolean)$")
    required: bool = False
    description: str | None = None


class FontSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = "仿宋"
    title: str = "方正小标宋简体"
    fallback: str = "Noto Serif CJK SC"


class TemplateSchema(BaseModel):
    """``template.json``: the field schema of one template."""

    model_config = ConfigDict(extra="forbid")

    document: str = Field(description="mediation-agreement | consultation-record | hearing-record")
    title: str
    description: str | None = None
    extra_fields: dict[str, ExtraField] = Field(default_factory=dict)
    fonts: FontSpec = Field(default_factory=FontSpec)


@dataclass(frozen=True)
class TemplateSpec:
    name: str
    directory: Path
    schema: TemplateSchema
    builtin: bool

    @property
    def docx(self) -> Path:
        return self.directory / TEMPLATE_FILE

    @property
    def document(self) -> str:
        return self.schema.document

    @property
    def title(self) -> str:
        return self.schema.title

    def field_names(self) -> set[str]:
        model = DOCUMENT_MODELS[self.document]
        return set(model.model_fields) | set(self.schema.extra_fields)

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema of the values this template is filled with."""
        schema = DOCUMENT_MODELS[self.document].model_json_schema()
        schema["title"] = self.title
        for name, extra in self.schema.extra_fields.items():
            schema.setdefault("properties", {})[name] = {
                "type": extra.type, "title": extra.title,
                **({"description": extra.description} if extra.description else {}),
            }
            if extra.required:
                schema.setdefault("required", []).append(name)
        return schema


@dataclass
class TemplateRegistry:
    templates: dict[str, TemplateSpec] = field(default_factory=dict)

    def get(self, name: str) -> TemplateSpec:
        try:
            return self.templates[name]
        except KeyError:
            raise DocumentError(
                f"no template named {name!r}",
                fix=f"use one of {', '.join(sorted(self.templates))}, or add a folder with "
                f"{TEMPLATE_FILE} and {SCHEMA_FILE} to the site template directory",
            ) from None

    def names(self) -> list[str]:
        return sorted(self.templates)


def load_spec(directory: Path, *, builtin: bool) -> TemplateSpec:
    schema_path = directory / SCHEMA_FILE
    if not (directory / TEMPLATE_FILE).is_file():
        raise DocumentError(f"template folder {directory} has no {TEMPLATE_FILE}",
                            fix="save the Word template there under that name")
    try:
        schema = TemplateSchema.model_validate(json.loads(schema_path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise DocumentError(f"template folder {directory} has no {SCHEMA_FILE}",
                            fix='add one, e.g. {"document": "mediation-agreement", "title": "人民调解协议书"}') from None
    except (json.JSONDecodeError, ValidationError) as exc:
        raise DocumentError(f"{schema_path} is not a valid field schema: {exc}",
                            fix="see docs/documents.md (site templates)") from exc
    if schema.document not in DOCUMENT_MODELS:
        raise DocumentError(f"{schema_path}: unknown document {schema.document!r}",
                            fix=f"use one of {', '.join(DOCUMENT_MODELS)}")
    clash = set(schema.extra_fields) & set(DOCUMENT_MODELS[schema.document].model_fields)
    if clash:
        raise DocumentError(f"{schema_path}: extra_fields {sorted(clash)} repeat built-in fields",
                            fix="rename them or drop them from extra_fields")
    return TemplateSpec(directory.name, directory, schema, builtin)


def load_registry(site_dir: Path | None = None) -> TemplateRegistry:
    """Built-in templates, then the site's: a site folder of the same name replaces a built-in."""
    registry = TemplateRegistry()
    for base, builtin in ((BUILTIN_DIR, True), (site_dir, False)):
        if base is None:
            continue
        if not base.is_dir():
            raise DocumentError(f"template directory {base} does not exist",
                                fix="create it or unset SCRIBE_TEMPLATE_DIR")
        for folder in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
            registry.templates[folder.name] = load_spec(folder, builtin=builtin)
    return registry
