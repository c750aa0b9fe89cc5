"""``scribe draft`` (a document from a transcript and a session file) and ``scribe templates``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from scribe.errors import DocumentError

console = Console(stderr=True)
templates_app = typer.Typer(help="List, lint and describe document templates (built-in and site).",
                            no_args_is_help=True)


def _registry(settings):  # type: ignore[no-untyped-def]
    from doc_templates.registry import load_registry

    return load_registry(settings.template_dir)


def _load_transcript(path: Path):  # type: ignore[no-untyped-def]
    from scribe.types import Transcript

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Transcript.from_dict(data)
    except FileNotFoundError:
        raise DocumentError(f"transcript {path} does not exist",
                            fix="pass the JSON written by `scribe transcribe --json`") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DocumentError(f"transcript {path} is not UTF-8 JSON ({exc})",
                            fix="pass the JSON written by `scribe transcribe`") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise DocumentError(f"transcript {path} does not follow the transcript format (bad or missing {exc})",
                            fix="see docs/transcript-format.md") from None


def draft(
    transcript: Annotated[Path, typer.Option("--transcript", "-t", help="T.json from `scribe transcribe`")],
    session: Annotated[Path, typer.Option("--session", "-s", help="S.json: what staff typed (docs/session-format.md)")],
    template: Annotated[str, typer.Option("--template", help="mediation-agreement | consultation-record | "
                                          "hearing-record, or a site template")],
    output: Annotated[Path, typer.Option("-o", "--output", help="draft.json to write (docs/draft-format.md)")],
    docx: Annotated[Path | None, typer.Option("--docx", help="also render the document as .docx")] = None,
    pdf: Annotated[Path | None, typer.Option("--pdf", help="also render a PDF (needs LibreOffice)")] = None,
    use_model: Annotated[bool, typer.Option("--model/--no-model",
                                            help="use the drafting model of SCRIBE_DRAFTING_MODEL if set")] = True,
) -> None:
    """Draft a document from a transcript and the session data; every field says where it came from."""
    from scribe.casefile import CaseFile
    from scribe.drafting import draft_document, load_generator
    from scribe.settings import get_settings

    settings = get_settings()
    spec = _registry(settings).get(template)
    casefile = CaseFile.load(session)
    tr = _load_transcript(transcript)
    generator = load_generator(settings) if use_model else None
    result = draft_document(tr, casefile, kind=spec.document, template=spec.name, title=spec.title,
                            generator=generator, timeout_s=settings.drafting_timeout_s,
                            max_new_tokens=settings.drafting_max_new_tokens)
    result.dump(output)
    console.print(f"draft: {output} ({spec.title}, {len(result.fields)} fields, "
                  f"{len(result.missing)} missing, {len(result.problems)} problems)")
    for w in result.warnings:
        console.print(f"[yellow]warning:[/] {w}")
    if result.missing:
        console.print("missing: " + ", ".join(result.missing))
    if docx is not None or pdf is not None:
        render(result, spec, casefile.custom, docx, pdf, settings)


def render(result, spec, custom, docx: Path | None, pdf: Path | None, settings) -> None:  # type: ignore[no-untyped-def]
    import tempfile

    from doc_templates.render import docx_to_pdf, render_docx

    if docx is not None:
        render_docx(result, spec, docx, custom=custom)
        console.print(f"docx: {docx}")
    if pdf is not None:
        with tempfile.TemporaryDirectory(prefix="scribe-draft-") as tmp:
            source = docx if docx is not None else render_docx(result, spec, Path(tmp) / f"{pdf.stem}.docx",
                                                             custom=custom)
            docx_to_pdf(source, pdf, spec, soffice=settings.soffice_binary, timeout_s=settings.pdf_timeout_s)
        console.print(f"pdf: {pdf}")


@templates_app.command("list")
def list_templates() -> None:
    """Show the templates this site can use and where each comes from."""
    from scribe.settings import get_settings

    reg = _registry(get_settings())
    for name in reg.names():
        spec = reg.get(name)
        where = "built-in" if spec.builtin else str(spec.directory)
        typer.echo(f"{name}\t{spec.title}\t{spec.document}\t{where}")


@templates_app.command("lint")
def lint(
    directory: Annotated[Path | None, typer.Argument(help="a template folder, or a folder of them; "
                                                    "default: all templates in use")] = None,
) -> None:
    """Check templates parse and only use declared fields (exit 8 on errors)."""
    from doc_templates.lint import lint_template
    from doc_templates.registry import SCHEMA_FILE, load_spec
    from scribe.settings import get_settings

    if directory is None:
        reg = _registry(get_settings())
        specs = [reg.get(n) for n in reg.names()]
    elif (directory / SCHEMA_FILE).exists():
        specs = [load_spec(directory, builtin=False)]
    else:
        specs = [load_spec(d, builtin=False) for d in sorted(directory.iterdir()) if d.is_dir()]
    failed = 0
    for spec in specs:
        report = lint_template(spec)
        status = "ok" if report.ok else "FAILED"
        typer.echo(f"{spec.name}: {status}")
        for e in report.errors:
            typer.echo(f"  error: {e}")
        for w in report.warnings:
            typer.echo(f"  warning: {w}")
        failed += not report.ok
    if failed:
        raise DocumentError(f"{failed} template(s) failed the lint", fix="fix the errors listed above")


@templates_app.command("schema")
def schema(
    name: Annotated[str, typer.Argument(help="template name")],
    output: Annotated[Path | None, typer.Option("-o", help="write to this file instead of stdout")] = None,
) -> None:
    """Print the JSON Schema of the fields a template is filled with."""
    from scribe.settings import get_settings

    text = json.dumps(_registry(get_settings()).get(name).json_schema(), ensure_ascii=False, indent=2)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
    else:
        typer.echo(text)


@templates_app.command("render")
def render_cmd(
    draft_json: Annotated[Path, typer.Argument(help="a draft.json (possibly edited by a reviewer)")],
    docx: Annotated[Path | None, typer.Option("--docx")] = None,
    pdf: Annotated[Path | None, typer.Option("--pdf")] = None,
    session: Annotated[Path | None, typer.Option("--session", help="S.json, for a site template's custom fields")] = None,
) -> None:
    """Render a (reviewed) draft.json again as .docx / PDF with its template."""
    from scribe.casefile import CaseFile
    from scribe.extract.draft import Draft
    from scribe.settings import get_settings

    settings = get_settings()
    result = Draft.load(draft_json)
    spec = _registry(settings).get(result.template)
    custom = CaseFile.load(session).custom if session else {}
    if docx is None and pdf is None:
        raise DocumentError("nothing to render", fix="pass --docx and/or --pdf")
    render(result, spec, custom, docx, pdf, settings)


def register(app: typer.Typer) -> None:
    app.command("draft")(draft)
    app.add_typer(templates_app, name="templates")
