"""Records (lists of dicts) to Arrow, with the widening rules that make sure no value is lost.

Columns come in the order of the batch's first record, keys seen later after them. Per column the type is the widest seen: ``null < bool < int64 < float64 < string``. Objects and
arrays are stored as JSON text (a string column), integers outside int64 make the column a string
column (written in decimal), and in a string column every non-string value is its JSON text
(``true``, ``12``, ``{"a":1}``). Keys absent from some records are null there; a key first seen
in record 10,001 is a column like any other (``Table.from_pylist`` would silently drop it).

Batches that arrive as ``pyarrow.RecordBatch`` (databases) keep their own types; only when two
batches disagree is the column widened by the same rules (other mismatches become strings).
"""

from __future__ import annotations

import gc
import struct
from collections.abc import Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

import orjson
import pyarrow as pa

from source_solidafy import jsoncodec

NULL, BOOL, INT, FLOAT, STRING = 0, 1, 2, 3, 4
RANK_TYPES = {NULL: pa.null(), BOOL: pa.bool_(), INT: pa.int64(), FLOAT: pa.float64(), STRING: pa.string()}
_PY_RANK = {type(None): NULL, bool: BOOL, int: INT, float: FLOAT, str: STRING}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_JSON_RANKS = {"null": NULL, "boolean": BOOL, "integer": INT, "number": FLOAT, "string": STRING}


def json_text(value: Any) -> str:
    """Compact JSON for nested values (integers beyond 64 bits with their exact digits)."""
    return jsoncodec.dumps(value, default=str).decode()


def as_text(value: Any) -> str:
    """A value in a string column: strings as they are, JSON values as JSON text, others via ``str``."""
    if type(value) is str:
        return value
    if isinstance(value, (dict, list, tuple, bool, int, float)):
        return json_text(value)
    if hasattr(value, "isoformat"):  # datetime, date, time: ISO 8601 like the JSON output
        return str(value.isoformat())
    return str(value)


def rank_of(dtype: pa.DataType) -> int | None:
    """Place of an Arrow type in the lattice; None for types outside it (timestamps, decimals...)."""
    if pa.types.is_null(dtype):
        return NULL
    if pa.types.is_boolean(dtype):
        return BOOL
    if pa.types.is_integer(dtype) and dtype != pa.uint64():
        return INT
    if pa.types.is_floating(dtype):
        return FLOAT
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return STRING
    return None


def widen(a: pa.DataType, b: pa.DataType) -> pa.DataType:
    """The narrowest type holding every value of both; equal types stay as they are."""
    if a == b:
        return a
    if pa.types.is_null(a):
        return b
    if pa.types.is_null(b):
        return a
    ra, rb = rank_of(a), rank_of(b)
    if ra is None or rb is None:
        return pa.string()
    return RANK_TYPES[max(ra, rb)]


def merge_schemas(base: pa.Schema | None, new: pa.Schema) -> pa.Schema:
    """``base`` with each column widened to fit ``new``, and ``new``'s extra columns appended."""
    if base is None:  # nullable: a column without nulls so far may have some in the next batch
        return pa.schema([f.with_nullable(True) for f in new])
    if base.equals(new):
        return base
    fields = []
    new_types = {f.name: f.type for f in new}
    for f in base:
        other = new_types.get(f.name)
        wider = f.type if other is None else widen(f.type, other)
        fields.append(f if wider == f.type else pa.field(f.name, wider))
    known = set(base.names)
    fields.extend(f.with_nullable(True) for f in new if f.name not in known)
    return pa.schema(fields)


def same_columns(a: pa.Schema, b: pa.Schema) -> bool:
    """Same names and types in the same order (nullability and metadata do not matter to a file)."""
    if a is b:  # the sink's schema, unchanged by a page that fits it (most pages): 12 µs less a page
        return True
    return a.names == b.names and all(x.type == y.type for x, y in zip(a, b, strict=True))


def schema_from_json_schema(json_schema: dict[str, Any] | None) -> pa.Schema | None:
    """Columns declared by a stream's JSON schema; properties without a usable type are left to inference.

    ``{"type": ["null", "integer"]}`` -> int64, ``number`` -> float64, ``object``/``array`` -> string
    (JSON text), ``airbyte_type: big_integer`` -> string, several non-null types -> the widest.
    """
    props = (json_schema or {}).get("properties")
    if not isinstance(props, dict):
        return None
    fields = []
    for name, prop in props.items():
        if not isinstance(prop, dict):
            continue
        types = prop.get("type")
        types = [types] if isinstance(types, str) else types if isinstance(types, list) else []
        ranks = [_JSON_RANKS.get(t, STRING) for t in types if t != "null"]
        if not ranks:
            continue
        if prop.get("airbyte_type") == "big_integer":
            ranks.append(STRING)
        fields.append(pa.field(str(name), RANK_TYPES[max(ranks)]))
    return pa.schema(fields) if fields else None


def _column_rank(values: Sequence[Any]) -> int:
    rank = NULL
    for v in values:
        r = _PY_RANK.get(type(v), STRING)
        if r == INT and not _INT64_MIN <= v <= _INT64_MAX:
            return STRING
        if r > rank:
            rank = r
            if rank == STRING:
                return STRING
    return rank


def _slow_column(values: Sequence[Any]) -> pa.Array:
    """Mixed Python types: convert each value to the column's widest type."""
    rank = _column_rank(values)
    if rank == NULL:
        return pa.nulls(len(values))
    if rank == BOOL:
        return pa.array(values, pa.bool_())
    if rank == INT:
        return pa.array([None if v is None else int(v) for v in values], pa.int64())
    if rank == FLOAT:
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    return pa.array([None if v is None else as_text(v) for v in values], pa.string())


_NONE = type(None)
_TYPED = {  # the Python types of a column's values -> the Arrow type to convert them to directly
    frozenset({str}): pa.string(), frozenset({str, _NONE}): pa.string(),
    frozenset({int}): pa.int64(), frozenset({int, _NONE}): pa.int64(),
    frozenset({float}): pa.float64(), frozenset({float, _NONE}): pa.float64(),
    frozenset({int, float}): pa.float64(), frozenset({int, float, _NONE}): pa.float64(),
    frozenset({bool}): pa.bool_(), frozenset({bool, _NONE}): pa.bool_(),
}
_NESTED = ({dict}, {list}, {dict, list}, {dict, _NONE}, {list, _NONE}, {dict, list, _NONE})


# struct's native "l" reads an int with PyLong_AsLong, "q" with PyLong_AsLongLong, which takes a slow
# generic path for every int beyond 2**30 (timestamps, most ids): 0.57x the instructions where C's long
# is 64 bits (all but Windows)
_INT64_CODE = "l" if struct.calcsize("l") == 8 else "q"
_PACKED = {frozenset({int}): (_INT64_CODE, pa.int64()), frozenset({float}): ("d", pa.float64())}


def _kinds(values: Sequence[Any]) -> frozenset[type]:
    """The Python types of a column's values. Most columns hold one type, perhaps with nulls: two
    counts over the list of types (identity compares) tell that in 3/4 of the time of a set of them."""
    types = list(map(type, values))
    first = types[0]
    same = types.count(first)
    if same == len(types):
        return frozenset((first,))
    if first is not _NONE and same + types.count(_NONE) == len(types):
        return frozenset((first, _NONE))
    return frozenset(types)


def _column(values: Sequence[Any]) -> pa.Array:
    """One column: the set of its values' Python types picks the conversion (no Arrow inference pass)."""
    kinds = _kinds(values)
    packed = _PACKED.get(kinds)
    if packed is not None:
        return _numbers(values, *packed)
    if kinds == _STR:
        fixed = _fixed_width_strings(values)
        if fixed is not None:
            return fixed
    dtype = _TYPED.get(kinds)
    if dtype is not None:
        try:
            return pa.array(values, dtype)
        except (pa.ArrowException, OverflowError):  # integers outside int64
            return _slow_column(values)
    if kinds in _NESTED:
        return _json_column(values)
    if kinds == {_NONE}:
        return pa.nulls(len(values))
    return _slow_column(values)


def _numbers(values: Sequence[Any], code: str, dtype: pa.DataType) -> pa.Array:
    """Only ints (or only floats), no nulls: ``struct`` packs them in C into the machine representation
    Arrow keeps, and those bytes become the Arrow data buffer as they are (``pa.array`` takes 1.6x as
    long for ints; ``array.array`` parses each item like a function argument: ~1.6x the instructions
    of ``struct`` for ints, ~2.7x for floats)."""
    try:
        packed = struct.pack(f"{len(values)}{code}", *values)
    except struct.error:  # integers outside int64
        return _slow_column(values)
    return pa.Array.from_buffers(dtype, len(values), [None, pa.py_buffer(packed)])


_STR = frozenset({str})
_OFFSETS: dict[tuple[int, int], pa.Buffer] = {}  # (values, width) -> int32 offsets 0, width, 2*width...


def _fixed_width_strings(values: Sequence[Any]) -> pa.Array | None:
    """Only str, no nulls, all ASCII and of one length (codes, ids, ISO timestamps, UUIDs): the joined
    text is the data buffer and the offsets a stride, one buffer for every page of that shape
    (``pa.array`` spends ~440 instructions a value, this ~130). None for any other column."""
    count, width = len(values), len(values[0])
    if not width or len(values[-1]) != width or len(values[count // 2]) != width:  # most columns stop here
        return None
    text = "".join(values)
    if len(text) != count * width or count * width >= 2**31 or not text.isascii() or "\x00" in text:
        return None
    # joined by NULs (which the values lack), the NULs sit at every (width + 1)th place only if every
    # value is ``width`` long (map(len) and a set of the lengths cost ~200 instructions a value)
    if "\x00".join(values)[width::width + 1] != "\x00" * (count - 1):
        return None
    offsets = _OFFSETS.get((count, width))
    if offsets is None:
        if len(_OFFSETS) >= 64:
            _OFFSETS.clear()
        stride = range(0, (count + 1) * width, width)
        offsets = _OFFSETS[(count, width)] = pa.py_buffer(struct.pack(f"{count + 1}i", *stride))
    return pa.Array.from_buffers(pa.string(), count, [None, offsets, pa.py_buffer(text.encode())])


def _json_column(values: Sequence[Any]) -> pa.Array:
    """JSON text of each value; orjson's bytes are valid UTF-8, so they are viewed as strings uncopied."""
    dumps = orjson.dumps
    try:
        encoded = [None if v is None else dumps(v, default=str) for v in values]
    except (orjson.JSONEncodeError, TypeError):  # integers beyond 64 bits somewhere
        return pa.array([None if v is None else json_text(v) for v in values], pa.string())
    return pa.array(encoded, pa.binary()).view(pa.string())


def _transpose(records: list[dict[str, Any]]) -> tuple[list[str], list[Sequence[Any]]]:
    """Column names and values. Records with the first record's keys (the common case) are
    transposed in C; otherwise every key of every record is collected, in order of appearance."""
    keys = list(records[0])
    width = len(keys)
    if width and set(map(len, records)) == {width}:
        try:  # KeyError: some record has other keys
            return keys, [list(map(itemgetter(k), records)) for k in keys]
        except KeyError:
            pass
    names = list(dict.fromkeys(chain.from_iterable(records)))
    return names, [[r.get(k) for r in records] for k in names]


def records_to_batch(records: list[dict[str, Any]]) -> pa.RecordBatch:
    """A RecordBatch with every key of every record, typed by the lattice.

    Garbage collection waits until the conversion is done: a collection in between traverses the
    column lists it makes (a reference per value, freed on return), ~0.3 M instructions a 1,000-record
    page of 10 fields."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        names, columns = _transpose(records)
        return pa.RecordBatch.from_arrays([_column(c) for c in columns], names=[str(n) for n in names])
    finally:
        if enabled:
            gc.enable()


def cast_array(arr: pa.Array, dtype: pa.DataType) -> pa.Array:
    """Widen ``arr`` to ``dtype``; to string via JSON text when Arrow has no cast."""
    if arr.type == dtype:
        return arr
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), dtype)
    import pyarrow.compute as pc  # only when a column widens: the module costs 8 MB of RSS to import

    try:
        return pc.cast(arr, dtype)
    except (pa.ArrowException, NotImplementedError):
        if rank_of(dtype) != STRING:
            raise
        return pa.array([None if v is None else as_text(v) for v in arr.to_pylist()], pa.string())


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with exactly ``schema``'s columns (missing ones null), each cast to its type."""
    if batch.schema.equals(schema):
        return batch
    index = {name: i for i, name in enumerate(batch.schema.names)}
    columns = []
    for f in schema:
        if f.name in index:
            columns.append(cast_array(batch.column(index[f.name]), f.type))
        else:
            columns.append(pa.nulls(batch.num_rows, f.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)
