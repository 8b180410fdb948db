"""A stream's ``transform`` steps: one class per step kind, each changing a page's records in place.

Each step also says what it does to the stream's declared JSON Schema (:meth:`TransformStep.schema`),
so ``discover`` and the Parquet columns show the records as they are emitted: flattened, renamed,
normalised, without the removed fields. The steps are built once per stream read by
:func:`source_solidafy.rest.builders.transformer`; per record they do only what must be per record.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from typing import Any

import orjson

from source_solidafy import jsoncodec
from source_solidafy.manifest.templates import TemplateString
from source_solidafy.rest.field_paths import FieldPattern, compile_patterns

Schema = dict[str, Any]
END_OF_CHAIN = "__end_of_chain"  # a step that sets ctx[END_OF_CHAIN] ends the request chain after this page


class TransformStep:
    """One ``transform`` step; changes the page's records in place (or replaces list items)."""

    def apply(self, records: list[dict[str, Any]], ctx: dict[str, Any]) -> None:
        raise NotImplementedError

    def schema(self, schema: Schema) -> Schema:
        """The JSON Schema of the records after this step, from the one before (changed in place)."""
        return schema


def _properties(schema: Schema) -> dict[str, Any] | None:
    props = schema.get("properties")
    return props if isinstance(props, dict) else None


class SetField(TransformStep):
    """``- set: {field, value}``: a field from a template; ``record`` is in its context."""

    def __init__(self, field: str, value: TemplateString) -> None:
        self.field, self.value = field, value

    def apply(self, records: list[dict[str, Any]], ctx: dict[str, Any]) -> None:
        if self.value.is_static:
            for rec in records:
                rec[self.field] = self.value.source
            return
        for rec in records:
            rec[self.field] = _typed(self.value.render(ctx, record=rec))


class RemoveFields(TransformStep):
    """``- remove: [a, b.c, "items[*].x", "hs_*"]``: fields dropped (absent ones are fine)."""

    def __init__(self, fields: list[str]) -> None:
        self.patterns = compile_patterns(fields)
        self.plain = [p.text for p in self.patterns if p.plain]
        self.paths = [p for p in self.patterns if not p.plain]

    def apply(self, records: list[dict[str, Any]], ctx: dict[str, Any]) -> None:
        for rec in records:
            for name in self.plain:
                rec.pop(name, None)
            for path in self.paths:
                for container, key in list(path.targets(rec)):
                    if isinstance(container, dict):
                        container.pop(key, None)

    def schema(self, schema: Schema) -> Schema:
        for pattern in self.patterns:
            if pattern.segments[-1][2]:  # ``x[*]``: list items are not removed, nor their schema
                continue
            for props, name in list(pattern.schema_targets(schema)):
                props.pop(name, None)
        return schema


class RenameField(TransformStep):
    """``- rename: {from, to}``: a field moved to another name when the record has it."""

    def __init__(self, from_field: str, to: str) -> None:
        self.from_field, self.to = from_field, to

    def apply(self, records: list[dict[str, Any]], ctx: dict[str, Any]) -> None:
        for rec in records:
            if self.from_field in rec:
                rec[self.to] = rec.pop(self.from_field)

    def schema(self, schema: Schema) -> Schema:
        props = _properties(schema)
        if props is not None and self.from_field in props:
            props[self.to] = props.pop(self.from_field)
        return schema


class Flatten(TransformStep):
    """``- flatten``: nested objects become top-level keys joined by ``separator``."""

    def __init__(self, separator: str, max_depth: int | None, fields: list[str], prefix: bool) -> None:
        self.sep, self.max_depth, self.fields, self.prefix = separator, max_depth, set(fields), prefix

    def _join(self, obj: dict[str, Any], name: str, depth: int, out: dict[str, Any]) -> None:
        sep, limit = self.sep, self.max_depth
        for key, value in obj.items():
            joined = f"{name}{sep}{key}" if name else key
            if type(value) is dict and value and (limit is None or depth < limit):
                self._join(value, joined, depth + 1, out)
            else:
                out[joined] = value

    def _flat(self, rec: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        fields = self.fields
        for key, value in rec.items():
            if type(value) is dict and value and (not fields or key in fields):
                self._join(value, key if self.prefix else "", 1, out)
            else:
                out[key] = value
        return out

    def apply(self, records: list[dict[str, Any]], ctx: dict[str, Any]) -> None:
        flat = self._flat
        records[:] = [flat(rec) for rec in records]

    def _join_schema(self, props: dict[str, Any], name: str, depth: int, out: dict[str, Any]) -> None:
        for key, sub in props.items():
            joined = f"{name}{self.sep}{key}" if name else key
            inner = _properties(sub) if isinstance(sub, dict) else None
            if inner and (self.max_depth is None or depth < self.max_depth):
                self._join_schema(inner, joined, depth + 1, out)
            else:
                out[joined] = sub

    def schema(self, schema: Schema) -> Schema:
        props = _properties(schema)
        if props is None:
            return schema
        out: dict[str, Any] = {}
        for key, sub in props.items():
            inner = _properties(sub) if isinstance(sub, dict) else None
            if inner and (not self.fields or key in self.fields):
                self._join_schema(inner, key if self.prefix else "", 1, out)
            else:
                out[key] = sub
        schema["properties"] = out
        return schema


# compiled on first use (re's cache, see errors._URL_PASSWORD): only normalize_keys needs them
_ACRONYM = r"([A-Z]+)([A-Z][a-z])"  # HTTPCode -> HTTP_Code
_CAMEL = r"([a-z0-9])([A-Z])"  # firstName -> first_Name
_NOT_WORD = r"[^\w]+"  # spaces, dashes, dots -> _


def snake_case(name: str) -> str:
    """``firstName``, ``First Name``, ``HTTPCode``, ``Custom_Field__c`` -> ``first_name``, ``first_name``,
    ``http_code``, ``custom_field__c``."""
    text = re.sub(_CAMEL, r"\1_\2", re.sub(_ACRONYM, r"\1_\2", name))
    return re.sub(_NOT_WORD, "_", text).lower()


_NESTED = (dict, list)
_NESTED_TYPES = frozenset(_NESTED)
_MAX_NAMES = 100_000  # names and key shapes remembered: keys that are data (ids as keys) are not all kept


class NormalizeKeys(TransformStep):
    """``- normalize_keys: snake_case | lower_case``: every key, nested objects' too.

    Records of a stream share their keys: the new names of each key tuple (the record's shape) are
    worked out once, and a record is then rebuilt by ``dict(zip(names, values))``.
    """

    def __init__(self, case: str) -> None:
        self.convert: Callable[[str], str] = snake_case if case == "snake_case" else str.lower
        self._names: dict[str, str] = {}
        self._shapes: dict[tuple[str, ...], tuple[str, ...]] = {}

    def _name(self, key: str) -> str:
        found = self._names.get(key)
        if found is None:
            found = self.convert(key)
            if len(self._names) < _MAX_NAMES:
                self._names[key] = found
        return found

    def _object(self, obj: dict[str, Any]) -> dict[str, Any]:
        keys = tuple(obj)
        names = self._shapes.get(keys)
        if names is None:
            names = tuple(self._name(k) for k in keys)
            if len(self._shapes) < _MAX_NAMES:
                self._shapes[keys] = names
        values = obj.values()
        if _NESTED_TYPES.isdisjoint(map(type, values)):  # no nested object or list (a loop in C)
            return obj if names == keys else dict(zip(names, values, strict=True))
        return dict(zip(names, [self._value(v) if type(v) in _NESTED else v for v in values], strict=True))

    def _value(self, value: Any) -> Any:
        if type(value) is dict:
            return self._object(value)
        return [self._value(v) if type(v) in _NESTED else v for v in value]

    def apply(self, records: list[dict[str, Any]], ctx: dict[str, Any]) -> None:
        records[:] = [self._object(rec) for rec in records]

    def schema(self, schema: Schema) -> Schema:
        props = _properties(schema)
        if props is not None:
            schema["properties"] = {self._name(k): self.schema(v) if isinstance(v, dict) else v
                                    for k, v in props.items()}
        items = schema.get("items")
        if isinstance(items, dict):
            self.schema(items)
        return schema


def _text(value: Any) -> str:
    """A value as the text that is hashed or masked (objects and lists as sorted JSON)."""
    if isinstance(value, str):
        return value
    return jsoncodec.dumps(value, option=orjson.OPT_SORT_KEYS, default=str).decode()


class _ValueStep(TransformStep):
    """A step that replaces the values the field patterns name (null stays null); the result is text."""

    def __init__(self, fields: list[str]) -> None:
        self.patterns: list[FieldPattern] = compile_patterns(fields)

    def _replace(self, records: list[dict[str, Any]], convert: Callable[[Any], str]) -> None:
        for rec in records:
            for pattern in self.patterns:
                for container, key in list(pattern.targets(rec)):
                    value = container[key]
                    if value is not None:
                        container[key] = convert(value)

    def schema(self, schema: Schema) -> Schema:
        for pattern in self.patterns:
            for props, name in list(pattern.schema_targets(schema)):
                props[name] = {"type": ["null", "string"]}
        return schema


class HashFields(_ValueStep):
    """``- hash: {fields, salt}``: hex HMAC-SHA256 keyed with the salt (SHA-256 without one)."""

    def __init__(self, fields: list[str], salt: TemplateString | None) -> None:
        super().__init__(fields)
        self.salt = salt

    def apply(self, records: list[dict[str, Any]], ctx: dict[str, Any]) -> None:
        key = self.salt.render(ctx).encode() if self.salt is not None else b""  # once a page: never shown
        if key:
            digest: Callable[[Any], str] = lambda v: hmac.new(key, _text(v).encode(), hashlib.sha256).hexdigest()  # noqa: E731
        else:
            digest = lambda v: hashlib.sha256(_text(v).encode()).hexdigest()  # noqa: E731
        self._replace(records, digest)


class MaskFields(_ValueStep):
    """``- mask: {fields, keep_last, mask}``: ``mask`` plus the last ``keep_last`` characters."""

    def __init__(self, fields: list[str], keep_last: int, mask: str) -> None:
        super().__init__(fields)
        self.keep_last, self.mask = keep_last, mask

    def apply(self, records: list[dict[str, Any]], ctx: dict[str, Any]) -> None:
        keep, mask = self.keep_last, self.mask
        self._replace(records, (lambda v: mask + _text(v)[-keep:]) if keep else (lambda v: mask))


class Transformer:
    """A stream's ``transform`` steps, applied in order to each page's records."""

    def __init__(self, steps: list[TransformStep]) -> None:
        self.steps = steps

    def __bool__(self) -> bool:
        return bool(self.steps)

    def apply(self, records: list[dict[str, Any]], ctx: dict[str, Any]) -> list[dict[str, Any]]:
        for step in self.steps:
            step.apply(records, ctx)
        return records

    def schema(self, schema: Schema) -> Schema:
        """The declared schema of the records as the steps emit them (``schema`` is changed)."""
        for step in self.steps:
            schema = step.schema(schema)
        return schema


def _typed(text: str) -> Any:
    """A rendered ``set`` value: keep numbers and booleans as such when the template yields them."""
    if text in ("True", "False"):
        return text == "True"
    if text.lstrip("-").isdigit() and len(text) < 19:
        return int(text)
    return text
