"""Where a stream's files go: ``<stream>/dt=YYYY-MM-DD/data.<ext>``, never over an existing file.

The partition is the UTC *ingestion* date (the day the sync opened the stream), so a day's load is
one directory whatever dates the records carry. The first file of a sync is ``data.<ext>`` when that
name is free, else ``data-<HHMMSS>-<6 hex>.<ext>`` (UTC time of the sync); further parts of the same
sync add ``-0001``, ``-0002``... to that base::

    output/users/dt=2025-12-14/data.parquet                     first sync of the day
    output/users/dt=2025-12-14/data-0001.parquet                its second part
    output/users/dt=2025-12-14/data-093015-a1b2c3.parquet       a second sync that day

:func:`is_data_file` recognises these names (and the ``-<6 hex>`` a name taken at the last moment
gets): a full-refresh sync removes exactly those of its day, never another file in the directory.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from datetime import datetime, timezone

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_DATA_FILE = re.compile(r"data(-[0-9a-f]+)*")


def safe_dir_name(stream: str) -> str:
    """A directory name that is one path segment and that Hive-style readers take as data.

    ``/``, ``\\``, ``=`` (a Hive ``key=value`` look-alike), spaces and other characters become ``_``;
    dots stay (``public.users`` is a fine directory) except leading ones, which would hide it::

        public.users  -> public.users
        orders/items  -> orders_items
        ../etc        -> _etc
    """
    name = _UNSAFE.sub("_", stream).lstrip(".")
    name = name.replace("..", "_")
    return name or "stream"


def is_data_file(name: str, ext: str) -> bool:
    """A file this layout names: ``data.parquet``, ``data-0001.parquet``, ``data-093015-a1b2c3.parquet``..."""
    stem, dot, suffix = name.rpartition(".")
    return bool(dot) and suffix == ext and _DATA_FILE.fullmatch(stem) is not None


def partition_date(now: datetime | None = None) -> str:
    """``dt=`` value: the UTC date of ``now``."""
    return (now or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y-%m-%d")


class PartNames:
    """Hands out the file names of one stream's files in one sync, skipping names already taken.

    ``exists`` answers whether a file of that name is already in the partition directory.
    """

    def __init__(self, ext: str, exists: Callable[[str], bool], now: datetime | None = None) -> None:
        self.ext = ext
        self._exists = exists
        self._now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
        self._base: str | None = None
        self._part = 0

    def _fresh_base(self) -> str:
        return f"data-{self._now.strftime('%H%M%S')}-{secrets.token_hex(3)}"

    def next(self) -> str:
        """The name for the next part file (``data.parquet`` first when free)."""
        if self._base is None:
            self._base = "data" if not self._exists(f"data.{self.ext}") else self._fresh_base()
            name = f"{self._base}.{self.ext}"
        else:
            self._part += 1
            name = f"{self._base}-{self._part:04d}.{self.ext}"
        while self._exists(name):
            self._base, self._part = self._fresh_base(), 0
            name = f"{self._base}.{self.ext}"
        return name


RUN_ID_RULE = "expected lowercase hex digits, groups separated by '-' (a UUID will do), at most 40 characters"


def valid_run_id(run_id: str) -> bool:
    """A run id keeps a unit's file names data files by :func:`is_data_file`."""
    return len(run_id) <= 40 and re.fullmatch(r"[0-9a-f]+(-[0-9a-f]+)*", run_id) is not None


class RunFiles:
    """The names of one plan unit's files: the same for every attempt of the unit (docs/scale-out.md).

    ``data-<run_id>-<unit>.<ext>``, then ``-0001``, ``-0002``... for further parts, in the ``dt=`` of
    the run (the plan's day, not the day the attempt runs), so an engine that retries a unit writes
    the same names again, replacing its files instead of adding to them. They are data files by
    :func:`is_data_file` (a later full refresh of the day removes them like any other)::

        output/users/dt=2025-12-14/data-3fa2c1d9e0b7-00003.parquet
    """

    def __init__(self, run_id: str, unit: int, day: datetime) -> None:
        if not valid_run_id(run_id):
            raise ValueError(f"run id {run_id!r}: {RUN_ID_RULE}")
        self.base = f"data-{run_id}-{unit:05d}"
        self.day = day
        self._own = re.compile(re.escape(self.base) + r"(-\d{4})?")

    def owns(self, name: str, ext: str) -> bool:
        """A file an attempt of this unit wrote."""
        stem, dot, suffix = name.rpartition(".")
        return bool(dot) and suffix == ext and self._own.fullmatch(stem) is not None

    def names(self, ext: str) -> Iterator[str]:
        yield f"{self.base}.{ext}"
        part = 0
        while True:
            part += 1
            yield f"{self.base}-{part:04d}.{ext}"
