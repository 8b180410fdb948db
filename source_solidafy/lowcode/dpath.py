"""dpath 2.2's ``new`` and ``delete``, as airbyte-cdk 7's AddFields and RemoveFields call them.

- :func:`new` (AddFields): walks ``path``, creating a missing step as a list when the next step is a
  decimal key (``str.isdecimal``) and as an object otherwise; a decimal step into a list is an index
  (the list is extended with nulls up to it). A step through a value that is not an object or a list,
  or a non-decimal step into a list, raises :class:`PathError` (dpath's PathNotFound / TypeError: the
  CDK fails the stream).
- :func:`delete` (RemoveFields): every place in the record whose path matches the pointer, where each
  step is an ``fnmatch`` pattern (``*``, ``?``, ``[a-z]``), ``**`` stands for any number of steps (one
  per pointer) and a step that reads as an integer (``int()``, so ``-1`` is the last item) matches a
  list index. A list item is removed when it is the list's last (by the list's length before this
  pointer), else replaced by null. Places are visited in dpath's order: a node's children, then each
  child's subtree. With a ``keep`` filter (RemoveFields.condition) dpath deletes every *leaf* (text,
  number, boolean, null) of the whole record for which the filter says true, whether its path matches
  the pointer or not: so does this.
- :func:`found` (DpathExtractor, DpathFlattenFields): ``dpath.values`` / ``dpath.get``'s matches, with
  the same patterns, in the same order; :func:`walk` looks only where a match may be.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fnmatch import fnmatchcase
from typing import Any

_LEAVES = (bytes, str, int, float, bool, type(None))
GLOB_CHARS = frozenset("*?[")


class PathError(Exception):
    """dpath could not follow or set the path (the CDK's stream fails)."""


class _Index(int):
    """dpath's ListIndex: a list position that also equals its negative form (``-1`` is the last)."""

    length: int

    def __new__(cls, value: int, length: int) -> _Index:
        index = super().__new__(cls, value)
        index.length = length
        return index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, int) and (other == int(self) or self.length + other == int(self))

    __hash__ = int.__hash__


def _leaf(value: Any) -> bool:
    return isinstance(value, _LEAVES)


def _step(current: Any, segment: Any) -> Any:
    if isinstance(current, list) and isinstance(segment, str) and segment.isdecimal():
        return int(segment)
    return segment


def _create(current: Any, segments: list[str], i: int) -> None:
    """dpath's _default_creator."""
    segment: Any = segments[i]
    if isinstance(current, list):
        segment = int(segment)
        current.extend([None] * (segment + 1 - len(current)))
    following = segments[i + 1] if i + 1 < len(segments) else None
    current[segment] = [] if following is not None and following.isdecimal() else {}


def new(record: dict[str, Any], path: list[str], value: Any) -> None:
    """``dpath.new(record, path, value)``."""
    current: Any = record
    try:
        for i, raw in enumerate(path[:-1]):
            segment = _step(current, raw)
            try:
                current[segment]
            except (LookupError, TypeError):
                _create(current, path, i)
            current = current[segment]
            if _leaf(current):
                raise PathError(f"{path[: i + 1]} holds {type(current).__name__}, not an object or a list")
        last: Any = _step(current, path[-1])
        if isinstance(last, int):
            current.extend([None] * (last + 1 - len(current)))
        current[last] = value
    except (LookupError, TypeError, ValueError) as exc:
        raise PathError(f"cannot set {path}: {exc}") from None


def _children(node: Any) -> list[tuple[Any, Any]]:
    if isinstance(node, dict):
        return list(node.items())
    if isinstance(node, list):
        return [(_Index(i, len(node)), v) for i, v in enumerate(node)]
    return []


def walk(node: Any, glob: list[Any] | None = None) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """dpath's segments.walk: (path, value) for a node's children, then each child's own walk; without
    recursion (a body nested a thousand deep is no RecursionError). With ``glob``, a node under which no
    path can match it is not looked into (:func:`_may_lead`): what is yielded keeps dpath's order."""
    pending: list[Iterator[tuple[tuple[Any, ...], Any]]] = [iter([((), node)])]
    while pending:
        step = next(pending[-1], None)
        if step is None:
            pending.pop()
            continue
        at, value = step
        if _leaf(value) or (glob is not None and not _may_lead(at, glob)):
            continue
        children = [((*at, key), child) for key, child in _children(value)]
        yield from children
        pending.append(iter(children))


def _may_lead(at: tuple[Any, ...], glob: list[Any]) -> bool:
    """Whether a path below ``at`` may match ``glob``: the steps before a ``**`` (all, without one) are
    the same in every form dpath's match gives the glob, and without ``**`` no match is longer than it."""
    if "**" in glob:
        fixed = glob[: glob.index("**")]
    elif len(at) >= len(glob):
        return False
    else:
        fixed = glob
    return all(segment_matches(s, g) for s, g in zip(at, fixed, strict=False))


def _has(record: Any, path: tuple[Any, ...]) -> bool:
    current = record
    for segment in path:
        if _leaf(current):
            return False
        try:
            current = current[_step(current, segment)]
        except (LookupError, TypeError):
            return False
    return True


def segment_matches(segment: Any, glob: Any) -> bool:
    """One step of dpath's match: a list index against what ``int()`` makes of the glob, else fnmatch
    (a glob that is no text matches no key: fnmatch raises and dpath says no)."""
    if isinstance(segment, int):
        try:
            if segment == int(glob):
                return True
        except (ValueError, TypeError):
            return isinstance(glob, str) and fnmatchcase(str(segment), glob)
        return False  # an index against an integer it is not: fnmatch of an int raises, dpath says no
    return isinstance(glob, str) and fnmatchcase(segment, glob)


def match(path: tuple[Any, ...], glob: list[Any]) -> bool:
    """dpath's segments.match (one ``**`` at most; see :func:`check_glob`): ``**`` stands for one or more
    steps, or none when the path is one step shorter than the glob (``[data, "**"]`` matches ``data``)."""
    steps: list[Any] = list(glob)  # None: a star added for ``**``
    if "**" in glob:
        ss = glob.index("**")
        if len(path) >= len(glob):
            steps = [*glob[:ss], *[None] * (len(path) - len(glob) + 1), *glob[ss + 1:]]
        elif len(path) == len(glob) - 1:
            steps = [*glob[:ss], *glob[ss + 1:]]
    if len(path) != len(steps):
        return False
    return all(segment_matches(s, "*" if g is None else g) for s, g in zip(path, steps, strict=True))


def check_glob(glob: list[Any]) -> str | None:
    """Why dpath refuses the pointer on every record (None: it does not)."""
    return "two '**' in one path (dpath refuses it)" if glob.count("**") > 1 else None


def is_plain(glob: list[Any]) -> bool:
    """Steps that are text without patterns, or integers: they name one place at most."""
    return all((isinstance(step, str) and not GLOB_CHARS & set(step)) or type(step) is int for step in glob)


def _remove(record: Any, path: tuple[Any, ...]) -> None:
    parent = record
    for segment in path[:-1]:
        parent = parent[_step(parent, segment)]
    key = path[-1]
    if isinstance(parent, dict) or key == len(parent) - 1:  # _Index equality: the length when walked
        del parent[key]
    else:
        parent[key] = None


def _plain_target(record: Any, glob: list[Any]) -> tuple[Any, ...] | None:
    """The one path a plain glob (:func:`is_plain`) matches: what the walk would find, without walking."""
    current, path = record, []
    for step in glob:
        if isinstance(current, dict):
            if not isinstance(step, str) or step not in current:
                return None
            key: Any = step
        elif isinstance(current, list):
            try:
                wanted = int(step)
            except ValueError:
                return None
            position = wanted if wanted >= 0 else len(current) + wanted
            if not 0 <= position < len(current):
                return None
            key = _Index(position, len(current))
        else:
            return None
        path.append(key)
        current = current[key]
    return tuple(path) if path else None


def found(record: Any, glob: list[Any], limit: int | None = None) -> list[Any]:
    """The values at the places ``glob`` matches, in dpath's walk order (``dpath.values``; ``dpath.get``
    stops at the second, ``limit=2``). Only nodes that may lead to a match are walked."""
    if is_plain(glob):
        target = _plain_target(record, glob)
        if target is None:
            return []
        node: Any = record
        for key in target:
            node = node[key]
        return [node]
    values = []
    for path, value in walk(record, glob):
        if match(path, glob):
            values.append(value)
            if len(values) == limit:
                break
    return values


def delete(record: dict[str, Any], glob: list[Any], keep: Callable[[Any], bool] | None = None) -> int:
    """``dpath.delete(record, glob, afilter=keep)``, without its PathNotFound: the number deleted."""
    if keep is None and is_plain(glob):
        target = _plain_target(record, glob)
        if target is None:
            return 0
        _remove(record, target)
        return 1
    deleted = 0
    for path, value in list(walk(record)):
        if not _has(record, path):
            continue
        matched = match(path, glob)
        if (matched and keep is None) or (keep is not None and _leaf(value) and keep(value)):
            _remove(record, path)
            deleted += 1
    return deleted
