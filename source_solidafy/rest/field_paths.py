"""Field patterns of ``remove``, ``hash``, ``mask`` and ``cast``: where in a record (and in its schema).

``a`` is a top-level key; ``a.b`` a key of the object under ``a``; ``items[*].x`` the key ``x`` of
every object in the list ``items`` (``tags[*]`` every item itself); ``*`` and ``?`` match within one
key (``properties.hs_*``, ``*.secret``). A name without ``.``, ``[``, ``*`` or ``?`` is one plain
key, the common case, handled without a walk.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from fnmatch import fnmatchcase
from typing import Any

_SEGMENT = r"^(?P<key>[^\[\]]*)(?P<stars>(\[\*\])*)$"  # compiled on first use (see errors._URL_PASSWORD)


class FieldPattern:
    """One compiled pattern; :meth:`targets` yields ``(container, key or index)`` of each match."""

    __slots__ = ("text", "plain", "segments")

    def __init__(self, text: str) -> None:
        self.text = text
        self.plain = not any(c in text for c in ".[*?")
        self.segments: list[tuple[str, bool, int]] = []  # (key, key is a glob, [*] after it)
        for part in text.split("."):
            match = re.match(_SEGMENT, part)
            if match is None or (not match["key"] and not match["stars"]):
                raise ValueError(f"invalid field pattern {text!r}: expected keys joined by '.', each optionally "
                                 "followed by [*] (every list item), '*' and '?' matching within a key")
            key = match["key"]
            self.segments.append((key, any(c in key for c in "*?"), len(match["stars"]) // 3))

    def targets(self, record: Any) -> Iterator[tuple[Any, Any]]:
        """``(dict, key)`` or ``(list, index)`` for each value the pattern names in ``record``."""
        if self.plain:
            if type(record) is dict and self.text in record:
                yield record, self.text
            return
        yield from self._walk(record, 0, _record_keys, _record_items)

    def schema_targets(self, schema: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
        """``(properties, name)`` for each property the pattern names in a JSON Schema object; for a
        pattern ending in ``[*]``, ``(array schema, "items")``."""
        yield from self._walk(schema, 0, _schema_keys, _schema_items)

    def _walk(self, node: Any, i: int, keys_of: Callable[[Any], Any], items_of: ItemsFn) -> Iterator[tuple[Any, Any]]:
        keyed = keys_of(node)
        if keyed is None:
            return
        key, glob, stars = self.segments[i]
        names = [k for k in keyed if fnmatchcase(k, key)] if glob else ([key] if key in keyed else [])
        last = i == len(self.segments) - 1
        for name in names:
            found = [(keyed, name)] if stars == 0 else items_of(keyed[name], stars)
            for container, index in found:
                if last:
                    yield container, index
                else:
                    yield from self._walk(container[index], i + 1, keys_of, items_of)


ItemsFn = Callable[[Any, int], list[tuple[Any, Any]]]


def _record_keys(node: Any) -> dict[str, Any] | None:
    return node if isinstance(node, dict) else None


def _record_items(value: Any, stars: int) -> list[tuple[Any, Any]]:
    """The (list, index) of every item ``stars`` list levels down from ``value``."""
    level: list[Any] = [value]
    found: list[tuple[Any, Any]] = []
    for depth in range(stars):
        found = [(v, j) for v in level if isinstance(v, list) for j in range(len(v))]
        if depth < stars - 1:
            level = [v[j] for v, j in found]
    return found


def _schema_keys(node: Any) -> dict[str, Any] | None:
    props = node.get("properties") if isinstance(node, dict) else None
    return props if isinstance(props, dict) else None


def _schema_items(node: Any, stars: int) -> list[tuple[Any, Any]]:
    """``(array schema, "items")`` ``stars`` array levels down from ``node``."""
    for _ in range(stars - 1):
        node = node.get("items") if isinstance(node, dict) else None
    return [(node, "items")] if isinstance(node, dict) and isinstance(node.get("items"), dict) else []


def compile_patterns(texts: list[str]) -> list[FieldPattern]:
    return [FieldPattern(t) for t in texts]
