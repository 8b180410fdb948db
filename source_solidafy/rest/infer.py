"""JSON Schema inference from a sample of records: types merged across records, every field nullable."""

from __future__ import annotations

from typing import Any

_ORDER = ("null", "boolean", "integer", "number", "string", "array", "object")


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "string"


class _Node:
    __slots__ = ("types", "props", "items")

    def __init__(self) -> None:
        self.types: set[str] = set()
        self.props: dict[str, _Node] = {}
        self.items: _Node | None = None

    def add(self, value: Any) -> None:
        kind = _type_of(value)
        self.types.add(kind)
        if kind == "object":
            for k, v in value.items():
                self.props.setdefault(str(k), _Node()).add(v)
        elif kind == "array":
            self.items = self.items or _Node()
            for v in value:
                self.items.add(v)

    def schema(self) -> dict[str, Any]:
        types = set(self.types) | {"null"}
        if "integer" in types and "number" in types:
            types.discard("integer")
        out: dict[str, Any] = {"type": [t for t in _ORDER if t in types]}
        if "object" in types:
            out["properties"] = {k: n.schema() for k, n in self.props.items()}
            out["additionalProperties"] = True
        if "array" in types:
            out["items"] = self.items.schema() if self.items and self.items.types else {}
        return out


def infer_schema(records: list[dict[str, Any]]) -> dict[str, Any]:
    root = _Node()
    for rec in records:
        root.add(rec)
    props = {k: n.schema() for k, n in root.props.items()}
    return {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
            "properties": props, "additionalProperties": True}


def ensure_fields(schema: dict[str, Any], paths: list[list[str]]) -> dict[str, Any]:
    """Make sure primary-key and cursor paths exist in the schema (Airbyte's discover rules)."""
    for path in paths:
        node = schema
        for part in path:
            props = node.setdefault("properties", {})
            node = props.setdefault(part, {})
    return schema
