"""The scanner extensions load from their packages (plain, or gzip-compressed as the container image
keeps them), and DuckDB still checks their signature (container/slim_venv.py packs them; databases/extensions.py unpacks them)."""

from __future__ import annotations

import gzip
import sqlite3
import sys
from pathlib import Path

import duckdb
import pytest

from source_solidafy.databases.extensions import load_extension, packed_extension


def _packed_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, corrupt: bool = False) -> None:
    """A ``duckdb_extension_sqlite`` package on sys.path holding only the .gz of the real extension."""
    import duckdb_extension_sqlite

    version = duckdb.__version__ if duckdb.__version__.startswith("v") else f"v{duckdb.__version__}"
    real = Path(duckdb_extension_sqlite.__path__[0]) / "extensions" / version / "sqlite.duckdb_extension"
    data = bytearray(real.read_bytes())
    if corrupt:
        data[len(data) // 2] ^= 0xFF
    folder = tmp_path / "pkgs" / "duckdb_extension_sqlite" / "extensions" / version
    folder.mkdir(parents=True)
    (folder.parents[1] / "__init__.py").write_text("")
    (folder / "sqlite.duckdb_extension.gz").write_bytes(gzip.compress(bytes(data), compresslevel=1))
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    monkeypatch.delitem(sys.modules, "duckdb_extension_sqlite")


def _connect(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(":memory:", config={
        "extension_directory": str(tmp_path / "ext"),
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    })  # fmt: skip


def test_packed_extension_is_unpacked_installed_and_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _packed_copy(tmp_path, monkeypatch)
    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as lite:
        lite.execute("CREATE TABLE t (id INTEGER)")
        lite.execute("INSERT INTO t VALUES (7)")
    con = _connect(tmp_path)
    version = con.execute("PRAGMA version").fetchone()[0]
    assert packed_extension("sqlite", version) is not None
    work = tmp_path / "work"
    work.mkdir()
    load_extension(con, "sqlite", str(work))
    con.execute(f"ATTACH '{db}' AS src (TYPE sqlite, READ_ONLY)")
    assert con.execute("SELECT id FROM src.t").fetchall() == [(7,)]
    assert list(work.iterdir()) == []  # the unpacked copy is gone once loaded


def test_tampered_packed_extension_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _packed_copy(tmp_path, monkeypatch, corrupt=True)
    con = _connect(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(duckdb.Error, match="(?i)signature"):
        load_extension(con, "sqlite", str(work))


def test_plain_package_loads_in_place(tmp_path: Path) -> None:
    """Loaded through a link in the work directory: nothing copied into the extension directory."""
    con = _connect(tmp_path)
    version = con.execute("PRAGMA version").fetchone()[0]
    assert packed_extension("sqlite", version) is None
    work = tmp_path / "work"
    work.mkdir()
    load_extension(con, "sqlite", str(work))
    assert con.execute("SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'sqlite_scanner'").fetchall() == [
        (True,)]
    assert list(work.iterdir()) == [] and not (tmp_path / "ext").exists()
