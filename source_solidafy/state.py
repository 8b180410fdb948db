"""State: parse every shape users and orchestrators send, and write state files atomically.

Accepted shapes (all mean "stream name -> stream state"):

- solidafy global object ``{"streams": {"customers": {"cursor": 1700000000}}}``
- Airbyte array ``[{"type": "STREAM", "stream": {"stream_descriptor": {"name": "customers"},
  "stream_state": {...}}}]`` (elements may also be whole STATE messages ``{"type": "STATE", "state": ...}``)
- a plain map ``{"public.orders": {"cursor": "..."}}`` (the README's database example)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import orjson

from source_solidafy import jsoncodec
from source_solidafy.errors import StateError

StateMap = dict[str, dict[str, Any]]


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
    return {str(k): v for k, v in streams.items()}


def parse_state_text(text: str, where: str) -> StateMap:
    try:
        value = jsoncodec.loads(text) if text.strip() else None
    except jsoncodec.JSONDecodeError as exc:
        raise StateError(f"{where}: not valid JSON ({exc})") from None
    return parse_state(value, where)


def load_state_file(path: str) -> StateMap:
    """A missing state file means a first sync (empty state)."""
    p = Path(path)
    if not p.exists():
        return {}
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise StateError(f"{path}: cannot read state file ({exc.strerror})") from None
    return parse_state_text(text, path)


def write_state_file(path: str, state: StateMap) -> None:
    """Write ``{"streams": ...}`` atomically: temp file in the same directory, fsync, rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(jsoncodec.dumps({"streams": state}, option=orjson.OPT_INDENT_2))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
