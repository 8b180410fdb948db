"""The sync runner: reads the selected streams of a Source and turns batches into protocol messages.

One runner serves every front door. It owns stream selection, the order of messages, state
checkpoints (a STATE only after the records before it are delivered: yielded to the consumer, or
made durable by the sink), failure isolation (a failing stream does not stop the others), counts and
the summary. Streams are read concurrently by worker threads (a single stream, often inline:
feed.py); all output is produced here, in the consumer's thread, so no two threads ever write the
same output.
"""

from __future__ import annotations

import contextlib
import queue
import time
import traceback
from collections.abc import Callable, Generator, Iterator
from typing import Any

from source_solidafy import protocol as p
from source_solidafy.catalog import stream_schema
from source_solidafy.config_updates import ConfigRelay, ConfigSayer
from source_solidafy.errors import SolidafyError, redact
from source_solidafy.feed import Event, Feed, StepSentry, stream_events
from source_solidafy.flavours import flavour_of
from source_solidafy.source import Batch, ReadContext, Source, SyncServices
from source_solidafy.state import StateFileSaver, StateMap
from source_solidafy.stream_run import MAX_WARNINGS, StreamRun, SyncPlan, sync_summary

__all__ = ["MAX_WARNINGS", "StreamRun", "SyncPlan", "SyncRun"]

Chunk = list[p.Message]  # what one iteration yields: message dicts, and RecordLines with raw_records


class SyncRun:
    """Iterate to run the sync: yields chunks (lists) of message dicts; ``summary`` once done.

    ``watch`` (e.g. the live progress display) is called with the run after every event and at
    least every 0.2 s while waiting for one: a sync that writes to files yields nothing for long
    stretches, and a slow page yields nothing until it arrives.
    """

    def __init__(self, source: Source, plan: SyncPlan) -> None:
        self.source = source
        self.plan = plan
        self.runs = {name: StreamRun(name) for name in plan.streams}
        self.summary: dict[str, Any] | None = None
        self.watch: Callable[[SyncRun], None] | None = None
        self.write_now: Callable[[list[dict[str, Any]]], None] | None = None  # the front door's writer, for heartbeats (feed.py)
        self.final_state: StateMap = dict(plan.state)
        self.options = options = plan.options
        self.flavour = flavour_of(options.flavour)  # what is said around each stream (flavours.py)
        self._feed = Feed(plan, inline=False)  # made again when the sync starts (see __iter__)
        self._started = time.monotonic()
        self._sink_closed = False
        self._saver = StateFileSaver(options.state_file, expect=plan.state_version)
        self._heartbeat = self.flavour.heartbeat()
        self._services = SyncServices(plan.streams)  # one per sync, shared by its streams
        self.config_relay = ConfigRelay()  # the connector changed its config (a rotated refresh token)

    @property
    def failed(self) -> bool:
        return any(r.status == "FAILED" for r in self.runs.values())

    # -- producer side (worker threads) -------------------------------------------------------------

    def _put(self, item: Event) -> None:
        self._feed.put(item)

    def _events(self, stream: str) -> Iterator[Event]:
        return stream_events(self.source, stream, self._context, self.runs[stream], self.plan)

    def _context(self, stream: str) -> ReadContext:
        plan, options = self.plan, self.options
        mode = plan.sync_modes.get(stream, "incremental")
        incoming = None if mode == "full_refresh" else plan.state.get(stream)
        run = self.runs[stream]
        run.http.on_wait = lambda secs: self._put(("limited", stream, secs))
        return ReadContext(
            config=plan.config,
            state=incoming,
            sync_mode=mode,
            cursor_field=plan.cursor_fields.get(stream),
            max_records=options.max_records,
            state_per_page=options.state_per_page,
            concurrency=options.concurrency,
            log=lambda level, msg: self._put(("log", stream, (level, msg))),
            cancel=run.stop,
            services=self._services,
            tuning=options.tuning,
            strict=options.strict,
            on_warning=lambda msg: self._put(("warn", stream, msg)),
            on_count=lambda key, n: self._put(("count", stream, (key, n))),
            on_skip=lambda msg: self._put(("skip", stream, msg)),
            unit=plan.units.get(stream),
            http_stats=run.http,
        )

    # -- consumer side ------------------------------------------------------------------------------

    def __iter__(self) -> Generator[Chunk, None, None]:
        plan = self.plan
        beats = self._heartbeat is not None and self.write_now is not None  # written by a StepSentry
        inline = Feed.inline_fits(plan, self.watch is None and (self._heartbeat is None or beats))
        self._feed = Feed(plan, inline)
        stop_listening = self._listen_config()
        try:
            if inline and beats and self._heartbeat is not None:
                self._feed.guard(StepSentry(self._heartbeat.due_in, self._beat_now))
            self._feed.start(self._events, inline)
            yield from self._consume(len(plan.streams))
            yield self._finish()
        finally:
            stop_listening()
            self.config_relay.last()
            plan.cancel.set()
            for run in self.runs.values():
                run.stop.set()
            self._feed.close()
            if plan.sink is not None and not self._sink_closed:
                self._abort_open_streams()

    def _beat_now(self) -> None:
        """The heartbeat, written at once (by the StepSentry's thread while the read waits inline)."""
        assert self._heartbeat is not None and self.write_now is not None
        beat = self._heartbeat.beat(self.runs.values(), self.plan.state)
        if beat:
            self.write_now(beat)

    @property
    def updated_config(self) -> dict[str, Any] | None:  # the config as the connector changed it (None: unchanged)
        return self.config_relay.updated

    @property
    def on_config(self) -> ConfigSayer | None:
        """A front door's way to say a changed config (default: the CONTROL message)."""
        return self.config_relay.on_config

    @on_config.setter
    def on_config(self, say: ConfigSayer | None) -> None:
        self.config_relay.on_config = say

    def _listen_config(self) -> Callable[[], None]:
        """Changes of the config (heard in any thread) become queue events; returns the function that stops it."""
        try:
            changes = self.source.config_changes(self.plan.config)
        except SolidafyError:  # e.g. a config no auth alternative fits: each stream fails on it, in its own words
            changes = None
        return self.config_relay.listen(changes, lambda config, paths: self._put(("config", "", (config, paths))))

    def _abort_open_streams(self) -> None:
        sink = self.plan.sink
        assert sink is not None
        for run in self.runs.values():
            if not run.ended:
                with contextlib.suppress(Exception):  # best effort on shutdown
                    sink.abort(run.name)
        self._sink_closed = True
        sink.close()

    def _consume(self, pending: int) -> Iterator[Chunk]:
        while pending:
            try:
                kind, stream, payload = self._feed.get()
            except queue.Empty:
                if self.plan.cancel.is_set():  # cancelled from outside (e.g. the HTTP client went away)
                    self._cancel_pending()
                    return
                if self.watch is not None:
                    self.watch(self)
                self._saver.save_if_due(self._file_state)
                if self._heartbeat is not None and (beat := self._heartbeat.beat(self.runs.values(), self.plan.state)):
                    yield [*beat]
                continue
            if kind == "batch":
                out = self._on_batch(self.runs[stream], payload)
            elif kind == "log":
                out = self._on_log(stream, *payload)
            elif kind == "warn":
                out = self._on_warning(self.runs[stream], payload)
            elif kind == "count":
                out = self.runs[stream].add_count(*payload)
            elif kind == "skip":
                out = self._on_skip(self.runs[stream], payload)
            elif kind == "start":
                out = self._on_start(self.runs[stream])
            elif kind == "limited":  # a rate-limit wait of a second or more starts (Budget.acquire)
                out = list(self.flavour.rate_limited(self.runs[stream], payload))
            elif kind == "config":
                out = self.config_relay.said(*payload)
            else:
                pending -= 1
                out = self._on_end(self.runs[stream], payload)
            if self.watch is not None:
                self.watch(self)
            if out:
                yield out  # resumed once the consumer has taken (written) the chunk
                if self._heartbeat is not None:
                    self._heartbeat.saw(out)
            self._saver.save_if_due(self._file_state)

    def _cancel_pending(self) -> None:
        for run in self.runs.values():
            if not run.ended:
                run.ended, run.status, run.error = True, "FAILED", "sync cancelled"
                run.duration_ms = max(1, int((time.monotonic() - run.started) * 1000))
                if self.plan.sink is not None:
                    with contextlib.suppress(Exception):
                        self.plan.sink.abort(run.name)

    def _redact(self, text: str) -> str:
        return redact(text, self.plan.secrets)

    def _on_log(self, stream: str, level: str, message: str) -> Chunk:
        if not self.flavour.shows(level, self.options.verbose):
            return []
        return [p.log(level, self._redact(message))]

    def _on_warning(self, run: StreamRun, message: str) -> Chunk:
        """ReadContext.warn: recorded for the summary, logged once, and the stream's state is held."""
        message = self._redact(message)
        self._saver.changed()  # the state file goes back to the stream's incoming state
        if not run.warn(message):
            return []
        return [p.log("WARN", f"{message}; the state of stream '{run.name}' is not advanced")]

    def _on_skip(self, run: StreamRun, message: str) -> Chunk:
        """ReadContext.skip: counted and listed for the summary, logged once; the state goes on."""
        message = self._redact(message)
        return [p.log("WARN", message)] if run.skip(message) else []

    def _on_start(self, run: StreamRun) -> Chunk:
        run.started = time.monotonic()
        run.opened = True
        schema = stream_schema(self.options.catalog, run.name) or self.source.drift_schema(run.name)
        if schema:  # a stream without one is not watched: drift.py is not imported
            from source_solidafy.drift import DriftWatch
            run.drift = DriftWatch(schema)
        if self.plan.sink is not None:
            self.plan.sink.open(run.name, self.plan.schemas.get(run.name), replace=self._full_refresh(run.name))
        return list(self.flavour.started(run))

    def _full_refresh(self, stream: str) -> bool:
        """The stream is read whole, from no state: its files replace the day's earlier ones (docs/outputs.md)."""
        plan = self.plan
        from_scratch = plan.sync_modes.get(stream) == "full_refresh" or not plan.state.get(stream)
        return from_scratch and self.options.max_records is None

    def _limit(self, run: StreamRun, batch: Batch) -> Batch:
        """Enforce --max-records as a safety net (sources already stop at ctx.max_records)."""
        limit = self.options.max_records
        if limit is None or run.records + len(batch) <= limit:
            if limit is not None and run.records + len(batch) == limit:
                run.stop.set()
            return batch
        keep = max(0, limit - run.records)
        records = batch.records[:keep] if isinstance(batch.records, list) else batch.records.slice(0, keep)
        run.stop.set()
        return Batch(batch.stream, records, None)

    def _on_batch(self, run: StreamRun, batch: Batch) -> Chunk:
        limit = self.options.max_records
        if run.stop.is_set() and limit is not None and run.records >= limit:
            return []
        batch = self._limit(run, batch)
        out: Chunk = []
        count = len(batch)
        if count or batch.state is None:
            run.pages += 1
        if count:
            if run.drift is not None and isinstance(batch.records, list):
                run.drift.observe(batch.records)
            out.extend(self.flavour.records_flowing(run))
            self._deliver(run.name, batch, out)
            run.records += count
            run.since_state += count
        out.extend(self.flavour.page_read(run, count, self.options.verbose))
        if batch.state is not None:
            run.pending_state = batch.state
            if self.flavour.state_every_page or self.options.state_per_page:
                self._emit_state(run, out)
            elif self._saver.path and run.pending_state is not None and self._durable(run):
                run.durable_state = run.pending_state  # for the state file; stdout's STATE comes at the end
                self._saver.changed()
        return out

    def _deliver(self, stream: str, batch: Batch, out: Chunk) -> None:
        emitted_at = p.now_ms()
        sink = self.plan.sink
        if sink is not None:
            sink.write(stream, batch.records, emitted_at)
            return
        if self.options.raw_records:  # an Arrow batch stays one: its lines are built in Arrow
            out.append(p.RecordLines(stream, batch.records, emitted_at))
            return
        if isinstance(batch.records, list):
            records = batch.records
        else:
            from source_solidafy.arrow_rows import rows

            records = rows(batch.records)
        out.extend(
            {"type": "RECORD", "record": {"stream": stream, "data": r, "emitted_at": emitted_at}} for r in records
        )

    def _emit_state(self, run: StreamRun, out: Chunk, final: bool = False) -> None:
        if run.held:  # a warning: nothing after it is certainly safe (ReadContext.warn)
            run.pending_state = None
        state = run.pending_state
        if state is None or (not final and not self._durable(run)):
            return
        out.append(p.stream_state(run.name, state, run.since_state))
        run.durable_state = state
        self._saver.changed()
        run.pending_state = None
        run.since_state = 0
        run.states_emitted += 1

    def _durable(self, run: StreamRun) -> bool:
        """Every record of the stream so far is delivered: with a sink, once it made them durable."""
        sink = self.plan.sink
        return sink is None or sink.checkpoint(run.name)

    def _file_state(self) -> StateMap:
        """The state file's content now: ended streams' final state, running streams' last checkpoint."""
        out = dict(self.final_state)
        for run in self.runs.values():
            if not run.ended and not run.held and run.durable_state is not None:
                out[run.name] = run.durable_state
        return out

    def _close_state(self, run: StreamRun, out: Chunk, complete: bool) -> None:
        """The stream's last STATE and its entry in the sync's final state.

        A held stream (it warned: ReadContext.warn) ends on the state it came in with, whatever it
        checkpointed before the warning: those checkpoints trusted the API's order of records, which
        the warning puts in doubt. If it had emitted a STATE, a last one says so (Airbyte keeps the
        last); the records are read again next time (at-least-once, never a loss).
        """
        incoming = self.plan.state.get(run.name) or {}
        self._saver.changed()
        if run.held:
            if run.states_emitted or (complete and self.flavour.state_at_every_end):
                out.append(p.stream_state(run.name, incoming, run.since_state))
            return  # final_state keeps the incoming entry
        if complete or self.plan.sink is None:
            # records before a pending state were delivered even after a failure: the next sync resumes there
            self._emit_state(run, out, final=True)
        if complete and self.flavour.state_at_every_end and run.states_emitted == 0:
            out.append(p.stream_state(run.name, incoming, run.since_state))
        if run.durable_state is not None:
            self.final_state[run.name] = run.durable_state

    def _on_end(self, run: StreamRun, exc: BaseException | None) -> Chunk:
        out: Chunk = []
        sink = self.plan.sink
        if exc is None and sink is not None:
            try:
                run.output_file = sink.commit(run.name)
            except Exception as commit_exc:  # noqa: BLE001 - a failed commit fails the stream
                exc = commit_exc
        run.duration_ms = max(1, int((time.monotonic() - run.started) * 1000))
        run.ended = True
        if exc is not None:
            if sink is not None:
                sink.abort(run.name)
            return self._on_failure(run, exc)
        self._close_state(run, out, complete=True)
        out.extend(self.flavour.completed(run))
        return out

    def _on_failure(self, run: StreamRun, exc: BaseException) -> Chunk:
        run.status = "FAILED"
        if isinstance(exc, SolidafyError):
            message, failure_type, internal = str(exc), exc.failure_type, None
        else:
            message = f"internal error: {type(exc).__name__}: {exc}"
            failure_type = "system_error"
            internal = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        run.error = self._redact(message)
        out: Chunk = []
        self._close_state(run, out, complete=False)
        return [*out, *self.flavour.failed(run, failure_type, self._redact(internal) if internal else None)]

    def _finish(self) -> Chunk:
        plan = self.plan
        if plan.sink is not None:
            self._sink_closed = True
            plan.sink.close()
        self._saver.save(self.final_state)
        results = [self.runs[name].result() for name in plan.streams]
        self.summary = sync_summary(plan, results, int((time.monotonic() - self._started) * 1000))
        return list(self.flavour.finished(self.final_state, self.summary))
