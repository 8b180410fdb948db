"""``read --plan``: read some units of a plan, each into its own deterministic files, then its manifest.

Units run one after the other (each with the sync's ``--concurrency`` inside); a failing unit writes
no manifest and the others go on. Per unit the output is its LOG lines, then one ``UNIT`` message;
the last line is a SYNC_SUMMARY of the shard. A unit whose manifest is already there is skipped:
an engine that reruns a whole shard after one unit failed does not read the others again.

A unit is read by the ordinary sync runner with ``ReadContext.unit`` set (the source reads only the
unit's bounds) and a file sink with :class:`~source_solidafy.sinks.layout.RunFiles` names, so a
retry replaces the files of an earlier attempt (see docs/scale-out.md).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from source_solidafy.scale.manifests import UnitManifest, forget_manifest, read_manifest, write_manifest
from source_solidafy.scale.units import Plan, Unit
from source_solidafy.sinks.layout import RunFiles
from source_solidafy.sinks.storage import Storage, open_storage
from source_solidafy.source import Source


@dataclass
class ShardOptions:
    output: str
    format: str = "json"  # noqa: A003 - the CLI's name
    compression: str = "zstd"
    concurrency: int = 4
    strict: bool = False
    verbose: bool = False
    cancel: threading.Event = field(default_factory=threading.Event)


def _day(plan: Plan) -> datetime:
    return datetime.strptime(plan.now, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


class ShardRun:
    """Iterate to read the units; ``summary`` and ``failed`` once done."""

    def __init__(self, plan: Plan, units: list[Unit], source: Source, config: dict[str, Any], opts: ShardOptions) -> None:
        self.plan, self.units, self.source, self.config, self.opts = plan, units, source, config, opts
        self.results: list[dict[str, Any]] = []
        self.summary: dict[str, Any] | None = None
        self._storage: Storage | None = None
        self.on_config: Callable[[dict[str, Any], list[Any]], list[Any]] | None = None  # SyncRun.on_config of each unit
        if plan.rate_limit_rps:
            source.rate_limit_rps = plan.rate_limit_rps

    @property
    def failed(self) -> bool:
        return any(r["status"] == "FAILED" for r in self.results)

    def storage(self) -> Storage:
        if self._storage is None:
            self._storage = open_storage(self.opts.output, self.source.confinement)
            self._storage.check()
        return self._storage

    def __iter__(self) -> Iterator[list[dict[str, Any]]]:
        started = time.monotonic()
        self.storage()
        for unit in self.units:
            if self.opts.cancel.is_set():
                break
            yield from self._unit(unit)
        yield [self._finish(started)]

    def _unit(self, unit: Unit) -> Iterator[list[dict[str, Any]]]:
        storage = self.storage()
        done = read_manifest(storage, self.plan.run_id, unit.unit_id)
        if done is not None:
            result = {"unit_id": unit.unit_id, "stream": unit.stream, "status": "SKIPPED", "rows": done.rows,
                      "files": done.files, "reason": "its manifest is already there (done by an earlier attempt)"}
            self.results.append(result)
            yield [{"type": "UNIT", "unit": result}]
            return
        run = self._prepare(unit)
        for chunk in run:
            out = [m for m in chunk if m["type"] in ("LOG", "TRACE")]
            if out:
                yield out
        yield [{"type": "UNIT", "unit": self._record(unit, run)}]

    def _prepare(self, unit: Unit) -> Any:
        from source_solidafy.api import prepare_sync

        forget_manifest(self.storage(), self.plan.run_id, unit.unit_id)  # a rerun: not done until it is again
        opts = self.opts
        cursor = self.plan.streams[unit.stream].cursor_field if unit.stream in self.plan.streams else None
        run = prepare_sync(
            self.source, self.config, streams=[unit.stream],
            state={unit.stream: unit.state} if unit.state else None,
            format=opts.format, output=opts.output, compression=opts.compression, concurrency=opts.concurrency,
            strict=opts.strict, verbose=opts.verbose, unit=unit,  # its own cancel event: a run sets it when done
            state_per_page=True,  # checkpoints publish a part every SOLIDAFY_PART_ROWS rows (their STATEs are dropped)
            run_files=RunFiles(self.plan.run_id, unit.number, _day(self.plan)),
            cursor_fields={unit.stream: cursor} if cursor else None,
        )
        run.on_config = self.on_config  # a rotated refresh token (the units share the runtime that keeps it)
        return run

    def _record(self, unit: Unit, run: Any) -> dict[str, Any]:
        stream = run.runs[unit.stream]
        files = list(run.plan.sink.files.get(unit.stream, [])) if run.plan.sink is not None else []
        result: dict[str, Any] = {"unit_id": unit.unit_id, "stream": unit.stream, "status": stream.status,
                                  "rows": stream.records, "files": files, "duration_ms": stream.duration_ms}
        if stream.status == "FAILED":
            result["status"], result["error"] = "FAILED", stream.error
            self.results.append(result)
            return result
        manifest = UnitManifest(self.plan.run_id, unit.unit_id, unit.stream, stream.records, files,
                                run.final_state.get(unit.stream), stream.held, stream.warning_list(),
                                stream.duration_ms, datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                                "parquet" if self.opts.format == "parquet" else "jsonl")
        try:
            result["manifest"] = write_manifest(self.storage(), manifest)
            result["status"] = "SUCCEEDED"
        except Exception as exc:  # noqa: BLE001 - the unit's files are there, but it is not done
            result["status"], result["error"] = "FAILED", f"writing the unit manifest failed: {exc}"
        if stream.held:
            result["state_held"] = True
            result["warnings"] = stream.warning_list()
        if stream.skipped.listed:  # an errors: ignore: the unit succeeded without those parts, and says so
            result["skipped"] = stream.skipped.shown()
        self.results.append(result)
        return result

    def _finish(self, started: float) -> dict[str, Any]:
        counts = {k: sum(1 for r in self.results if r["status"] == k) for k in ("SUCCEEDED", "SKIPPED", "FAILED")}
        left = len(self.units) - len(self.results)
        status = "FAILED" if counts["FAILED"] or left else "SUCCEEDED"
        self.summary = {
            "status": status, "connector": self.source.name, "run_id": self.plan.run_id,
            "units": len(self.units), "succeeded": counts["SUCCEEDED"], "skipped": counts["SKIPPED"],
            "failed": counts["FAILED"], "not_started": left,
            "total_records": sum(r["rows"] for r in self.results if r["status"] == "SUCCEEDED"),
            "duration_ms": int((time.monotonic() - started) * 1000),
            "output": {"format": self.opts.format, "directory": self.storage().root},
            "units_detail": self.results,
        }
        with contextlib.suppress(Exception):
            self.source.close()
        return {"type": "SYNC_SUMMARY", "summary": self.summary}
