"""Database access: one SQLAlchemy ``Base`` for every table, SQLite by default, PostgreSQL by URL.

Each domain keeps its tables beside its code (``scribe/delivery/models.py``, ...) and imports
``Base`` from here; ``create_schema`` creates whatever tables have been imported.
"""

from scribe.storage.db import Base, Database, utcnow

__all__ = ["Base", "Database", "utcnow"]
