"""Config forms: JSON Schema generation from ConfigFields and validation with clear messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from source_solidafy.errors import ConfigError
from source_solidafy.source import ConfigField

_JSON_TYPES = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


BASE_URL_HELP = "Override the API base URL (proxy, regional endpoint, local mock)"
TOKEN_URL_HELP = "Override the OAuth2 token URL (proxy, local mock)"
OAUTH2_TYPES = ("oauth2_refresh_token", "oauth2_client_credentials", "oauth2_jwt_bearer")


def preferred_auth_type(types: Sequence[str]) -> str | None:
    """The auth type that shapes the config form: an OAuth2 one if any alternative is one (it adds
    ``token_url``), else the first. Both the loaded manifest and the fast ``spec`` path ask here."""
    return next((t for t in types if t in OAUTH2_TYPES), types[0] if types else None)


def with_overrides(fields: list[ConfigField], auth_type: str | None) -> list[ConfigField]:
    """Every REST connector also takes optional ``base_url`` (and ``token_url`` for OAuth2)."""
    names = {f.name for f in fields}
    out = list(fields)
    if "base_url" not in names:
        out.append(ConfigField(name="base_url", description=BASE_URL_HELP))
    if auth_type in OAUTH2_TYPES and "token_url" not in names:
        out.append(ConfigField(name="token_url", description=TOKEN_URL_HELP))
    return out


def field_schema(f: ConfigField, order: int) -> dict[str, Any]:
    prop: dict[str, Any] = {"type": f.type, "title": f.name, "order": order}
    if f.description:
        prop["description"] = f.description
    if f.secret:
        prop["airbyte_secret"] = True
    if f.default is not None:
        prop["default"] = f.default
    if f.examples:
        prop["examples"] = list(f.examples)
    if f.enum:
        prop["enum"] = list(f.enum)
    if f.pattern:
        prop["pattern"] = f.pattern
    return prop


def fields_to_json_schema(fields: list[ConfigField], title: str = "") -> dict[str, Any]:
    """Draft-7 ``connectionSpecification``: no anyOf/allOf/not/if, additionalProperties true."""
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": f"{title} config" if title else "config",
        "type": "object",
        "required": [f.name for f in fields if f.required],
        "properties": {f.name: field_schema(f, i) for i, f in enumerate(fields)},
        "additionalProperties": True,
    }


def _hint(f: ConfigField) -> str:
    return f" ({f.description})" if f.description else ""


def _coerce(connector: str, f: ConfigField, value: Any) -> Any:
    """Accept the obvious spellings ("100" for an integer, 5 for a string); refuse the rest."""
    if f.type == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if f.type in ("integer", "number") and isinstance(value, str):
        try:
            return int(value) if f.type == "integer" else float(value)
        except ValueError:
            pass
    if f.type == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    wanted = _JSON_TYPES.get(f.type, (object,))
    if not isinstance(value, wanted) or (f.type in ("integer", "number") and isinstance(value, bool)):
        raise ConfigError(
            f"{connector}: config field '{f.name}' must be {f.type}, got {type(value).__name__}{_hint(f)}"
        )
    return value


def validate_config(connector: str, fields: list[ConfigField], config: dict[str, Any]) -> dict[str, Any]:
    """Return config with defaults applied and simple coercions done; raise ConfigError naming the field."""
    import re

    from source_solidafy.manifest.safe_regex import too_long_to_match

    if not isinstance(config, dict):
        raise ConfigError(f"{connector}: config must be a JSON object, got {type(config).__name__}")
    out = dict(config)
    for f in fields:
        value = out.get(f.name)
        if value is None or value == "":
            if f.default is not None:
                out[f.name] = f.default
            elif f.required:
                raise ConfigError(f"{connector}: config field '{f.name}' is required{_hint(f)}")
            continue
        value = _coerce(connector, f, value)
        if f.enum and value not in f.enum:
            choices = ", ".join(map(str, f.enum))
            raise ConfigError(f"{connector}: config field '{f.name}' must be one of {choices}")
        if f.pattern and isinstance(value, str) and (long := too_long_to_match(value)) is not None:
            raise ConfigError(f"{connector}: config field '{f.name}' {long}{_hint(f)}")
        if f.pattern and isinstance(value, str) and not re.search(f.pattern, value):
            shown = "***" if f.secret else repr(value)
            raise ConfigError(
                f"{connector}: config field '{f.name}' = {shown} does not look right{_hint(f)}"
            )
        out[f.name] = value
    return out
