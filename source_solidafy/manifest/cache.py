"""Validated connector manifests kept across processes: a start-up without YAML parsing or model building.

``load_connector_file(path)`` loads a connector file, ours (:func:`~source_solidafy.manifest.loader.load_manifest`)
or an Airbyte declarative manifest (:func:`~source_solidafy.lowcode.loader.load_airbyte_manifest`), with a
private per-user cache (docs/connector-yaml.md, "The validated-manifest cache"). The CLI and the Python
API load connector *files* through it; YAML text (the HTTP server's request bodies) never reaches it.

- Where: ``$SOLIDAFY_CACHE_DIR``, else ``$XDG_CACHE_HOME/solidafy``, else ``~/.cache/solidafy``.
  ``SOLIDAFY_NO_CACHE=1``, no home, a read-only disk: no cache, silently.
- Trust: an entry is unpickled only when the directory and the file are the current user's and
  neither is writable by group or others (checked on the opened descriptors: no race with a rename).
  Anything else is ignored, never trusted. Entries are written 0600 (tempfile + ``os.replace``) into a
  0700 directory, at most :data:`MAX_ENTRIES` / :data:`MAX_BYTES`; the oldest go first.
- Key: sha256 of the connector file's bytes and absolute path, the versions of Python, pydantic,
  pydantic-core and this package, and the (mtime, size) of every module of this package (an editable
  install changes code without changing the version) and of pyyaml's and jinja2's ``__init__.py``.
  Each other file the load read or looked for (``schema_file``; an Airbyte manifest's ``spec.yaml``
  and ``schemas/*.json``) is kept with the sha256 of its bytes (or its absence) and checked on every
  hit. Config takes no part in loading a file.
- Not cached: a failed load (its errors come from the loader, every time), a connector using plugins
  (its validation is code installed elsewhere).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import stat
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from source_solidafy.errors import ManifestError

try:  # pickle's C loader (pickle.load is this function): a hit needs no more of pickle, whose Python half
    from _pickle import load as unpickle  # is ~5 M instructions of start-up (unless jinja2 imports it)
except ImportError:  # pragma: no cover - an interpreter without the C accelerator
    from pickle import load as unpickle

if TYPE_CHECKING:
    from source_solidafy.lowcode.source import AirbyteManifestSource
    from source_solidafy.manifest.models import Manifest

    Loaded = Manifest | AirbyteManifestSource

FORMAT = b"solidafy-manifest-cache 3\n"  # then two pickles: the files read; (kind, value)
SUFFIX = ".manifest"
MAX_ENTRIES = 64
MAX_BYTES = 32 * 1024 * 1024
MAX_ENTRY_BYTES = 8 * 1024 * 1024
SETTLE_NS = 50_000_000  # a file the load read, written this close to its start, is not trusted to be settled
_PACKAGE = Path(__file__).resolve().parent.parent
_code_stamp: bytes | None = None
last_event: str | None = None  # what the last load did, for ``read --verbose``: "hit for x.yaml"


def cache_dir() -> Path | None:
    """The cache directory by the environment, or None when the cache is off."""
    if os.environ.get("SOLIDAFY_NO_CACHE", "") not in ("", "0"):
        return None
    chosen = os.environ.get("SOLIDAFY_CACHE_DIR")
    if chosen:
        return Path(chosen)
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):  # the XDG rule: a relative value is ignored
        return Path(xdg) / "solidafy"
    home = os.path.expanduser("~")
    return Path(home) / ".cache" / "solidafy" if os.path.isabs(home) and os.path.isdir(home) else None  # no home: off


def load_connector_file(path: str | Path) -> Loaded:
    """Our connector's Manifest, or an Airbyte manifest's source; from the cache when an entry for these
    bytes is kept."""
    global last_event
    p = Path(path)
    data = _read(p, path)
    folder = cache_dir() if os.name == "posix" else None
    fd = _open_dir(folder) if folder is not None else None
    if fd is None:
        last_event = f"off for {p.name}"
        return _load(p, path, data)
    try:
        key = entry_key(p, data)
        loaded = _get(fd, key)
        last_event = f"{'hit' if loaded is not None else 'miss'} for {p.name}"
        if loaded is None:
            started = time.time_ns()
            loaded = _load(p, path, data)
            _put(fd, key, loaded, p, started)
        return loaded
    finally:
        os.close(fd)


def _read(p: Path, path: str | Path) -> bytes:
    """The file's bytes; the loader's errors, word for word."""
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise ManifestError(f"{path}: no such connector file") from None
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read the connector file: {exc}") from None


def _load(p: Path, path: str | Path, data: bytes) -> Loaded:
    """The loaders' own load of these bytes (read_text's decoding: UTF-8, universal newlines); an Airbyte
    manifest is told by its shape (docs/airbyte-manifests.md)."""
    from source_solidafy.manifest import light

    if light.ACTIVE:  # a second file in a process already running a hit's light models: they cannot validate
        raise ManifestError(f"{path}: cannot load this connector file in a read that already runs one from the "
                            "validated-manifest cache; run it with SOLIDAFY_NO_CACHE=1")
    from source_solidafy.lowcode.shape import looks_like_airbyte_text
    from source_solidafy.manifest.loader import load_manifest_text

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path}: cannot read the connector file: {exc}") from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if looks_like_airbyte_text(text):
        from source_solidafy.lowcode.loader import load_airbyte_text

        return load_airbyte_text(text, p.name, p.parent)
    return load_manifest_text(text, source_name=p.name, base_dir=p.parent)


# ------------------------------------------------------------------------------------------- key


def entry_key(p: Path, data: bytes) -> str:
    """The entry's name: what the load's result depends on, apart from the schema files (kept inside)."""
    from source_solidafy import __version__

    h = hashlib.sha256(FORMAT)
    for part in (sys.version, sys.implementation.cache_tag or "", __version__, os.path.abspath(p)):
        h.update(part.encode("utf-8", "surrogateescape") + b"\0")
    h.update(code_stamp())
    h.update(data)
    return h.hexdigest()


def code_stamp() -> bytes:
    """sha256 of (path, mtime_ns, size) of every module of this package, and of the parsers', templates'
    and models' libraries (their ``__init__.py``: an upgrade rewrites it), once per process."""
    global _code_stamp
    if _code_stamp is None:
        h = hashlib.sha256()
        stack, files = [str(_PACKAGE)], []
        while stack:
            with os.scandir(stack.pop()) as it:
                for entry in sorted(it, key=lambda e: e.name):
                    if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                        stack.append(entry.path)
                    elif entry.name.endswith(".py"):
                        files.append(entry.path)
        for path in [*files, *_library_files()]:
            st = os.stat(path)
            h.update(f"{path}\0{st.st_mtime_ns}\0{st.st_size}\n".encode("utf-8", "surrogateescape"))
        _code_stamp = h.digest()
    return _code_stamp


def _library_files() -> list[str]:
    """pyyaml's, jinja2's, pydantic's and pydantic-core's ``__init__.py``, found without importing them
    (~0.2 ms; a light read never imports pydantic, manifest/light.py)."""
    import importlib.util

    out = []
    for name in ("yaml", "jinja2", "pydantic", "pydantic_core"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            out.append(spec.origin)
    return out


def _changed_since(name: str, started: int) -> bool:
    """Written after ``started`` (less a margin for file systems' coarse clocks)."""
    try:
        return os.stat(name).st_mtime_ns >= started - SETTLE_NS
    except OSError:
        return False  # absent: its absence is kept (and checked on every hit)


def _digest(file: Path) -> str | None:
    try:
        return hashlib.sha256(file.read_bytes()).hexdigest()
    except OSError:
        return None


# ------------------------------------------------------------------------------------ the store


def _trusted(st: os.stat_result) -> bool:
    """Ours, and nobody else may write it."""
    return st.st_uid == os.geteuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _open_dir(folder: Path) -> int | None:
    """A descriptor of the cache directory (made 0700 when missing), or None: absent, foreign, unsafe."""
    with contextlib.suppress(OSError):
        os.makedirs(folder, mode=0o700, exist_ok=True)
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        if _trusted(os.fstat(fd)):
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


def _get(fd: int, key: str) -> Loaded | None:
    """The kept load, or None: no entry, a foreign or unsafe file, a corrupt one, a changed file it read."""
    blob = _entry_bytes(fd, key)
    if blob is None or not blob.startswith(FORMAT):
        return None
    stream = io.BytesIO(blob)
    stream.seek(len(FORMAT))
    try:
        reads = unpickle(stream)  # noqa: S301 - our own file, checked above; names and digests only
    except Exception:  # noqa: BLE001 - a truncated or stale entry is a miss; the load writes it again
        return None
    if any(_digest(Path(name)) != digest for name, digest in reads):
        return None
    at = stream.tell()
    kept = _unpickled(stream) if _go_light() else None
    if kept is None:
        stream.seek(at)
        kept = _unpickled(stream, light_on=False)
    if kept is None:
        return None
    kind, value = kept
    from source_solidafy.manifest.models import Manifest  # imported by the unpickling already

    if kind == "airbyte":
        from source_solidafy.lowcode import loader  # noqa: F401 - its parts register with the engine
        from source_solidafy.lowcode.source import AirbyteManifestSource

        manifest, spec, names, table, files = value
        return AirbyteManifestSource(manifest, spec, names, table, [Path(f) for f in files])
    return value if kind == "yaml" and isinstance(value, Manifest) else None


def _go_light() -> bool:
    """Light models (manifest/light.py) for this hit: allowed by the command, and no model module imported yet."""
    from source_solidafy.manifest import light

    if light.ALLOWED and not light.ACTIVE and "source_solidafy.manifest.pyd" not in sys.modules:
        light.ACTIVE = True
    return light.ACTIVE


def _unpickled(stream: io.BytesIO, light_on: bool = True) -> Any:
    """The entry's (kind, value), or None. A light attempt that fails forgets every module it imported
    and turns light models off: the caller's full attempt imports them again, with pydantic."""
    before = set(sys.modules) if light_on else None
    try:
        return unpickle(stream)  # noqa: S301 - our own file, checked above
    except Exception:  # noqa: BLE001 - a truncated or stale entry is a miss; the load writes it again
        if before is not None:
            from source_solidafy.manifest import light

            light.ACTIVE = False
            for name in set(sys.modules) - before:
                del sys.modules[name]
        return None


def _entry_bytes(fd: int, key: str) -> bytes | None:
    """The entry's bytes when it is a regular file of ours that nobody else may write."""
    try:
        f = os.open(key + SUFFIX, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fd)
    except OSError:
        return None
    try:
        st = os.fstat(f)
        if not (stat.S_ISREG(st.st_mode) and _trusted(st)) or st.st_size > MAX_ENTRY_BYTES:
            return None
        with os.fdopen(os.dup(f), "rb") as fh:
            return fh.read()
    except OSError:
        return None
    finally:
        os.close(f)


def _put(fd: int, key: str, loaded: Loaded, p: Path, started: int) -> None:
    """Keep ``loaded`` (unless it uses plugins, or a file it read changed since ``started``: the digest
    taken now might not be of the bytes the load read); silent when the directory cannot be written."""
    import pickle

    from source_solidafy.manifest.models import Manifest
    from source_solidafy.manifest.plugin_models import iter_plugins

    value: Any
    if isinstance(loaded, Manifest):
        base = os.path.abspath(p.parent)
        files = [os.path.join(base, s.schema_file) for s in loaded.streams if s.schema_file]
        kind, value, manifest = "yaml", loaded, loaded
    else:  # an Airbyte manifest's source: what fresh() is made of, its files' paths made absolute
        files = [os.path.abspath(f) for f in loaded.files_read]
        kind, manifest = "airbyte", loaded.manifest
        value = (manifest, loaded._spec, loaded.check_streams, loaded.table, files)
    if next(iter_plugins(manifest), None) is not None or any(_changed_since(name, started) for name in files):
        return
    try:
        reads = [(name, _digest(Path(name))) for name in files]
        blob = (FORMAT + pickle.dumps(reads, protocol=pickle.HIGHEST_PROTOCOL)
                + pickle.dumps((kind, value), protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # noqa: BLE001 - something unpicklable in a model: not kept
        return
    if len(blob) > MAX_ENTRY_BYTES:
        return
    _write(fd, key + SUFFIX, blob)
    _evict(fd)


def _write(fd: int, name: str, blob: bytes) -> None:
    tmp = f".tmp-{os.urandom(8).hex()}"
    try:
        f = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=fd)
    except OSError:
        return
    try:
        with os.fdopen(f, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=fd)


def _evict(fd: int) -> None:
    """At most MAX_ENTRIES entries and MAX_BYTES in all: the oldest written go first (and temporary
    files a killed process left, after an hour)."""
    entries: list[tuple[int, int, str]] = []
    stale = time.time_ns() - 3600 * 10**9
    with contextlib.suppress(OSError), os.scandir(fd) as it:
        for e in it:
            if e.name.endswith(SUFFIX) and e.is_file(follow_symlinks=False):
                st = e.stat(follow_symlinks=False)
                entries.append((st.st_mtime_ns, st.st_size, e.name))
            elif e.name.startswith(".tmp-") and e.stat(follow_symlinks=False).st_mtime_ns < stale:
                with contextlib.suppress(OSError):
                    os.unlink(e.name, dir_fd=fd)
    entries.sort(reverse=True)
    total = 0
    for i, (_, size, name) in enumerate(entries):
        total += size
        if i >= MAX_ENTRIES or total > MAX_BYTES:
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=fd)


def status_line() -> str | None:
    """``read --verbose``'s line about the last load: cache hit or miss, whether the validator was built and
    whether pydantic was imported (not by a hit's light models, manifest/light.py)."""
    if last_event is None:
        return None
    models = sys.modules.get("source_solidafy.manifest.models")
    built = bool(models and getattr(models.Manifest, "__pydantic_complete__", False))
    return (f"manifest cache: {last_event}; Manifest validator built: {'yes' if built else 'no'}; "
            f"pydantic imported: {'yes' if 'pydantic' in sys.modules else 'no'}")


__all__ = ["MAX_BYTES", "MAX_ENTRIES", "cache_dir", "code_stamp", "entry_key", "load_connector_file", "status_line"]
