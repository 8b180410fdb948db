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
from typing import Any, Literal

from source_solidafy import jsoncodec
from source_solidafy.manifest.fields import Strict
from source_solidafy.rest.builders import FACTORY
from source_solidafy.rest.parent_router import ParentRouter
from source_solidafy.rest.routers import RouterInputs

REPEAT_KEY = "__ab_repeat"  # tells repeated partitions apart; values.py hides it from templates


class AirbyteParent(Strict):
    """The translated ParentStreamConfig: a stream's ``partition`` (registered with the factory)."""

    stream: str
    parent_field: str
    field: str
    type: Literal["airbyte_parent"] = "airbyte_parent"

    @property
    def parent_fields(self) -> dict[str, str]:
        """Partition name -> parent path (what :class:`ParentRouter` reads)."""
        return {self.field: self.parent_field}


class AirbyteParentRouter(ParentRouter):
    """The CDK's partitions: every parent record's ``parent_key``, in the order read, repeats included."""

    def __init__(self, part: AirbyteParent, inputs: RouterInputs) -> None:
        super().__init__(part, inputs)
        self._counts: Counter[str] = Counter()

    def partition_of(self, values: dict[str, Any]) -> dict[str, Any] | None:
        (value,) = values.values()
        marker = jsoncodec.dumps(value).decode()
        self._counts[marker] += 1
        part: dict[str, Any] = dict(values)
        if self._counts[marker] > 1:
            part[REPEAT_KEY] = self._counts[marker]
        return part


FACTORY.register(AirbyteParent, AirbyteParentRouter, slot="partition")(AirbyteParentRouter)
