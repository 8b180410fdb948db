"""DatabaseSource: PostgreSQL, MySQL/MariaDB and SQLite tables as streams, read through DuckDB.

No YAML: the streams are the database's tables and views, discovered with a config. A read yields
``pyarrow.RecordBatch`` batches straight from DuckDB (no per-row Python objects), so the Parquet sink
writes Arrow as it comes and the NDJSON writer serialises whole batches::

    solidafy-cdk read --connector postgres \\
      --config-json '{"connection_string": "postgresql://app:secret@db:5432/shop"}' \\
      --streams public.orders --cursor-field public.orders=updated_at
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from source_solidafy.databases.catalog import Column, Table, list_tables, load_columns, resolve
from source_solidafy.databases.connection import PG_SSL_MODES, ConnectionSpec, connection_spec
from source_solidafy.databases.dialects import MYSQL, POSTGRES, SQLITE, Dialect
from source_solidafy.databases.query import KeyRange, build_select, state_value
from source_solidafy.databases.types import column_schema, usable_as_cursor
from source_solidafy.errors import ConfigError, SolidafyError, StateError, StreamError, redact
from source_solidafy.source import Batch, CheckResult, ConfigField, ReadContext, Source, StreamInfo

if TYPE_CHECKING:
    import pyarrow as pa

    from source_solidafy.databases.engine import DuckSession

DEFAULT_BATCH_SIZE = 10_000


class DatabaseConnectionError(StreamError):
    """The database could not be reached or refused us (host, port, credentials, database name)."""

    failure_type = "config_error"


class DatabaseSource(Source):
    """Shared by the three dialects; a subclass names its ``info`` (dialects.py) and gives its config form."""

    info: ClassVar[Dialect]
    dialect: ClassVar[str]
    category = "Database"
    streams_dynamic = True
    planner = "database"  # key ranges read as range scans (databases/plan.py)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "info" in cls.__dict__:  # a dialect's own class (not an intermediate one)
            cls.name = cls.dialect = cls.info.name
            cls.aliases, cls.description = cls.info.aliases, cls.info.description

    def __init__(self) -> None:
        self._sessions: dict[tuple[Any, ...], DuckSession] = {}
        self._lock = threading.Lock()

    # -- config ---------------------------------------------------------------------------------

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """Field checks, then: a connection is described, ``cursor_fields`` maps names to names."""
        out = super().validate_config(config)
        connection_spec(self.dialect, out)
        cursor_fields = out.get("cursor_fields") or {}
        bad = [k for k, v in cursor_fields.items() if not isinstance(v, str) or not v]
        if bad:
            raise ConfigError(
                f"{self.name}: config field 'cursor_fields' maps stream -> column name; "
                f"the value for {bad[0]!r} is not a column name"
            )
        if int(out.get("batch_size", DEFAULT_BATCH_SIZE)) < 1:
            raise ConfigError(f"{self.name}: config field 'batch_size' must be at least 1")
        return out

    def secrets(self, config: dict[str, Any]) -> list[str]:
        found = super().secrets(config)
        with contextlib.suppress(SolidafyError):
            found += list(connection_spec(self.dialect, config).secrets)
        return found

    # -- sessions -------------------------------------------------------------------------------

    def _session(self, config: dict[str, Any], ranged: bool = False) -> DuckSession:
        """One DuckDB per distinct connection, kept until :meth:`close` (extension load costs ~0.5 s).

        ``ranged``: for key-range reads (plan units), which the database should answer from its index
        (engine.py: no parallel scan of the whole table).
        """
        import duckdb

        from source_solidafy.databases.engine import DuckSession

        spec = connection_spec(self.dialect, self.validate_config(config))
        if self.confinement is not None:
            spec = self.confinement.database(spec)
        key = (spec.attach, tuple(sorted(spec.secret.items())), ranged)
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                _require_file(spec)
                try:
                    session = DuckSession(spec, whole_table_scans=not ranged)
                except duckdb.Error as exc:
                    raise DatabaseConnectionError(self._reason(exc, config)) from None
                self._sessions[key] = session
            return session

    def _reason(self, exc: BaseException, config: dict[str, Any]) -> str:
        text = str(exc)
        for prefix in ("IO Error: ", "Invalid Input Error: ", "Catalog Error: ", "Binder Error: "):
            text = text.removeprefix(prefix)
        return f"{self.name}: {redact(text.strip(), self.secrets(config))}"

    def _tables(self, config: dict[str, Any], with_columns: bool) -> dict[str, Table]:
        import duckdb

        session = self._session(config)
        con = session.cursor()
        try:
            tables = list_tables(con, self.dialect, session.spec.database)
            if with_columns:
                load_columns(con, self.dialect, list(tables.values()))
            return tables
        except duckdb.Error as exc:
            raise DatabaseConnectionError(self._reason(exc, config)) from None
        finally:
            con.close()

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            session.close()

    # -- Source ---------------------------------------------------------------------------------

    def check(self, config: dict[str, Any]) -> CheckResult:
        """"Connection successful. Found N tables." or the server's reason, password redacted."""
        try:
            tables = self._tables(config, with_columns=False)
        except DatabaseConnectionError as exc:
            return CheckResult(False, f"Connection failed: {exc.message}")
        return CheckResult(True, f"Connection successful. Found {len(tables)} tables.")

    def stream_names(self, config: dict[str, Any] | None = None) -> list[str]:
        if not config:
            raise ConfigError(
                f"{self.name}: streams are the database's tables; give a config "
                "(connection_string or host) to list them"
            )
        return list(self._tables(config, with_columns=False))

    def discover(self, config: dict[str, Any], sample: int = 0) -> list[StreamInfo]:
        cursor_fields = self.validate_config(config).get("cursor_fields") or {}
        out = []
        for stream, table in self._tables(config, with_columns=True).items():
            cursor = cursor_fields.get(stream)
            out.append(
                StreamInfo(
                    name=stream,
                    json_schema=_json_schema(table),
                    primary_key=[[c] for c in table.primary_key],
                    cursor_field=[cursor] if cursor and table.column(cursor) else None,
                )
            )
        return out

    def read_stream(self, stream: str, ctx: ReadContext) -> Iterator[Batch]:
        import duckdb

        config = self.validate_config(ctx.config)
        session = self._session(config, ranged=ctx.unit is not None and ctx.unit.kind == "range")
        con = session.cursor()
        try:
            tables = list_tables(con, self.dialect, session.spec.database)
            table = resolve(tables, stream, self.name)
            load_columns(con, self.dialect, [table])
            key_range = _unit_range(table, ctx)
            planned = key_range.cursor if key_range is not None else None  # the plan's --cursor-field
            cursor = self._cursor_column(table, ctx.cursor_field or planned, config)
            since = None
            if cursor is not None and ctx.sync_mode != "full_refresh":
                since = _incoming_cursor(ctx.state, stream)
            sql, params = build_select(table, cursor, since, ctx.max_records, key_range)
            size = int(ctx.tuning.batch_size or config.get("batch_size") or DEFAULT_BATCH_SIZE)
            try:
                reader = con.execute(sql, params).to_arrow_reader(size)
            except (duckdb.ConversionException, duckdb.BinderException) as exc:
                if since is None:
                    raise
                raise StateError(
                    f"{self.name}: stream {stream!r}: state cursor {since!r} is not a valid "
                    f"{cursor.type if cursor else ''} value ({exc})"
                ) from None
            yield from _batches(stream, reader, cursor, since, ctx)
        except duckdb.Error as exc:
            raise StreamError(f"{stream}: {self._reason(exc, config)}") from None
        finally:
            con.close()

    def _cursor_column(self, table: Table, given: str | None, config: dict[str, Any]) -> Column | None:
        """The cursor column: ``given`` (--cursor-field, the catalog), else the config's ``cursor_fields``."""
        name = given or (config.get("cursor_fields") or {}).get(table.stream)
        if not name:
            return None
        column = table.column(name)
        if column is None:
            names = ", ".join(c.name for c in table.columns)
            raise ConfigError(
                f"{self.name}: cursor field {name!r} is not a column of {table.stream} (columns: {names})"
            )
        if not usable_as_cursor(column.type):
            raise ConfigError(
                f"{self.name}: cursor field {table.stream}.{name} has type {column.type}; a cursor "
                "must be a number, text, uuid, date or timestamp column"
            )
        return column


def _unit_range(table: Table, ctx: ReadContext) -> KeyRange | None:
    """The key range of the plan unit being read (``read --plan``); None: the whole table."""
    unit = ctx.unit
    if unit is None or unit.kind != "range":
        return None
    return KeyRange.of_unit(table, unit.bounds, f"plan unit {unit.unit_id}")


def _require_file(spec: ConnectionSpec) -> None:
    from pathlib import Path

    if spec.dialect == "sqlite" and not Path(spec.attach).is_file():
        raise DatabaseConnectionError(f"sqlite: database file not found: {spec.attach}")


def _incoming_cursor(state: dict[str, Any] | None, stream: str) -> Any:
    if not state:
        return None
    if not isinstance(state, dict):
        raise StateError(f"state for stream {stream!r} must be an object like {{\"cursor\": ...}}")
    return state.get("cursor")


def _batches(
    stream: str, reader: pa.RecordBatchReader, cursor: Column | None, since: Any, ctx: ReadContext
) -> Iterator[Batch]:
    """Batches with the running maximum cursor as state; an empty batch carries a given state on."""
    high = since
    delivered = False
    target = _utc_schema(reader.schema)
    for batch in reader:
        if ctx.cancel.is_set():
            break
        if batch.num_rows == 0:
            continue
        if target is not None:
            batch = batch.cast(target)
        if cursor is not None:
            values = batch.column(cursor.name).drop_null()
            if len(values):
                high = state_value(values[len(values) - 1].as_py())
        delivered = True
        yield Batch(stream, batch, {"cursor": high} if cursor is not None and high is not None else None)
    if not delivered and cursor is not None and since is not None and not ctx.cancel.is_set():
        yield Batch(stream, _empty(reader), {"cursor": since})


def _empty(reader: pa.RecordBatchReader) -> pa.RecordBatch:
    import pyarrow as pa

    return pa.RecordBatch.from_pylist([], schema=_utc_schema(reader.schema) or reader.schema)


def _utc_schema(schema: pa.Schema) -> pa.Schema | None:
    """DuckDB labels UTC timestamps ``Etc/UTC``; relabel them ``UTC`` (metadata only, no copy): the
    canonical name in Parquet, and pyarrow turns ``UTC`` values into Python objects much faster."""
    import pyarrow as pa

    fields = [
        f.with_type(pa.timestamp(f.type.unit, tz="UTC"))
        if pa.types.is_timestamp(f.type) and f.type.tz == "Etc/UTC" else f
        for f in schema
    ]
    return pa.schema(fields, metadata=schema.metadata) if fields != list(schema) else None


def _json_schema(table: Table) -> dict[str, Any]:
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {c.name: column_schema(c.type, c.nullable) for c in table.columns},
        "additionalProperties": True,
    }


def _server_fields(dialect: Dialect) -> list[ConfigField]:
    label, scheme, port = dialect.label, dialect.url_scheme, dialect.default_port
    return [
        ConfigField(
            "connection_string", secret=True,
            description=f"{label} URL, {scheme}://user:password@host:{port}/database (URL-encode special "
            "characters); required unless 'host' is given",
            examples=(f"{scheme}://user:password@localhost:{port}/mydb",),
        ),
        ConfigField("host", description="Database host (instead of connection_string)"),
        ConfigField("port", "integer", description=f"Database port (default {port})"),
        ConfigField("database", description="Database name"),
        ConfigField("user", description="User name"),
        ConfigField("password", secret=True, description="Password"),
        ConfigField("ssl_mode", default="prefer", enum=PG_SSL_MODES, description="SSL mode"),
        *_common_fields(),
    ]


def _common_fields() -> list[ConfigField]:
    return [
        ConfigField(
            "cursor_fields", "object",
            description='Incremental cursor column per stream, e.g. {"public.orders": "updated_at"}',
        ),
        ConfigField(
            "batch_size", "integer", default=DEFAULT_BATCH_SIZE, description="Rows per Arrow batch"
        ),
    ]


class ServerSource(DatabaseSource):
    """PostgreSQL or MySQL/MariaDB: a server reached by URL, or host, port, user and password."""

    def config_fields(self) -> list[ConfigField]:
        return _server_fields(self.info)


class PostgresSource(ServerSource):
    info = POSTGRES


class MySQLSource(ServerSource):
    info = MYSQL


class SQLiteSource(DatabaseSource):
    info = SQLITE

    def config_fields(self) -> list[ConfigField]:
        return [
            ConfigField(
                "connection_string", required=True,
                description="Path of the SQLite database file", examples=("/path/to/database.db",),
            ),
            *_common_fields(),
        ]


SOURCES: dict[str, type[DatabaseSource]] = {cls.name: cls for cls in (PostgresSource, MySQLSource, SQLiteSource)}
