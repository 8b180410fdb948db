"""The plan of a sync and the bookkeeping of each stream in it (the runner's data, no behaviour).

:class:`SyncPlan` is what ``api.plan_sync`` resolved from the caller's :class:`SyncOptions`: the
streams, the config with defaults, the incoming state, the sink. :class:`StreamRun` is one stream's
progress: counts, warnings, and the state waiting for its records to become durable.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from source_solidafy.options import SyncOptions
from source_solidafy.request_stats import RequestStats
from source_solidafy.sinks.base import Sink
from source_solidafy.state import StateMap

if TYPE_CHECKING:
    from source_solidafy.drift import DriftWatch
    from source_solidafy.scale.units import Unit

MAX_WARNINGS = 20  # distinct warnings kept per stream; more are counted, not listed


@dataclass(repr=False, eq=False)
class SyncPlan:
    """What to sync, resolved; built by api.py from flags, catalog or request body."""

    connector: str
    streams: list[str]
    config: dict[str, Any]
    options: SyncOptions = field(default_factory=SyncOptions)
    state: StateMap = field(default_factory=dict)  # the incoming state, parsed
    sink: Sink | None = None
    sync_modes: dict[str, str] = field(default_factory=dict)  # from the catalog
    cursor_fields: dict[str, str] = field(default_factory=dict)  # the options' and the catalog's
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)  # declared, for the sink
    secrets: list[str] = field(default_factory=list)  # redacted from every message
    cancel: threading.Event = field(default_factory=threading.Event)
    units: dict[str, Unit] = field(default_factory=dict)  # read --plan: the plan unit each stream reads
    state_version: str | None = None  # of options.state_file as read: its writes expect it (small_files.py)


@dataclass(repr=False, eq=False)
class Notes:
    """Distinct messages in order: up to MAX_WARNINGS listed, the others counted (``what`` names them)."""

    what: str
    listed: list[str] = field(default_factory=list)
    more: int = 0

    def add(self, message: str) -> bool:
        """True when ``message`` is new and listed (and should be logged)."""
        if message in self.listed:
            return False
        if len(self.listed) >= MAX_WARNINGS:
            self.more += 1
            return False
        self.listed.append(message)
        return True

    def shown(self) -> list[str]:
        return [*self.listed, *([f"... and {self.more} more {self.what}"] if self.more else [])]


@dataclass(repr=False, eq=False)
class StreamRun:
    name: str
    started: float = field(default_factory=time.monotonic)
    status: str = "SUCCESS"
    records: int = 0
    pages: int = 0
    error: str | None = None
    output_file: str | None = None
    durable_state: dict[str, Any] | None = None  # last state whose records are delivered (emitted or saved)
    pending_state: dict[str, Any] | None = None  # state waiting for its records to become durable
    since_state: int = 0
    states_emitted: int = 0
    opened: bool = False  # its "start" event was handled
    running: bool = False
    ended: bool = False
    duration_ms: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    warnings: Notes = field(default_factory=lambda: Notes("warnings"))  # ReadContext.warn messages
    skipped: Notes = field(default_factory=lambda: Notes("skipped"))  # ReadContext.skip messages
    held: bool = False  # a warning holds the state: no STATE of this stream after it
    counts: dict[str, int] = field(default_factory=dict)  # ReadContext.count: records_filtered, ...
    http: RequestStats = field(default_factory=RequestStats)  # the stream's HTTP requests (REST streams)
    drift: DriftWatch | None = None  # its records against its declared schema (drift.py)
    limited_at: float = -1e9  # when its last RATE_LIMITED status went out (Airbyte flavour)

    def add_count(self, key: str, n: int) -> list[Any]:
        """ReadContext.count: shown in the stream's summary entry; nothing to say right away."""
        self.counts[key] = self.counts.get(key, 0) + n
        return []

    def warn(self, message: str) -> bool:
        """Record a warning and hold the state; True when it is new (and should be logged)."""
        self.held = True
        self.pending_state = None
        return self.warnings.add(message)

    def skip(self, message: str) -> bool:
        """Record a part skipped on purpose (ReadContext.skip), counted as ``responses_ignored``; True
        when it is new (and should be logged). The state is not held."""
        self.add_count("responses_ignored", 1)
        return self.skipped.add(message)

    def warning_list(self) -> list[str]:
        return self.warnings.shown()

    def result(self) -> dict[str, Any]:
        """The stream's entry in the SYNC_SUMMARY (docs/protocol.md), keys in this order."""
        given = {"output_file": self.output_file, "error": self.error}
        return {"stream": self.name, "status": self.status, "records_synced": self.records, **self.counts,
                "duration_ms": self.duration_ms, **{k: v for k, v in given.items() if v},
                "warnings": self.warning_list(), **({"skipped": self.skipped.shown()} if self.skipped.listed else {}),
                **({"state_held": True} if self.held else {}), **self.notes()}

    def notes(self) -> dict[str, Any]:
        """Information about the read (no verdict): ``http`` (requests, retries, waits) for a stream
        that made requests, ``schema_drift`` when its records did not fit its declared schema."""
        out: dict[str, Any] = {"http": self.http.as_dict()} if self.http.requests else {}
        drift = self.drift.report() if self.drift is not None else None
        if drift is not None:
            out["schema_drift"] = drift
        return out


def sync_summary(plan: SyncPlan, results: list[dict[str, Any]], duration_ms: int) -> dict[str, Any]:
    """The SYNC_SUMMARY of a sync whose streams ended with ``results`` (``StreamRun.result()``, in order)."""
    failed = sum(1 for r in results if r["status"] == "FAILED")
    status = "SUCCEEDED" if not failed else ("FAILED" if failed == len(results) else "PARTIAL")
    return {
        "status": status,
        "connector": plan.connector,
        "total_records": sum(r["records_synced"] for r in results),
        "total_streams": len(results),
        "successful_streams": len(results) - failed,
        "failed_streams": failed,
        "duration_ms": duration_ms,
        "output": {
            "format": plan.options.format,
            "directory": plan.sink.directory if plan.sink is not None else None,
            "state_file": plan.options.state_file,
        },
        "streams": results,
    }
