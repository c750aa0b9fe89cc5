"""Columns added to a table after a database was created: added in place at start-up.

``create_all`` makes missing tables but never changes an existing one, so a site's database
from an earlier version would lack the columns later versions read. Only additive changes are
made this way (a new nullable column, or one with a constant default); anything else needs a
written migration.
"""

from __future__ import annotations

import logging

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.schema import MetaData

log = logging.getLogger(__name__)


def add_missing_columns(engine: Engine, metadata: MetaData) -> list[str]:
    """``ALTER TABLE ... ADD COLUMN`` for each mapped column the database lacks; their names."""
    added: list[str] = []
    found = inspect(engine)
    tables = set(found.get_table_names())
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            if table.name not in tables:
                continue
            have = {c["name"] for c in found.get_columns(table.name)}
            for column in table.columns:
                if column.name in have:
                    continue
                kind = column.type.compile(dialect=engine.dialect)
                default = ""
                if column.default is not None and getattr(column.default, "is_scalar", False):
                    value = column.default.arg  # type: ignore[attr-defined]
                    default = f" DEFAULT {int(value) if isinstance(value, bool) else repr(value)}"
                # added as nullable: rows already there have no value for it but the default
                conn.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}{default}'))
                added.append(f"{table.name}.{column.name}")
            for index in table.indexes:  # the new columns' indexes (create_all skips existing tables)
                if any(f"{table.name}.{c.name}" in added for c in index.columns):
                    index.create(conn, checkfirst=True)
    for name in added:
        log.info("database: added column %s", name)
    return added
