"""Database connectors (PostgreSQL, MySQL/MariaDB, SQLite) read through embedded DuckDB.

Importing this package imports neither duckdb nor pyarrow; they load when a source connects.
"""

from __future__ import annotations

from source_solidafy.databases.source import (
    DatabaseSource,
    MySQLSource,
    PostgresSource,
    SQLiteSource,
)
from source_solidafy.source import Source

_CLASSES: tuple[type[DatabaseSource], ...] = (PostgresSource, MySQLSource, SQLiteSource)
DATABASE_CONNECTORS: list[str] = [cls.name for cls in _CLASSES]


def get_database_source(name: str) -> Source | None:
    """A new Source for a database connector name or alias (``postgresql``, ``mariadb``), else None."""
    wanted = name.strip().lower()
    for cls in _CLASSES:
        if wanted == cls.name or wanted in cls.aliases:
            return cls()
    return None


__all__ = ["DATABASE_CONNECTORS", "DatabaseSource", "get_database_source"]
