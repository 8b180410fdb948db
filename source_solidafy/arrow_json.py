"""RECORD lines for a whole Arrow batch at once: the JSON text is built column by column in Arrow.

Database streams deliver ``pyarrow.RecordBatch`` batches. Turning each row into a dict and each dict
into JSON (``arrow_rows.rows`` + orjson) costs a Python object per value; here each column becomes
an array of JSON fragments (one per row) with Arrow compute, and one ``binary_join_element_wise``
glues keys, fragments and the RECORD envelope into lines, so no Python object is made per row for
the common types.

The bytes are the same as ``orjson.dumps(row)`` of the row ``arrow_rows.rows`` gives (with
``protocol``'s options and fallback), by construction for the types that go through orjson value by
value, and checked by ``unit_tests/test_arrow_json.py`` for the fast ones:

- integers and booleans: Arrow's cast to text (the same digits and ``true``/``false``);
- text (and UUIDs, which DuckDB exports as text): quoted, with ``"`` and ``\\`` escaped in Arrow;
  a column holding a control character goes through orjson instead (its ``\\u00XX`` escapes);
- timestamps: ``arrow_rows``' RFC 3339 text; dates: ``YYYY-MM-DD``;
- decimals: Arrow's text, which follows the same rule as ``str(Decimal)`` (``1.50``, ``1.000E-7``);
- floats: the whole column through one ``orjson.dumps`` of the list, split at the commas (numbers
  hold none), so ``1e20``, ``100.0`` and NaN -> ``null`` read exactly as before;
- anything else (bytes, lists, structs, times, enums ...): one ``orjson.dumps`` per value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from source_solidafy.arrow_rows import rfc3339

_NULL = pa.scalar(b"null", pa.large_binary())
_QUOTE = pa.scalar(b'"', pa.large_binary())
_EMPTY = pa.scalar(b"", pa.large_binary())
_CONTROL = r"[\x00-\x1f]"
_SPECIAL = r'[\x00-\x1f"\\]'  # a character orjson escapes


@dataclass(frozen=True)
class Style:
    """How a writer prints values: ``encode`` writes one Python value as its orjson call would;
    ``timestamps`` gives a timestamp column's text in Arrow (None: that column goes through
    ``encode``); ``decimals_as_text`` quotes decimals. The RECORD lines' style is in protocol.py, the
    jsonl files' in sinks/jsonl.py."""

    encode: Callable[[Any], bytes]
    timestamps: Callable[[pa.Array, pa.TimestampType], pa.Array | None] = rfc3339
    decimals_as_text: bool = False


def fragments(column: pa.Array, style: Style) -> pa.Array:
    """One JSON text per value of ``column`` (``null`` for nulls), as a large_binary array."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        return fragments(column.dictionary_decode(), style)
    if pa.types.is_decimal(kind) and style.decimals_as_text:
        return _quote(pc.cast(column, pa.string()))
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_decimal(kind):
        text = pc.cast(column, pa.string())
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _quoted(column, style.encode)
    elif pa.types.is_timestamp(kind):
        stamps = style.timestamps(column, kind)  # digits, '-', ':', '.', 'T', 'Z', '+' need no escape
        return _each(column, style.encode) if stamps is None else _quote(stamps)
    elif pa.types.is_date32(kind):
        return _quote(pc.cast(column, pa.string()))
    elif pa.types.is_float32(kind) or pa.types.is_float64(kind):
        return _floats(column)
    else:
        return _each(column, style.encode)
    return pc.fill_null(pc.cast(text, pa.large_binary()), _NULL)


def _quoted(column: pa.Array, encode: Any) -> pa.Array:
    if not pc.any(pc.match_substring_regex(column, _SPECIAL)).as_py():
        return _quote(column)
    if pc.any(pc.match_substring_regex(column, _CONTROL)).as_py():
        return _each(column, encode)
    text = column
    if pc.any(pc.match_substring(text, "\\")).as_py():
        text = pc.replace_substring(text, "\\", "\\\\")
    if pc.any(pc.match_substring(text, '"')).as_py():
        text = pc.replace_substring(text, '"', '\\"')
    return _quote(text)


def _quote(text: pa.Array) -> pa.Array:
    joined = pc.binary_join_element_wise(_QUOTE, pc.cast(text, pa.large_binary()), _QUOTE, _EMPTY)
    return pc.fill_null(joined, _NULL) if text.null_count else joined


def _floats(column: pa.Array) -> pa.Array:
    """orjson's text for each float (NaN and infinities become null), from one dumps of the column.

    The values come straight from the data buffer (``to_pylist`` is ten times slower); the slots of
    nulls hold anything, so they are replaced by ``null`` afterwards.
    """
    if len(column) == 0:
        return pa.array([], pa.large_binary())
    code: Literal["d", "f"] = "d" if column.type.bit_width == 64 else "f"
    values = memoryview(column.buffers()[1]).cast(code)[column.offset : column.offset + len(column)]
    text = pa.array(orjson.dumps(values.tolist())[1:-1].split(b","), pa.large_binary())
    return pc.if_else(column.is_valid(), text, _NULL) if column.null_count else text


def _each(column: pa.Array, encode: Any) -> pa.Array:
    return pa.array([encode(v) for v in column.to_pylist()], pa.large_binary())


def record_lines(batch: pa.RecordBatch, prefix: bytes, suffix: bytes, style: Style) -> pa.Array:
    """Each row as ``prefix + {"col":value,...} + suffix`` (a large_binary array, one line per row)."""
    if batch.num_columns == 0:
        return pa.array([prefix + b"{}" + suffix] * batch.num_rows, pa.large_binary())
    parts: list[Any] = []
    opening = prefix + b"{"
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        parts.append(pa.scalar(opening + orjson.dumps(name) + b":", pa.large_binary()))
        parts.append(fragments(column, style))
        opening = b","
    parts.append(pa.scalar(b"}" + suffix, pa.large_binary()))
    return pc.binary_join_element_wise(*parts, _EMPTY)


def joined(lines: pa.Array) -> bytes:
    """The values of a large_binary array back to back: one copy of its data buffer."""
    if len(lines) == 0:
        return b""
    offsets = memoryview(lines.buffers()[1]).cast("q")
    start, end = offsets[lines.offset], offsets[lines.offset + len(lines)]
    return memoryview(lines.buffers()[2])[start:end].tobytes()


def longest(lines: pa.Array) -> int:
    return int(pc.max(pc.binary_length(lines)).as_py() or 0)
