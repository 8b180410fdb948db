"""The fast spec path (read the YAML's spec list) and the full manifest agree for every built-in."""

from __future__ import annotations

import pytest

from source_solidafy import api, registry
from source_solidafy.manifest import load_manifest

REST = [c for c in registry.builtin_connectors() if c.kind == "rest"]


@pytest.mark.parametrize("info", REST, ids=[c.name for c in REST])
def test_quick_fields_equal_the_manifest_fields(info: registry.ConnectorInfo) -> None:
    quick = info.quick_fields()
    assert quick is not None, f"{info.name}: built-ins declare an explicit spec"
    assert info.path is not None
    assert quick == load_manifest(info.path).config_fields()
    assert api.config_fields(info.name) == quick
