"""An embedded DuckDB that reads one database through a scanner extension, offline and read-only.

Why each setting:

- the extension comes from the ``duckdb_extension_<name>`` Python package
  (:mod:`~source_solidafy.databases.extensions`), loaded from its file (the
  ``extension_directory`` is private and temporary all the same); ``autoinstall_known_extensions``
  and ``autoload_known_extensions`` are off and the configuration is locked afterwards, so nothing is
  ever downloaded, not even by a query that would need another extension (it fails instead);
- ``enable_progress_bar`` is off: DuckDB would otherwise draw on stdout and corrupt the NDJSON;
- ``TimeZone`` is UTC, so ``timestamptz`` values (and the cursors saved in state) do not depend on the
  machine; ``temp_directory`` (sort spill space) is private too;
- a session for key-range reads (plan units, ``whole_table_scans=False``) turns PostgreSQL's
  parallel ``ctid`` scan off: it splits a read into page ranges and sends each the WHERE, so every
  range read would still visit every page; without it PostgreSQL answers one range query from the
  key's index;
- the database is attached ``READ_ONLY`` and external access is switched off after the attach:
  nothing is written to the source, no local file can be read or written through this connection.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import weakref
from typing import TYPE_CHECKING

from source_solidafy.databases.connection import ConnectionSpec, sql_literal
from source_solidafy.databases.extensions import load_extension

if TYPE_CHECKING:
    import duckdb

ALIAS = "src"  # the attached catalog's name inside DuckDB
_SECRET = "solidafy_src"


class DuckSession:
    """One DuckDB instance with the source database attached as ``src``; thread-safe via :meth:`cursor`."""

    def __init__(self, spec: ConnectionSpec, whole_table_scans: bool = True) -> None:
        import duckdb

        self.spec = spec
        self.whole_table_scans = whole_table_scans
        self.workdir = tempfile.mkdtemp(prefix="solidafy-duckdb-")
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.workdir, True)
        self._lock = threading.Lock()
        try:
            self.con: duckdb.DuckDBPyConnection = duckdb.connect(
                ":memory:",
                config={
                    "extension_directory": f"{self.workdir}/extensions",
                    "autoinstall_known_extensions": False,
                    "autoload_known_extensions": False,
                    "allow_community_extensions": False,
                    "temp_directory": f"{self.workdir}/tmp",
                },
            )
            self._setup()
        except BaseException:
            self.close()
            raise

    def _setup(self) -> None:
        con = self.con
        con.execute("SET enable_progress_bar = false")
        con.execute("SET TimeZone = 'UTC'")
        load_extension(con, self.spec.extension, self.workdir)
        if not self.whole_table_scans and self.spec.dialect == "postgres":
            con.execute("SET pg_use_ctid_scan = false")  # else every range read visits every page
        options = [f"TYPE {self.spec.dialect}", "READ_ONLY"]
        if self.spec.secret:
            params = ", ".join(f"{k.upper()} {_secret_value(v)}" for k, v in self.spec.secret.items())
            con.execute(f"CREATE TEMPORARY SECRET {_SECRET} (TYPE {self.spec.dialect}, {params})")
            options.insert(1, f"SECRET {_SECRET}")
        con.execute(f"ATTACH {sql_literal(self.spec.attach)} AS {ALIAS} ({', '.join(options)})")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own on the same instance (DuckDB connections are not shared across threads)."""
        with self._lock:
            return self.con.cursor()

    def close(self) -> None:
        con = getattr(self, "con", None)
        if con is not None:
            con.close()
        self._cleanup()


def _secret_value(value: object) -> str:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else sql_literal(value)
