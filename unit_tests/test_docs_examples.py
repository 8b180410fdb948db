"""Every connector YAML example in the docs (README.md, docs/*.md) loads with the real loader (what ``solidafy-cdk validate`` runs).

A ```yaml block is a whole connector (it has ``streams``), a block
of top-level keys (``auth``, ``http``, ``errors``, ``lookups``, ``spec``...) or a block of stream keys
(``request``, ``decoder``, ``pagination``, ``partition``, ``filter``, ``transform``...); fragments are
wrapped into a minimal connector. A block repeating a top-level key (``decoder: ...`` on each line) holds
alternatives: each is loaded on its own. A marker on the line before the fence says what else a block is:
``<!-- yaml-example: invalid -->`` (it shows a mistake: loading it must fail) or
``<!-- yaml-example: not-a-connector -->`` (another tool's YAML). Any other block that is neither a
connector nor a fragment of one fails the test, so an example cannot drift from the models.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
import yaml

from source_solidafy.errors import ManifestError
from source_solidafy.manifest import plugin_models
from source_solidafy.manifest.fields import accepted_keys
from source_solidafy.manifest.loader import load_manifest
from source_solidafy.manifest.models import Manifest, Stream
from source_solidafy.plugins import ENTRY_POINT_GROUP

REPO = Path(__file__).resolve().parent.parent
DOCS = (REPO / "README.md", *sorted((REPO / "docs").glob("*.md")))
PLUGINS = REPO / "docs" / "plugin-example"
MARKER = re.compile(r"<!--\s*yaml-example:\s*(invalid|not-a-connector)\s*-->")
FENCE = re.compile(r"^(\s*)```yaml\s*$")
TOP_KEYS = accepted_keys(Manifest)
STREAM_KEYS = accepted_keys(Stream)


@dataclass
class Example:
    doc: str
    line: int
    text: str
    marker: str | None

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def _examples() -> list[Example]:
    found: list[Example] = []
    for doc in DOCS:
        lines = doc.read_text(encoding="utf-8").splitlines()
        i = 0
        while i < len(lines):
            if FENCE.match(lines[i]):
                start = i
                i += 1
                while not lines[i].strip().startswith("```"):
                    i += 1
                previous = lines[start - 1] if start else ""
                marker = MARKER.search(previous)
                body = textwrap.dedent("\n".join(lines[start + 1:i])) + "\n"
                found.append(Example(doc.name, start + 2, body, marker.group(1) if marker else None))
            i += 1
    return found


def _alternatives(text: str) -> list[str]:
    """The block's top-level items, one snippet each when a top-level key repeats; else the block."""
    items: list[list[str]] = []
    for line in text.splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            items.append([line])
        elif items:
            items[-1].append(line)
    keys = [item[0].split(":", 1)[0].strip() for item in items]
    if len(set(keys)) == len(keys):
        return [text]
    return ["\n".join(item) + "\n" for item in items]


MINIMAL_STREAM: dict[str, Any] = {"name": "items", "request": {"path": "/items"}}


def _connector(snippet: Any) -> dict[str, Any]:
    """The snippet as a whole connector: a fragment wrapped into a minimal one."""
    if isinstance(snippet, list):  # an excerpt of a connector's streams
        snippet = {"streams": snippet}
    assert isinstance(snippet, dict), "a YAML example must be a mapping or a list of streams"
    keys = set(snippet)
    if "streams" in keys or keys <= TOP_KEYS:
        connector: dict[str, Any] = {"name": "docs_example", "base_url": "https://api.example.com"} | snippet
        connector.setdefault("streams", [MINIMAL_STREAM])
        _add_parents(connector["streams"])
        return connector
    if keys <= STREAM_KEYS:
        stream: dict[str, Any] = {"name": "items"} | snippet
        if "request" not in stream and stream.get("partition", {}).get("type") != "async_job":
            stream["request"] = {"path": "/items"}
        return {"name": "docs_example", "base_url": "https://api.example.com", "streams": [stream]}
    raise AssertionError(f"neither a connector nor a fragment of one (keys: {sorted(keys)}); if this block "
                         "is meant to be something else, mark it <!-- yaml-example: not-a-connector -->")


def _add_parents(streams: list[Any]) -> None:
    """A minimal stream for each parent stream an excerpt names but does not show."""
    names = {s.get("name") for s in streams if isinstance(s, dict)}
    for stream in list(streams):
        partition = stream.get("partition") if isinstance(stream, dict) else None
        parent = partition.get("stream") if isinstance(partition, dict) else None
        if isinstance(parent, str) and parent not in names:
            streams.insert(0, {"name": parent, "request": {"path": f"/{parent}"}})
            names.add(parent)


def _schema_files(node: Any, base: Path) -> None:
    """A stub for each ``schema_file`` a snippet names (the docs do not ship them)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "schema_file" and isinstance(value, str):
                (base / value).parent.mkdir(parents=True, exist_ok=True)
                (base / value).write_text(json.dumps({"type": "object", "properties": {}}), encoding="utf-8")
            else:
                _schema_files(value, base)
    elif isinstance(node, list):
        for item in node:
            _schema_files(item, base)


def _load(snippet_text: str, tmp_path: Path) -> None:
    snippet = yaml.safe_load(snippet_text)
    connector = _connector(snippet)
    _schema_files(connector, tmp_path)
    file = tmp_path / "example.yaml"
    file.write_text(yaml.safe_dump(connector, sort_keys=False), encoding="utf-8")
    load_manifest(file)


@pytest.fixture
def example_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """docs/plugin-example's plugins, found as if installed (the pip-installed test: test_cli_plugins)."""
    monkeypatch.syspath_prepend(str(PLUGINS))
    text = (PLUGINS / "pyproject.toml").read_text(encoding="utf-8")
    section = text.split('[project.entry-points."source_solidafy.plugins"]', 1)[1].split("[", 1)[0]
    found = {}
    for line in section.splitlines():
        if "=" in line:
            name, value = (part.strip().strip('"') for part in line.split("=", 1))
            found[name] = EntryPoint(name, value, ENTRY_POINT_GROUP)
    monkeypatch.setattr(plugin_models, "installed", lambda: found)
    yield
    for name in [m for m in sys.modules if m.startswith("solidafy_example_plugins")]:
        del sys.modules[name]


EXAMPLES = _examples()


def test_the_docs_have_examples() -> None:
    assert len([e for e in EXAMPLES if e.doc == "connector-yaml.md"]) >= 20


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
def test_example_loads(example: Example, tmp_path: Path, example_plugins: None) -> None:
    if example.marker == "not-a-connector":
        return
    for n, snippet in enumerate(_alternatives(example.text)):
        where = f"{example.id} (item {n + 1})"
        if example.marker == "invalid":
            with pytest.raises(ManifestError):
                _load(snippet, tmp_path)
            continue
        try:
            _load(snippet, tmp_path)
        except ManifestError as exc:
            pytest.fail(f"{where}: the documented YAML does not load:\n" + "\n".join(exc.problems or [str(exc)]))


def test_a_wrong_example_is_caught(tmp_path: Path) -> None:
    """What an unmarked example with a mistake meets (and what a marked ``invalid`` one must)."""
    with pytest.raises(ManifestError, match="did you mean 'json'"):
        _load("decoder: {type: jsn}\n", tmp_path)
    with pytest.raises(AssertionError, match="not-a-connector"):
        _load("plugins: {extractors: []}\n", tmp_path)
