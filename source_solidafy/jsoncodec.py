"""JSON in and out at orjson's speed, with integers of any size kept exact.

orjson reads integers from -2**63 to 2**64-1 exactly, turns larger ones into floats
(``100000000000000000000`` becomes ``1e20``) and refuses to write them. Every JSON that carries
records (API responses, JSON lines, spooled pages, state) goes through here instead:

    loads(b'{"id": 100000000000000000000}')   # {'id': 100000000000000000000}, an exact int
    dumps({"id": 10**20})                      # b'{"id":100000000000000000000}'

``loads`` looks for a run of 20 digits (or ``-`` and 19) in the text first: a look at every 10th
byte, then at every 4th, and only when neither rules it out a ``translate`` and a ``find`` over the
whole text. Only
when there is such a run (a big integer, or a long digit run inside a string or a fraction) is the
text parsed again by the standard library, whose integers are exact (up to Python's 4,300 digits;
more is a decode error). ``dumps`` falls back only when orjson refuses a value: big integers are
then written as their digits (``orjson.Fragment``), with the same options.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

JSONDecodeError = orjson.JSONDecodeError
_INT_MIN, _UINT_MAX = -(2**63), 2**64 - 1
_DIGITS = bytes(48 if 48 <= b <= 57 or b == 45 else 32 for b in range(256))  # 0-9 and - -> "0"
_RUN = b"0" * 20
_RUN5 = b"0" * 5


def might_lose_digits(data: bytes) -> bool:
    """True when ``data`` holds 20 digits (or ``-`` and 19) in a row: a number orjson may read as a float.

    Two looks before the whole scan (~11 instructions a byte), each at what such a run must show:
    any 20 bytes in a row hold two consecutive multiples of 10 and five consecutive multiples of 4.
    Every 10th byte first (a fifth of the second look's cost: most pages, e.g. 10-digit epoch
    seconds, stop there); ISO date-times pass it (``2024-01-01T00:00:00.000Z`` has digits 10 apart)
    but not the every-4th-byte look (five bytes 4 apart always meet a ``T``, ``:`` or ``.``).
    """
    if b"00" not in data[::10].translate(_DIGITS) or _RUN5 not in data[::4].translate(_DIGITS):
        return False
    return _RUN in data.translate(_DIGITS)


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Parse JSON like ``orjson.loads`` (same errors), with every integer exact."""
    raw = data.encode() if isinstance(data, str) else bytes(data)
    try:
        value = orjson.loads(raw)
    except JSONDecodeError:
        if not might_lose_digits(raw):
            raise
        return _exact_loads(raw)  # orjson also refuses integers beyond a float's range (10**400)
    if not might_lose_digits(raw):
        return value
    return _exact_loads(raw)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _exact_loads(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except RecursionError:  # orjson allows 1024 levels, the standard library a little less
        raise JSONDecodeError("nested too deeply to read its integers exactly", "", 0) from None
    except ValueError as exc:  # json.JSONDecodeError, UnicodeDecodeError, more than 4300 digits
        raise JSONDecodeError(str(exc), "", 0) from None


def _exact(value: Any) -> Any:
    """``value`` with integers outside orjson's range replaced by their digits as a Fragment."""
    if type(value) is int and not _INT_MIN <= value <= _UINT_MAX:
        return orjson.Fragment(str(value).encode())
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_exact(v) for v in value]
    return value


def dumps(value: Any, default: Any = None, option: int = 0) -> bytes:
    """``orjson.dumps``; a value holding an integer beyond 64 bits is written with its exact digits."""
    try:
        return orjson.dumps(value, default=default, option=option)
    except TypeError:  # orjson.JSONEncodeError is one; other causes raise again below
        return orjson.dumps(_exact(value), default=default, option=option)


__all__ = ["JSONDecodeError", "dumps", "loads", "might_lose_digits"]
