"""``- cast``: values converted to the types the stream's schema declares (as the steps before made it).

A field is cast when its schema ``type`` is one of ``integer``, ``number``, ``boolean``, ``string``
(with or without ``null``); nested objects' properties too. The converters are picked once, when the
step is built; per record a value already of its type costs one ``type()`` check.

A value that cannot be converted (``"abc"`` for an integer, ``1.5`` for an integer, ``"maybe"`` for
a boolean) is kept as it is: nothing is lost, and the stream logs one warning naming the field and
the type (never the value). It is a LOG WARN line, not a suspicion that data was missed: the state
moves on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import orjson

from source_solidafy import jsoncodec
from source_solidafy.rest.field_paths import compile_patterns
from source_solidafy.rest.transforms import Schema, TransformStep
from source_solidafy.source import LogFn

_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


class CannotCast(ValueError):
    pass


def _number(text: str) -> int | float:
    """``"12"`` -> 12, ``" 1.5 "`` -> 1.5, ``"1e3"`` -> 1000.0; ValueError for anything else."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        return float(text)


def to_integer(value: Any) -> int:
    number = _number(value) if isinstance(value, str) else value
    if isinstance(number, (bool, int)):
        return int(number)
    if isinstance(number, float) and number.is_integer():
        return int(number)
    raise CannotCast


def to_number(value: Any) -> int | float:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        number = _number(value)
        if isinstance(number, int) or math.isfinite(number):  # NaN and infinity are not JSON
            return number
    raise CannotCast


def to_boolean(value: Any) -> bool:
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise CannotCast


def to_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return jsoncodec.dumps(value, option=orjson.OPT_SORT_KEYS, default=str).decode()  # objects, lists


# type name -> (the Python types already right, the converter)
CASTS: dict[str, tuple[tuple[type, ...], Callable[[Any], Any]]] = {
    "integer": ((int,), to_integer),
    "number": ((int, float), to_number),
    "boolean": ((bool,), to_boolean),
    "string": ((str,), to_string),
}


def cast_type(node: Any) -> str | None:
    """The one castable type a property schema declares (``["null", "integer"]`` -> ``integer``)."""
    if not isinstance(node, dict):
        return None
    kind = node.get("type")
    kinds = [kind] if isinstance(kind, str) else [k for k in kind if k != "null"] if isinstance(kind, list) else []
    return kinds[0] if len(kinds) == 1 and kinds[0] in CASTS else None


Caster = tuple[tuple[str, ...], str]  # (key path, type name)


def casters(schema: Schema | None, prefix: tuple[str, ...] = ()) -> list[Caster]:
    """Every property with a castable type, nested objects' included, in schema order."""
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict):
        return []
    out: list[Caster] = []
    for name, node in props.items():
        kind = cast_type(node)
        if kind is not None:
            out.append(((*prefix, name), kind))
        elif isinstance(node, dict) and isinstance(node.get("properties"), dict):
            out.extend(casters(node, (*prefix, name)))
    return out


class CastFields(TransformStep):
    """``- cast: {fields}``: values converted to their declared types; one warning per stream."""

    def __init__(self, schema: Schema | None, fields: list[str], stream: str, log: LogFn | None) -> None:
        found = casters(schema)
        if fields:
            wanted = compile_patterns(fields)
            found = [c for c in found if any(_named(p.text, c[0]) for p in wanted)]
        self.casters = [(path[:-1], path[-1], kind, *CASTS[kind]) for path, kind in found]
        self.stream, self.log = stream, log
        self.warned = False

    def apply(self, records: list[dict[str, Any]], ctx: dict[str, Any]) -> None:
        for parents, key, kind, right, convert in self.casters:
            objects = records if not parents else [o for rec in records if type(o := _under(rec, parents)) is dict]
            for obj in objects:
                value = obj.get(key)
                if value is None or type(value) in right:
                    continue
                try:
                    obj[key] = convert(value)
                except (CannotCast, ValueError, OverflowError):
                    self._warn(".".join((*parents, key)), kind)

    def _warn(self, field: str, kind: str) -> None:
        if self.warned:
            return
        self.warned = True
        if self.log is not None:
            self.log("WARN", f"stream '{self.stream}': transform cast: a value of '{field}' cannot be cast to "
                             f"{kind}; kept as it is (this warning is shown once per stream)")


def _under(obj: Any, parents: tuple[str, ...]) -> Any:
    for parent in parents:
        obj = obj.get(parent) if type(obj) is dict else None
    return obj


def _named(pattern: str, path: tuple[str, ...]) -> bool:
    """``cast: {fields: [a.b, "c*"]}`` names a property path (plain ``.`` paths and ``*`` globs)."""
    from fnmatch import fnmatchcase

    parts = pattern.split(".")
    return len(parts) == len(path) and all(fnmatchcase(p, q) for q, p in zip(parts, path, strict=True))
