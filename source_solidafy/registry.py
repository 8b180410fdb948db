"""Built-in connectors: YAML files shipped in the package, database connectors, and their aliases.

``list`` must be fast, so the index reads only the top-level metadata of each YAML file (no
validation, no templates); a connector is fully loaded only when it is used.
"""

from __future__ import annotations

import difflib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from source_solidafy.config import field_from_dict, preferred_auth_type, with_overrides
from source_solidafy.databases.dialects import DIALECTS
from source_solidafy.errors import ManifestError, UnknownConnectorError
from source_solidafy.source import ConfigField

if TYPE_CHECKING:
    from source_solidafy.source import Source


@dataclass(frozen=True)
class ConnectorInfo:
    name: str
    kind: str  # "rest" | "database"
    description: str = ""
    category: str = ""
    aliases: tuple[str, ...] = ()
    path: Path | None = None
    stream_names: tuple[str, ...] = field(default=())
    raw_spec: tuple[dict, ...] | None = None  # the YAML's explicit ``spec:`` list, unvalidated
    auth_type: str | None = None
    documentation_url: str | None = None

    def quick_fields(self) -> list[ConfigField] | None:
        """The config form straight from the YAML's ``spec:`` list (no models, no templates).

        None when the file has no well-formed explicit spec; then the connector must be loaded.
        """
        if not self.raw_spec or not all(isinstance(f, dict) and f.get("name") for f in self.raw_spec):
            return None
        return with_overrides([field_from_dict(f) for f in self.raw_spec], self.auth_type)


DATABASES = tuple(ConnectorInfo(d.name, "database", d.description, "Database", d.aliases) for d in DIALECTS.values())


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


def _yaml_loader() -> type:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _auth_type(auth: object) -> str | None:
    """The auth type that shapes the config form (``preferred_auth_type``), read from the raw YAML."""
    blocks = auth if isinstance(auth, list) else [auth]
    return preferred_auth_type([str(b.get("type")) for b in blocks if isinstance(b, dict)])


def _scan(path: Path) -> ConnectorInfo:
    import yaml

    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_yaml_loader())  # noqa: S506 - safe loader
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path}: invalid YAML: {exc}") from None
    streams = tuple(s.get("name", "") for s in data.get("streams") or [] if isinstance(s, dict))
    raw_spec = data.get("spec")
    auth = data.get("auth")
    return ConnectorInfo(
        name=str(data.get("name") or path.stem),
        kind="rest",
        description=str(data.get("description") or ""),
        category=str(data.get("category") or ""),
        aliases=tuple(data.get("aliases") or ()),
        path=path,
        stream_names=streams,
        raw_spec=tuple(raw_spec) if isinstance(raw_spec, list) else None,
        auth_type=_auth_type(auth),
        documentation_url=data.get("documentation_url"),
    )


@lru_cache(maxsize=1)
def builtin_connectors() -> tuple[ConnectorInfo, ...]:
    rest = [_scan(p) for p in sorted(connectors_dir().glob("*.yaml"))]
    return (*rest, *DATABASES)


@lru_cache(maxsize=32)
def _by_file_name(key: str) -> ConnectorInfo | None:
    """Most lookups name the file itself (``stripe`` -> stripe.yaml): read only that one."""
    if not key.replace("-", "").replace("_", "").isalnum():
        return None
    path = connectors_dir() / f"{key}.yaml"
    if not path.is_file():
        return None
    info = _scan(path)
    return info if info.name == key else None


def find(name: str) -> ConnectorInfo | None:
    key = name.strip().lower()
    for db in DATABASES:
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


def source_from_yaml_text(text: str, name: str = "<request>", *, allow_files: bool = True) -> Source:
    """A Source from YAML text; ``allow_files=False`` refuses anything in it that reads a file."""
    from source_solidafy.lowcode.shape import looks_like_airbyte_text

    if looks_like_airbyte_text(text):  # an Airbyte declarative manifest (docs/airbyte-manifests.md)
        from source_solidafy.lowcode.loader import load_airbyte_text

        return load_airbyte_text(text, name, None)  # type: ignore[no-any-return]
    from source_solidafy.manifest.loader import load_manifest_text
    from source_solidafy.rest.source import DeclarativeSource

    return DeclarativeSource(load_manifest_text(text, name, allow_files=allow_files))


def _yaml_source(path: Path) -> Source:
    manifest = _loaded.get(path)
    if manifest is None:
        from source_solidafy.lowcode.shape import looks_like_airbyte_file

        if looks_like_airbyte_file(path):  # an Airbyte declarative manifest (docs/airbyte-manifests.md)
            from source_solidafy.lowcode.loader import load_airbyte_manifest

            return load_airbyte_manifest(path)  # type: ignore[no-any-return]
        from source_solidafy.manifest.loader import load_manifest

        stamp = _loaded.stamp(path)  # before reading: a change while loading is seen next time
        manifest = load_manifest(path)
        _loaded.put(path, stamp, manifest, [path.parent / s.schema_file for s in manifest.streams if s.schema_file])
    from source_solidafy.rest.source import DeclarativeSource

    return DeclarativeSource(manifest)


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
