"""Which connector a request may run: a built-in name or alias, never a path on the server's disk.

A custom connector travels in the body as YAML text, and only when the server was started with
``--allow-custom-connectors``:

    {"connector_yaml": "name: my-api\\nbase_url: ...\\nstreams: [...]", "config": {...}}
"""

from __future__ import annotations

from typing import Any

from source_solidafy.server.bodies import bad, opt_str
from source_solidafy.server.errors import ApiError
from source_solidafy.server.settings import ServerSettings

_PATHLIKE = ("/", "\\", "~", ":")
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


def builtin(api: Any, name: str, settings: ServerSettings) -> Any:
    """The built-in Source of that name or alias; ``UnknownConnectorError`` (404) for anything else."""
    return api.load_connector(check_builtin_name(name), allow_paths=False, confinement=settings.confinement())


def resolve(api: Any, body: dict[str, Any], settings: ServerSettings) -> Any:
    """The Source a request runs: a built-in by name, or (with the flag) one loaded from body YAML.

    Either way it runs confined (no file outside the operator's directories, no private network
    unless the operator allowed them): see ``confinement.py``.
    """
    yaml_text = opt_str(body, "connector_yaml")
    name = opt_str(body, "connector")
    if yaml_text is not None:
        if not settings.allow_custom_connectors:
            raise ApiError(
                403, "custom_connectors_disabled",
                "custom connector YAML is disabled on this server (start it with --allow-custom-connectors)",
            )
        # allow_paths=False: the loader itself refuses schema_file (the tree it parses, no second parser)
        return api.load_connector(yaml_text=yaml_text, allow_paths=False, confinement=settings.confinement(),
                                  allow_plugins=settings.allow_plugins)
    if name is None:
        raise bad("field 'connector' is required (a built-in connector name, see GET /connectors)")
    return builtin(api, name, settings)
