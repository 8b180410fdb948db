"""Load a DuckDB scanner extension from its ``duckdb_extension_<name>`` package, offline.

The packages ship ``extensions/<duckdb version>/<name>.duckdb_extension`` (about 40 MB each). It is
LOADed from where it lies, through a link named ``<name>_scanner.duckdb_extension`` in the session's
private directory (DuckDB takes the extension's entry point from the file name): no copy into an
extension directory as ``INSTALL`` would make, which took a second of every database sync's
start-up. The container image keeps the files gzip-compressed instead (``container/slim_venv.py``, a
third of the size): then the file is unpacked, byte for byte, into the session's directory, loaded
and removed. Either way DuckDB's signature check sees exactly the file DuckDB Labs signed.
"""

from __future__ import annotations

import gzip
import importlib
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from source_solidafy.databases.connection import sql_literal

if TYPE_CHECKING:
    import duckdb


def packed_extension(name: str, duckdb_version: str) -> Path | None:
    """The gzip-compressed extension file of package ``duckdb_extension_<name>``, if that is what it holds."""
    package = importlib.import_module(f"duckdb_extension_{name}")
    folder = Path(str(package.__path__[0])) / "extensions" / duckdb_version
    plain = folder / f"{name}.duckdb_extension"
    packed = folder / f"{plain.name}.gz"
    return packed if packed.is_file() and not plain.is_file() else None


def load_extension(con: duckdb.DuckDBPyConnection, name: str, workdir: str) -> None:
    """LOAD extension ``name`` (its ``<name>_scanner`` entry point) into ``con`` from its package."""
    row = con.execute("PRAGMA version").fetchone()
    version = str(row[0]) if row else ""
    target = Path(workdir) / f"{name}_scanner.duckdb_extension"
    packed = packed_extension(name, version)
    if packed is None:
        package = importlib.import_module(f"duckdb_extension_{name}")
        plain = Path(str(package.__path__[0])) / "extensions" / version / f"{name}.duckdb_extension"
        try:
            target.symlink_to(plain)
        except OSError:  # no symbolic links here: a copy, as INSTALL would make
            shutil.copyfile(plain, target)
    else:
        with gzip.open(packed, "rb") as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    try:
        con.execute(f"LOAD {sql_literal(str(target))}")
    finally:
        target.unlink()
