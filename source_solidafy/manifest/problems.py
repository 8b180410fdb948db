"""Turn validation errors into ``file:line: key.path: message`` lines a person can act on.

Pydantic reports locations in canonical terms (``("streams", 3, "pagination", "cursor",
"cursor_parm")``, with the union tag ``cursor`` in it); :func:`locate` maps such a location back onto
the parsed YAML tree (skipping union tags, following other accepted spellings) to find the line and
the key path as the user wrote it.
"""

from __future__ import annotations

import difflib
import functools
import types
import typing
from typing import Any

from pydantic import BaseModel

from source_solidafy.manifest.fields import Strict, accepted_keys, describe_value
from source_solidafy.manifest.walk import KeyPath, format_path
from source_solidafy.manifest.yaml_lines import LineDict, LineList


@functools.cache
def _other_spellings() -> dict[str, set[str]]:
    """canonical key -> the other spellings some model accepts for it."""
    out: dict[str, set[str]] = {}
    stack: list[type[Strict]] = [Strict]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        for other, canonical in cls.spellings.items():
            out.setdefault(canonical, set()).add(other)
    return out


def _resolve_key(node: LineDict, key: str | int) -> Any:
    if key in node:
        return key
    for other in sorted(_other_spellings().get(str(key), ())):
        if other in node:
            return other
    return None


def locate(raw: Any, loc: KeyPath) -> tuple[int | None, KeyPath]:
    """Line and user-spelled key path of ``loc`` in the parsed YAML (as deep as it exists)."""
    node: Any = raw
    line = getattr(raw, "line", None)
    shown: list[str | int] = []
    for i, part in enumerate(loc):
        if isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            line, node = node.item_lines[part], node[part]
            shown.append(part)
            continue
        if isinstance(node, LineDict):
            key = _resolve_key(node, part)
            if key is not None:
                line, node = node.key_lines[key], node[key]
                shown.append(key)
                continue
            if part in (node.get("type"), node.get("op")):
                continue  # a union tag, not a key
            if len(node) == 1:  # {set: {field, value}}, {total_count: {path}}
                (only_key, inner), = node.items()
                if isinstance(inner, LineDict) and _resolve_key(inner, part) is not None:
                    shown.append(only_key)
                    key = _resolve_key(inner, part)
                    line, node = inner.key_lines[key], inner[key]
                    shown.append(key)
                    continue
        shown.extend(loc[i:])
        return line, tuple(shown)
    return line, tuple(shown)


# ------------------------------------------------------------------------- model type navigation


def _unwrap(tp: Any) -> list[Any]:
    """Strip Annotated / Optional; return the union members (one element for a plain type)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        members: list[Any] = []
        for arg in typing.get_args(tp):
            if arg is not type(None):
                members.extend(_unwrap(arg))
        return members
    return [tp]


def _tags(model: type[BaseModel]) -> tuple[Any, ...]:
    for name in ("type", "op"):
        info = model.model_fields.get(name)
        if info is not None and typing.get_origin(info.annotation) is typing.Literal:
            return typing.get_args(info.annotation)
    return ()


def _step(tp: Any, part: str | int) -> Any:
    members = _unwrap(tp)
    if len(members) > 1 and isinstance(part, int):  # a block or a list of blocks: the list
        members = [m for m in members if typing.get_origin(m) is list] or members
    if len(members) > 1:
        chosen = [m for m in members if isinstance(m, type) and part in _tags(m)]
        return chosen[0] if chosen else None
    tp = members[0]
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, info in tp.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        return None
    origin = typing.get_origin(tp)
    if origin is list and isinstance(part, int):
        return typing.get_args(tp)[0]
    if origin is dict and isinstance(part, str):
        return typing.get_args(tp)[1]
    return None


def model_at(root: type[BaseModel], loc: KeyPath) -> type[BaseModel] | None:
    """The model class validating the mapping at ``loc`` (None when it cannot be told)."""
    tp: Any = root
    for part in loc:
        tp = _step(tp, part)
        if tp is None:
            return None
    members = _unwrap(tp)
    if len(members) == 1 and isinstance(members[0], type) and issubclass(members[0], BaseModel):
        return members[0]
    return None


# ---------------------------------------------------------------------------------- the messages




_EXPECTED = {
    "int_parsing": "an integer",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}
_BOUNDS = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}


def _unknown_key(root: type[BaseModel], loc: KeyPath) -> str:
    model = model_at(root, loc[:-1])
    key = str(loc[-1])
    if model is None:
        return "unknown key"
    candidates = sorted(accepted_keys(model) - {"type", "op"})
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    if close:
        return f"unknown key; did you mean '{close[0]}'?"
    return f"unknown key; expected one of {', '.join(candidates)}"


def _unknown_tag(loc: KeyPath, err: dict[str, Any]) -> str:
    ctx = err.get("ctx") or {}
    kind = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
    tags = [t.strip().strip("'") for t in str(ctx.get("expected_tags", "")).split(",")]
    tag = str(ctx.get("tag", ""))
    close = difflib.get_close_matches(tag, tags, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown {kind} type '{tag}'; expected one of {', '.join(tags)}{hint}"


def _without_shape_tags(loc: KeyPath) -> KeyPath:
    """Drop the tag pydantic puts after ``auth`` (one block or a list of alternatives)."""
    from source_solidafy.manifest.auth_models import AUTH_LIST_TAG, AUTH_ONE_TAG

    if len(loc) > 1 and loc[0] == "auth" and loc[1] in (AUTH_LIST_TAG, AUTH_ONE_TAG):
        return (loc[0], *loc[2:])
    return loc


def describe(root: type[BaseModel], err: dict[str, Any]) -> tuple[KeyPath, str]:
    """(location to point at, message) for one pydantic error dict."""
    kind, loc = err["type"], _without_shape_tags(tuple(err["loc"]))
    value = err.get("input")
    if kind == "extra_forbidden" and loc[0] == "auth" and loc[-1] == "when" and not isinstance(loc[1], int):
        return loc, "unknown key; 'when' belongs to an alternative in a list of auth blocks (auth: [...])"
    if kind == "missing":
        return loc[:-1], f"missing required key '{loc[-1]}'"
    if kind == "extra_forbidden":
        return loc, _unknown_key(root, loc)
    if kind == "union_tag_invalid":
        return (*loc, "type"), _unknown_tag(loc, err)
    if kind.startswith("plugin_"):  # a type: plugin:<name> block (manifest/plugin_models.py)
        return (*loc, "type"), str(err.get("msg"))
    if kind == "union_tag_not_found":
        return loc, f"missing required key '{(err.get('ctx') or {}).get('discriminator', 'type').strip(chr(39))}'"
    if kind in _EXPECTED:
        return loc, f"expected {_EXPECTED[kind]}, got {describe_value(value)}"
    if kind == "literal_error":
        expected = str((err.get("ctx") or {}).get("expected", "")).replace("'", "").replace(" or ", ", ")
        close = difflib.get_close_matches(str(value), expected.split(", "), n=1, cutoff=0.6) \
            if isinstance(value, str) else []
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return loc, f"expected one of {expected}; got {describe_value(value)}{hint}"
    if kind in _BOUNDS:
        bound = next(iter((err.get("ctx") or {}).values()), "?")
        return loc, f"expected a value {_BOUNDS[kind]} {bound}, got {describe_value(value)}"
    if kind == "too_short":
        return loc, "expected at least one item"
    message = str(err.get("msg", "invalid value"))
    return loc, message.removeprefix("Value error, ")


def where_of(source_name: str, raw: Any, loc: KeyPath) -> tuple[int | None, str]:
    """``(7, "stripe.yaml:7: auth.token")``: the prefix of every problem and a template's ``where``."""
    line, shown = locate(raw, loc)
    path = format_path(shown)
    where = f"{source_name}:{line}" if line is not None else source_name
    return line, f"{where}: {path}" if path else where


def problem_line(source_name: str, raw: Any, loc: KeyPath, message: str) -> tuple[int, str]:
    """``(line, "stripe.yaml:42: streams[3].pagination.cursor_parm: unknown key; ...")``."""
    line, where = where_of(source_name, raw, loc)
    return (line or 0), f"{where}: {message}"
