"""Which connector a request may run: a built-in name or alias, never a path on the server's disk.

A custom connector travels in the body as YAML text, and only when the server was started with
``--allow-custom-connectors``:

    {"connector_yaml": "name: my-api\\nbase_url: ...\\nstreams: [...]", "config": {...}}
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from source_solidafy.server.bodies import bad, opt_str
from source_solidafy.server.errors import ApiError

_PATHLIKE = ("/", "\\", "~", ":")
_FILE_KEYS = frozenset({"schema_file"})
_YAML_SUFFIXES = (".yaml", ".yml", ".json")


def check_builtin_name(name: str) -> str:
    """Refuse anything that looks like a file before the registry sees it (defence in depth)."""
    lowered = name.lower()
    if any(c in name for c in _PATHLIKE) or lowered.endswith(_YAML_SUFFIXES) or name.startswith("."):
        raise ApiError(
            404, "unknown_connector",
            f"unknown connector {name!r}: the server runs built-in connectors by name only (see GET /connectors)",
        )
    return name


def builtin(api: Any, name: str) -> Any:
    """The built-in Source of that name or alias; ``UnknownConnectorError`` (404) for anything else."""
    return api.load_connector(check_builtin_name(name), allow_paths=False)


def resolve(api: Any, body: dict[str, Any], allow_custom: bool) -> Any:
    """The Source a request runs: a built-in by name, or (with the flag) one loaded from body YAML."""
    yaml_text = opt_str(body, "connector_yaml")
    name = opt_str(body, "connector")
    if yaml_text is not None:
        if not allow_custom:
            raise ApiError(
                403, "custom_connectors_disabled",
                "custom connector YAML is disabled on this server (start it with --allow-custom-connectors)",
            )
        _refuse_file_references(yaml_text)
        return api.load_connector(yaml_text=yaml_text, allow_paths=False)
    if name is None:
        raise bad("field 'connector' is required (a built-in connector name, see GET /connectors)")
    return builtin(api, name)


def _file_keys(node: Any, where: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{where}.{key}" if where else str(key)
            if key in _FILE_KEYS:
                yield path
            yield from _file_keys(value, path)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _file_keys(value, f"{where}[{i}]")


def _refuse_file_references(yaml_text: str) -> None:
    """YAML sent over HTTP must not make the server read its own files (``schema_file: /etc/...``)."""
    import yaml

    try:
        doc = yaml.safe_load(yaml_text)
    except yaml.YAMLError:
        return  # the loader reports it, with line numbers
    found = next(_file_keys(doc), None)
    if found:
        raise ApiError(
            422, "invalid_manifest",
            f"{found}: a connector sent over HTTP cannot reference files on the server; inline the schema as 'schema'",
        )
