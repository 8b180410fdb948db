"""The sync runner with a fake Source and a fake Sink: order, state, failures, limits, flavours."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from typing import Any

import pytest

from source_solidafy import protocol as p
from source_solidafy.errors import HttpError
from source_solidafy.options import SyncOptions
from source_solidafy.runner import SyncPlan, SyncRun
from source_solidafy.sinks.base import Sink
from source_solidafy.source import Batch, CheckResult, ConfigField, ReadContext, Source, StreamInfo


class FakeSource(Source):
    name = "fake"

    def __init__(self, pages: dict[str, list[list[int]]], fail_after: dict[str, int] | None = None) -> None:
        self.pages, self.fail_after = pages, fail_after or {}
        self.seen_state: dict[str, Any] = {}

    def config_fields(self) -> list[ConfigField]:
        return [ConfigField("token", secret=True)]

    def check(self, config: dict[str, Any]) -> CheckResult:
        return CheckResult(True, "ok")

    def stream_names(self, config: dict[str, Any] | None = None) -> list[str]:
        return list(self.pages)

    def discover(self, config: dict[str, Any], sample: int = 0) -> list[StreamInfo]:
        return []

    def read_stream(self, stream: str, ctx: ReadContext) -> Iterator[Batch]:
        self.seen_state[stream] = ctx.state
        for n, page in enumerate(self.pages[stream]):
            if n == self.fail_after.get(stream):
                raise HttpError(f"HTTP 500 from GET http://api/{stream}?token={ctx.config['token']}", 500)
            yield Batch(stream, [{"id": i} for i in page], {"cursor": max(page)})


def run(source: Source, **given: Any) -> tuple[SyncRun, list[dict[str, Any]]]:
    """``given``: SyncPlan fields (state, sink, sync_modes) and SyncOptions fields (the rest)."""
    plan = {k: v for k, v in given.items() if k in {f.name for f in fields(SyncPlan)}}
    options = SyncOptions(**{k: v for k, v in given.items() if k not in plan})
    sr = SyncRun(source, SyncPlan(connector="fake", streams=list(source.pages), config={"token": "s3cr3t-tok"},
                                  secrets=["s3cr3t-tok"], options=options, **plan))
    messages = [m for chunk in sr for m in p.expand(chunk)]
    return sr, messages


def test_solidafy_flavour_order_summary_last_and_global_state() -> None:
    sr, msgs = run(FakeSource({"a": [[1, 2], [3]], "b": [[10]]}), concurrency=1)
    assert msgs[-1]["type"] == "SYNC_SUMMARY"
    assert msgs[-2] == p.global_state({"a": {"cursor": 3}, "b": {"cursor": 10}})
    records_a = [m["record"]["data"]["id"] for m in msgs if m["type"] == "RECORD" and m["record"]["stream"] == "a"]
    assert records_a == [1, 2, 3]
    last_record = max(i for i, m in enumerate(msgs) if m["type"] == "RECORD" and m["record"]["stream"] == "a")
    state_a = next(i for i, m in enumerate(msgs) if m["type"] == "STATE"
                   and m["state"].get("stream", {}).get("stream_descriptor", {}).get("name") == "a")
    assert state_a > last_record
    assert sr.summary["status"] == "SUCCEEDED" and sr.summary["total_records"] == 4


def test_a_failing_stream_does_not_stop_the_others_and_secrets_are_redacted() -> None:
    sr, msgs = run(FakeSource({"a": [[1], [2], [3]], "b": [[10], [11]]}, fail_after={"a": 2}),
                   state_per_page=True)
    summary = sr.summary
    assert summary["status"] == "PARTIAL"
    failed = next(s for s in summary["streams"] if s["stream"] == "a")
    assert failed["status"] == "FAILED" and failed["records_synced"] == 2
    assert "s3cr3t-tok" not in repr(msgs) and "***" in failed["error"]
    assert sr.final_state["a"] == {"cursor": 2}  # the state of what was delivered stands
    assert sr.final_state["b"] == {"cursor": 11}


def test_airbyte_flavour_statuses_and_state_per_page_with_counts() -> None:
    sr, msgs = run(FakeSource({"a": [[1, 2], [3]]}), flavour=p.AIRBYTE)
    kinds = [(m["type"], m.get("trace", {}).get("stream_status", {}).get("status")) for m in msgs
             if m["type"] != "RECORD"]
    assert kinds[0] == ("TRACE", "STARTED") and kinds[1] == ("TRACE", "RUNNING")
    assert kinds[-1] == ("TRACE", "COMPLETE")
    states = [m["state"] for m in msgs if m["type"] == "STATE"]
    assert [s["sourceStats"]["recordCount"] for s in states] == [2.0, 1.0]
    assert all(s["type"] == "STREAM" for s in states)
    assert not any(m["type"] in ("SYNC_SUMMARY", "STREAMS") for m in msgs)


def test_airbyte_failure_gives_incomplete_and_trace_error_with_stream() -> None:
    _, msgs = run(FakeSource({"a": [[1], [2]]}, fail_after={"a": 1}), flavour=p.AIRBYTE)
    error = next(m for m in msgs if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR")
    assert error["trace"]["error"]["stream_descriptor"] == {"name": "a"}
    assert msgs[-1]["trace"]["stream_status"]["status"] == "INCOMPLETE"


def test_airbyte_emits_a_state_even_for_a_stream_without_cursor() -> None:
    class NoState(FakeSource):
        def read_stream(self, stream: str, ctx: ReadContext) -> Iterator[Batch]:
            yield Batch(stream, [{"id": 1}], None)

    _, msgs = run(NoState({"a": [[1]]}), flavour=p.AIRBYTE)
    assert [m for m in msgs if m["type"] == "STATE"][0]["state"]["stream"]["stream_state"] == {}


def test_max_records_truncates_without_moving_state_past_delivered_records() -> None:
    sr, msgs = run(FakeSource({"a": [[1, 2, 3], [4, 5]]}), max_records=2)
    assert [m["record"]["data"]["id"] for m in msgs if m["type"] == "RECORD"] == [1, 2]
    assert "a" not in sr.final_state  # the page state (cursor 3) covers a record never delivered


def test_full_refresh_ignores_incoming_state() -> None:
    src = FakeSource({"a": [[1]]})
    run(src, state={"a": {"cursor": 9}}, sync_modes={"a": "full_refresh"})
    assert src.seen_state["a"] is None
    run(src, state={"a": {"cursor": 9}})
    assert src.seen_state["a"] == {"cursor": 9}


class FakeSink(Sink):
    def __init__(self, durable_every: int = 0) -> None:
        self.rows: dict[str, list[Any]] = {}
        self.committed: list[str] = []
        self.aborted: list[str] = []
        self.durable_every, self.writes = durable_every, 0
        self.directory = "/out"
        self.replace: dict[str, bool] = {}

    def open(self, stream: str, json_schema: dict[str, Any] | None, replace: bool = False) -> None:
        self.rows[stream] = []
        self.replace[stream] = replace

    def write(self, stream: str, records: Any, emitted_at: int) -> None:
        self.rows[stream].extend(records)
        self.writes += 1

    def checkpoint(self, stream: str) -> bool:
        return bool(self.durable_every) and self.writes % self.durable_every == 0

    def commit(self, stream: str) -> str | None:
        self.committed.append(stream)
        return f"/out/{stream}/data.parquet"

    def abort(self, stream: str) -> None:
        self.aborted.append(stream)


def test_sink_states_only_after_durable_checkpoint_and_abort_on_failure() -> None:
    sink = FakeSink()
    sr, msgs = run(FakeSource({"a": [[1], [2]], "b": [[5], [6]]}, fail_after={"b": 1}), sink=sink,
                   format="parquet")
    assert not any(m["type"] == "RECORD" for m in msgs)
    assert sink.committed == ["a"] and sink.aborted == ["b"]
    assert sr.final_state == {"a": {"cursor": 2}}  # b's page state never became durable
    result = {s["stream"]: s for s in sr.summary["streams"]}
    assert result["a"]["output_file"] == "/out/a/data.parquet" and sr.summary["output"]["directory"] == "/out"


def test_the_sink_replaces_only_streams_read_whole_from_no_state() -> None:
    source = FakeSource({"new": [[1]], "resumed": [[2]], "forced": [[3]]})
    state = {"resumed": {"cursor": 1}, "forced": {"cursor": 1}}
    sink = FakeSink()
    run(source, sink=sink, state=state, sync_modes={"forced": "full_refresh"})
    assert sink.replace == {"new": True, "resumed": False, "forced": True}
    capped = FakeSink()
    run(source, sink=capped, max_records=5)
    assert capped.replace == {"new": False, "resumed": False, "forced": False}  # a capped read is partial


@pytest.mark.parametrize("concurrency", [1, 8])
def test_same_records_and_state_whatever_the_concurrency(concurrency: int) -> None:
    pages = {f"s{i}": [[i * 100 + j for j in range(k, k + 3)] for k in (0, 3, 6)] for i in range(6)}
    sr, msgs = run(FakeSource(pages), concurrency=concurrency)
    got = sorted((m["record"]["stream"], m["record"]["data"]["id"]) for m in msgs if m["type"] == "RECORD")
    assert got == sorted((s, i) for s, ps in pages.items() for page in ps for i in page)
    assert sr.final_state == {s: {"cursor": ps[-1][-1]} for s, ps in pages.items()}


def test_a_failed_stream_keeps_the_checkpoint_of_records_already_delivered() -> None:
    sr, msgs = run(FakeSource({"a": [[1], [2], [3]]}, fail_after={"a": 2}))
    assert sr.final_state == {"a": {"cursor": 2}}
    state_at = max(i for i, m in enumerate(msgs) if m["type"] == "STATE" and "stream" in m["state"])
    last_record = max(i for i, m in enumerate(msgs) if m["type"] == "RECORD")
    assert state_at > last_record


def test_cancel_from_outside_ends_the_sync_with_cancelled_streams() -> None:
    import threading

    gate = threading.Event()

    class Slow(FakeSource):
        def read_stream(self, stream: str, ctx: ReadContext) -> Iterator[Batch]:
            yield Batch(stream, [{"id": 1}], {"cursor": 1})
            assert gate.wait(120), "the test never saw the first record"  # an event, not a time
            yield Batch(stream, [{"id": 2}], {"cursor": 2})

    src = Slow({"a": [[1]]})
    sr = SyncRun(src, SyncPlan(connector="fake", streams=["a"], config={"token": "t"}))
    seen = []
    for chunk in sr:
        seen.extend(p.expand(chunk))
        if any(m["type"] == "RECORD" for m in seen) and not sr.plan.cancel.is_set():
            sr.plan.cancel.set()
            gate.set()
    assert sr.summary["status"] == "FAILED"
    assert sr.summary["streams"][0]["error"] == "sync cancelled"


def test_package_level_api_functions_are_callable_after_the_api_is_imported() -> None:
    import source_solidafy as ss
    from source_solidafy import api

    assert ss.sync is api.sync and ss.read is api.read and callable(ss.check)


def test_a_derived_context_carries_every_callback_and_none_of_the_streams_own_fields() -> None:
    """ReadContext.derive (a parent read for its child, a lookup): every field but the stream's own is
    carried over, so a callback added later reaches the derived reads without touching them."""
    from source_solidafy.source import ReadContext

    def on_count(key: str, n: int) -> None:
        return None

    ctx = ReadContext(config={"a": 1}, state={"cursor": "x"}, max_records=5, cursor_field="c", concurrency=3,
                      strict=True, on_warning=print, on_skip=print, on_count=on_count, state_per_page=True)
    derived = ctx.derive(sync_mode="full_refresh")
    blank = ReadContext(config={})
    for f in fields(ReadContext):
        if f.name in ReadContext.OWN:
            expected = "full_refresh" if f.name == "sync_mode" else getattr(blank, f.name)
            if f.name != "http_stats":
                assert getattr(derived, f.name) == expected, f.name
        else:
            assert getattr(derived, f.name) is getattr(ctx, f.name), f.name
    assert derived.http_stats is not ctx.http_stats  # the other read's requests are its own
    with pytest.raises(TypeError, match="not \\['config'\\]"):
        ctx.derive(config={})
