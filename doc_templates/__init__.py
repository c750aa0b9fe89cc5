"""Document templates: field schemas (the law's rules as validation), the built-in Word
templates and a site's own, the linter, and rendering to .docx / PDF.

Typical use (the server does the same as ``scribe draft``)::

    from doc_templates import load_registry, render_docx, docx_to_pdf
    from scribe.drafting import draft_document

    spec = load_registry(settings.template_dir).get("mediation-agreement")
    draft = draft_document(transcript, casefile, kind=spec.document, template=spec.name, title=spec.title)
    render_docx(draft, spec, out_dir / "agreement.docx", custom=casefile.custom)
"""

from doc_templates.lint import LintReport, lint_template
from doc_templates.registry import TemplateRegistry, TemplateSpec, load_registry
from doc_templates.render import docx_to_pdf, render_docx

__all__ = [
    "LintReport",
    "TemplateRegistry",
    "TemplateSpec",
    "docx_to_pdf",
    "lint_template",
    "load_registry",
    "render_docx",
]
