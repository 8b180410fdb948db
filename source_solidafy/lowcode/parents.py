"""Airbyte's SubstreamPartitionRouter, with airbyte-cdk 7's semantics, as one of our partition routers.

One partition per parent record, repeats included, as the CDK does: a parent that returns a record
twice gives its child two partitions, so the child's records and requests are the CDK's (our own
``parent_stream`` router reads each distinct value once). The parent is read once per sync and shared
with its own output and its other children (AirbyteManifestSource._children_of lists these children),
as our engine does; the CDK gets the same effect from its HTTP cache for parent streams.

A parent record without ``parent_key`` gives no partition; when no parent record has it, the stream
fails saying so (our engine's rule: zero partitions would pass for an empty child).

``extra_fields`` (paths into the parent record) ride along in the partition under ``EXTRA_KEY``, as the
CDK's ``StreamSlice.extra_fields``: each path's value by dpath.get (None when it matches nothing), named
by the path joined with dots. They are no part of the partition: templates read them as
``stream_slice.extra_fields`` (values.py), and the per-partition state leaves them out
(partition_cursor.py). A parent record projected for its children keeps each path's first key whole
(:attr:`AirbyteParent.projected_paths`), so a path reads the same there as in the record.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from source_solidafy import jsoncodec
from source_solidafy.errors import StreamError
from source_solidafy.lowcode import dpath
from source_solidafy.manifest.fields import Strict, new_list
from source_solidafy.manifest.pyd import Field
from source_solidafy.rest.builders import FACTORY
from source_solidafy.rest.parent_router import ParentRouter
from source_solidafy.rest.routers import RouterInputs

REPEAT_KEY = "__ab_repeat"  # tells repeated partitions apart; values.py hides it from templates
EXTRA_KEY = "__ab_extra"  # the parent record's extra_fields; values.py hands them to templates as the slice's


class AirbyteParent(Strict):
    """The translated ParentStreamConfig: a stream's ``partition`` (registered with the factory)."""

    stream: str
    parent_field: str
    field: str
    extra_fields: list[list[str]] = Field(default_factory=new_list)
    type: Literal["airbyte_parent"] = "airbyte_parent"

    @property
    def parent_fields(self) -> dict[str, str]:
        """Partition name -> parent path (what :class:`ParentRouter` reads)."""
        return {self.field: self.parent_field}

    @property
    def projected_paths(self) -> list[str]:
        """What a parent record shared with its children keeps: parent_key, each extra field's first key."""
        return list(dict.fromkeys([self.parent_field, *(path[0] for path in self.extra_fields)]))


class AirbyteParentRouter(ParentRouter):
    """The CDK's partitions: every parent record's ``parent_key``, in the order read, repeats included."""

    part: AirbyteParent

    def __init__(self, part: AirbyteParent, inputs: RouterInputs) -> None:
        super().__init__(part, inputs)
        self._counts: Counter[str] = Counter()

    def partition_of(self, values: dict[str, Any], record: dict[str, Any]) -> dict[str, Any] | None:
        (value,) = values.values()
        marker = jsoncodec.dumps(value).decode()
        self._counts[marker] += 1
        part: dict[str, Any] = dict(values)
        if self._counts[marker] > 1:
            part[REPEAT_KEY] = self._counts[marker]
        if self.part.extra_fields:
            part[EXTRA_KEY] = self._extra(record)
        return part

    def _extra(self, record: dict[str, Any]) -> dict[str, Any]:
        """The CDK's ``_extract_extra_fields``: a path matching two values fails the stream (dpath.get raises)."""
        out: dict[str, Any] = {}
        for path in self.part.extra_fields:
            found = dpath.found(record, list(path), limit=2)
            if len(found) > 1:
                raise StreamError(f"stream '{self.stream}': ParentStreamConfig.extra_fields {path} matches more "
                                  f"than one value in a '{self.part.stream}' record: dpath.get() globs must match "
                                  f"only one leaf: {path} (the CDK's stream fails too)")
            out[".".join(path)] = found[0] if found else None
        return out


FACTORY.register(AirbyteParent, AirbyteParentRouter, slot="partition")(AirbyteParentRouter)
