"""``scribe serve``: start the desk and review server.

On first start (no admin yet) it creates the admin from SCRIBE_ADMIN_PASSWORD, or asks for a
password on the terminal; there is never a default password. It prints the desk address.
"""

from __future__ import annotations

import getpass
import os
import sys

import typer

from scribe.errors import AccountError, ConfigError


def ensure_admin(settings, *, interactive: bool) -> str | None:  # type: ignore[no-untyped-def]
    """Create the first admin if there is none. Returns the user name created, if any."""
    from scribe.accounts import audit, service
    from scribe.accounts.audit import Action
    from scribe.accounts.principal import ALL_OFFICES, Role
    from scribe.storage import Database
    from server import _import_tables, bootstrap_admin

    _import_tables()
    db = Database(settings.db_url, key_file=settings.secrets_key_path)
    db.create_schema()
    try:
        with db.transaction() as tx:
            if service.has_admin(tx):
                return None
        if settings.server.admin_password is not None:
            return bootstrap_admin(db, settings)
        if not interactive:
            raise ConfigError(
                "there is no admin account yet and no password to create one",
                fix="set SCRIBE_ADMIN_PASSWORD (10+ characters) for the first start, or run "
                "`scribe serve` in a terminal to type one",
            )
        typer.echo(f"First start: creating the admin account {settings.server.admin_username!r}.")
        while True:
            first = getpass.getpass("Admin password (10+ characters): ")
            if getpass.getpass("Again: ") != first:
                typer.echo("The two passwords differ; try again.")
                continue
            try:
                with db.transaction() as tx:
                    user = service.create_user(tx, settings.server.admin_username, first, Role.ADMIN, ALL_OFFICES)
                    audit.record(tx, "system:bootstrap", Action.CREATE, "user", user.id, role="admin")
                return settings.server.admin_username
            except AccountError as exc:  # too short, too plain
                typer.echo(str(exc))
    finally:
        db.dispose()


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option(None, help="Address to listen on (default: SCRIBE_HOST or 127.0.0.1)"),
        port: int = typer.Option(None, help="Port (default: SCRIBE_PORT or 8000)"),
        no_models: bool = typer.Option(
            False, "--no-models", help="Serve pages and the API without loading speech models (no live recording)"
        ),
    ) -> None:
        """Start the desk and review server and print the address of the desk page."""
        import uvicorn

        from scribe.settings import Settings
        from scribe.storage.files import protect_data_dir, service_umask
        from scribe.web.access_log import uvicorn_options
        from server import create_app

        service_umask()  # before anything is written: the database, keys, recordings

        overrides: dict = {}
        if host:
            overrides["host"] = host
        if port:
            overrides["port"] = port
        if no_models:
            overrides["server_load_models"] = False
        settings = Settings(**overrides)
        protect_data_dir(settings.data_dir)
        created = ensure_admin(settings, interactive=sys.stdin.isatty())
        base = settings.server.public_url or f"http://{'127.0.0.1' if settings.server.host in ('0.0.0.0', '::') else settings.server.host}:{settings.server.port}"
        typer.echo(f"Database: {settings.db_url.split('@')[-1]}   data: {settings.data_dir}")
        if created:
            typer.echo(f"Created the admin account {created!r}; log in with the password you set.")
        typer.echo(f"Desk page: {base}/   (log in, then 新建案件 / New case)")
        os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
        if settings.server.host not in ("127.0.0.1", "::1", "localhost") and not (
                settings.server.public_url or "").startswith("https://") and settings.server.cookie_secure is not True:
            typer.echo(f"Warning: listening on {settings.server.host} without an https public URL: login cookies "
                       "are not Secure and passwords cross the network in clear. Put the server behind HTTPS "
                       "and set SCRIBE_SERVER__PUBLIC_URL=https://... (docs/security.md).", err=True)
        uvicorn.run(create_app(settings), host=settings.server.host, port=settings.server.port, log_level="info",
                    ws="auto", **uvicorn_options())
