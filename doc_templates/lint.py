"""Template linter: a template must parse, and may only use fields its schema declares.

Run by the tests over every built-in template and by ``scribe templates lint`` over a site's.
Checks:
- the Jinja in the document body, headers and footers parses (syntax errors name the line's text);
- every top-level name the template reads is a declared field (the document's schema plus the
  template's ``extra_fields``), a renderer-provided name (``draft_notice``, ``read_back``) or
  a loop variable;
- attribute reads on a loop variable over an object list (``p.name`` in ``for p in parties``)
  name a real member of that list's items;
- filters exist (cn_date, cn_numeral and Jinja's own);
- required fields the template never prints are reported as warnings (a site may leave a
  field out of the printed form on purpose).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from typing import Any

import jinja2
import jinja2.meta
from docx import Document
from docxtpl import DocxTemplate
from jinja2 import nodes

from doc_templates.registry import TemplateSpec
from doc_templates.render import jinja_env

RENDERER_NAMES = frozenset({"draft_notice", "read_back"})


@dataclass
class LintReport:
    template: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def template_source(spec: TemplateSpec) -> str:
    """The Jinja source docxtpl will render: body, headers and footers, after its XML patching."""
    tpl = DocxTemplate(str(spec.docx))
    doc = Document(str(spec.docx))
    xml = tpl.patch_xml(tpl.xml_to_string(doc._element.body))
    from docx.oxml import parse_xml

    for rel in doc.part.rels.values():
        if rel.reltype in (tpl.HEADER_URI, tpl.FOOTER_URI) and rel.target_part.blob:
            xml += tpl.patch_xml(tpl.xml_to_string(parse_xml(rel.target_part.blob)))
    return xml


def _item_members(spec: TemplateSpec) -> dict[str, set[str] | None]:
    """For each list field: the member names of its items (None for lists of scalars)."""
    schema = spec.json_schema()
    defs = schema.get("$defs", {})
    out: dict[str, set[str] | None] = {}
    for name, prop in schema.get("properties", {}).items():
        items = prop.get("items")
        if items is None:
            continue
        ref = items.get("$ref")
        if ref:
            target = defs.get(ref.rsplit("/", 1)[-1], {})
            out[name] = set(target.get("properties", {}))
        else:
            out[name] = None
    return out


def _object_members(spec: TemplateSpec) -> dict[str, set[str]]:
    schema = spec.json_schema()
    defs = schema.get("$defs", {})
    out: dict[str, set[str]] = {}
    for name, prop in schema.get("properties", {}).items():
        ref = prop.get("$ref")
        if ref:
            out[name] = set(defs.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}))
    return out


def lint_template(spec: TemplateSpec) -> LintReport:
    report = LintReport(spec.name)
    env = jinja_env()
    try:
        source = template_source(spec)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:  # not a readable .docx
        report.errors.append(f"{spec.docx} cannot be read as a Word document: {exc}")
        return report
    try:
        ast = env.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        line = source.splitlines()[exc.lineno - 1] if exc.lineno else ""
        import re

        text = re.sub(r"<[^>]+>", "", line)[:120]
        report.errors.append(f"template syntax error: {exc.message} (near “{text}”)")
        return report
    unknown_filters = sorted({f.name for f in ast.find_all(nodes.Filter) if f.name not in env.filters})
    for name in unknown_filters:
        report.errors.append(f"uses unknown filter {name!r} (known: cn_date, cn_numeral and Jinja's own)")
    if unknown_filters:
        return report  # the variable analysis compiles the template, which needs its filters
    declared = spec.field_names()
    used = jinja2.meta.find_undeclared_variables(ast)
    for name in sorted(used - declared - RENDERER_NAMES):
        report.errors.append(f"uses undeclared field {name!r} (declare it in extra_fields of template.json)")
    _check_members(ast, spec, report)
    model_required = spec.json_schema().get("required", [])
    for name in model_required:
        if name not in used:
            report.warnings.append(f"required field {name!r} is not printed by the template")
    return report


def _check_members(ast: nodes.Template, spec: TemplateSpec, report: LintReport) -> None:
    lists = _item_members(spec)
    objects = _object_members(spec)
    loop_vars: dict[str, set[str] | None] = {}
    for loop in ast.find_all(nodes.For):
        if isinstance(loop.iter, nodes.Name) and isinstance(loop.target, nodes.Name):
            loop_vars[loop.target.name] = lists.get(loop.iter.name)
    for get in ast.find_all(nodes.Getattr):
        if not isinstance(get.node, nodes.Name):
            continue
        owner = get.node.name
        members: Any = loop_vars.get(owner) if owner in loop_vars else objects.get(owner)
        if owner == "loop":
            continue
        if members is None:
            continue  # scalars (str methods) and unknown shapes are left to rendering
        if get.attr not in members:
            report.errors.append(f"reads {owner}.{get.attr}, but items of {owner!r} have no {get.attr!r} "
                                 f"(they have: {', '.join(sorted(members))})")


def lint_all(specs: list[TemplateSpec]) -> list[LintReport]:
    return [lint_template(s) for s in specs]
