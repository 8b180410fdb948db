"""A connector file is validated once per process while it (and every schema_file it reads) is unchanged."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from source_solidafy import registry
from source_solidafy.manifest import cache

YAML = """\
name: cached
base_url: "https://api.example.com"
streams:
  - name: items
    request: {path: /items}
    schema_file: items.json
"""


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    seen: list[Path] = []
    real = cache.load_connector_file

    def counting(path: Any) -> Any:
        seen.append(Path(path))
        return real(path)

    monkeypatch.setattr(cache, "load_connector_file", counting)
    monkeypatch.setattr(registry, "_loaded", registry._LoadedManifests())
    return seen


def _touch(path: Path, text: str) -> None:
    """Rewrite ``path`` and move its mtime on, so even a coarse clock sees the change."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    os.utime(path, ns=(before + 10**9, before + 10**9))


def test_unchanged_file_is_validated_once(tmp_path: Path, loads: list[Path]) -> None:
    (tmp_path / "items.json").write_text('{"type": "object"}')
    (tmp_path / "c.yaml").write_text(YAML)
    first = registry.load_source(str(tmp_path / "c.yaml"))
    second = registry.load_source(str(tmp_path / "c.yaml"))
    assert len(loads) == 1
    assert first is not second  # a Source per call (confinement, sessions); the manifest is shared
    assert second.declared_schema("items") == {"type": "object"}


def test_a_changed_file_or_schema_file_is_loaded_again(tmp_path: Path, loads: list[Path]) -> None:
    schema, yaml_file = tmp_path / "items.json", tmp_path / "c.yaml"
    schema.write_text('{"type": "object"}')
    yaml_file.write_text(YAML)
    registry.load_source(str(yaml_file))
    _touch(schema, '{"type": "object", "properties": {"id": {"type": "integer"}}}')
    source = registry.load_source(str(yaml_file))
    assert len(loads) == 2
    assert source.declared_schema("items")["properties"] == {"id": {"type": "integer"}}
    _touch(yaml_file, YAML.replace("name: items", "name: things"))
    assert registry.load_source(str(yaml_file)).stream_names() == ["things"]
    assert len(loads) == 3


def test_a_file_that_fails_to_load_is_not_remembered(tmp_path: Path, loads: list[Path]) -> None:
    yaml_file = tmp_path / "c.yaml"
    yaml_file.write_text(YAML)  # its schema_file is missing: a load error
    for _ in range(2):
        with pytest.raises(Exception, match="items.json"):
            registry.load_source(str(yaml_file))
    assert len(loads) == 2


def test_a_warm_worker_finds_the_config_keys_once(tmp_path: Path, loads: list[Path],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Every sync checks its config against the templates' config keys: found once per manifest."""
    from source_solidafy.manifest import spec

    walks: list[object] = []
    real = spec._find_usages
    monkeypatch.setattr(spec, "_find_usages", lambda m: walks.append(m) or real(m))
    (tmp_path / "items.json").write_text('{"type": "object"}')
    (tmp_path / "c.yaml").write_text(YAML.replace('base_url: "https://api.example.com"',
                                                  'base_url: "https://{{ config.region }}.example.com"'))
    for _ in range(3):
        source = registry.load_source(str(tmp_path / "c.yaml"))
        assert source.validate_config({"region": "eu"})["region"] == "eu"
        with pytest.raises(Exception, match="region"):
            source.validate_config({})
    assert len(walks) == 1 and len(loads) == 1


def test_an_airbyte_manifest_is_translated_once_while_it_and_its_spec_file_are_unchanged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each load answers a new source over one translation; a spec.yaml written beside it later is seen."""
    monkeypatch.setattr(registry, "_loaded", registry._LoadedManifests())
    seen: list[Path] = []
    real = cache.load_connector_file

    def counting(path: Any) -> Any:
        seen.append(Path(path))
        return real(path)

    monkeypatch.setattr(cache, "load_connector_file", counting)
    manifest = Path(__file__).parents[1] / "integration_tests" / "airbyte_manifests" / "projects_manifest.yaml"
    file = tmp_path / "manifest.yaml"
    file.write_text(manifest.read_text())
    first, second = registry.load_source(str(file)), registry.load_source(str(file))
    assert len(seen) == 1 and first is not second and first.manifest is second.manifest  # type: ignore[attr-defined]
    _touch(tmp_path / "spec.yaml", "connectionSpecification: {type: object, properties: {}}\n")
    registry.load_source(str(file))
    assert len(seen) == 2
