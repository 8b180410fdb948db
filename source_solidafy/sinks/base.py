"""The Sink interface: where records go when they do not go to stdout as RECORD messages.

The sync runner calls, per stream: ``open`` once (``replace=True`` for a full refresh: the stream is
read from scratch, so its files of the day from earlier syncs go once its new ones are complete),
``write`` per batch, ``checkpoint`` before it emits a STATE (a STATE is only emitted when
``checkpoint`` returns True, i.e. everything written so far is durable), then ``commit`` (success;
returns the final file path or URI) or ``abort`` (failure: no partial file at a final name, no
temporary left behind). ``close`` at the end of the sync.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa


class Sink(ABC):
    format: str = "json"
    directory: str | None = None  # shown as SYNC_SUMMARY output.directory

    @abstractmethod
    def open(self, stream: str, json_schema: dict[str, Any] | None, replace: bool = False) -> None: ...

    @abstractmethod
    def write(self, stream: str, records: list[dict[str, Any]] | pa.RecordBatch, emitted_at: int) -> None: ...

    def checkpoint(self, stream: str) -> bool:
        """Make what was written durable if that is cheap; True when a STATE may now be emitted."""
        return False

    @abstractmethod
    def commit(self, stream: str) -> str | None: ...

    @abstractmethod
    def abort(self, stream: str) -> None: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        return None
