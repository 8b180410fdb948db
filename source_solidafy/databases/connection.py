"""Turn a database connector config into what DuckDB needs to attach the database.

Credentials never travel inside the ATTACH string: host, port, user, password and database go into a
temporary DuckDB secret (``CREATE TEMPORARY SECRET``), so DuckDB's own error messages ("Unable to
connect to Postgres at ...") cannot print the password, and a password with quotes, spaces, ``@`` or
``=`` needs no escaping beyond a SQL string literal. The ATTACH string only carries options::

    {"connection_string": "postgresql://app:p%40ss@db.internal:5432/shop?sslmode=require"}
    {"host": "db.internal", "port": 5432, "database": "shop", "user": "app", "password": "p@ss"}

A connection string that is not a URL (a libpq ``key=value`` string, a MySQL ``host=... user=...``
string) is handed to DuckDB as it is; its password is still known to :attr:`ConnectionSpec.secrets`
so every message is redacted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from source_solidafy.databases.dialects import DIALECTS
from source_solidafy.errors import ConfigError

PG_SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_MYSQL_SSL = {
    "disable": "disabled",
    "allow": "preferred",
    "prefer": "preferred",
    "require": "required",
    "verify-ca": "verify_ca",
    "verify-full": "verify_identity",
}
_PG_CONNECT_TIMEOUT = 10
_KV_PASSWORD = re.compile(r"""\b(?:password|passwd)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)""", re.IGNORECASE)


@dataclass(frozen=True)
class ConnectionSpec:
    """Everything :mod:`engine` needs: which extension, the ATTACH string, the secret parameters."""

    dialect: str  # postgres | mysql | sqlite (also the DuckDB ATTACH TYPE)
    attach: str  # ATTACH path: options (postgres/mysql) or a file path (sqlite)
    secret: dict[str, Any] = field(default_factory=dict)  # CREATE SECRET parameters, may be empty
    database: str | None = None  # the database named in the config (MySQL stream naming)
    secrets: tuple[str, ...] = ()  # values to redact from every message
    options: dict[str, str] = field(default_factory=dict)  # the connection string's ?options, as given
    given_path: str | None = None  # sqlite: the file path as the config gave it (before ~ and the cwd)

    @property
    def extension(self) -> str:
        """Name of the ``duckdb_extension_<name>`` package; the loaded extension is ``<name>_scanner``."""
        return self.dialect


def connection_spec(dialect: str, config: dict[str, Any]) -> ConnectionSpec:
    """Build the spec for ``dialect`` from a validated config; raise ConfigError naming the field."""
    if dialect == "sqlite":
        return _sqlite_spec(config)
    conn = str(config.get("connection_string") or "").strip()
    if not conn and not config.get("host"):
        example = DIALECTS[dialect].example_url()
        raise ConfigError(
            f"{dialect}: config needs 'connection_string' (e.g. {example}) or 'host' "
            "(with 'port', 'database', 'user', 'password')"
        )
    params: dict[str, Any] = {}
    options: dict[str, str] = {}
    if conn and "://" not in conn:
        return _raw_spec(dialect, conn, config)
    if conn:
        params, options = _parse_url(dialect, conn)
    else:
        params = _field_params(config)
    given = dict(options)
    ssl = str(config.get("ssl_mode") or "prefer")
    if dialect == "postgres":
        options.setdefault("sslmode", ssl)
        options.setdefault("connect_timeout", str(_PG_CONNECT_TIMEOUT))
        attach = " ".join(f"{k}={_libpq_quote(v)}" for k, v in options.items())
    else:
        params.update(options)
        params.setdefault("ssl_mode", _MYSQL_SSL.get(ssl, ssl))
        attach = ""
    password = str(params.get("password") or "")
    return ConnectionSpec(
        dialect=dialect,
        attach=attach,
        secret=params,
        database=params.get("database") or None,
        secrets=tuple(s for s in (password, str(config.get("password") or "")) if s),
        options=given,
    )


def _field_params(config: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("host", "port", "database", "user", "password"):
        value = config.get(key)
        if value is not None and value != "":
            out[key] = int(value) if key == "port" else str(value)
    return out


def _parse_url(dialect: str, conn: str) -> tuple[dict[str, Any], dict[str, str]]:
    """``scheme://user:password@host:port/database?option=value`` with URL-encoded parts."""
    schemes = DIALECTS[dialect].url_schemes
    parts = urlsplit(conn)
    if parts.scheme.lower() not in schemes:
        wanted = " or ".join(f"{s}://" for s in schemes)
        raise ConfigError(
            f"{dialect}: config field 'connection_string' must start with {wanted}, got {parts.scheme}://"
        )
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"{dialect}: the port in 'connection_string' is not a number") from None
    params: dict[str, Any] = {}
    if parts.hostname:
        params["host"] = unquote(parts.hostname)
    if port:
        params["port"] = port
    if parts.username:
        params["user"] = unquote(parts.username)
    if parts.password:
        params["password"] = unquote(parts.password)
    if parts.path.strip("/"):
        params["database"] = unquote(parts.path.lstrip("/"))
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    if dialect == "mysql":
        mode = options.pop("sslmode", None) or options.pop("ssl_mode", None)
        if mode:
            options["ssl_mode"] = _MYSQL_SSL.get(mode, mode)
    return params, options


def _raw_spec(dialect: str, conn: str, config: dict[str, Any]) -> ConnectionSpec:
    """A ``key=value`` connection string: passed through; its password is remembered for redaction."""
    found = [m.group(1) for m in _KV_PASSWORD.finditer(conn)]
    secrets = [f.strip("'") for f in found] + found
    database = None
    m = re.search(r"\b(?:dbname|database|db)\s*=\s*(\S+)", conn)
    if m:
        database = m.group(1).strip("'")
    if config.get("password"):
        secrets.append(str(config["password"]))
    return ConnectionSpec(dialect=dialect, attach=conn, database=database, secrets=tuple(s for s in secrets if s))


def _sqlite_spec(config: dict[str, Any]) -> ConnectionSpec:
    raw = str(config.get("connection_string") or config.get("database") or "").strip()
    if not raw:
        raise ConfigError("sqlite: config needs 'connection_string': the path of the SQLite database file")
    for prefix in ("sqlite:///", "sqlite://", "file:"):
        if raw.startswith(prefix):
            raw = raw[len(prefix) :]
            break
    return ConnectionSpec(dialect="sqlite", attach=str(Path(raw).expanduser().resolve()), given_path=raw)


def _libpq_quote(value: str) -> str:
    """libpq ``key='value'`` quoting: backslash and single quote are escaped with a backslash."""
    if value and re.fullmatch(r"[A-Za-z0-9_.\-/:]+", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def sql_literal(value: object) -> str:
    """A DuckDB string literal: single quotes doubled, nothing else is special."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    """A DuckDB quoted identifier: double quotes doubled, so any name is taken literally."""
    return '"' + name.replace('"', '""') + '"'
