"""The config as a connector changed it while running: a refresh token the token endpoint rotated.

Salesforce (with rotation on), HubSpot, Xero, QuickBooks and others may answer a refresh with a new
refresh token and revoke the old one; a sync that forgets it leaves a config whose next sync fails
with ``invalid_grant``. So the auth reports the new value (``ConnectorRuntime`` knows which config key
its template reads), :class:`ConfigChanges` keeps the updated config and tells whoever listens, and
each front door hands it on its own way (docs/connector-yaml.md, "Rotating refresh tokens"):

- the runner: a CONTROL ``CONNECTOR_CONFIG`` message in the chunks (Airbyte's shape, both flavours),
  ``SyncRun.updated_config``, and ``config`` in ``ss.sync``'s result and in POST /sync's answer;
- the CLI: ``--config FILE`` rewritten at once, atomically (:func:`save_config_file`), said on stderr.

    changes = ConfigChanges({"refresh_token": "rt1", "client_id": "c"})
    stop = changes.listen(lambda config, paths: print(paths))   # [('refresh_token',)]
    changes.update(("refresh_token",), "rt2")
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

KeyPath = tuple[str, ...]
ConfigListener = Callable[[dict[str, Any], list[KeyPath]], None]  # (the whole updated config, the keys changed)

_PLAIN = r"^\{\{\s*config((?:\.\w+|\[\s*'[^'\\]*'\s*\]|\[\s*\"[^\"\\]*\"\s*\])+)\s*\}\}$"  # compiled on first use
_PART = r"\.(\w+)|\[\s*'([^']*)'\s*\]|\[\s*\"([^\"]*)\"\s*\]"  # (re's cache, see errors._URL_PASSWORD)


def config_path(template: str) -> KeyPath | None:
    """The config key a template is exactly: ``{{ config.refresh_token }}`` -> ``("refresh_token",)``,
    ``{{ config.credentials['refresh_token'] }}`` -> ``("credentials", "refresh_token")``; None for
    anything else (a filter, a default, text around it): such a value cannot be written back."""
    found = re.match(_PLAIN, template.strip())
    if found is None:
        return None
    return tuple(next(p for p in m.groups() if p is not None) for m in re.finditer(_PART, found.group(1)))


def with_value(config: dict[str, Any], path: KeyPath, value: Any) -> dict[str, Any]:
    """A copy of ``config`` with ``value`` at ``path`` (the mappings along it copied, the rest shared)."""
    out = dict(config)
    if len(path) == 1:
        out[path[0]] = value
        return out
    inner = out.get(path[0])
    out[path[0]] = with_value(inner if isinstance(inner, dict) else {}, path[1:], value)
    return out


def value_at(config: Mapping[str, Any], path: KeyPath) -> Any:
    node: Any = config
    for part in path:
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


class ConfigChanges:
    """The updated config of one connector config, and its listeners (thread-safe).

    A listener added after a change hears it at once, so a front door never misses one; it is called
    in the thread that made the change (a token refresh), outside this object's lock.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = config
        self._latest: dict[str, Any] | None = None
        self._paths: list[KeyPath] = []
        self._listeners: list[ConfigListener] = []
        self._lock = threading.Lock()

    @property
    def latest(self) -> dict[str, Any] | None:
        """The whole config with every change so far; None while nothing changed."""
        return self._latest

    @property
    def paths(self) -> list[KeyPath]:
        """The key paths changed so far, in order."""
        return list(self._paths)

    def update(self, path: KeyPath, value: Any) -> None:
        with self._lock:
            base = self._latest if self._latest is not None else self._config
            if value_at(base, path) == value:
                return
            self._latest = with_value(base, path, value)
            if path not in self._paths:
                self._paths.append(path)
            listeners, latest, paths = list(self._listeners), self._latest, list(self._paths)
        for listener in listeners:
            listener(latest, paths)

    def listen(self, listener: ConfigListener) -> Callable[[], None]:
        """Call ``listener`` on every change (now, if there was one); returns the function that stops it."""
        with self._lock:
            self._listeners.append(listener)
            latest, paths = self._latest, list(self._paths)
        if latest is not None:
            listener(latest, paths)

        def stop() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return stop



def describe(paths: list[KeyPath]) -> str:
    """``refresh_token, credentials.refresh_token``: the keys changed, never their values."""
    return ", ".join(".".join(p) for p in paths)


def save_config_file(location: str, config: dict[str, Any], paths: list[KeyPath]) -> None:
    """Write the changed ``paths`` of ``config`` into the config file at ``location`` (a path or URI).

    The file is read again and only those keys replaced, so whatever else it holds stays as it is;
    the write is atomic (a temp file and a rename, or a conditional object-store put) and retried
    when another writer changed the file in between.
    """
    import orjson

    from source_solidafy import jsoncodec
    from source_solidafy.errors import ConfigError
    from source_solidafy.small_files import ConflictError, read_file, write_file

    for attempt in range(3):
        data, version = read_file(location)
        try:
            current = jsoncodec.loads(data) if data is not None else {}
        except orjson.JSONDecodeError:
            current = None
        if not isinstance(current, dict):
            raise ConfigError(f"{location}: no longer a JSON object; the updated config was not written")
        for path in paths:
            current = with_value(current, path, value_at(config, path))
        try:
            write_file(location, jsoncodec.dumps(current, option=orjson.OPT_INDENT_2) + b"\n", expect=version)
            return
        except ConflictError:
            if attempt == 2:
                raise


ConfigSayer = Callable[[dict[str, Any], list[KeyPath]], list[Any]]  # a front door's: the messages to say


class ConfigRelay:
    """One sync's side of :class:`ConfigChanges`: changes heard in any thread are queued by ``listen``'s
    ``put`` and said by the consumer (:meth:`said`), the whole config once per change; ``on_config`` (a
    front door's: the CLI saves ``--config FILE``) returns the messages to say instead of the CONTROL
    message every flavour says by default. ``updated`` is the newest config (None: unchanged)."""

    def __init__(self) -> None:
        self.updated: dict[str, Any] | None = None
        self.on_config: ConfigSayer | None = None
        self._changes: ConfigChanges | None = None

    def listen(self, changes: ConfigChanges | None, put: ConfigListener) -> Callable[[], None]:
        """Hear ``changes`` (None: the connector cannot change its config); returns what stops it."""
        if changes is None:
            return lambda: None
        self._changes = changes
        return changes.listen(put)

    def said(self, config: dict[str, Any], paths: list[KeyPath]) -> list[Any]:
        """The messages for one change (the consumer's thread)."""
        from source_solidafy import protocol

        self.updated = config
        if self.on_config is not None:
            return self.on_config(config, paths)
        return [protocol.control_config(config)]

    def last(self) -> None:
        """A change the queue dropped (the sync was cancelled meanwhile) still reaches the front door."""
        changes = self._changes
        latest = changes.latest if changes is not None else None
        if changes is not None and latest is not None and latest is not self.updated:
            self.updated = latest
            if self.on_config is not None:
                self.on_config(latest, changes.paths)
