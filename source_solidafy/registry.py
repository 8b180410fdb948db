"""Built-in connectors: YAML files shipped in the package, database connectors, and their aliases.

``list``, ``spec`` and ``streams`` of a built-in must be fast: they read the index the manifest
models made of the built-in files (builtin_index.py); a connector is fully loaded only when used.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from source_solidafy.builtin_index import entry_of, fields_of, fresh_entry
from source_solidafy.errors import UnknownConnectorError
from source_solidafy.source import ConfigField

if TYPE_CHECKING:
    from source_solidafy.source import Source


@dataclass(frozen=True, repr=False, eq=False)
class ConnectorInfo:
    name: str
    kind: str  # "rest" | "database"
    description: str = ""
    category: str = ""
    aliases: tuple[str, ...] = ()
    path: Path | None = None
    stream_names: tuple[str, ...] = field(default=())
    fields: tuple[ConfigField, ...] | None = None  # REST: the config form, as the loaded connector has it
    documentation_url: str | None = None

    def quick_fields(self) -> list[ConfigField] | None:
        """The config form without loading the connector (REST built-ins); None for databases."""
        return None if self.fields is None else list(self.fields)


@lru_cache(maxsize=1)
def databases() -> tuple[ConnectorInfo, ...]:
    """The database connectors (made on first use: a read of a YAML file needs none of them)."""
    from source_solidafy.databases.dialects import DIALECTS

    return tuple(ConnectorInfo(d.name, "database", d.description, "Database", d.aliases) for d in DIALECTS.values())


def connectors_dir() -> Path:
    """Where the built-in YAML files are: inside the installed package, or the checkout's connectors/."""
    try:
        from importlib.resources import files

        path = Path(str(files("source_solidafy.connectors")))
        if any(path.glob("*.yaml")):
            return path
    except (ModuleNotFoundError, TypeError):
        pass
    return Path(__file__).resolve().parent.parent / "connectors"


def _info(path: Path) -> ConnectorInfo:
    """A built-in REST connector, from the index (builtin_index.py) or, if the file changed, loaded."""
    entry = fresh_entry(path) or entry_of(load_source(str(path)), path)
    return ConnectorInfo(
        name=entry["name"],
        kind="rest",
        description=entry["description"],
        category=entry["category"],
        aliases=tuple(entry["aliases"]),
        path=path,
        stream_names=tuple(entry["streams"]),
        fields=fields_of(entry),
        documentation_url=entry["documentation_url"],
    )


@lru_cache(maxsize=1)
def builtin_connectors() -> tuple[ConnectorInfo, ...]:
    rest = [_info(p) for p in sorted(connectors_dir().glob("*.yaml"))]
    return (*rest, *databases())


@lru_cache(maxsize=32)
def _by_file_name(key: str) -> ConnectorInfo | None:
    """Most lookups name the file itself (``stripe`` -> stripe.yaml): read only that one."""
    if not key.replace("-", "").replace("_", "").isalnum():
        return None
    path = connectors_dir() / f"{key}.yaml"
    if not path.is_file():
        return None
    info = _info(path)
    return info if info.name == key else None


def find(name: str) -> ConnectorInfo | None:
    key = name.strip().lower()
    for db in databases():
        if key == db.name or key in db.aliases:
            return db
    quick = _by_file_name(key)
    if quick is not None:
        return quick
    for info in builtin_connectors():
        if key == info.name or key in info.aliases:
            return info
    return None


def unknown(name: str) -> UnknownConnectorError:
    names = [c.name for c in builtin_connectors()] + [a for c in builtin_connectors() for a in c.aliases]
    import difflib  # only for the hint: not imported at start-up
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    known = ", ".join(c.name for c in builtin_connectors())
    return UnknownConnectorError(
        f"unknown connector '{name}'{hint} (built-in: {known}; or give a path to a connector YAML file)"
    )


def looks_like_path(name: str) -> bool:
    return name.endswith((".yaml", ".yml")) or "/" in name or name.startswith(".")


def load_source(connector: str, *, allow_paths: bool = True) -> Source:
    """A Source for a built-in name or alias, or (when allowed) a YAML file path."""
    info = None if looks_like_path(connector) and Path(connector).expanduser().is_file() else find(connector)
    if info is not None and info.kind == "database":
        from source_solidafy.databases import get_database_source

        source = get_database_source(info.name)
        if source is None:
            raise unknown(connector)
        return source
    if info is not None and info.path is not None:
        return _yaml_source(info.path)
    if allow_paths and looks_like_path(connector):
        path = Path(connector).expanduser()
        if not path.is_file():
            raise UnknownConnectorError(f"connector file not found: {connector}")
        return _yaml_source(path)
    raise unknown(connector)


def source_from_yaml_text(text: str, name: str = "<request>", *, allow_files: bool = True,
                          allow_plugins: bool = True) -> Source:
    """A Source from YAML text; ``allow_files=False`` refuses anything in it that reads a file,
    ``allow_plugins=False`` a ``type: plugin:<name>`` block (the server's default)."""
    from source_solidafy.lowcode.shape import looks_like_airbyte_text

    if looks_like_airbyte_text(text):  # an Airbyte declarative manifest (docs/airbyte-manifests.md)
        from source_solidafy.lowcode.loader import load_airbyte_text

        return load_airbyte_text(text, name, None)
    from source_solidafy.manifest.loader import load_manifest_text
    from source_solidafy.rest.source import DeclarativeSource

    return DeclarativeSource(load_manifest_text(text, name, allow_files=allow_files, allow_plugins=allow_plugins))


def _yaml_source(path: Path) -> Source:
    loaded: Any = _loaded.get(path)
    if loaded is None:
        from source_solidafy.manifest.cache import load_connector_file

        stamp = _loaded.stamp(path)  # before reading: a change while loading is seen next time
        loaded = load_connector_file(path)  # ours or an Airbyte manifest, kept across processes (manifest/cache.py)
        airbyte = hasattr(loaded, "fresh")  # an Airbyte declarative manifest's source (docs/airbyte-manifests.md)
        _loaded.put(path, stamp, loaded, loaded.files_read if airbyte else
                    [path.parent / s.schema_file for s in loaded.streams if s.schema_file])
    if hasattr(loaded, "fresh"):  # an Airbyte manifest's source: a new one, shared parts
        return loaded.fresh()
    from source_solidafy.rest.source import DeclarativeSource

    return DeclarativeSource(loaded)


class _LoadedManifests:
    """Validated manifests by file, while the file (and every ``schema_file`` it read) is unchanged.

    A process that runs many syncs (the server, a worker calling the Python API) validates a
    connector file once instead of once per sync. A manifest is not changed after loading, so one
    object serves every sync, as it already serves every stream of one sync.
    """

    SIZE = 64

    def __init__(self) -> None:
        self._items: OrderedDict[str, tuple[Any, tuple[tuple[Path, tuple[int, ...]], ...]]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def stamp(path: Path) -> tuple[int, ...]:
        try:
            st = path.stat()
        except OSError:
            return ()
        return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_dev)

    def get(self, path: Path) -> Any:
        key = str(path.resolve())
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
        manifest, files = item
        return manifest if all(self.stamp(f) == stamp for f, stamp in files) else None

    def put(self, path: Path, stamp: tuple[int, ...], manifest: Any, reads: list[Path]) -> None:
        files = ((path, stamp), *((f, self.stamp(f)) for f in reads))
        with self._lock:
            self._items[str(path.resolve())] = (manifest, files)
            while len(self._items) > self.SIZE:
                self._items.popitem(last=False)


_loaded = _LoadedManifests()
