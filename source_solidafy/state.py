"""State: parse every shape users and orchestrators send, and write state files atomically.

``--state FILE`` is rewritten at checkpoints while the sync runs (:class:`StateFileSaver`: the first
checkpoint at once, then at most every ``SOLIDAFY_STATE_SAVE_SECS`` seconds, default 1) and at the end,
so a killed sync resumes from its last saved checkpoint.

Accepted shapes (all mean "stream name -> stream state"):

- solidafy global object ``{"streams": {"customers": {"cursor": 1700000000}}}``
- Airbyte array ``[{"type": "STREAM", "stream": {"stream_descriptor": {"name": "customers"},
  "stream_state": {...}}}]`` (elements may also be whole STATE messages ``{"type": "STATE", "state": ...}``)
- a plain map ``{"public.orders": {"cursor": "..."}}`` (the README's database example)
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from source_solidafy import jsoncodec
from source_solidafy.errors import ConfigError, StateError, UsageError, not_utf8

StateMap = dict[str, dict[str, Any]]
DEFAULT_SAVE_SECS = 1.0


def _from_airbyte_item(item: Any, where: str) -> tuple[str, dict[str, Any]] | None:
    if not isinstance(item, dict):
        raise StateError(f"{where}: expected a state object, got {type(item).__name__}")
    if item.get("type") == "STATE" and isinstance(item.get("state"), dict):
        item = item["state"]
    kind = item.get("type")
    if kind == "STREAM" or (kind is None and "stream" in item):
        stream = item.get("stream")
        if not isinstance(stream, dict) or not isinstance(stream.get("stream_descriptor"), dict):
            raise StateError(f"{where}: a STREAM state needs stream.stream_descriptor.name")
        name = stream["stream_descriptor"].get("name")
        if not isinstance(name, str) or not name:
            raise StateError(f"{where}: stream_descriptor.name must be a non-empty string")
        value = stream.get("stream_state") or {}
        if not isinstance(value, dict):
            raise StateError(f"{where}: stream_state of '{name}' must be an object")
        check_stream_state(value, f"{where}: stream_state of '{name}'")
        return name, value
    if kind in ("GLOBAL", "LEGACY"):
        return None  # not produced by us; a REST source has nothing to resume from them
    raise StateError(f"{where}: unknown state type {kind!r}; expected STREAM")


def parse_state(value: Any, where: str = "state") -> StateMap:
    """Turn any accepted state shape into ``{stream: stream_state}``; raise StateError otherwise."""
    if value is None or value == {} or value == []:
        return {}
    if isinstance(value, list):
        out: StateMap = {}
        for i, item in enumerate(value):
            parsed = _from_airbyte_item(item, f"{where}[{i}]")
            if parsed:
                out[parsed[0]] = parsed[1]
        return out
    if not isinstance(value, dict):
        raise StateError(f"{where}: expected a JSON object or array, got {type(value).__name__}")
    if value.get("type") in ("STREAM", "STATE", "GLOBAL", "LEGACY"):
        return parse_state([value], where)
    streams = value.get("streams", value)
    if not isinstance(streams, dict):
        raise StateError(f"{where}: 'streams' must be an object of stream name -> state")
    for name, st in streams.items():
        if not isinstance(st, dict):
            raise StateError(f"{where}: state of stream '{name}' must be an object, got {type(st).__name__}")
        check_stream_state(st, f"{where}: state of stream '{name}'")
    return {str(k): v for k, v in streams.items()}


_KIND = {dict: "an object", list: "a list", bool: "a boolean"}


def _kind(value: Any) -> str:
    return _KIND.get(type(value), type(value).__name__)


def _check_cursor(value: Any, where: str) -> None:
    """A cursor is sent upstream as text: a string or a number (an object was sent as a Python repr)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int, float))):
        raise StateError(f"{where}: 'cursor' must be a string or a number, got {_kind(value)}")


def check_stream_state(state: dict[str, Any], where: str) -> None:
    """The keys the engine reads: ``cursor`` and ``partitions`` (a list of {partition, cursor})."""
    _check_cursor(state.get("cursor"), where)
    partitions = state.get("partitions")
    if partitions is None:
        return
    if not isinstance(partitions, list):
        raise StateError(f"{where}: 'partitions' must be a list of {{\"partition\": ..., \"cursor\": ...}} "
                         f"objects, got {_kind(partitions)}")
    for i, entry in enumerate(partitions):
        if not isinstance(entry, dict) or not isinstance(entry.get("partition", {}), dict):
            raise StateError(f"{where}: partitions[{i}] must be an object with a 'partition' object, got {_kind(entry)}")
        _check_cursor(entry.get("cursor"), f"{where}: partitions[{i}]")


def parse_state_text(text: str, where: str) -> StateMap:
    try:
        value = jsoncodec.loads(text) if text.strip() else None
    except jsoncodec.JSONDecodeError as exc:
        raise StateError(f"{where}: not valid JSON ({exc})") from None
    return parse_state(value, where)


def load_state_file(path: str) -> StateMap:
    """A missing state file means a first sync (empty state)."""
    return load_state_versioned(path)[0]


def _read_state_bytes(location: str) -> tuple[bytes | None, str | None]:
    from source_solidafy.small_files import is_remote, read_file, stat_version

    if is_remote(location):
        return read_file(location)
    if not Path(location).exists():
        return None, None
    try:
        with open(location, "rb") as fh:
            return fh.read(), stat_version(fh.fileno())
    except OSError as exc:
        raise StateError(f"{location}: cannot read state file ({exc.strerror})") from None


def load_state_versioned(location: str, required: bool = False) -> tuple[StateMap, str | None]:
    """A state file by path or URI (s3:// r2:// gs:// az://) and its version. None there: a first
    sync (version None). The runner's writes then expect that version (small_files.py): a state file
    another writer changed meanwhile is never silently overwritten."""
    data, version = _read_state_bytes(location)
    if data is None:
        if required:
            raise ConfigError(f"state file not found: {location}")
        return {}, None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StateError(f"{location}: state file is not UTF-8 text ({not_utf8(exc)})") from None
    return parse_state_text(text, location), version


def check_state_path(path: str) -> None:
    """Fail before the sync starts when ``--state FILE`` cannot be written (the sync would run to
    the end and lose its state): the parent directories are made and a temporary file is created
    and removed there, the way :func:`write_state_file` will."""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"--state {path}: is a directory; give a file path")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocking = next(p for p in target.parents if p.exists())
        raise UsageError(f"--state {path}: {blocking} is not a directory") from None
    except OSError as exc:
        raise UsageError(f"--state {path}: cannot create the directory {exc.filename} ({exc.strerror})") from None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise UsageError(f"--state {path}: cannot write files in {target.parent} ({exc.strerror})") from None


UNCHECKED = object()  # StateFileSaver(expect=...) not given: writes do not check the file's version


def state_bytes(state: StateMap) -> bytes:
    return jsoncodec.dumps({"streams": state}, option=orjson.OPT_INDENT_2)


def write_state_file(path: str, state: StateMap) -> None:
    """Write ``{"streams": ...}`` atomically: temp file in the same directory, fsync, rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(state_bytes(state))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_interval(given: float | None = None) -> float:
    """Seconds between two mid-sync writes of the state file: ``given``, else ``SOLIDAFY_STATE_SAVE_SECS``
    (0 = at every checkpoint), else 1."""
    if given is not None:
        return given
    return env_seconds("SOLIDAFY_STATE_SAVE_SECS", DEFAULT_SAVE_SECS, allow_zero=True)


def env_seconds(name: str, default: float, *, allow_zero: bool) -> float:
    """A number of seconds from environment variable ``name`` (``default`` when unset or empty)."""
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not (value >= 0 if allow_zero else value > 0):  # also NaN
        raise UsageError(f"environment variable {name}={raw!r}: expected a number of seconds {'>= 0' if allow_zero else '> 0'}")
    return value


class StateFileSaver:
    """Writes ``--state FILE`` while a sync runs (no-op without a path).

    The runner calls :meth:`changed` when a checkpoint moves the state and :meth:`save_if_due` once
    the records before it are delivered. The first checkpoint is written at once, later ones at most
    every ``interval`` seconds (a write is a temp file, an fsync and a rename: well under a
    millisecond on a local SSD, up to tens of milliseconds on slower disks, too much for every page of
    a 100-page/s stream); :meth:`save` writes the final state at the end.
    """

    def __init__(self, path: str | None, interval: float | None = None, expect: Any = UNCHECKED) -> None:
        self.path = path
        self.interval = save_interval(interval) if path else 0.0
        self._last: float | None = None
        self._dirty = False
        self.version = expect  # UNCHECKED: plain writes; else each write expects the file at this version

    def changed(self) -> None:
        self._dirty = True

    def save_if_due(self, current: Callable[[], StateMap]) -> None:
        if not (self.path and self._dirty):
            return
        if self._last is not None and time.monotonic() - self._last < self.interval:
            return
        self.save(current())

    def save(self, state: StateMap) -> None:
        if not self.path:
            return
        if self.version is UNCHECKED:
            write_state_file(self.path, state)
        else:  # the file as this sync last saw it, or ConflictError: another writer changed it
            from source_solidafy.small_files import write_file

            self.version = write_file(self.path, state_bytes(state), expect=self.version)
        self._last, self._dirty = time.monotonic(), False
