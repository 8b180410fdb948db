"""Date windows that split themselves when an API caps how many results one query may return.

HubSpot's search pages through at most 10,000 results of a query (HTTP 400 past them) while its
first page reports the query's ``total``. With ``split_when: {total_path: total, above: 10000}`` on a
``date_range`` partition, a window whose first page reports more is not read: it is read as its two
halves ``[start, middle)`` and ``[middle, end)`` instead, each split again while still above, so
every record is read once (the request filters ``>= partition.start`` and ``< partition.end``; the
halves meet exactly, at an instant ``format`` can write). The first page of a window that is split
is dropped before any of its records is emitted.

All the parts of a window are read in time order by one partition reader, under the window's own
state entry: the window is ``done`` only once its last part is, and a state within it comes only
from a part's completed pages (the reader's usual rule), so a resumed sync goes on from the last part
it completed. A smallest window (``split_when.min_window``, else the smallest step ``format`` can
write) still over the cap fails the stream: the API cannot return it whole, and a truncated read is
never passed for a complete one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from source_solidafy.errors import StreamError
from source_solidafy.manifest.partition_parts import step_parts
from source_solidafy.rest.pages import as_int
from source_solidafy.rest.paths import compile_path
from source_solidafy.rest.routers import EPOCH, UNIX_STEPS, DateRangeRouter
from source_solidafy.source import Batch

if TYPE_CHECKING:
    from source_solidafy.manifest.models import SplitWhen
    from source_solidafy.rest.reader import StreamReader

_RESOLUTION = (("%f", timedelta(microseconds=1)), ("%S", timedelta(seconds=1)), ("%s", timedelta(seconds=1)),
               ("%M", timedelta(minutes=1)), ("%H", timedelta(hours=1)))


class _OverCap(Exception):
    def __init__(self, total: int) -> None:
        super().__init__(total)
        self.total = total


class WindowSplitter:
    """Reads one window of a ``date_range`` partition, in halves while the API reports it over its cap."""

    def __init__(self, router: DateRangeRouter, split: SplitWhen) -> None:
        self.router, self.split = router, split
        self.path = compile_path(split.total_path)
        self.smallest = smallest_window(router.part.format,
                                        step_parts(split.min_window) if split.min_window is not None else None)
        self.stream = router.stream

    def read(self, reader: StreamReader, partition: dict[str, Any], cursor: Any) -> Iterator[Batch]:
        lo, hi = self.router.bounds(partition)
        yield from self._window(reader, lo, hi, partition, cursor)

    def _window(self, reader: StreamReader, lo: datetime, hi: datetime, partition: dict[str, Any],
                cursor: Any) -> Iterator[Batch]:
        batches = reader.read(partition, cursor, first_page=lambda body: self._check(body, lo, hi))
        try:
            first = next(batches, None)
        except _OverCap as over:
            yield from self._halves(reader, lo, hi, over.total, cursor)
            return
        if first is None:
            return
        yield first
        yield from batches

    def _halves(self, reader: StreamReader, lo: datetime, hi: datetime, total: int, cursor: Any) -> Iterator[Batch]:
        mid = midpoint(lo, hi, self.smallest)
        if mid is None:
            raise StreamError(
                f"stream '{self.stream}': the window [{_text(lo)}, {_text(hi)}) matches {total} results, more than "
                f"partition.split_when.above={self.split.above}, and cannot be split further (the smallest window is "
                f"{_span(self.smallest)}): the API cannot return all of it in one query, so it was not read"
                f"{self._finer()}")
        self.router.ctx.log("INFO", f"{self.stream}: the window [{_text(lo)}, {_text(hi)}) matches {total} results, "
                                    f"more than partition.split_when.above={self.split.above}: read as two halves "
                                    f"split at {_text(mid)}")
        for a, b in ((lo, mid), (mid, hi)):
            yield from self._window(reader, a, b, self.router.window(a, b), cursor)

    def _finer(self) -> str:
        """How the windows could get smaller, if they can."""
        finest = smallest_window(self.router.part.format, None)
        if self.smallest > finest:
            return f" (split_when.min_window {self.split.min_window} is coarser than partition.format can write)"
        if finest > timedelta(milliseconds=1):
            return " (a partition.format that writes finer instants, e.g. unix_ms, lets it split further)"
        return ""

    def _check(self, body: Any, lo: datetime, hi: datetime) -> None:
        total = as_int(self.path.get(body))
        if total is None:
            why = self.path.missing(body) or f"'{self.path.get(body)!r}' is not a count"
            raise StreamError(
                f"stream '{self.stream}': partition.split_when.total_path '{self.split.total_path}' found no count "
                f"in the first page of the window [{_text(lo)}, {_text(hi)}): {why}; without it the engine cannot "
                "tell whether the window is over the API's cap")
        if total > self.split.above:
            raise _OverCap(total)


def smallest_window(fmt: str, min_parts: tuple[int, timedelta] | None) -> timedelta:
    """The smallest window to split down to: the finest instant ``fmt`` writes, or ``min_window`` if coarser."""
    if fmt in UNIX_STEPS:
        finest = UNIX_STEPS[fmt]
    else:
        finest = next((step for code, step in _RESOLUTION if code in fmt), timedelta(days=1))
    if min_parts is None:
        return finest
    months, delta = min_parts
    return max(finest, delta + timedelta(days=31 * months))


def midpoint(lo: datetime, hi: datetime, smallest: timedelta) -> datetime | None:
    """An instant strictly inside ``[lo, hi)`` on a multiple of ``smallest``, about halfway; None when
    the window is under two smallest windows long (it cannot be split)."""
    if hi - lo < 2 * smallest:
        return None
    middle = lo + (hi - lo) / 2
    mid = EPOCH + ((middle - EPOCH) // smallest) * smallest
    return mid if lo < mid < hi else None


def _text(moment: datetime) -> str:
    micro = moment.microsecond
    spec = "seconds" if not micro else "milliseconds" if micro % 1000 == 0 else "microseconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


def _span(step: timedelta) -> str:
    seconds = step.total_seconds()
    return f"{seconds * 1000:g} ms" if seconds < 1 else f"{seconds:g} s"
