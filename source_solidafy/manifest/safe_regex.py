"""Regexes a connector file gives and the engine matches against input it does not control.

One definition for every such regex (``errors:`` ``body_matches``/``headers``, a spec field's
``pattern``, an Airbyte manifest's ``connection_specification`` patterns): it must compile, and have
no repeat inside a repeated group (``(a+)+``, ``(\\w*x)*``, ``(a+){2,}``), which backtracks for
exponential time on an input made for it, and at most 1,000 characters (finding the nesting takes
time quadratic in the length). A connector file is hostile input too (``serve
--allow-custom-connectors``). A config value checked against a pattern is bounded in length as well.
"""

from __future__ import annotations

import re
from typing import Annotated

from source_solidafy.manifest.fields import Text
from source_solidafy.manifest.pyd import AfterValidator, PydanticCustomError

MAX_REGEX_CHARS = 1000
"""The longest regex a connector file may give (real ones are tens of characters)."""
MAX_MATCHED_CHARS = 2048
"""The longest config value matched against its field's pattern (longer ones are refused unmatched)."""

_REPEAT = r"(?:[+*]|\{\d*,\})"
_NESTED = rf"\((?:[^()\\]|\\.)*{_REPEAT}(?:[^()\\]|\\.)*\){_REPEAT}"  # (a+)+, (\w*x)*, (a+){2,}; compiled on first use


def regex_problem(value: str) -> str | None:
    """Why ``value`` may not be matched against hostile input, or None if it may. A regex longer than
    :data:`MAX_REGEX_CHARS` is refused first: looking for the nesting takes time quadratic in its length."""
    if len(value) > MAX_REGEX_CHARS:
        return f"a regular expression may have at most {MAX_REGEX_CHARS:,} characters, this one has {len(value):,}"
    try:
        re.compile(value)
    except re.error as exc:
        return f"invalid regular expression: {exc}"
    if (nested := re.search(_NESTED, value)) is not None:
        return (f"a repeat inside a repeated group ({nested.group(0)}) can take exponential time on "
                "hostile input; write it without the nesting")
    return None


def _regex(value: str) -> str:
    if (problem := regex_problem(value)) is not None:
        raise PydanticCustomError("regex", "{problem}", {"problem": problem})
    return value


Regex = Annotated[Text, AfterValidator(_regex)]
"""A regex from a connector file, checked at load (the error names the file, line and key)."""


def too_long_to_match(value: str) -> str | None:
    """A config value too long to be matched against its pattern: why, or None."""
    if len(value) <= MAX_MATCHED_CHARS:
        return None
    return f"is {len(value):,} characters, longer than the {MAX_MATCHED_CHARS:,} a value with a pattern may have"
