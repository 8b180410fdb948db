"""Airbyte's key and flatten transformations, with airbyte-cdk 7's semantics, as transform steps of ours.

- ``KeysToLower``: each top-level key lower-cased (nested objects keep theirs), as the CDK's
  ``record[key.lower()] = record.pop(key)``.
- ``KeysToSnakeCase``: every key of the record and of nested objects (not of objects inside lists), cut
  into the CDK's tokens (``[A-Z]+[a-z]*``, ``[a-z]+``, digits; other characters separate) and joined
  with ``_`` in lower case: ``firstName`` -> ``first_name``, ``HTTPCode`` -> ``httpcode``,
  ``2fa`` -> ``_2_fa``. The CDK first transliterates non-ASCII keys (anyascii); such a key fails the
  stream here rather than being named differently.
- The record filter after the transformations (``AirbyteRecordFilter``: ``is_client_side_incremental``,
  ``transform_before_filtering``): a record whose cursor is before the sync's start less the lookback
  (never before ``start_datetime``) or after its end is dropped, and so is one the condition refuses.
- ``DpathFlattenFields``: in fields.py.

- ``FlattenFields``: the CDK's flatten_record, step for step (its stack order decides which of two equal
  keys gets its parent's name; after the first list flattened every later key is named by its path).
- ``KeysReplace``: ``old`` replaced by ``new`` in every key of the record and of nested objects (not
  of objects inside lists), as the CDK's ``key.replace(old, new)``.
- CsvDecoder's ``set_values_to_none``: a value equal to one of them becomes null (the CDK does it in
  the parser; this step runs first).

Our own ``normalize_keys`` and ``flatten`` steps mean other things (nested keys, other word breaks,
prefixed names), so these are steps of their own, registered with the factory for the transform slot.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from source_solidafy.errors import StreamError
from source_solidafy.lowcode.cursor import SYNC_BOUNDS, DatetimeSlices
from source_solidafy.manifest.fields import Strict, Template
from source_solidafy.rest.builders import FACTORY, TransformInputs
from source_solidafy.rest.transforms import END_OF_CHAIN, TransformStep

_TOKEN = re.compile(r"[A-Z]+[a-z]*|[a-z]+|\d+|(?P<other>[^a-zA-Z\d]+)")


class AirbyteKeys(Strict):
    """KeysToLower (``lower``) or KeysToSnakeCase (``snake``)."""

    case: Literal["lower", "snake"]
    type: Literal["airbyte_keys"] = "airbyte_keys"


def snake_key(key: str) -> str:
    """The CDK's KeysToSnakeCaseTransformation.process_key for an ASCII key."""
    tokens = [m.group(0) if m.group("other") is None else "" for m in _TOKEN.finditer(key)]
    if len(tokens) >= 3:
        tokens = tokens[:1] + [t for t in tokens[1:-1] if t] + tokens[-1:]
    if tokens and tokens[0].isdigit():
        tokens.insert(0, "")
    return "_".join(t.lower() for t in tokens)


class KeysStep(TransformStep):
    def __init__(self, spec: AirbyteKeys, stream: str) -> None:
        self.snake, self.stream = spec.case == "snake", stream
        self._names: dict[str, str] = {}

    def _snake(self, key: str) -> str:
        name = self._names.get(key)
        if name is None:
            if not key.isascii():
                raise StreamError(f"stream '{self.stream}': KeysToSnakeCase: key {key!r} is not ASCII (the CDK "
                                  "transliterates it with anyascii, which is not supported yet)")
            name = snake_key(key)
            if len(self._names) < 100_000:
                self._names[key] = name
        return name

    def _snaked(self, record: dict[str, Any]) -> dict[str, Any]:
        return {self._snake(k): self._snaked(v) if isinstance(v, dict) else v for k, v in record.items()}

    def apply(self, records: list[dict[str, Any]], ctx: dict[str, Any]) -> None:
        for record in records:
            if self.snake:
                snaked = self._snaked(record)
                record.clear()
                record.update(snaked)
            else:
                for key in set(record):
                    record[key.lower()] = record.pop(key)


class AirbyteFlatten(Strict):
    """FlattenFields."""

    flatten_lists: bool = True
    type: Literal["airbyte_flatten"] = "airbyte_flatten"


class AirbyteKeysReplace(Strict):
    """KeysReplace with ``old`` and ``new`` known at load time."""

    old: str
    new: str
    type: Literal["airbyte_keys_replace"] = "airbyte_keys_replace"


class AirbyteNoneValues(Strict):
    """CsvDecoder.set_values_to_none."""

    values: list[str]
    type: Literal["airbyte_none_values"] = "airbyte_none_values"


class FlattenStep(TransformStep):
    def __init__(self, spec: AirbyteFlatten) -> None:
        self.lists = spec.flatten_lists

    def _flat(self, record: dict[str, Any]) -> dict[str, Any]:
        """airbyte_cdk.sources.declarative.transformations.flatten_fields.FlattenFields.flatten_record."""
        stack: list[tuple[Any, str]] = [(record, "_")]
        out: dict[str, Any] = {}
        forced = False
        while stack:
            current, parent = stack.pop()
            if isinstance(current, dict):
                for key, value in current.items():
                    stack.append((value, f"{parent}.{key}" if (key in out or forced) else key))
            elif isinstance(current, list) and self.lists:
                for i, item in enumerate(current):
                    forced = True
                    stack.append((item, f"{parent}.{i}"))
            else:
                out[parent] = current
        return out

    def apply(self, records: list[dict[str, Any]], ctx: dict[str, Any]) -> None:
        for record in records:
            flat = self._flat(record)
            record.clear()
            record.update(flat)


class KeysReplaceStep(TransformStep):
    def __init__(self, spec: AirbyteKeysReplace) -> None:
        self.old, self.new = spec.old, spec.new

    def _replaced(self, data: dict[str, Any]) -> dict[str, Any]:
        return {k.replace(self.old, self.new): self._replaced(v) if isinstance(v, dict) else v for k, v in data.items()}

    def apply(self, records: list[dict[str, Any]], ctx: dict[str, Any]) -> None:
        for record in records:
            replaced = self._replaced(record)
            record.clear()
            record.update(replaced)


class NoneValuesStep(TransformStep):
    def __init__(self, spec: AirbyteNoneValues) -> None:
        self.values = frozenset(spec.values)

    def apply(self, records: list[dict[str, Any]], ctx: dict[str, Any]) -> None:
        nones = self.values
        for record in records:
            for key, value in record.items():
                if isinstance(value, str) and value in nones:
                    record[key] = None


class AirbyteRecordFilter(Strict):
    """The CDK's record filter where it runs after the transformations (``transform_before_filtering``,
    the default of ``is_client_side_incremental``): the RecordFilter condition (rendered to ``True`` or
    ``False``, see values.TemplateTable.keep) and, for a client-side incremental stream, the cursor's
    bounds for this sync, read from the partition (cursor.SYNC_BOUNDS). With ``data_feed`` (``is_data_feed``,
    the last step: the CDK's post-pagination filter), a page whose last record is out of the bounds is the
    last page (the CDK's CursorStopCondition): the step ends the request chain (END_OF_CHAIN)."""

    condition: Template | None = None
    cursor: DatetimeSlices | None = None
    data_feed: bool = False
    type: Literal["airbyte_record_filter"] = "airbyte_record_filter"


class RecordFilterStep(TransformStep):
    """Keeps the records the CDK's ClientSideIncrementalRecordFilterDecorator / RecordFilter keeps: a record
    whose cursor does not parse (or is absent) is kept, as the CDK keeps it."""

    def __init__(self, spec: AirbyteRecordFilter) -> None:
        self.spec = spec

    def _in_bounds(self, record: dict[str, Any], low: dt.datetime, high: dt.datetime | None) -> bool:
        cursor = self.spec.cursor
        assert cursor is not None
        value = record.get(cursor.cursor_field)
        if value is None:
            return True
        try:
            moment = cursor.parse(value)
        except (ValueError, TypeError, OverflowError):
            return True
        return low <= moment <= (high or dt.datetime.now(dt.timezone.utc))

    def apply(self, records: list[dict[str, Any]], ctx: dict[str, Any]) -> None:
        partition = ctx.get("partition")
        data = getattr(partition, "_ns_data", partition) or {}
        bounds = data.get(SYNC_BOUNDS) if self.spec.cursor is not None else None
        low = dt.datetime.fromisoformat(bounds[0]) if bounds else None
        high = dt.datetime.fromisoformat(bounds[1]) if bounds and bounds[1] else None
        condition = self.spec.condition
        if self.spec.data_feed and records and low is not None and not self._in_bounds(records[-1], low, high):
            ctx[END_OF_CHAIN] = True
        kept = [r for r in records
                if (low is None or self._in_bounds(r, low, high))
                and (condition is None or condition.render(ctx, record=r) == "True")]
        records[:] = kept


@FACTORY.register(AirbyteRecordFilter, RecordFilterStep, slot="transform")
def _record_filter(spec: AirbyteRecordFilter, inputs: TransformInputs) -> TransformStep:
    return RecordFilterStep(spec)


@FACTORY.register(AirbyteKeys, KeysStep, slot="transform")
def _keys(spec: AirbyteKeys, inputs: TransformInputs) -> TransformStep:
    return KeysStep(spec, inputs.stream)


@FACTORY.register(AirbyteFlatten, FlattenStep, slot="transform")
def _flatten_fields(spec: AirbyteFlatten, inputs: TransformInputs) -> TransformStep:
    return FlattenStep(spec)


@FACTORY.register(AirbyteKeysReplace, KeysReplaceStep, slot="transform")
def _keys_replace(spec: AirbyteKeysReplace, inputs: TransformInputs) -> TransformStep:
    return KeysReplaceStep(spec)


@FACTORY.register(AirbyteNoneValues, NoneValuesStep, slot="transform")
def _none_values(spec: AirbyteNoneValues, inputs: TransformInputs) -> TransformStep:
    return NoneValuesStep(spec)
