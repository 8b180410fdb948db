"""Safe YAML parsing that remembers the line of every mapping key and list item.

Why: every manifest problem is reported as ``file:line: key.path: message``. The parsed tree is made of
:class:`LineDict` / :class:`LineList` (plain dict / list subclasses, so pydantic validates them as
usual) that carry the lines. Duplicate keys are remembered rather than silently overwritten: the
loader reports them, except in ``params`` where a repeated key means a repeated query parameter.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, SequenceNode


class LineDict(dict):
    """A mapping with ``line`` (its own), ``key_lines`` and ``duplicates`` (key -> [(line, value)])."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}
        self.duplicates: dict[Any, list[tuple[int, Any]]] = {}


class LineList(list):
    """A sequence with ``line`` and ``item_lines``."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []


_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml is ~10x faster


class LineLoader(_SafeBase):  # type: ignore[misc,valid-type]
    """SafeLoader (libyaml's when present) whose mappings and sequences keep line numbers (1-based)."""


def _construct_mapping(loader: LineLoader, node: MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict(node.start_mark.line + 1)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise ConstructorError(
                "while constructing a mapping", node.start_mark, "found an unhashable key", key_node.start_mark
            ) from None
        value = loader.construct_object(value_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in out:
            dups = out.duplicates.setdefault(key, [(out.key_lines[key], out[key])])
            dups.append((line, value))
        else:
            out.key_lines[key] = line
        out[key] = value
    return out


def _construct_sequence(loader: LineLoader, node: SequenceNode) -> LineList:
    out = LineList(node.start_mark.line + 1)
    for child in node.value:
        out.append(loader.construct_object(child, deep=True))
        out.item_lines.append(child.start_mark.line + 1)
    return out


LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


class YamlSyntaxError(Exception):
    """Malformed YAML: ``line`` (1-based, or None) and a one-line ``problem``."""

    def __init__(self, line: int | None, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem


def parse_yaml(text: str) -> Any:
    """Parse one YAML document into LineDict/LineList/scalars; raise :class:`YamlSyntaxError`."""
    try:
        return yaml.load(text, Loader=LineLoader)  # noqa: S506 - LineLoader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            problem = f"{exc.problem} ({exc.context})"
        raise YamlSyntaxError(line, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(None, f"invalid YAML: {exc}") from None
