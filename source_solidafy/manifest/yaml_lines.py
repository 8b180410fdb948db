"""Safe YAML parsing that remembers the line of every mapping key and list item.

Why: every manifest problem is reported as ``file:line: key.path: message``. The parsed tree is made of
:class:`LineDict` / :class:`LineList` (plain dict / list subclasses, so pydantic validates them as
usual) that carry the lines. Duplicate keys are remembered rather than silently overwritten: the
loader reports them, except in ``params`` where a repeated key means a repeated query parameter.

Hostile YAML stays cheap: nesting deeper than :data:`MAX_DEPTH` is refused before the (recursive)
composer runs (100,000 ``[`` crashed it), and a document whose aliases expand to more than
:data:`MAX_NODES` nodes (an alias bomb: 543 bytes, billions of nodes) or that refers to itself is
refused before anything walks the tree. Both checks are linear in the size of the text.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, SequenceNode

MAX_DEPTH = 64  # nesting levels (the built-in and seed connectors use at most 9)
MAX_NODES = 100_000  # nodes once every alias is expanded (the largest built-in, stripe, has ~3,300)


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
        _check_depth(text)
        loader = LineLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _check_expanded_size(node)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        line, problem = describe_yaml_error(exc, text)
        raise YamlSyntaxError(line, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(None, f"invalid YAML: {exc}") from None


_OPENS = (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken, yaml.FlowMappingStartToken,
          yaml.FlowSequenceStartToken)
_CLOSES = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)


def _check_depth(text: str) -> None:
    """Count nesting on the scanner's tokens (no recursion); a scanning error is left to the parser."""
    scanner = _SafeBase(text)
    depth = 0
    try:
        while scanner.check_token():
            token = scanner.get_token()
            if isinstance(token, _OPENS):
                depth += 1
                if depth > MAX_DEPTH:
                    line = token.start_mark.line + 1
                    raise YamlSyntaxError(line, f"invalid YAML: nested more than {MAX_DEPTH} levels deep")
            elif isinstance(token, _CLOSES):
                depth -= 1
    except yaml.YAMLError:
        return
    finally:
        scanner.dispose()


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_expanded_size(root: Node) -> None:
    """Nodes counted as if every alias were copied, each distinct node visited once (no recursion)."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > MAX_NODES:
                raise YamlSyntaxError(node.start_mark.line + 1, (
                    f"invalid YAML: its aliases expand to more than {MAX_NODES:,} nodes (an alias bomb?); "
                    "write the repeated parts out or use fewer aliases"))
        elif key in open_nodes:
            raise YamlSyntaxError(node.start_mark.line + 1, "invalid YAML: an alias refers to a node that contains it")
        elif key not in sizes:
            open_nodes.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node) if id(child) not in sizes)


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
