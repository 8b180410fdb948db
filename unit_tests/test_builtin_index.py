"""The built-ins' index (builtin_index.py): made by the models, used only while the file is unchanged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from source_solidafy import builtin_index, registry


def test_the_shipped_index_is_what_the_models_make() -> None:
    directory = registry.connectors_dir()
    shipped = json.loads((directory / builtin_index.INDEX_NAME).read_text())
    assert shipped == json.loads(json.dumps(builtin_index.build_index(directory))), (
        "connectors/index.json is stale: run `make index` (python -m source_solidafy.builtin_index)")


def test_an_edited_file_is_loaded_not_read_from_the_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = registry.connectors_dir()
    for name in ("stripe.yaml", builtin_index.INDEX_NAME):
        shutil.copy(source / name, tmp_path / name)
    edited = tmp_path / "stripe.yaml"
    text = edited.read_text()
    assert "  - name: start_date_ts\n" in text
    edited.write_text(text.replace("  - name: start_date_ts\n", "  - name: created_since\n", 1))
    monkeypatch.setattr(registry, "connectors_dir", lambda: tmp_path)
    registry.builtin_connectors.cache_clear()
    registry._by_file_name.cache_clear()
    try:
        assert builtin_index.fresh_entry(edited) is None
        fields = registry.find("stripe").quick_fields()  # type: ignore[union-attr]
        assert fields is not None and "created_since" in {f.name for f in fields}
        assert "start_date_ts" not in {f.name for f in fields}
    finally:
        registry.builtin_connectors.cache_clear()
        registry._by_file_name.cache_clear()


def test_an_unchanged_file_is_answered_from_the_index_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_load(*args: object, **kwargs: object) -> None:
        raise AssertionError("a built-in was loaded although its index entry is fresh")

    monkeypatch.setattr(registry, "load_source", no_load)
    registry._by_file_name.cache_clear()
    info = registry.find("stripe")
    assert info is not None and "customers" in info.stream_names and info.quick_fields()
    registry._by_file_name.cache_clear()
