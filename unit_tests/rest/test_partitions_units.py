"""Small units of the partition engine: state bounds, date windows, the partition pool."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any
from unittest import mock

import pytest

from source_solidafy.manifest.partition_parts import DateRangePartition
from source_solidafy.rest.concurrency import SharedReads, Spool, run_partitions
from source_solidafy.rest.partition_state import PartitionStates
from source_solidafy.rest.routers import DateRangeRouter, RouterInputs
from source_solidafy.source import Batch, ReadContext, SyncServices, Tuning

UTC = timezone.utc


def _ctx(**tuning: Any) -> tuple[ReadContext, list[tuple[str, str]]]:
    logs: list[tuple[str, str]] = []
    return ReadContext(config={}, tuning=Tuning(**tuning), log=lambda lvl, msg: logs.append((lvl, msg))), logs


def test_state_falls_back_to_one_cursor_past_the_limit_with_a_warning() -> None:
    ctx, logs = _ctx(max_partition_states=2)
    states = PartitionStates("s", None, ctx)
    for i, cursor in enumerate(["b", "c", "a"]):
        key = f"k{i}"
        states.started(key, {"p": i}, None, False)
        states.advance(key, cursor)
    assert states.snapshot() == {"cursor": "c"}
    states.snapshot()
    assert [lvl for lvl, _ in logs] == ["WARN"] and "max_partition_states (2)" in logs[0][1]
    # a state without entries: every partition resumes from the stream cursor
    resumed = PartitionStates("s", {"cursor": "c"}, ctx)
    assert resumed.start_cursor("anything") == "c"


def test_state_entries_sorted_and_resumed_per_partition() -> None:
    ctx, _ = _ctx()
    incoming = {"partitions": [{"partition": {"r": "b"}, "cursor": 5}], "cursor": 5, "parent": {"cursor": 1}}
    states = PartitionStates("s", incoming, ctx)
    from source_solidafy.rest.partition_state import partition_key

    assert states.start_cursor(partition_key({"r": "b"})) == 5
    assert states.start_cursor(partition_key({"r": "a"})) is None  # new partition: from the start
    key = partition_key({"r": "a"})
    states.started(key, {"r": "a"}, None, False)
    states.advance(key, 9)
    snap = states.snapshot()
    assert [e["partition"]["r"] for e in snap["partitions"]] == ["a", "b"]
    assert snap["cursor"] == 9 and snap["parent"] == {"cursor": 1}


def _router(start: str, end: str, step: str) -> DateRangeRouter:
    part = DateRangePartition.model_validate({"type": "date_range", "start": start, "end": end, "step": step})
    ctx, _ = _ctx()
    return DateRangeRouter(part, RouterInputs("s", ctx, PartitionStates("s", None, ctx)))


def test_month_windows_are_calendar_months_clipped_at_the_end() -> None:
    router = _router("2024-01-31T00:00:00Z", "2024-04-15T00:00:00Z", "P1M")
    windows = list(router.windows())
    assert [(a.isoformat(), b.isoformat()) for a, b in windows] == [
        ("2024-01-31T00:00:00+00:00", "2024-02-29T00:00:00+00:00"),
        ("2024-02-29T00:00:00+00:00", "2024-03-31T00:00:00+00:00"),
        ("2024-03-31T00:00:00+00:00", "2024-04-15T00:00:00+00:00"),
    ]


def test_hour_windows_and_empty_ranges() -> None:
    assert len(list(_router("2024-01-01T00:00:00Z", "2024-01-01T05:30:00Z", "1h").windows())) == 6
    assert list(_router("2024-01-02T00:00:00Z", "2024-01-01T00:00:00Z", "P1D").windows()) == []


def test_unparsable_start_is_a_clear_stream_error() -> None:
    from source_solidafy.errors import StreamError

    with pytest.raises(StreamError, match="partition.start rendered 'yesterday', expected an ISO 8601"):
        list(_router("yesterday", "2024-01-01T00:00:00Z", "P1D").windows())


@pytest.mark.parametrize("workers", [1, 4])
def test_pool_reports_a_failure_and_starts_no_new_partition(workers: int) -> None:
    gate = threading.Event()  # the other partitions are still busy when item 0 fails

    def work(item: int) -> Iterator[Batch]:
        if item == 0:
            raise RuntimeError("boom")
        assert gate.wait(120), "the failure never reached the consumer"  # an event, not a time
        for page in range(2):
            yield Batch("s", [{"item": item, "page": page}], {"cursor": page})

    events = []
    for ev in run_partitions(range(100), work, workers, threading.Event()):
        events.append(ev)
        if ev.kind == "error":
            gate.set()
    errors = [e for e in events if e.kind == "error"]
    assert len(errors) == 1 and str(errors[0].error) == "boom"
    started = {e.item for e in events if e.kind == "start"}
    assert started <= set(range(workers))  # only those in flight when it failed
    for item in started - {0}:  # each partition's batches arrive in order, then done
        kinds = [(e.kind, e.batch.state if e.batch else None) for e in events if e.item == item]
        assert kinds == [("start", None), ("batch", {"cursor": 0}), ("batch", {"cursor": 1}), ("done", None)]


def test_pool_consumer_leaving_early_stops_the_workers() -> None:
    it = run_partitions(range(1000), lambda i: iter([Batch("s", [{"i": i}])] * 50), 4, threading.Event())
    next(it)
    it.close()  # must return: workers blocked on the bounded queue are released
    assert not [t for t in threading.enumerate() if t.name.startswith("partition-")]


def test_spool_followers_see_every_batch_and_the_producer_failure() -> None:
    hub = SharedReads()
    spool, fetch = hub.open("parent", None, projected=False)
    again, fetch2 = hub.open("parent", None, projected=False)
    assert fetch and not fetch2 and again is spool

    def source() -> Iterator[Batch]:
        yield Batch("parent", [{"id": 1}], {"cursor": 1})
        yield Batch("parent", [{"id": 2}], {"cursor": 2})
        raise RuntimeError("HTTP 503")

    got: list[Any] = []

    def follow() -> None:
        try:
            got.extend((b.records, b.state) for b in spool.follow(ReadContext(config={})))
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion
            got.append(str(exc))

    t = threading.Thread(target=follow)
    t.start()
    with pytest.raises(RuntimeError):
        list(spool.feed(source(), None, "child"))
    t.join(5)
    assert got[:2] == [([{"id": 1}], {"cursor": 1}), ([{"id": 2}], {"cursor": 2})]
    assert "stream 'parent' (read for child) failed: HTTP 503" in got[2]


def test_spool_is_per_state() -> None:
    hub = SharedReads()
    a, _ = hub.open("p", {"cursor": 1}, projected=True)
    b, fetch = hub.open("p", {"cursor": 2}, projected=True)
    assert a is not b and fetch and isinstance(a, Spool)


def test_now_is_the_default_end() -> None:
    part = DateRangePartition.model_validate({"type": "date_range", "start": "2024-01-01T00:00:00Z", "step": "P1D"})
    ctx, _ = _ctx()
    router = DateRangeRouter(part, RouterInputs("s", ctx, PartitionStates("s", None, ctx)))
    now = datetime(2024, 1, 3, 6, tzinfo=UTC)
    assert list(router.windows(now))[-1] == (datetime(2024, 1, 3, tzinfo=UTC), now)


_PARENT_CHILD = """
name: pc
base_url: http://127.0.0.1:1
streams:
  - name: customers
    request: {path: /customers}
  - name: notes
    request: {path: "/customers/{{ partition.id }}/notes"}
    partition: {type: parent_stream, stream: customers, parent_field: id}
"""


@pytest.mark.parametrize(("selected", "spooled"), [(None, True), (["customers", "notes"], True), (["customers"], False)])
def test_parent_output_is_spooled_only_when_a_child_may_follow(selected: list[str] | None, spooled: bool) -> None:
    from source_solidafy.registry import source_from_yaml_text

    source = source_from_yaml_text(_PARENT_CHILD)
    services = SyncServices(selected)
    batches = [Batch("customers", [{"id": "c1", "name": "x"}], {"cursor": 1})]
    with mock.patch.object(source, "read_plain", return_value=iter(batches)):
        out = list(source.read_stream("customers", ReadContext(config={}, services=services)))
    assert out == batches
    spool, fetch = services.shared_reads().open("customers", {}, projected=True)
    assert fetch is not spooled  # no spool yet: this open would have to fetch
    if spooled:  # the spool holds only what the child needs
        assert spool.projected
        assert [b.records for b in spool.follow(ReadContext(config={}))] == [[{"id": "c1"}]]


def _skips(incoming: dict[str, Any]) -> list[str]:
    part = DateRangePartition.model_validate(
        {"type": "date_range", "start": "2024-01-01T00:00:00Z", "end": "2024-01-05T00:00:00Z", "step": "P1D"})
    ctx, _ = _ctx()
    states = PartitionStates("s", incoming, ctx, DateRangeRouter.key)
    router = DateRangeRouter(part, RouterInputs("s", ctx, states))
    return [p["start"][:10] for p in router.partitions() if not router.skip(router.key(p), p)]


def test_date_range_resumes_from_the_cursor() -> None:
    # a stream-level state only: windows ending at or before the cursor are skipped
    assert _skips({"cursor": "2024-01-03T05:00:00Z"}) == ["2024-01-03", "2024-01-04"]
    assert _skips({"cursor": "2024-01-03T00:00:00Z"}) == ["2024-01-03", "2024-01-04"]
    # per-partition: only done windows before the cursor; an unfinished one is read again
    done = {"start": "2024-01-01T00:00:00Z", "end": "2024-01-02T00:00:00Z"}
    open_ = {"start": "2024-01-02T00:00:00Z", "end": "2024-01-03T00:00:00Z"}
    incoming = {"partitions": [{"partition": done, "cursor": "2024-01-01T09:00:00Z", "done": True},
                               {"partition": open_, "cursor": "2024-01-02T01:00:00Z", "done": False}],
                "cursor": "2024-01-04T10:00:00Z"}
    assert _skips(incoming) == ["2024-01-02", "2024-01-03", "2024-01-04"]
    assert _skips({}) == ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]
