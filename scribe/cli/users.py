"""``scribe users list | unlock NAME``: the accounts of the desk server, for the machine's
operator (an admin locked out of the web has no other way in). Audited like the web's unlock,
under the machine account that runs the command."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy import select

from scribe.cli._db import open_database
from scribe.errors import AccountError

users_app = typer.Typer(help="Accounts of the desk server: list them, unlock one that failed logins locked.",
                        no_args_is_help=True)
out = Console()


@users_app.command("list")
def list_users() -> None:
    """Every account: name, role, office, active, locked until."""
    from scribe.accounts.models import User
    from scribe.accounts.service import _aware
    from scribe.storage import utcnow

    db = open_database()
    try:
        with db.transaction() as tx:
            for u in tx.scalars(select(User).order_by(User.id)):
                until = ""
                if u.locked_until is not None and _aware(u.locked_until) > utcnow():
                    until = f" locked until {_aware(u.locked_until).isoformat(timespec='seconds')}"
                state = "active" if u.active else "disabled"
                typer.echo(f"{u.id}\t{u.username}\t{u.role}\t{u.office}\t{state}{until}")  # tab-separated
    finally:
        db.dispose()


@users_app.command("unlock")
def unlock(name: Annotated[str, typer.Argument(help="the user name (login name) of the account")]) -> None:
    """Unlock an account that too many wrong passwords locked, at once. A running server honours
    it at the account's next login."""
    from scribe.accounts import audit, service
    from scribe.accounts.audit import Action
    from scribe.accounts.models import User
    from scribe.cli.diarize import _cli_actor

    db = open_database()
    try:
        with db.transaction() as tx:
            user = tx.scalar(select(User).where(User.username == name.strip()))
            if user is None:
                raise AccountError(f"there is no account {name!r}", fix="see `scribe users list` for the user names")
            was_locked = service.unlock_user(tx, user)
            audit.record(tx, _cli_actor(), Action.UNLOCK, "user", user.id, office=user.office,
                         was_locked=was_locked, via="cli")  # fmt: skip
    finally:
        db.dispose()
    out.print(f"unlocked {name}" if was_locked else f"{name} was not locked",
              markup=False)


def register(root: typer.Typer) -> None:
    root.add_typer(users_app, name="users")
