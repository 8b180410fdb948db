"""The sqlite connector on files made by the test, and the proof that DuckDB never downloads anything."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from source_solidafy.databases import get_database_source
from source_solidafy.databases.source import DatabaseSource
from source_solidafy.errors import ConfigError, UnknownStreamError
from source_solidafy.source import ReadContext

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "shop.db"
    con = sqlite3.connect(path)
    con.executescript(
        """
        CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, balance REAL, data BLOB,
                                created DATETIME, born DATE, note VARCHAR(10));
        CREATE TABLE pair (a INTEGER, b TEXT, PRIMARY KEY (a, b));
        CREATE VIEW rich AS SELECT id, name FROM customers WHERE balance > 10;
        """
    )
    con.executemany(
        "INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(i, f"ñame {i} ☃", i * 1.5, bytes([i % 256]), f"2024-01-01 00:00:{i % 60:02d}", "2024-01-01", None)
         for i in range(1, 2001)],
    )
    con.commit()
    con.close()
    return path


@pytest.fixture(scope="module")
def source() -> Iterator[DatabaseSource]:
    src = get_database_source("sqlite")
    assert isinstance(src, DatabaseSource)
    yield src
    src.close()


def test_check_streams_discover(source: DatabaseSource, db_file: Path) -> None:
    cfg = {"connection_string": str(db_file)}
    assert source.check(cfg).message == "Connection successful. Found 3 tables."
    assert source.stream_names(cfg) == ["customers", "pair", "rich"]
    streams = {s.name: s for s in source.discover(cfg)}
    props = streams["customers"].json_schema["properties"]
    assert props["name"] == {"type": "string"}  # NOT NULL
    assert props["balance"] == {"type": ["null", "number"]}
    assert props["data"]["contentEncoding"] == "base64"
    assert props["created"]["format"] == "date-time"
    assert streams["customers"].primary_key == [["id"]]
    assert sorted(streams["pair"].primary_key) == [["a"], ["b"]]


def test_read_and_incremental(source: DatabaseSource, db_file: Path) -> None:
    cfg = {"connection_string": f"sqlite:///{db_file}", "cursor_fields": {"customers": "id"}, "batch_size": 500}
    batches = list(source.read_stream("customers", ReadContext(config=cfg)))
    assert [len(b) for b in batches] == [500] * 4
    assert [b.state for b in batches] == [{"cursor": 500}, {"cursor": 1000}, {"cursor": 1500}, {"cursor": 2000}]
    first = batches[0].records.to_pylist()[0]
    assert first["name"] == "ñame 1 ☃" and first["data"] == b"\x01"
    again = list(source.read_stream("customers", ReadContext(config=cfg, state={"cursor": 1999})))
    assert [r["id"] for b in again for r in b.records.to_pylist()] == [1999, 2000]


def test_missing_file_and_unknown_table(source: DatabaseSource, tmp_path: Path, db_file: Path) -> None:
    result = source.check({"connection_string": str(tmp_path / "nope.db")})
    assert not result.ok and "database file not found" in result.message
    assert not (tmp_path / "nope.db").exists()  # read-only: nothing created
    with pytest.raises(UnknownStreamError):
        list(source.read_stream("customers; DROP TABLE customers", ReadContext(config={"connection_string": str(db_file)})))
    with pytest.raises(ConfigError, match="connection_string"):
        source.check({})


def test_nothing_is_written_to_the_file(source: DatabaseSource, db_file: Path) -> None:
    before = db_file.read_bytes()
    list(source.read_stream("customers", ReadContext(config={"connection_string": str(db_file)})))
    assert db_file.read_bytes() == before
    assert not Path(str(db_file) + "-journal").exists() and not Path(str(db_file) + "-wal").exists()


def test_duckdb_settings_are_offline_and_private(source: DatabaseSource, db_file: Path) -> None:
    session = source._session({"connection_string": str(db_file)})
    con = session.cursor()
    try:
        settings = dict(con.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('autoinstall_known_extensions', "
            "'autoload_known_extensions', 'extension_directory', 'enable_progress_bar', "
            "'enable_external_access', 'lock_configuration', 'allow_community_extensions')"
        ).fetchall())
        with pytest.raises(Exception, match="file system operations are disabled"):
            con.execute("SELECT * FROM read_csv('/etc/hostname')")
        with pytest.raises(Exception, match="locked|lock"):
            con.execute("SET autoinstall_known_extensions = true")
    finally:
        con.close()
    assert settings["autoinstall_known_extensions"] == "false"
    assert settings["autoload_known_extensions"] == "false"
    assert settings["enable_progress_bar"] == "false"
    assert settings["enable_external_access"] == "false"
    assert settings["lock_configuration"] == "true"
    assert settings["extension_directory"].startswith(session.workdir)
    assert not list(Path(session.workdir).rglob("*.duckdb_extension"))  # loaded from its package: nothing installed


CHILD = textwrap.dedent(
    """
    import json, sys
    from source_solidafy.databases import get_database_source
    from source_solidafy.source import ReadContext
    src = get_database_source("sqlite")
    cfg = {"connection_string": sys.argv[1]}
    rows = sum(len(b) for b in src.read_stream("customers", ReadContext(config=cfg)))
    print(json.dumps({"check": src.check(cfg).message, "rows": rows}))
    src.close()
    """
)


def test_runs_with_no_network_at_all(db_file: Path, tmp_path: Path) -> None:
    """In a network namespace with no interface up (no DNS, no route), with a fresh HOME and proxies
    pointing at a dead port, a read works: the extension comes from the Python package."""
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-rn", "true"], capture_output=True).returncode != 0:
        pytest.skip("this machine cannot create a network namespace (unshare -rn)")
    env = {**os.environ, "HOME": str(tmp_path), "http_proxy": "http://127.0.0.1:9", "https_proxy":
           "http://127.0.0.1:9", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [unshare, "-rn", sys.executable, "-c", CHILD, str(db_file)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"check": "Connection successful. Found 3 tables.", "rows": 2000}
    assert not (tmp_path / ".duckdb").exists()  # nothing installed in the user's extension directory
