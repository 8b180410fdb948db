"""A configured catalog (the Airbyte flavour's ``--catalog``): the streams to read, their sync modes
and cursor fields.

``ConfiguredAirbyteCatalog`` (airbyte-protocol-models) is the authority on what a catalog may hold,
but importing it costs about 70 ms, a fifth of a one-page sync. A catalog in which every field the
model types has exactly the JSON type it asks for (what Airbyte writes) cannot fail the model, so
it is read as it is; any other catalog goes through the model, which accepts it (coercing what it
allows) or says what is wrong. ``unit_tests/test_catalog.py`` holds the field lists below to the
model's, so a new typed field in the model cannot slip past.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from source_solidafy.errors import UsageError

Check = Callable[[Any], bool]
SYNC_MODES = frozenset({"full_refresh", "incremental"})
DESTINATION_SYNC_MODES = frozenset({"append", "overwrite", "append_dedup", "update", "soft_delete"})


def _is(kind: type) -> Check:
    return lambda v: type(v) is kind


def _optional(check: Check) -> Check:
    return lambda v: v is None or check(v)


def _list_of(check: Check) -> Check:
    return lambda v: type(v) is list and all(check(x) for x in v)


def _one_of(values: frozenset[str]) -> Check:
    return lambda v: type(v) is str and v in values


_STRINGS = _list_of(_is(str))
# field -> (required, a check that only passes values the model takes as they are)
STREAM_FIELDS: dict[str, tuple[bool, Check]] = {
    "name": (True, _is(str)),
    "json_schema": (True, _is(dict)),
    "supported_sync_modes": (True, lambda v: _list_of(_one_of(SYNC_MODES))(v) and len(v) > 0),  # min 1 item
    "source_defined_cursor": (False, _optional(_is(bool))),
    "default_cursor_field": (False, _optional(_STRINGS)),
    "source_defined_primary_key": (False, _optional(_list_of(_STRINGS))),
    "namespace": (False, _optional(_is(str))),
    "is_resumable": (False, _optional(_is(bool))),
    "is_file_based": (False, _optional(_is(bool))),
}
CONFIGURED_FIELDS: dict[str, tuple[bool, Check]] = {
    "stream": (True, lambda v: _fits(v, STREAM_FIELDS)),
    "sync_mode": (True, _one_of(SYNC_MODES)),
    "cursor_field": (False, _optional(_STRINGS)),
    "destination_sync_mode": (True, _one_of(DESTINATION_SYNC_MODES)),
    "destination_object_name": (False, _optional(_is(str))),
    "primary_key": (False, _optional(_list_of(_STRINGS))),
    "generation_id": (False, _optional(_is(int))),
    "minimum_generation_id": (False, _optional(_is(int))),
    "sync_id": (False, _optional(_is(int))),
    "include_files": (False, _optional(_is(bool))),
}
CATALOG_FIELDS: dict[str, tuple[bool, Check]] = {
    "streams": (True, _list_of(lambda v: _fits(v, CONFIGURED_FIELDS))),
}


def _fits(value: Any, fields: dict[str, tuple[bool, Check]]) -> bool:
    """Every typed field present with exactly its type, every required one there (others are extra)."""
    if type(value) is not dict:
        return False
    for name, (required, check) in fields.items():
        if name not in value:
            if required:
                return False
        elif not check(value[name]):
            return False
    return True


def plainly_valid(catalog: Any) -> bool:
    """True when the model would accept ``catalog`` as it is (False: ask the model)."""
    return _fits(catalog, CATALOG_FIELDS)


def _validated(catalog: Any) -> list[dict[str, Any]]:
    """The catalog's streams as the model reads them; UsageError naming the first problem."""
    from airbyte_protocol.models import ConfiguredAirbyteCatalog
    from pydantic import ValidationError

    try:
        parsed = ConfiguredAirbyteCatalog.model_validate(catalog)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise UsageError(f"catalog: {where}: {first['msg']}") from None
    return [cs.model_dump(mode="json") for cs in parsed.streams]


def read_catalog(catalog: Any) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """Streams, sync modes and cursor overrides of a configured catalog (unknown keys accepted)."""
    streams = catalog["streams"] if plainly_valid(catalog) else _validated(catalog)
    names, modes, cursors = [], {}, {}
    for cs in streams:
        name = cs["stream"]["name"]
        names.append(name)
        modes[name] = cs["sync_mode"]
        if cs.get("cursor_field"):
            cursors[name] = ".".join(cs["cursor_field"])
    return names, modes, cursors


def stream_schema(catalog: Any, stream: str) -> dict[str, Any] | None:
    """The ``json_schema`` a configured catalog gives ``stream`` when it names fields (what the
    destination was set up with); None when it names none (Meltano sends ``{}``) or there is no catalog."""
    streams = catalog.get("streams") if isinstance(catalog, dict) else None
    for cs in streams if isinstance(streams, list) else ():
        described = cs.get("stream") if isinstance(cs, dict) else None
        if isinstance(described, dict) and described.get("name") == stream:
            schema = described.get("json_schema")
            return schema if isinstance(schema, dict) and schema.get("properties") else None
    return None
