"""Schema drift: the fields a stream's records have that its declared schema does not, and the types
that widened (an ``integer`` seen as a string or a fraction, a ``null`` in a field that does not allow
it), so users see it before their warehouse does.

Information, not a warning: it neither fails the stream nor holds its state. The runner keeps one
:class:`DriftWatch` per stream with a declared schema (``Source.drift_schema``) and shows what it
found in the stream's SYNC_SUMMARY entry (``schema_drift``), a LOG line and, in the Airbyte flavour,
the stream's last STREAM_STATUS (docs/protocol.md). A configured catalog's ``json_schema`` that names
fields wins over the connector's: it is what the destination was set up with.

Cheap by sampling, so the CPU per record stays the same: the first ``FULL_FIRST`` records of a
stream are checked whole, then on every page a few records spread over it, and every record whose
number of keys the stream has not shown yet (a new field usually comes with a new key count); the
only per-record work is taking ``len`` of each record. A sampled record whose every (field, Python
type) pair was checked before is passed over: checking it again would note nothing new. Top-level
fields only; at most ``MAX_FIELDS`` fields are named per kind, the rest counted.
"""

from __future__ import annotations

import itertools
from typing import Any

FULL_FIRST = 100  # records checked whole at the start of a stream
PER_PAGE = 4  # records checked on every later page, spread over it
MAX_FIELDS = 20  # fields named per kind; more are counted
MAX_COUNTED = 10_000  # distinct field names counted beyond MAX_FIELDS (memory stays bounded)
MAX_LENGTHS = 256  # distinct key counts remembered; past it, sampling alone
MAX_KNOWN = 4096  # (field, type) pairs remembered as checked; past it, every sampled record is checked whole

JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", dict: "object",
              list: "array", type(None): "null"}
_ANY = None  # a declared field with no type constraint


def declared_types(prop: Any) -> frozenset[str] | None:
    """The JSON types a property allows (``type`` a name or a list, or ``anyOf``/``oneOf`` of
    types); None when it does not say (anything goes)."""
    if not isinstance(prop, dict):
        return _ANY
    kind = prop.get("type")
    if isinstance(kind, str):
        return frozenset((kind,))
    if isinstance(kind, list):
        return frozenset(k for k in kind if isinstance(k, str))
    options = prop.get("anyOf") or prop.get("oneOf")
    if isinstance(options, list):
        parts = [declared_types(o) for o in options]
        if parts and all(p is not None for p in parts):
            return frozenset().union(*[p for p in parts if p is not None])
    return _ANY


class DriftWatch:
    """What one stream's records say about its declared schema (thread: the runner's consumer)."""

    def __init__(self, schema: dict[str, Any]) -> None:
        props = schema.get("properties")
        self._declared = {k: declared_types(v) for k, v in props.items()} if isinstance(props, dict) else {}
        self._lengths: set[int] = set()
        self.checked = 0
        self.new_fields: dict[str, set[str]] = {}  # field -> types seen
        self.widened: dict[str, set[str]] = {}  # field -> types seen beyond the declared ones
        self._more: set[str] = set()
        self._known: set[tuple[Any, type]] = set()

    def observe(self, records: list[Any]) -> None:
        """Look at a page of records (dicts), by sample."""
        n = len(records)
        if not n:
            return
        whole = self.checked < FULL_FIRST
        picked = records[:FULL_FIRST - self.checked] if whole else records[::max(1, n // PER_PAGE)][:PER_PAGE + 1]
        lengths = set(map(len, records))
        if not lengths <= self._lengths and len(self._lengths) < MAX_LENGTHS:
            if whole:  # the records checked whole anyway need no second look
                self._lengths.update(map(len, picked))
            picked = [*picked, *self._firsts(records, lengths - self._lengths, len(picked) if whole else 0)]
        for record in picked:
            if isinstance(record, dict):
                self._check(record)
        self.checked += len(picked)

    def _firsts(self, records: list[Any], unseen: set[int], start: int) -> list[Any]:
        """The first record of each key count not seen before (a few per page, one pass at most)."""
        if not unseen:
            return []
        self._lengths |= unseen
        wanted = min(len(unseen), PER_PAGE * 2)
        firsts: dict[int, Any] = {}
        for record in itertools.islice(records, start, None):
            size = len(record)
            if size in unseen and size not in firsts:
                firsts[size] = record
                if len(firsts) >= wanted:
                    break
        return list(firsts.values())

    def _check(self, record: dict[str, Any]) -> None:
        known = self._known  # (field, Python type) pairs checked before: checking one again changes nothing
        if all(map(known.__contains__, zip(record, map(type, record.values()), strict=True))):
            return
        if len(known) < MAX_KNOWN:
            known.update(zip(record, map(type, record.values()), strict=True))
        declared = self._declared
        for key, value in record.items():
            seen = JSON_TYPES.get(type(value), "string")
            if key not in declared:
                self._note(self.new_fields, key, seen)
                continue
            allowed = declared[key]
            if allowed is _ANY or seen in allowed or (seen == "integer" and "number" in allowed):
                continue
            self._note(self.widened, key, seen)

    def _note(self, found: dict[str, set[str]], key: str, seen: str) -> None:
        kinds = found.get(key)
        if kinds is not None:
            kinds.add(seen)
        elif len(found) < MAX_FIELDS:
            found[key] = {seen}
        elif len(self._more) < MAX_COUNTED:
            self._more.add(key)

    def report(self) -> dict[str, Any] | None:
        """The summary's ``schema_drift`` entry; None when the records fit the schema."""
        if not self.new_fields and not self.widened:
            return None
        out: dict[str, Any] = {
            "new_fields": {k: sorted(v) for k, v in self.new_fields.items()},
            "widened": {k: {"declared": sorted(self._declared[k] or ()), "seen": sorted(v)}
                        for k, v in self.widened.items()},
        }
        if self._more:
            out["more_fields"] = len(self._more)
        out["records_checked"] = self.checked
        return out

    def describe(self, stream: str) -> str:
        """One line for a LOG message."""
        found = self.report() or {}
        parts = []
        new = found.get("new_fields") or {}
        if new:
            parts.append(f"{len(new)} field(s) not in its schema: " + ", ".join(
                f"{k} ({'/'.join(v)})" for k, v in new.items()))
        widened = found.get("widened") or {}
        if widened:
            parts.append(f"{len(widened)} type(s) wider than declared: " + ", ".join(
                f"{k} ({'/'.join(v['declared'])} seen as {'/'.join(v['seen'])})" for k, v in widened.items()))
        more = f"; {found['more_fields']} more fields" if found.get("more_fields") else ""
        return (f"stream '{stream}': schema drift, {'; '.join(parts)}{more} "
                f"({found.get('records_checked', 0)} records checked; information, the state is not held)")
