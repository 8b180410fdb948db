"""Airbyte's SubstreamPartitionRouter, with airbyte-cdk 7's semantics, as one of our partition routers.

One partition per parent record, repeats included, as the CDK does: a parent that returns a record
twice gives its child two partitions, so the child's records and requests are the CDK's (our own
``parent_stream`` router reads each distinct value once). The parent is read once per sync and shared
with its own output and its other children (AirbyteManifestSource._children_of lists these children),
as our engine does; the CDK gets the same effect from its HTTP cache for parent streams.

A parent record without ``parent_key`` gives no partition; when no parent record has it, the stream
fails saying so (our engine's rule: zero partitions would pass for an empty child).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from source_solidafy import jsoncodec
from source_solidafy.errors import StreamError
from source_solidafy.rest.partitions import ROUTERS, ParentRouter

REPEAT_KEY = "__ab_repeat"  # tells repeated partitions apart; values.py hides it from templates
_GONE = object()


@dataclass
class AirbyteParent:
    """The translated ParentStreamConfig (``type`` is our router table's key)."""

    stream: str
    parent_field: str
    field: str
    type: str = "airbyte_parent"


class AirbyteParentRouter(ParentRouter):
    """The CDK's partitions: every parent record's ``parent_key``, in the order read."""

    def partitions(self) -> Iterator[dict[str, Any]]:
        seen: Counter[str] = Counter()
        for projected, batch in self._parent_batches():
            self.parents += len(batch)
            for rec in batch.records:
                self.sample = self.sample or (None if projected else rec)
                value = rec.get(self.part.parent_field, _GONE) if projected else self.path.get(rec, _GONE)
                if value is _GONE:
                    continue
                self.found = True
                marker = jsoncodec.dumps(value).decode()
                seen[marker] += 1
                part: dict[str, Any] = {str(self.part.field): value}  # an AirbyteParent's field is set
                if seen[marker] > 1:
                    part[REPEAT_KEY] = seen[marker]
                yield part
        if self.parents and not self.found:
            raise StreamError(self._field_missing())
        self.complete = True


ROUTERS["airbyte_parent"] = AirbyteParentRouter
