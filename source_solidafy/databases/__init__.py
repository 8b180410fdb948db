"""Database connectors (PostgreSQL, MySQL/MariaDB, SQLite) read through embedded DuckDB.

Importing this package imports no database code (nor duckdb, nor pyarrow): the names and aliases
are in ``dialects.py``; the sources load when one is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from source_solidafy.databases.dialects import DIALECTS, find_dialect

if TYPE_CHECKING:
    from source_solidafy.source import Source

DATABASE_CONNECTORS: list[str] = list(DIALECTS)


def get_database_source(name: str) -> Source | None:
    """A new Source for a database connector name or alias (``postgresql``, ``mariadb``), else None."""
    dialect = find_dialect(name)
    if dialect is None:
        return None
    from source_solidafy.databases.source import SOURCES

    return SOURCES[dialect.name]()


__all__ = ["DATABASE_CONNECTORS", "get_database_source"]
