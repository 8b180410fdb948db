"""Trim the image's virtualenv to what the installed package runs with (the Dockerfile's build stage).

The build stage installs in two layers, so that a change to the source reuses the first::

    python slim_venv.py requirements pyproject.toml cloud > requirements.txt   # dependencies + extra
    pip install -r requirements.txt && python slim_venv.py dependencies VENV     # layer 1: trimmed
    pip install ".[cloud]" && python slim_venv.py installers VENV                # layer 2: package

Removes only what no supported feature loads; the container test (integration_tests/test_container.py)
runs every output and every database connector in the trimmed image to prove it:

- pip, setuptools and their launchers (``installers``, last): the image installs nothing at run time;
- test suites, C/C++ headers and Cython sources shipped in wheels;
- pyarrow's Arrow Flight RPC libraries (nothing here speaks Flight) and its C++ test module;
- the copies of one shared library that wheels carry under three names (symlinks instead);
- debug symbols of shared libraries (``strip --strip-unneeded``, when binutils is there);
- botocore's API models of AWS services other than S3 and the credential services (STS, SSO,
  sign-in) the S3 client may call; the s3:// and r2:// outputs use nothing else;
- ``__pycache__`` left by the install; the caller byte-compiles once, afterwards.

It also gzips the DuckDB scanner extensions (postgres, mysql, sqlite: 114 MB, 40 MB unpacked);
source_solidafy.databases.extensions unpacks the one a connector needs into its private extension
directory, byte for byte, so DuckDB's signature check still passes.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import tomllib

DROP_DIRS = {"tests", "test", "__pycache__"}
DROP_SUFFIXES = {".pyx", ".pxd", ".pxi", ".h", ".hpp", ".cc", ".cpp"}
DROP_PACKAGES = ("pip", "setuptools", "_distutils_hack", "pkg_resources", "wheel")
BOTOCORE_KEEP = {"s3", "sts", "sso", "sso-oidc", "signin"}
PYARROW_DROP = ("include", "src", "flight.py", "_flight.", "libarrow_flight.", "libarrow_python_flight.",
                "_pyarrow_cpp_tests.")  # fmt: skip


def site_packages(venv: Path) -> Path:
    (found,) = venv.glob("lib/python3*/site-packages")
    return found


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def drop_installers(venv: Path, sp: Path) -> None:
    for entry in list(sp.iterdir()):
        name = entry.name.split("-")[0]
        if name in DROP_PACKAGES or entry.name == "distutils-precedence.pth":
            remove(entry)
    for launcher in venv.glob("bin/*"):
        if launcher.name.startswith(("pip", "easy_install", "Activate", "activate")):
            remove(launcher)


def drop_build_only_files(sp: Path) -> None:
    for root, dirs, files in os.walk(sp):
        for name in [d for d in dirs if d in DROP_DIRS]:
            shutil.rmtree(Path(root) / name)
            dirs.remove(name)
        for name in files:
            if Path(name).suffix in DROP_SUFFIXES:
                os.unlink(Path(root) / name)


def trim_pyarrow(sp: Path) -> None:
    pyarrow = sp / "pyarrow"
    if not pyarrow.is_dir():
        return
    for entry in list(pyarrow.iterdir()):
        if entry.name in PYARROW_DROP or entry.name.startswith(PYARROW_DROP):
            remove(entry)
    link_duplicate_libraries(pyarrow)


def link_duplicate_libraries(folder: Path) -> None:
    """``libx.so``, ``libx.so.N`` and ``libx.so.N.M.K`` as one file (wheels cannot hold symlinks)."""
    for versioned in sorted(folder.glob("*.so.*")):
        if versioned.is_symlink() or versioned.name.count(".so.") != 1 or "." in versioned.name.split(".so.")[1]:
            continue  # keep libx.so.N, the name the loader asks for
        stem = versioned.name.split(".so.")[0]
        for twin in [folder / f"{stem}.so", *folder.glob(f"{stem}.so.*.*")]:
            if twin.is_file() and not twin.is_symlink() and twin.read_bytes() == versioned.read_bytes():
                twin.unlink()
                twin.symlink_to(versioned.name)


def trim_botocore(sp: Path) -> None:
    data = sp / "botocore" / "data"
    if data.is_dir():
        for service in data.iterdir():
            if service.is_dir() and service.name not in BOTOCORE_KEEP:
                shutil.rmtree(service)


def strip_libraries(sp: Path) -> None:
    strip = shutil.which("strip")
    if strip is None:
        print("slim_venv: no `strip` (binutils), shared libraries keep their debug symbols", file=sys.stderr)
        return
    libraries = [str(p) for p in sp.rglob("*.so*") if p.is_file() and not p.is_symlink() and ".duckdb_extension" not in p.name]
    if libraries:
        subprocess.run([strip, "--strip-unneeded", *libraries], check=True)


def pack_duckdb_extensions(sp: Path) -> None:
    for ext in sp.glob("duckdb_extension_*/extensions/*/*.duckdb_extension"):
        with ext.open("rb") as src, gzip.open(f"{ext}.gz", "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        ext.unlink()


def requirements(pyproject: Path, *extras: str) -> list[str]:
    """The project's dependencies and those of ``extras``, as pyproject.toml pins them."""
    project = tomllib.loads(pyproject.read_text())["project"]
    return [*project["dependencies"], *(r for extra in extras for r in project["optional-dependencies"][extra])]


def forget_requested(sp: Path) -> None:
    """pip marks each line of requirements.txt REQUESTED; as in one ``pip install .``, only the package is."""
    for marker in sp.glob("*.dist-info/REQUESTED"):
        marker.unlink()
        record = marker.parent / "RECORD"
        lines = record.read_text().splitlines(keepends=True)
        record.write_text("".join(line for line in lines if not line.startswith(f"{marker.parent.name}/REQUESTED,")))


def trim_dependencies(venv: Path) -> None:
    sp = site_packages(venv)
    forget_requested(sp)
    drop_build_only_files(sp)
    trim_pyarrow(sp)
    trim_botocore(sp)
    strip_libraries(sp)
    pack_duckdb_extensions(sp)


def main(argv: list[str]) -> int:
    command, args = argv[1], argv[2:]
    if command == "requirements":
        print("\n".join(requirements(Path(args[0]), *args[1:])))
    elif command == "dependencies":
        trim_dependencies(Path(args[0]))
    elif command == "installers":
        drop_installers(Path(args[0]), site_packages(Path(args[0])))
    else:
        print(f"usage: {argv[0]} requirements PYPROJECT [EXTRA...] | dependencies VENV | installers VENV",
              file=sys.stderr)  # fmt: skip
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
