"""Is this YAML an Airbyte declarative manifest? Read from its top-level keys, nothing loaded.

Apart from the loader so that telling the two kinds of connector file apart (the registry does it
for every file) does not import the Airbyte translation, about 25 ms of every sync's start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from source_solidafy.manifest.yaml_lines import YamlSyntaxError, parse_yaml


def looks_like_airbyte(data: Any) -> bool:
    """``type: DeclarativeSource``, or a ``version`` with ``streams``/``definitions`` and no ``base_url``."""
    if not isinstance(data, dict):
        return False
    if data.get("type") == "DeclarativeSource":
        return True
    return "version" in data and "base_url" not in data and ("streams" in data or "definitions" in data) \
        and "name" not in data


def looks_like_airbyte_text(text: str) -> bool:
    """The shape of an Airbyte manifest, read from the top-level keys (no templates, no validation)."""
    if "DeclarativeSource" not in text and ("base_url" in text or "version" not in text):
        return False  # ours always has base_url; Airbyte's have a version
    try:
        data = parsed(text)  # depth and alias limits: this text may come from a request
    except YamlSyntaxError:
        return False
    return looks_like_airbyte(data)


_last: tuple[str, Any] | None = None  # telling then loading parse the same text: once


def parsed(text: str) -> Any:
    """``parse_yaml``, remembering the last text (the loader does not change what it parsed)."""
    global _last
    last = _last
    if last is not None and last[0] == text:
        return last[1]
    data = parse_yaml(text)
    _last = (text, data)
    return data


def looks_like_airbyte_file(path: Path) -> bool:
    """The file's text looks like an Airbyte manifest (unreadable files are left to our loader)."""
    try:
        return looks_like_airbyte_text(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return False
