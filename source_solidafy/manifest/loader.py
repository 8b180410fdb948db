"""Load a connector YAML into a validated :class:`Manifest`, or fail with every problem at once.

Each problem is one line, ``stripe.yaml:42: streams[3].pagination.cursor_parm: unknown key; did
you mean 'cursor_param'?``; they are raised together as one
:class:`~source_solidafy.errors.ManifestError` (exit 2) whose message is the first problem. Loading
also compiles every template once (syntax errors are problems too), loads ``schema_file`` schemas
and, when the REST engine's path compiler is importable, checks path syntax.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from source_solidafy.errors import ManifestError, SolidafyError
from source_solidafy.manifest.auth_choice import check_alternatives
from source_solidafy.manifest.models import AsyncJobPartition, Manifest
from source_solidafy.manifest.plugin_models import check_plugins
from source_solidafy.manifest.problems import describe, problem_line, where_of
from source_solidafy.manifest.references import check_lookups, check_parents, check_templates
from source_solidafy.manifest.templates import TemplateString
from source_solidafy.manifest.walk import KeyPath, format_path, iter_paths, iter_templates
from source_solidafy.manifest.yaml_lines import LineDict, LineList, YamlSyntaxError, parse_yaml


class _Problems:
    """Collects ``(line, text)`` problems for one file."""

    def __init__(self, source_name: str, raw: Any) -> None:
        self.source_name = source_name
        self.raw = raw
        self.items: list[tuple[int, str]] = []

    def add(self, loc: KeyPath, message: str) -> None:
        self.items.append(problem_line(self.source_name, self.raw, loc, message))

    def where(self, loc: KeyPath) -> str:
        """``stripe.yaml:7: auth.token`` for a template's ``where``."""
        return where_of(self.source_name, self.raw, loc)[1]

    def raise_if_any(self) -> None:
        if not self.items:
            return
        lines = [text for _, text in sorted(self.items, key=lambda item: item[0])]
        more = f" (and {len(lines) - 1} more problem{'s' if len(lines) > 2 else ''})" if len(lines) > 1 else ""
        raise ManifestError(lines[0] + more, problems=lines)


def load_manifest(path: str | Path) -> Manifest:
    """Load a connector YAML file; ``schema_file`` paths are relative to it."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(f"{path}: no such connector file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read the connector file: {exc}") from None
    return load_manifest_text(text, source_name=p.name, base_dir=p.parent)


def load_manifest_text(
    text: str, source_name: str = "<string>", base_dir: Path | None = None, *, allow_files: bool = True,
    allow_plugins: bool = True,
) -> Manifest:
    """Load a connector from YAML text; ``source_name`` is the file name messages show.

    ``allow_files=False`` is for YAML from someone the machine does not trust (a server request):
    anything that would read a file here (``schema_file``) is a problem instead. ``allow_plugins=False``
    (the server, unless its operator allowed them) makes a ``type: plugin:<name>`` block a problem.
    """
    try:
        raw = parse_yaml(text)
    except YamlSyntaxError as exc:
        where = f"{source_name}:{exc.line}" if exc.line else source_name
        raise ManifestError(f"{where}: {exc.problem}") from None
    if not isinstance(raw, LineDict):
        raise ManifestError(f"{source_name}:1: expected a mapping with name, base_url and streams")
    problems = _Problems(source_name, raw)
    _check_duplicate_keys(raw, (), problems)
    _check_stream_names(raw, problems)
    manifest = _validate(raw, {"envs": None, "allow_plugins": allow_plugins}, problems)  # jinja envs: on first need
    problems.raise_if_any()
    assert manifest is not None
    manifest._source_name = source_name
    _load_schema_files(manifest, base_dir, problems, allow_files)
    templates = list(iter_templates(manifest))
    _locate_templates(templates, problems)
    _check_paths(manifest, problems)
    check_alternatives(manifest, problems.add)
    check_plugins(manifest, problems.add)
    _note_ignored_requests(manifest, problems)
    check_parents(manifest, problems.add)
    check_lookups(manifest, problems.add)
    check_templates(manifest, templates, problems.add,
                    lambda loc, text: manifest._warnings.append(f"{problems.where(loc)}: {text}"))
    problems.raise_if_any()
    return manifest


def _validate(raw: LineDict, context: dict[str, Any], problems: _Problems) -> Manifest | None:
    try:
        return Manifest.model_validate(raw, context=context)
    except ValidationError as exc:
        for err in exc.errors():
            loc, message = describe(Manifest, dict(err))
            problems.add(loc, message)
    return None


def _check_duplicate_keys(node: Any, path: KeyPath, problems: _Problems, seen: set[int] | None = None) -> None:
    """A repeated key is an error, except in ``params`` where it is a repeated query parameter.

    A mapping or list reached again through an alias is checked once (linear in the text's size).
    """
    seen = set() if seen is None else seen
    if isinstance(node, (LineDict, LineList)):
        if id(node) in seen:
            return
        seen.add(id(node))
    if isinstance(node, LineDict):
        for key, occurrences in node.duplicates.items():
            if path and path[-1] == "params":
                values = LineList(occurrences[0][0])
                for line, value in occurrences:
                    values.extend(value if isinstance(value, list) else [value])
                    values.item_lines.extend([line] * (len(value) if isinstance(value, list) else 1))
                node[key] = values
                continue
            first, last = occurrences[0][0], occurrences[-1][0]
            shown = format_path((*path, key))
            problems.items.append(
                (last, f"{problems.source_name}:{last}: {shown}: duplicate key (first given at line {first})")
            )
        for key, value in node.items():
            _check_duplicate_keys(value, (*path, key), problems, seen)
    elif isinstance(node, LineList):
        for i, value in enumerate(node):
            _check_duplicate_keys(value, (*path, i), problems, seen)


def _check_stream_names(raw: LineDict, problems: _Problems) -> None:
    streams = raw.get("streams")
    if not isinstance(streams, LineList):
        return
    seen: dict[str, int] = {}
    for i, stream in enumerate(streams):
        if not isinstance(stream, LineDict) or not isinstance(stream.get("name"), str):
            continue
        name = stream["name"]
        if name in seen:
            first_line = streams[seen[name]].key_lines["name"]
            problems.add(("streams", i, "name"), f"duplicate stream name '{name}' (first at line {first_line})")
        else:
            seen[name] = i


def _read_schema(file: Path) -> Any:
    text = file.read_text(encoding="utf-8")
    if file.suffix.lower() == ".json":
        return json.loads(text)
    import yaml

    return yaml.safe_load(text)


def _load_schema_files(manifest: Manifest, base_dir: Path | None, problems: _Problems, allow_files: bool) -> None:
    for i, stream in enumerate(manifest.streams):
        if not stream.schema_file:
            continue
        loc = ("streams", i, "schema_file")
        if not allow_files:
            problems.add(loc, "this connector may not read files on this machine; inline the schema as 'schema'")
            continue
        if stream.json_schema is not None:
            problems.add(loc, "give 'schema' or 'schema_file', not both")
            continue
        file = (base_dir or Path.cwd()) / stream.schema_file
        try:
            schema = _read_schema(file)
        except (OSError, UnicodeDecodeError) as exc:
            problems.add(loc, f"cannot read '{stream.schema_file}': {getattr(exc, 'strerror', None) or exc}")
            continue
        except ValueError as exc:  # json.JSONDecodeError and yaml errors
            problems.add(loc, f"'{stream.schema_file}' is not valid JSON/YAML: {str(exc).splitlines()[0]}")
            continue
        if not isinstance(schema, dict):
            problems.add(loc, f"'{stream.schema_file}' must hold a JSON Schema object")
            continue
        stream.json_schema = schema


def _locate_templates(templates: list[tuple[KeyPath, TemplateString]], problems: _Problems) -> None:
    """Give every template its ``where`` (they were compiled, once, while validating)."""
    for path, template in templates:
        template.where = problems.where(path)


def _check_paths(manifest: Manifest, problems: _Problems) -> None:
    """Path syntax (``data[-1].id``), checked by the REST engine's compiler."""
    from source_solidafy.rest.paths import compile_path

    for path, value in iter_paths(manifest):
        try:
            compile_path(value)
        except (ValueError, TypeError, LookupError, SolidafyError) as exc:
            message = str(exc)
            problems.add(path, message if message.startswith("invalid path") else f"invalid path {value!r}: {message}")


def _note_ignored_requests(manifest: Manifest, problems: _Problems) -> None:
    for i, stream in enumerate(manifest.streams):
        if stream.request is not None and isinstance(stream.partition, AsyncJobPartition):
            where = problems.where(("streams", i, "request"))
            manifest._warnings.append(
                f"{where}: ignored: an async_job stream downloads from partition.download.path"
            )
