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
        line, problem = describe_yaml_error(exc, text)
        raise YamlSyntaxError(line, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(None, f"invalid YAML: {exc}") from None


# what the parser was inside ("while parsing a flow sequence") -> what a person calls it
_CONSTRUCTS = {
    "flow sequence": "flow sequence '['",
    "flow mapping": "flow mapping '{'",
    "quoted scalar": "quoted string",
    "block mapping": "mapping",
    "block collection": "list",
    "block scalar": "block scalar",
}
_UNCLOSED = ("expected ',' or ']'", "expected ',' or '}'", "end of stream")


def describe_yaml_error(exc: yaml.MarkedYAMLError, text: str) -> tuple[int | None, str]:
    """(line to point at, one line): where the broken construct starts and where the parser gave up.

    ``flow sequence '[' opened at line 10 is not closed (line 11: did not find expected ',' or ']')``
    points at line 10; an indentation mistake points at the line the parser stopped on and names
    the mapping it was in.
    """
    start, stop = exc.context_mark, exc.problem_mark or exc.context_mark
    start_line = start.line + 1 if start is not None else None
    stop_line = stop.line + 1 if stop is not None else None
    problem = exc.problem or exc.context or "invalid YAML"
    if "tab character" in problem or (stop is not None and _char_at(text, stop) == "\t"):
        return stop_line, "a tab character cannot indent YAML (use spaces)"
    context = (exc.context or "").removeprefix("while parsing ").removeprefix("while scanning ")
    construct = next((name for key, name in _CONSTRUCTS.items() if key in context), context.removeprefix("a "))
    if not exc.context or start_line is None or start_line == stop_line:
        return stop_line, problem
    if any(marker in problem for marker in _UNCLOSED):
        return start_line, f"{construct} opened at line {start_line} is not closed (line {stop_line}: {problem})"
    hint = "; check the indentation" if construct in ("mapping", "list") else ""
    return stop_line, f"{problem} (in the {construct} that starts at line {start_line}{hint})"


def _char_at(text: str, mark: Any) -> str:
    lines = text.splitlines()
    if 0 <= mark.line < len(lines) and 0 <= mark.column < len(lines[mark.line]):
        return lines[mark.line][mark.column]
    return ""
