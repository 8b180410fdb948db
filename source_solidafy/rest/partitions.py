"""Partition routers: which partitions a stream reads, and the per-partition state.

A stream without ``partition`` has one partition, ``{}``, whose state is the stream state itself
(``{"cursor": ...}``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from source_solidafy.errors import NotImplementedYet
from source_solidafy.source import Batch, ReadContext

if TYPE_CHECKING:
    from source_solidafy.manifest.models import Stream
    from source_solidafy.rest.source import DeclarativeSource, StreamReader, _Runtime


def partitions_for(
    source: DeclarativeSource,
    rt: _Runtime,
    spec: Stream,
    ctx: ReadContext,
    incoming: dict[str, Any] | None,
    reader: StreamReader,
) -> Iterator[Batch]:
    if spec.partition is None:
        yield from reader.read({}, (incoming or {}).get("cursor"))
        return
    raise NotImplementedYet(
        f"stream '{spec.name}': partition type '{spec.partition.type}' is not supported by this version yet"
    )
