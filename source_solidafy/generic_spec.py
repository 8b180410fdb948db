"""The generic ``spec`` (no connector chosen): a ``connector`` choice plus every connector's fields.

Airbyte's acceptance rules forbid anyOf/allOf/not/if, so the form is flat: ``connector`` is required
and each other field says which connectors use it; the chosen connector validates its own fields.
"""

from __future__ import annotations

from typing import Any

from source_solidafy import registry
from source_solidafy.config import field_schema


def generic_spec() -> dict[str, Any]:
    from source_solidafy.api import config_fields

    names = [c.name for c in registry.builtin_connectors()]
    props: dict[str, Any] = {
        "connector": {
            "type": "string",
            "title": "connector",
            "description": "Which built-in connector to run (or a path to a connector YAML file inside the image)",
            "examples": names,
            "order": 0,
        }
    }
    users: dict[str, list[str]] = {}
    for name in names:
        for f in config_fields(name):
            users.setdefault(f.name, []).append(name)
            if f.name not in props:
                prop = field_schema(f, len(props))
                prop.pop("default", None)
                props[f.name] = prop
            elif f.secret:
                props[f.name]["airbyte_secret"] = True
    for fname, used_by in users.items():
        desc = props[fname].get("description", "")
        props[fname]["description"] = f"{desc} (used by: {', '.join(used_by)})".strip()
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "source-solidafy",
        "type": "object",
        "required": ["connector"],
        "properties": props,
        "additionalProperties": True,
    }
