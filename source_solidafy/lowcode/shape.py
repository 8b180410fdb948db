"""Is this YAML an Airbyte declarative manifest? Read from its top-level keys, nothing loaded.

Apart from the loader so that telling the two kinds of connector file apart (the registry does it
for every file) does not import the Airbyte translation, about 25 ms of every sync's start-up; and
``spec`` is answered from here (:func:`quick_spec`), without building the engine (~0.3 s less).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any


def looks_like_airbyte(data: Any) -> bool:
    """``type: DeclarativeSource``, or a ``version`` with ``streams``/``definitions`` and no ``base_url``."""
    if not isinstance(data, dict):
        return False
    if data.get("type") == "DeclarativeSource":
        return True
    return "version" in data and "base_url" not in data and ("streams" in data or "definitions" in data) \
        and "name" not in data


_TOP_BASE_URL = re.compile(r"^[\"']?base_url[\"']?[ \t]*:", re.MULTILINE)


def looks_like_airbyte_text(text: str) -> bool:
    """The shape of an Airbyte manifest, read from the top-level keys (no templates, no validation)."""
    if "DeclarativeSource" not in text and (_TOP_BASE_URL.search(text) or "version" not in text):
        return False  # ours always has a top-level base_url (an Airbyte manifest's templates may read one)
    from source_solidafy.manifest.yaml_lines import YamlSyntaxError  # yaml: not needed by the check above

    try:
        data = parsed(text)  # depth and alias limits: this text may come from a request
    except YamlSyntaxError:
        return False
    return looks_like_airbyte(data)


_last: tuple[str, Any] | None = None  # telling then loading parse the same text: once


def _parse_yaml(text: str) -> Any:
    from source_solidafy.manifest.yaml_lines import parse_yaml  # imports yaml: only when a file is read

    return parse_yaml(text)


def parsed(text: str) -> Any:
    """``parse_yaml``, remembering the last text (the loader does not change what it parsed)."""
    global _last
    last = _last
    if last is not None and last[0] == text:
        return last[1]
    data = _parse_yaml(text)
    _last = (text, data)
    return data


def looks_like_airbyte_file(path: Path) -> bool:
    """The file's text looks like an Airbyte manifest (unreadable files are left to our loader)."""
    try:
        return looks_like_airbyte_text(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return False


SIDECARS = ("spec.yaml", "spec.yml", "spec.json")


def sidecar_spec(base_dir: Path | None) -> dict[str, Any] | None:
    """``spec.yaml`` / ``spec.json`` beside the manifest (``connectionSpecification``), as Airbyte's packages keep it."""
    if base_dir is None:
        return None
    for name in SIDECARS:
        file = base_dir / name
        if file.is_file():
            text = file.read_text(encoding="utf-8")
            data = json.loads(text) if name.endswith(".json") else _parse_yaml(text)
            if isinstance(data, dict):
                spec = data.get("connectionSpecification") or data.get("connection_specification")
                if isinstance(spec, dict):
                    return {"connection_specification": spec, "documentation_url": data.get("documentationUrl")}
    return None


def _plain(node: Any) -> bool:
    """No ``$ref``, ``#/`` reference or ``$parameters`` inside: the value is the same once resolved."""
    if isinstance(node, dict):
        return all(k not in ("$ref", "$parameters") and _plain(v) for k, v in node.items())
    if isinstance(node, list):
        return all(_plain(v) for v in node)
    return not (isinstance(node, str) and node.startswith("#/"))


def quick_spec(path: Path) -> tuple[str, dict[str, Any], str | None] | None:
    """(name, connection_specification, documentation_url) of an Airbyte manifest file, read without
    loading it; None when it is no manifest or its spec needs resolving (the full load answers then)."""
    from source_solidafy.manifest.yaml_lines import YamlSyntaxError

    try:
        data = parsed(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YamlSyntaxError):
        return None
    if not looks_like_airbyte(data):
        return None
    spec = data.get("spec")
    if spec is None:
        spec = sidecar_spec(path.parent)
    if not isinstance(spec, dict) or not _plain(spec) or not isinstance(spec.get("connection_specification"), dict):
        return None
    return path.stem, spec["connection_specification"], spec.get("documentation_url") or None
