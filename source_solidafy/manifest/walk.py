"""Enumerate a manifest's templates and paths with their YAML key paths.

The loader uses this to compile every template once (and give it a ``where``), to check path syntax,
and spec.py uses it to find the config keys the templates read. Key paths use the YAML spelling of
each field (``from``, ``schema``), as tuples such as ``("streams", 0, "request", "path")``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from source_solidafy.manifest.decoder_parts import NestedRecords
from source_solidafy.manifest.fields import PATH_FIELDS
from source_solidafy.manifest.pyd import BaseModel
from source_solidafy.manifest.stream_parts import Stop
from source_solidafy.manifest.templates import TemplateString

KeyPath = tuple[str | int, ...]


def _children(obj: Any) -> Iterator[tuple[str | int, Any]]:
    if isinstance(obj, BaseModel):
        for name, info in type(obj).model_fields.items():
            if name == "json_schema":
                continue
            yield (info.alias or name), getattr(obj, name)
    elif isinstance(obj, dict):
        yield from obj.items()
    elif isinstance(obj, list):
        yield from enumerate(obj)


def iter_templates(obj: Any, path: KeyPath = ()) -> Iterator[tuple[KeyPath, TemplateString]]:
    """Every TemplateString under ``obj``, depth first, in file order."""
    if isinstance(obj, TemplateString):
        yield path, obj
        return
    for key, child in _children(obj):
        yield from iter_templates(child, (*path, key))


def iter_paths(obj: Any, path: KeyPath = ()) -> Iterator[tuple[KeyPath, str]]:
    """Every path-valued string (records_path, cursor_path, stop.path, nested_records.carry...)."""
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            value = getattr(obj, name)
            is_path = name in PATH_FIELDS or (name == "path" and isinstance(obj, (Stop, NestedRecords)))
            if is_path and isinstance(value, str) and value:
                yield (*path, name), value
        if isinstance(obj, NestedRecords):
            for name, value in obj.carry.items():
                yield (*path, "carry", name), value
    for key, child in _children(obj):
        if isinstance(child, (BaseModel, list)):
            yield from iter_paths(child, (*path, key))


def format_path(path: KeyPath) -> str:
    """``streams[3].request.params["created[gte]"]``: the key path shown in every message."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}" if out else part
        else:
            out += f'["{part}"]'
    return out
