"""Heartbeats for the Airbyte flavour: no silence longer than ``SOLIDAFY_HEARTBEAT_SECS`` (default 180).

Airbyte counts only RECORD and STATE messages as signs of life and kills a source that sends neither
for too long, while a source may rightly wait: an async job polling, a rate-limit wait, a slow page.
After that many seconds without a RECORD or STATE, the runner repeats, for every stream that has
started and not ended, the last STATE it emitted (the state it came in with when it has emitted none
yet, or when a warning holds its state). A repeated state claims no progress: resuming from it reads
again what came after it, never less. ``recordCount`` counts the records since the stream's previous
STATE, as on every STATE.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from source_solidafy import protocol as p
from source_solidafy.state import StateMap, env_seconds

if TYPE_CHECKING:
    from source_solidafy.runner import StreamRun

DEFAULT_HEARTBEAT_SECS = 180.0
_SIGNS_OF_LIFE = ("RECORD", "STATE")


class Heartbeat:
    def __init__(self, interval: float | None = None) -> None:
        self.interval = interval if interval is not None else env_seconds(
            "SOLIDAFY_HEARTBEAT_SECS", DEFAULT_HEARTBEAT_SECS, allow_zero=False)  # fmt: skip
        self.last = time.monotonic()

    def due_in(self) -> float:
        """Seconds until a heartbeat is due (0 or less: due)."""
        return self.last + self.interval - time.monotonic()

    def saw(self, chunk: list[Any]) -> None:
        """``chunk`` was delivered: it is a sign of life if it holds a RECORD or a STATE."""
        if any(not isinstance(m, dict) or m.get("type") in _SIGNS_OF_LIFE for m in chunk):
            self.last = time.monotonic()

    def beat(self, runs: Iterable[StreamRun], incoming: StateMap) -> list[dict[str, Any]]:
        """The repeated STATEs when a heartbeat is due, else nothing."""
        if time.monotonic() - self.last < self.interval:
            return []
        out = []
        for run in runs:
            if not run.opened or run.ended:
                continue
            last = run.durable_state if run.durable_state is not None and not run.held else None
            out.append(p.stream_state(run.name, last if last is not None else incoming.get(run.name) or {},
                                      run.since_state))  # fmt: skip
            run.since_state = 0
        self.last = time.monotonic()
        return out
