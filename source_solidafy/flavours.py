"""The two protocol flavours, as strategies of the sync runner: what each says around a stream's life.

The runner decides *when* (a stream starts, records flow, a page is read, a stream completes or
fails, the sync ends); a :class:`Flavour` decides *what* is said then:

- ``solidafy`` (the CLI's default): LOG lines, a STATE when a stream ends (or after every page with
  ``state_per_page``), then a global STATE and the SYNC_SUMMARY (docs/protocol.md);
- ``airbyte``: STREAM_STATUS traces, a STATE after every page and at every stream's end, an ERROR
  trace for a failed stream, heartbeats, nothing after the last stream (Airbyte's protocol).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from source_solidafy import protocol as p
from source_solidafy.heartbeat import Heartbeat

if TYPE_CHECKING:
    from source_solidafy.state import StateMap
    from source_solidafy.stream_run import StreamRun

Messages = list[dict[str, Any]]
INTERNAL_CHARS = 4000  # the end of a redacted traceback an ERROR trace carries
RATE_LIMITED_EVERY = 10.0  # seconds between a stream's RATE_LIMITED statuses


class Flavour:
    """The solidafy flavour; :class:`AirbyteFlavour` overrides what Airbyte says differently."""

    name = p.SOLIDAFY
    state_every_page = False  # a STATE after every page that moves the state
    state_at_every_end = False  # a completed stream always ends with a STATE (its incoming one if none)

    def heartbeat(self) -> Heartbeat | None:
        return None

    def shows(self, level: str, verbose: bool) -> bool:
        """Whether a source's log line of ``level`` is passed on."""
        return verbose or level != "DEBUG"

    def started(self, run: StreamRun) -> Messages:
        return [p.log("INFO", f"Starting sync for stream: {run.name}")]

    def records_flowing(self, run: StreamRun) -> Messages:
        """Said before the records of a page that has any."""
        return []

    def page_read(self, run: StreamRun, count: int, verbose: bool) -> Messages:
        return [p.log("DEBUG", f"Page {run.pages}: fetched {count} records")] if verbose else []

    def rate_limited(self, run: StreamRun, secs: float) -> Messages:
        """A request of the stream waits ``secs`` for the API's rate limit (the client logged it)."""
        return []

    def completed(self, run: StreamRun) -> Messages:
        http = f"; {run.http.describe()}" if run.http.requests else ""
        done = p.log("INFO", f"Completed sync for {run.name}: {run.records} records in {run.pages} pages{http}")
        return [*self.drift(run, "INFO"), done]

    def failed(self, run: StreamRun, failure_type: str, internal: str | None) -> Messages:
        """``run.error`` is redacted already; ``internal`` (a traceback, for bugs) too."""
        return [*self.drift(run, "INFO"), p.log("ERROR", f"Stream {run.name} failed: {run.error}")]

    def drift(self, run: StreamRun, level: str) -> Messages:
        """A LOG line when the stream's records did not fit its declared schema (information)."""
        if run.drift is None or run.drift.report() is None:
            return []
        return [p.log(level, run.drift.describe(run.name))]

    def finished(self, final_state: StateMap, summary: dict[str, Any]) -> Messages:
        return [p.global_state(final_state), {"type": "SYNC_SUMMARY", "summary": summary}]


class AirbyteFlavour(Flavour):
    name = p.AIRBYTE
    state_every_page = True
    state_at_every_end = True

    def heartbeat(self) -> Heartbeat | None:
        return Heartbeat()

    def shows(self, level: str, verbose: bool) -> bool:
        return verbose or level not in ("DEBUG", "INFO")

    def started(self, run: StreamRun) -> Messages:
        return [p.stream_status(run.name, "STARTED")]

    def records_flowing(self, run: StreamRun) -> Messages:
        if run.running:
            return []
        run.running = True
        return [p.stream_status(run.name, "RUNNING")]

    def page_read(self, run: StreamRun, count: int, verbose: bool) -> Messages:
        return []

    def rate_limited(self, run: StreamRun, secs: float) -> Messages:
        """RUNNING with the protocol's RATE_LIMITED reason and when the quota resets; at most one
        every ``RATE_LIMITED_EVERY`` seconds a stream (many threads may wait at once)."""
        now = time.monotonic()
        if run.ended or now - run.limited_at < RATE_LIMITED_EVERY:
            return []
        run.limited_at, run.running = now, True
        return [p.rate_limited(run.name, p.now_ms() + int(secs * 1000))]

    def completed(self, run: StreamRun) -> Messages:
        return [*self._said(run),
                p.stream_status(run.name, "COMPLETE", run.warning_list(), run.skipped.shown(), run.notes())]

    def failed(self, run: StreamRun, failure_type: str, internal: str | None) -> Messages:
        return [
            p.trace_error(f"{run.name}: {run.error}", failure_type, run.name,
                          internal[-INTERNAL_CHARS:] if internal else None),  # fmt: skip
            *self._said(run),
            p.stream_status(run.name, "INCOMPLETE", run.warning_list(), run.skipped.shown(), run.notes()),
        ]

    def _said(self, run: StreamRun) -> Messages:
        """Drift as a WARN line (Airbyte shows those; the state is not held) and the requests as INFO."""
        http = [p.log("INFO", f"Stream {run.name}: {run.http.describe()}")] if run.http.requests else []
        return [*self.drift(run, "WARN"), *http]

    def finished(self, final_state: StateMap, summary: dict[str, Any]) -> Messages:
        return []


FLAVOURS: dict[str, Flavour] = {f.name: f for f in (Flavour(), AirbyteFlavour())}


def flavour_of(name: str) -> Flavour:
    """The flavour called ``name``; anything but ``airbyte`` is the solidafy flavour, as before."""
    return FLAVOURS.get(name, FLAVOURS[p.SOLIDAFY])
