"""Install a DuckDB scanner extension from its ``duckdb_extension_<name>`` package, offline.

The packages ship ``extensions/<duckdb version>/<name>.duckdb_extension`` (about 40 MB each);
``duckdb_extensions.import_extension`` INSTALLs that file. The container image keeps them
gzip-compressed instead (``container/slim_venv.py``, a third of the size): then the file is unpacked,
byte for byte, into the session's private directory and INSTALLed from there, so DuckDB's signature
check sees exactly the file DuckDB Labs signed.
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


def install_extension(con: duckdb.DuckDBPyConnection, name: str, workdir: str) -> None:
    """INSTALL extension ``name`` into ``con``'s extension directory (then ``LOAD <name>_scanner``)."""
    import duckdb_extensions

    row = con.execute("PRAGMA version").fetchone()
    packed = packed_extension(name, str(row[0]) if row else "")
    if packed is None:
        duckdb_extensions.import_extension(name, con=con)
        return
    unpacked = Path(workdir) / f"{name}.duckdb_extension"
    with gzip.open(packed, "rb") as src, unpacked.open("wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    try:
        con.execute(f"INSTALL {sql_literal(str(unpacked))}")
    finally:
        unpacked.unlink()
