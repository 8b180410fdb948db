"""The configured catalog is read without the Airbyte models when it plainly fits them, with the
same result as the models give, and through the models otherwise (their coercions, their errors)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from airbyte_protocol.models import (
    AirbyteStream,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteStream,
    DestinationSyncMode,
    SyncMode,
)
from pydantic import BaseModel, ValidationError

from source_solidafy import catalog as cat
from source_solidafy.errors import UsageError

CATALOG = json.loads((Path(__file__).parents[1] / "integration_tests" / "configured_catalog.json").read_text())


def _model_reading(catalog: Any) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """What the catalog meant before: ConfiguredAirbyteCatalog, then names, modes and cursor fields."""
    parsed = ConfiguredAirbyteCatalog.model_validate(catalog)
    names = [cs.stream.name for cs in parsed.streams]
    modes = {cs.stream.name: cs.sync_mode.value for cs in parsed.streams}
    cursors = {cs.stream.name: ".".join(cs.cursor_field) for cs in parsed.streams if cs.cursor_field}
    return names, modes, cursors


@pytest.mark.parametrize(("fields", "model"), [
    (cat.CATALOG_FIELDS, ConfiguredAirbyteCatalog),
    (cat.CONFIGURED_FIELDS, ConfiguredAirbyteStream),
    (cat.STREAM_FIELDS, AirbyteStream),
])
def test_field_lists_are_the_models(fields: dict[str, tuple[bool, Any]], model: type[BaseModel]) -> None:
    assert {k: required for k, (required, _) in fields.items()} == {
        k: f.is_required() for k, f in model.model_fields.items()
    }


def test_the_only_constraint_is_the_one_checked() -> None:
    """A constraint beyond the types (min_length ...) must be checked too: only this one exists."""
    constrained = {(m.__name__, k, repr(f.metadata)) for m in (ConfiguredAirbyteCatalog, ConfiguredAirbyteStream,
                                                               AirbyteStream) for k, f in m.model_fields.items()
                   if f.metadata}
    assert constrained == {("AirbyteStream", "supported_sync_modes", "[MinLen(min_length=1)]")}


def test_enums_are_the_models() -> None:
    assert {m.value for m in SyncMode} == cat.SYNC_MODES
    assert {m.value for m in DestinationSyncMode} == cat.DESTINATION_SYNC_MODES


ODD_VALUES = [None, "true", 1, 1.0, True, "x", [], ["x"], [["x"]], {}, {"a": 1}, "incremental", "append", [1], [[1]]]


def _variants() -> list[Any]:
    """The test catalog with each typed field of its first stream missing or given each odd value."""
    out: list[Any] = [CATALOG, {"streams": []}, {"streams": None}, {}, [], {"streams": [{}]}, {"streams": "x"}]
    for level, fields in (("configured", cat.CONFIGURED_FIELDS), ("stream", cat.STREAM_FIELDS)):
        for name in fields:
            for value in [*ODD_VALUES, "missing"]:
                variant = copy.deepcopy(CATALOG)
                target = variant["streams"][0] if level == "configured" else variant["streams"][0]["stream"]
                if value == "missing":
                    target.pop(name, None)
                else:
                    target[name] = value
                out.append(variant)
    return out


@pytest.mark.parametrize("catalog", _variants())
def test_read_catalog_is_what_the_model_reads(catalog: Any) -> None:
    try:
        expected = _model_reading(catalog)
    except ValidationError:
        assert not cat.plainly_valid(catalog)
        with pytest.raises(UsageError, match="^catalog: "):
            cat.read_catalog(catalog)
        return
    assert cat.read_catalog(catalog) == expected


def test_a_plain_catalog_does_not_import_the_models() -> None:
    import subprocess
    import sys

    code = ("import json, sys; from source_solidafy.catalog import read_catalog; "
            "print(read_catalog(json.loads(sys.argv[1]))[0]); "
            "print('airbyte_protocol.models' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(CATALOG)], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "False"
