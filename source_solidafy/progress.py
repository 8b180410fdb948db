"""A live progress block on stderr for people at a terminal; nothing at all otherwise.

Airbyte, Meltano and CI read stderr from a pipe: there ``Progress.for_stderr`` returns a no-op, so
their logs stay quiet.
"""

from __future__ import annotations

import sys
import time
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from source_solidafy.runner import SyncRun

_INTERVAL = 0.25


class Progress:
    live = False  # nothing drawn: a run need not wake up for it while it waits

    def update(self, run: SyncRun) -> None:
        return None

    def watch(self, run: SyncRun) -> None:
        """Have ``run`` redraw this while it waits too, not only when a chunk arrives (if anything is drawn)."""
        if self.live:
            run.watch = self.update

    def close(self, run: SyncRun) -> None:
        return None

    @staticmethod
    def for_stderr(enabled: bool = True) -> Progress:
        err = sys.stderr
        if enabled and hasattr(err, "isatty") and err.isatty():
            return LiveProgress(err)
        return Progress()


class LiveProgress(Progress):
    """One line per stream: records, pages, rate, elapsed; redrawn at most four times a second."""

    live = True

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.last = 0.0
        self.lines = 0

    def _render(self, run: SyncRun) -> list[str]:
        now = time.monotonic()
        rows = []
        for r in run.runs.values():
            elapsed = (r.duration_ms / 1000) if r.ended else max(now - r.started, 1e-6)
            rate = r.records / elapsed if elapsed else 0.0
            mark = {"SUCCESS": "done" if r.ended else "....", "FAILED": "FAIL"}[r.status]
            rows.append(f"{mark} {r.name:<28} {r.records:>10,} rec {r.pages:>6} pages "
                        f"{rate:>10,.0f} rec/s {elapsed:>7.1f}s")
        return rows

    def _draw(self, run: SyncRun) -> None:
        rows = self._render(run)
        up = f"\x1b[{self.lines}F" if self.lines else ""
        self.out.write(up + "".join(f"\x1b[2K{row}\n" for row in rows))
        self.out.flush()
        self.lines = len(rows)

    def update(self, run: SyncRun) -> None:
        now = time.monotonic()
        if now - self.last >= _INTERVAL:
            self.last = now
            self._draw(run)

    def close(self, run: SyncRun) -> None:
        self._draw(run)
