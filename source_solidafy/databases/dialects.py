"""The database connectors' names, aliases and defaults, in one table (imports nothing heavy).

The registry lists them from here (``list`` loads no database code), the sources take their names
and config forms from here, and a connection URL's scheme must be the name or an alias.
"""

from __future__ import annotations

from typing import NamedTuple


class Dialect(NamedTuple):
    name: str  # the connector name, DuckDB's ATTACH TYPE and the duckdb_extension_<name> package
    aliases: tuple[str, ...]  # other connector names, also accepted as URL schemes
    label: str  # for people: PostgreSQL, MySQL/MariaDB, SQLite
    url_scheme: str | None  # the scheme shown in examples; None: the connection string is a file path
    default_port: int | None

    @property
    def description(self) -> str:
        return f"{self.label} database tables via DuckDB"

    @property
    def url_schemes(self) -> tuple[str, ...]:
        """The schemes a connection URL may use: the name and every alias."""
        return (self.name, *self.aliases)

    def example_url(self, port: int | None = None) -> str:
        return f"{self.url_scheme}://user:password@host:{port or self.default_port}/db"


POSTGRES = Dialect("postgres", ("postgresql",), "PostgreSQL", "postgresql", 5432)
MYSQL = Dialect("mysql", ("mariadb",), "MySQL/MariaDB", "mysql", 3306)
SQLITE = Dialect("sqlite", (), "SQLite", None, None)
DIALECTS: dict[str, Dialect] = {d.name: d for d in (POSTGRES, MYSQL, SQLITE)}


def find_dialect(name: str) -> Dialect | None:
    """The dialect whose name or alias is ``name`` (any case, surrounding blanks ignored)."""
    key = name.strip().lower()
    return next((d for d in DIALECTS.values() if key == d.name or key in d.aliases), None)
