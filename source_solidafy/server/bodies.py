"""Request bodies: parse once, check every field's type, and say exactly which field is wrong.

A body that is not JSON, not an object, or has a field of the wrong type is a 400 (``bad_request``);
whether the *config* suits the connector is the connector's job (422 ``invalid_config``).

    {"connector": "stripe", "config": {"api_key": "sk_test_..."}, "streams": ["customers"],
     "format": "json", "max_records": 100, "state": {...}, "cursor_fields": {"public.orders": "updated_at"},
     "strict": true, "concurrency": 4}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from source_solidafy import jsoncodec
from source_solidafy.secret_names import is_secret_name
from source_solidafy.server.errors import ApiError

FORMATS = ("json", "parquet")


def bad(message: str) -> ApiError:
    return ApiError(400, "bad_request", message)


def parse_body(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object; an empty body is ``{}``."""
    if not raw.strip():
        return {}
    try:
        body = jsoncodec.loads(raw)
    except jsoncodec.JSONDecodeError as exc:
        raise bad(f"request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise bad(f"request body must be a JSON object, got {type(body).__name__}")
    return body


def _typed(body: dict[str, Any], name: str, types: tuple[type, ...], expected: str) -> Any:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) and bool not in types:
        raise bad(f"field '{name}' must be {expected}, got a boolean")
    if not isinstance(value, types):
        raise bad(f"field '{name}' must be {expected}, got {type(value).__name__}")
    return value


def opt_str(body: dict[str, Any], name: str) -> str | None:
    value = _typed(body, name, (str,), "a string")
    return value or None


def opt_int(body: dict[str, Any], name: str, minimum: int = 0) -> int | None:
    value = _typed(body, name, (int,), "an integer")
    if value is not None and value < minimum:
        raise bad(f"field '{name}' must be at least {minimum}, got {value}")
    return value


def opt_bool(body: dict[str, Any], name: str) -> bool:
    return bool(_typed(body, name, (bool,), "true or false"))


def config_of(body: dict[str, Any]) -> dict[str, Any]:
    return _typed(body, "config", (dict,), "an object") or {}


def streams_of(body: dict[str, Any]) -> list[str] | None:
    """``streams`` as a list of names; a comma-separated string is accepted as the CLI spells it."""
    value = body.get("streams")
    if value is None:
        return None
    if isinstance(value, str):
        value = [s.strip() for s in value.split(",") if s.strip()]
    if not isinstance(value, list) or not all(isinstance(s, str) and s for s in value):
        raise bad("field 'streams' must be a list of stream names")
    return value or None


def state_of(body: dict[str, Any]) -> dict[str, Any] | list[Any] | None:
    return _typed(body, "state", (dict, list), "an object (global state) or an array (Airbyte state messages)")


def cursor_fields_of(body: dict[str, Any]) -> dict[str, str] | None:
    value = _typed(body, "cursor_fields", (dict,), "an object of stream -> column")
    if value and not all(isinstance(v, str) and v for v in value.values()):
        raise bad("field 'cursor_fields' must map each stream name to a column name (a string)")
    return value or None


def format_of(body: dict[str, Any]) -> str:
    fmt = opt_str(body, "format") or "json"
    if fmt not in FORMATS:
        raise bad(f"field 'format' must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return fmt


def config_secrets(config: Any) -> list[str]:
    """Values to redact: every string under a key that names a secret, at any depth."""
    found: list[str] = []
    if isinstance(config, dict):
        for k, v in config.items():
            if isinstance(v, str) and is_secret_name(str(k)):
                found.append(v)
            elif isinstance(v, list) and is_secret_name(str(k)):  # api_keys: ["k1", "k2"]
                found.extend(x for x in v if isinstance(x, str))
            else:
                found.extend(config_secrets(v))
    elif isinstance(config, list):
        for v in config:
            found.extend(config_secrets(v))
    return found


@dataclass(frozen=True)
class SyncRequest:
    """POST /sync, checked. ``output`` is already confined (see ``outputs.resolve_output``)."""

    streams: list[str] | None
    format: str
    output: str | None
    state: dict[str, Any] | list[Any] | None
    max_records: int | None
    cursor_fields: dict[str, str] | None
    compression: str | None
    strict: bool = False
    concurrency: int | None = None


def sync_request(body: dict[str, Any], output: str | None) -> SyncRequest:
    fmt = format_of(body)
    if fmt == "parquet" and not output:
        # The runner's default (./output) would be the server's working directory: never implicit here.
        raise bad("format 'parquet' needs an 'output': a cloud URI (s3://bucket/prefix/) or a directory under the server's output root")
    return SyncRequest(
        streams=streams_of(body),
        format=fmt,
        output=output,
        state=state_of(body),
        max_records=opt_int(body, "max_records", minimum=1),
        cursor_fields=cursor_fields_of(body),
        compression=opt_str(body, "compression"),
        strict=opt_bool(body, "strict"),
        concurrency=concurrency_of(body),
    )


MAX_CONCURRENCY = 16  # requests in flight per sync; each stream may run as many partition threads


def concurrency_of(body: dict[str, Any]) -> int | None:
    value = opt_int(body, "concurrency", minimum=1)
    if value is not None and value > MAX_CONCURRENCY:
        raise bad(f"field 'concurrency' must be at most {MAX_CONCURRENCY}, got {value}")
    return value
