"""The ``scribe`` command. Each sub-command group lives in its own module here.

Errors from the product (``ScribeError``) are printed as one line with their fix and turned
into a non-zero exit status; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import importlib
import sys

import typer

from scribe.errors import ScribeError

app = typer.Typer(
    name="scribe",
    help=(
        "Mediation scribe: records and transcribes mediation hearings and legal consultations "
        "(Mandarin and English), separates speakers, and drafts the 人民调解协议书, 法律咨询记录 "
        "and 人民调解记录 for staff to review.\n\n"
        "Start with `scribe models install`, then `scribe transcribe FILE`."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    # Imported here so `scribe --help` stays fast and each group owns its own imports.
    from scribe.cli import models as models_cli
    from scribe.cli import transcribe as transcribe_cli

    app.add_typer(models_cli.app, name="models")
    transcribe_cli.register(app)
    for group in ("diarize", "draft", "record", "sessions", "deliveries", "endpoints", "privacy", "users", "serve"):
        importlib.import_module(f"scribe.cli.{group}").register(app)


def main() -> None:
    _register()
    try:
        app()
    except ScribeError as exc:
        print(f"scribe: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("scribe: interrupted", file=sys.stderr)
        sys.exit(130)
