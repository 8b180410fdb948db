"""The built-in connectors' index: what ``list``, ``spec`` and ``streams`` answer without a manifest load.

The manifest models make it: ``python -m source_solidafy.builtin_index`` (or ``make index``) loads
every YAML file in ``connectors/`` as a sync would and writes ``connectors/index.json``: each
connector's name, description, category, aliases, documentation URL, stream names and config
fields, as the loaded connector reports them. So the fast path and a full load cannot disagree:
there is no second reader of the YAML. Each entry carries the SHA-256 of the file it was made
from; an entry whose file has changed since (or a file with no entry) is not used, that connector is
loaded instead (slower, never wrong). ``unit_tests/test_builtin_index.py`` fails while the shipped
index is stale, saying how to remake it.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from source_solidafy.source import ConfigField

if TYPE_CHECKING:
    from source_solidafy.source import Source

INDEX_NAME = "index.json"


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@lru_cache(maxsize=4)
def read_index(directory: Path) -> dict[str, dict[str, Any]]:
    """File name -> entry, from ``directory/index.json`` (empty when there is none)."""
    try:
        data = json.loads((directory / INDEX_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    entries = data.get("connectors") if isinstance(data, dict) else None
    return {e["file"]: e for e in entries if isinstance(e, dict) and "file" in e} if isinstance(entries, list) else {}


def fresh_entry(path: Path) -> dict[str, Any] | None:
    """The index entry of ``path`` if it was made from the file as it is now."""
    entry = read_index(path.parent).get(path.name)
    if entry is None or entry.get("sha256") != file_sha256(path):
        return None
    return entry


def entry_of(source: Source, path: Path) -> dict[str, Any]:
    """The index entry of a loaded connector: what it reports about itself."""
    return {
        "file": path.name,
        "sha256": file_sha256(path),
        "name": source.name,
        "description": source.description,
        "category": source.category,
        "aliases": list(source.aliases),
        "documentation_url": getattr(source, "documentation_url", None),
        "streams": source.stream_names(),
        "fields": [asdict(f) for f in source.config_fields()],
    }


def fields_of(entry: dict[str, Any]) -> tuple[ConfigField, ...]:
    return tuple(ConfigField(**{**f, "examples": tuple(f["examples"]), "enum": tuple(f["enum"])})
                 for f in entry["fields"])


def build_index(directory: Path) -> dict[str, Any]:
    from source_solidafy.registry import load_source

    entries = [entry_of(load_source(str(path)), path) for path in sorted(directory.glob("*.yaml"))]
    return {"about": "made by python -m source_solidafy.builtin_index from the connector files; do not edit",
            "connectors": entries}


def write_index(directory: Path) -> Path:
    target = directory / INDEX_NAME
    target.write_text(json.dumps(build_index(directory), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    read_index.cache_clear()
    return target


if __name__ == "__main__":  # pragma: no cover - make index
    from source_solidafy.registry import connectors_dir

    sys.stdout.write(f"wrote {write_index(connectors_dir())}\n")
