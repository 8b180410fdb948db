"""``datetime.strptime`` for the common numeric formats, with strptime's own answer, several times faster.

A DatetimeBasedCursor parses every record's cursor (the CDK compares parsed datetimes), and strptime
costs ~20 µs a call, more than the rest of a record's work. For a format made only of ``%Y %m %d``
and optionally ``%H %M %S %f`` (each once) and literal text, the value is matched with the very regex
strptime compiles for that format (``_strptime._TimeRE_cache``: the same digits, widths, space-padded
days and case-insensitive literals), the whole text must match (strptime's "unconverted data remains"),
and ``datetime(...)`` checks the ranges (Feb 30, second 60) as strptime's does. Any other format goes
to strptime itself. unit_tests/rest/test_lowcode_cursor.py compares both on odd values.
"""

from __future__ import annotations

import _strptime  # type: ignore[import-not-found]
import datetime as dt
import functools
import re
from collections.abc import Callable

_ORDER = "YmdHMS"
_DIRECTIVE = re.compile(r"%(.)")
UTC = dt.timezone.utc
Parser = Callable[[str], dt.datetime]


@functools.lru_cache(maxsize=128)
def numeric_format(fmt: str) -> Parser | None:
    """A parser of ``fmt`` giving strptime's datetime (in UTC: these formats carry no zone) when ``fmt``
    is ``%Y %m %d`` then optionally ``%H``, ``%M``, ``%S`` (in that order, each once), ``%f`` and literal
    text; else None."""
    found = _DIRECTIVE.findall(fmt)
    names = tuple(d for d in found if d != "f")
    if "%%" in fmt or len(found) != len(set(found)) or not set(found) <= set(_ORDER + "f") \
            or names != tuple(_ORDER[:len(names)]) or len(names) < 3:
        return None
    with _strptime._cache_lock:
        regex = _strptime._TimeRE_cache.compile(fmt)
    group, fraction = regex.match, "f" in found

    def parse(text: str) -> dt.datetime:
        hit = group(text)
        if hit is None:
            raise ValueError(f"time data {text!r} does not match format {fmt!r}")
        if hit.end() != len(text):
            raise ValueError(f"unconverted data remains: {text[hit.end():]}")
        y, mo, d, h, mi, s = ([int(v) for v in hit.group(*names)] + [0, 0, 0])[:6]
        micro = int((hit.group("f") + "00000")[:6]) if fraction else 0
        return dt.datetime(y, mo, d, h, mi, s, micro, UTC)

    return parse
