"""Rendered documents kept by what they were rendered from, so a file is never stale.

A rendered .docx or PDF is stored under the hash of everything its bytes depend on: the field
values (and which are missing), the template's ``template.docx`` and ``template.json``, the
site's ``custom`` values, whether it is the final (approved) document or a draft, and
``RENDERER`` (bumped when the rendering code changes its output). Asking for the same document
twice serves the file already made; changing a field, the template or the approval gives a new
key and therefore a new file. Nothing is ever rendered "once and cached" under a fixed name, which
is how an approved PDF used to come out byte-identical to an earlier draft's.

A file, once under its key, is never replaced: a second render of the same key (two requests at
once) is thrown away, so the bytes whose hash an approval recorded stay the bytes on disk.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

from doc_templates.registry import SCHEMA_FILE, TemplateSpec
from doc_templates.render import docx_to_pdf, render_docx
from scribe.extract.draft import Draft
from scribe.extract.fields import FieldValue

RENDERER = "2"  # bump when render.py prints the same input differently


def _render_input(fv: FieldValue) -> Any:
    # what render.template_context reads of a field: values, missing-ness and the structure
    if fv.items is not None:
        return {"items": [_render_input(i) for i in fv.items], "missing": fv.is_missing}
    if fv.parts is not None:
        return {"parts": {k: _render_input(p) for k, p in fv.parts.items()}}
    return {"value": fv.value, "missing": fv.source == "missing"}


def render_key(draft: Draft, spec: TemplateSpec, custom: dict[str, str] | None, *, final: bool) -> str:
    """The content hash a rendering of ``draft`` with ``spec`` is stored under."""
    digest = hashlib.sha256()
    digest.update(spec.docx.read_bytes())
    digest.update(b"\0")
    digest.update((spec.directory / SCHEMA_FILE).read_bytes())
    content = {
        "renderer": RENDERER,
        "template": spec.name,
        "document": draft.document,
        "final": final,
        "custom": dict(sorted((custom or {}).items())),
        "fields": {name: _render_input(fv) for name, fv in sorted(draft.fields.items())},
    }
    digest.update(b"\0")
    digest.update(json.dumps(content, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8"))
    return digest.hexdigest()


def _keep(tmp: Path, target: Path) -> Path:
    """Put ``tmp`` at ``target`` unless a file is already there (then ``tmp`` is dropped)."""
    try:
        os.link(tmp, target)  # atomic and never overwrites: the first render of a key wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return target


def rendered_docx(draft: Draft, spec: TemplateSpec, folder: Path, *, custom: dict[str, str] | None = None,
                  final: bool = False) -> Path:
    """The .docx of ``draft`` (rendered now unless this exact content was rendered before)."""
    target = folder / f"{render_key(draft, spec, custom, final=final)}.docx"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".tmp-{secrets.token_hex(6)}.docx"
    render_docx(draft, spec, tmp, custom=custom, final=final)
    return _keep(tmp, target)


def rendered_pdf(draft: Draft, spec: TemplateSpec, folder: Path, *, custom: dict[str, str] | None = None,
                 final: bool = False, soffice: str = "soffice", timeout_s: float = 180.0) -> Path:
    """The PDF of ``draft``, converted from the .docx of the same content."""
    key = render_key(draft, spec, custom, final=final)
    target = folder / f"{key}.pdf"
    if target.is_file():
        return target
    docx = rendered_docx(draft, spec, folder, custom=custom, final=final)
    tmp = folder / f".tmp-{secrets.token_hex(6)}.pdf"
    docx_to_pdf(docx, tmp, spec, soffice=soffice, timeout_s=timeout_s)
    return _keep(tmp, target)
