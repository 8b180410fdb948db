"""Dotted paths into parsed JSON (``data[-1].id``), compiled once and evaluated per page.

Paths appear everywhere in a manifest (``records_path``, ``cursor_path``, ``token_path``...). They are
parsed once at construction into a tuple of steps, so evaluating one per page is a short loop with
no string work. A missing key or index yields the default; evaluation never raises.

    compile_path("data[-1].id").get({"data": [{"id": 1}, {"id": 2}]})   # -> 2
    compile_path("data[*].id").get({"data": [{"id": 1}, {"id": 2}]})    # -> [1, 2]
"""

from __future__ import annotations

import re
from typing import Any

_WILDCARD = object()  # the [*] step
_INDEX = r"\[\s*(-?\d+|\*)\s*\]"  # compiled on first use (see errors._URL_PASSWORD)
_KEY = re.compile(r"[^.\[\]]+")
_MISSING = object()


class Path:
    """A compiled path: ``.get(obj, default)`` walks dict keys and list indexes."""

    __slots__ = ("text", "_steps", "_has_wildcard")

    def __init__(self, text: str, steps: tuple[Any, ...]) -> None:
        self.text = text
        self._steps = steps
        self._has_wildcard = any(s is _WILDCARD for s in steps)

    def __repr__(self) -> str:
        return f"Path({self.text!r})"

    def get(self, obj: Any, default: Any = None) -> Any:
        """Value at the path in ``obj``, or ``default`` when any step is missing."""
        if self._has_wildcard:
            return _walk_wild(obj, self._steps, 0, default)
        for step in self._steps:
            if isinstance(step, str):
                if not isinstance(obj, dict):
                    return default
                obj = obj.get(step, _MISSING)
                if obj is _MISSING:
                    return default
            else:
                if not isinstance(obj, list):
                    return default
                try:
                    obj = obj[step]
                except IndexError:
                    return default
        return obj


    def missing(self, obj: Any, prefer_lists: bool = False, root: str = "the response") -> str | None:
        """Why the path selects nothing in ``obj`` (None when it selects something, even null).

        Names where it stops and what is there instead: ``no key 'data' in the response (keys:
        items, meta; did you mean 'items'?)``. A ``[*]`` step is explained through the first item.
        ``prefer_lists``: with no close spelling, suggest the one key holding a non-empty list.
        ``root`` names ``obj`` itself.
        """
        where = root
        for i, step in enumerate(self._steps):
            if step is _WILDCARD or not isinstance(step, str):
                if not isinstance(obj, list):
                    return f"{where} is {describe(obj)}, not a list"
                if step is _WILDCARD:
                    if not obj:
                        return None
                    step = 0
                if not -len(obj) <= step < len(obj):
                    return f"{where} is a list of {len(obj)}, with no item [{step}]"
            elif not isinstance(obj, dict):
                return f"{where} is {describe(obj)}, not an object"
            elif step not in obj:
                return f"no key '{step}' in {where}{keys_hint(step, obj, prefer_lists)}"
            obj = obj[step]
            where = f"'{_prefix(self._steps[: i + 1])}'"
        return None


    def stops_at_null(self, obj: Any) -> bool:
        """True when walking the path meets a null before its end (an empty XML element, ``<items/>``)."""
        for step in self._steps:
            if obj is None:
                return True
            if isinstance(step, str):
                if not isinstance(obj, dict) or step not in obj:
                    return False
                obj = obj[step]
            elif isinstance(obj, list) and obj and step is _WILDCARD:
                obj = obj[0]
            elif isinstance(obj, list) and step is not _WILDCARD and -len(obj) <= step < len(obj):
                obj = obj[step]
            else:
                return False
        return False


def _prefix(steps: tuple[Any, ...]) -> str:
    out = ""
    for step in steps:
        if isinstance(step, str):
            out += f".{step}" if out else step
        else:
            out += "[*]" if step is _WILDCARD else f"[{step}]"
    return out


_MAX_KEYS_SHOWN = 20


def describe(value: Any) -> str:
    """A short, bounded description of a JSON value's kind (for messages)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return "an object"


def keys_hint(wanted: str, obj: dict[str, Any], prefer_lists: bool = False, label: str = "keys") -> str:
    """`` (keys: a, b; did you mean 'b'?)`` for a key not found in ``obj``; bounded for huge objects."""
    import difflib

    keys = [str(k) for k in obj]
    shown = ", ".join(k[:40] for k in keys[:_MAX_KEYS_SHOWN]) + (" ..." if len(keys) > _MAX_KEYS_SHOWN else "")
    close = difflib.get_close_matches(wanted, keys[:1000], n=1)
    if not close:  # 'next_cursor' for 'next', 'id' for 'item_id'
        low = wanted.lower()
        parts = set(re.split(r"[^a-z0-9]+", low))
        close = [k for k in keys[:1000]
                 if (len(k) >= 3 and (low in k.lower() or k.lower() in low)) or k.lower() in parts]
        close = close if len(close) == 1 else []
    if not close and prefer_lists:
        lists = [k for k, v in obj.items() if isinstance(v, list) and v]
        close = lists if len(lists) == 1 else []
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f" ({label}: {shown or 'none'}{hint})"


def _walk_wild(obj: Any, steps: tuple[Any, ...], start: int, default: Any) -> Any:
    """Slow path for ``[*]``: fan out over a list, dropping items where the rest is missing."""
    for i in range(start, len(steps)):
        step = steps[i]
        if step is _WILDCARD:
            if not isinstance(obj, list):
                return default
            out = []
            for item in obj:
                value = _walk_wild(item, steps, i + 1, _MISSING)
                if value is not _MISSING:
                    out.append(value)
            return out
        if isinstance(step, str):
            if not isinstance(obj, dict) or step not in obj:
                return default
            obj = obj[step]
        else:
            if not isinstance(obj, list) or not -len(obj) <= step < len(obj):
                return default
            obj = obj[step]
    return obj


def compile_path(text: str) -> Path:
    """Parse ``text`` once. ``""`` or ``"$"`` selects the whole object.

    Raises ValueError naming the path and the position for bad syntax (``data[x]``, ``a..b``,
    ``data[0``).
    """
    if not isinstance(text, str):
        raise ValueError(f"path must be a string, got {type(text).__name__}")
    body = text.strip()
    if body.startswith("$"):
        body = body[1:].lstrip(".")
    steps: list[Any] = []
    pos, after_key_sep = 0, True
    while pos < len(body):
        char = body[pos]
        if char == "[":
            match = re.compile(_INDEX).match(body, pos)
            if not match:
                raise ValueError(f"invalid path {text!r}: expected [integer] or [*] at {body[pos:]!r}")
            steps.append(_WILDCARD if match.group(1) == "*" else int(match.group(1)))
            pos, after_key_sep = match.end(), False
        elif char == ".":
            if pos == 0 or pos + 1 >= len(body) or body[pos + 1] in ".[":
                raise ValueError(f"invalid path {text!r}: empty key at position {pos}")
            pos, after_key_sep = pos + 1, True
        else:
            match = _KEY.match(body, pos)
            if not after_key_sep or match is None:
                raise ValueError(f"invalid path {text!r}: expected '.' or '[' at position {pos}")
            steps.append(match.group(0))
            pos, after_key_sep = match.end(), False
    return Path(text, tuple(steps))
