"""The database the admin commands work on (``SCRIBE_DATABASE_URL``, default SQLite)."""

from __future__ import annotations

from scribe.settings import Settings, get_settings
from scribe.storage import Database


def open_database(settings: Settings | None = None) -> Database:
    import scribe.accounts.models  # noqa: F401  (tables)
    import scribe.delivery.models  # noqa: F401
    import scribe.privacy.models  # noqa: F401
    import scribe.review.lexicon  # noqa: F401
    import scribe.review.models  # noqa: F401
    import scribe.web.models  # noqa: F401

    settings = settings or get_settings()
    db = Database(settings.db_url, key_file=settings.secrets_key_path)
    db.create_schema()
    return db
