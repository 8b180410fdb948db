"""Where a sync reads its streams: inline for a single stream nothing else waits on, else worker threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from source_solidafy import protocol as p
from source_solidafy.options import SyncOptions
from source_solidafy.runner import SyncPlan, SyncRun
from source_solidafy.source import Batch, ReadContext

from .test_sync_runner import FakeSource


class ThreadNoting(FakeSource):
    """Notes the thread each stream is read in; warns (a ReadContext call) before its second page."""

    def __init__(self, pages: dict[str, list[list[int]]]) -> None:
        super().__init__(pages)
        self.threads: dict[str, str] = {}
        self.closed: list[str] = []

    def read_stream(self, stream: str, ctx: ReadContext) -> Iterator[Batch]:
        self.threads[stream] = threading.current_thread().name
        try:
            for n, page in enumerate(self.pages[stream]):
                if n == 1:
                    ctx.warn(f"{stream}: page 2 looks odd")
                yield Batch(stream, [{"id": i} for i in page], {"cursor": max(page)})
        finally:
            self.closed.append(stream)


def plan(source: FakeSource, **options: Any) -> SyncPlan:
    return SyncPlan(connector="fake", streams=list(source.pages), config={"token": "t"}, secrets=[],
                    options=SyncOptions(**options))


def messages(run: SyncRun) -> list[dict[str, Any]]:
    return [m for chunk in run for m in p.expand(chunk)]


def timeless(ms: list[dict[str, Any]]) -> list[Any]:
    """Records, logs and states in order, without the times in them."""
    out: list[Any] = []
    for m in ms:
        if m["type"] == "RECORD":
            out.append(("RECORD", m["record"]["data"]))
        elif m["type"] == "LOG":
            out.append(("LOG", m["log"]["message"]))
        elif m["type"] == "STATE":
            out.append(("STATE", m["state"]))
    return out


def test_a_single_stream_is_read_in_the_consumers_thread_with_the_same_messages_in_the_same_order() -> None:
    inline_source = ThreadNoting({"a": [[1, 2], [3], [4]]})
    inline = timeless(messages(SyncRun(inline_source, plan(inline_source))))
    assert inline_source.threads == {"a": threading.current_thread().name}
    threaded_source = ThreadNoting({"a": [[1, 2], [3], [4]]})
    watched = SyncRun(threaded_source, plan(threaded_source))
    watched.watch = lambda run: None  # something to do while a page is awaited: the read goes to a thread
    threaded = timeless(messages(watched))
    assert threaded_source.threads["a"].startswith("stream")
    assert inline == threaded
    warning = next(i for i, m in enumerate(inline) if m[0] == "LOG" and "page 2 looks odd" in m[1])
    assert inline.index(("RECORD", {"id": 3})) > warning  # said on the way to page 2: before its records
    assert inline[-1] == ("STATE", p.global_state({})["state"])  # the warning held the state: none moved


@pytest.mark.parametrize("why", ["several streams", "cancel from outside", "airbyte heartbeat"])
def test_streams_go_to_worker_threads_when_the_consumer_has_more_to_do(why: str) -> None:
    pages = {"a": [[1]], "b": [[2]]} if why == "several streams" else {"a": [[1]]}
    source = ThreadNoting(pages)
    options: dict[str, Any] = {"cancel": threading.Event()} if why == "cancel from outside" else {}
    if why == "airbyte heartbeat":
        options["flavour"] = "airbyte"
    messages(SyncRun(source, plan(source, **options)))
    assert all(name.startswith("stream") for name in source.threads.values()), source.threads


def test_an_inline_read_is_closed_at_once_when_the_consumer_stops() -> None:
    source = ThreadNoting({"a": [[1], [2], [3]]})
    run = SyncRun(source, plan(source))
    chunks = iter(run)
    while not any(m.get("type") == "RECORD" for m in p.expand(next(chunks))):
        pass
    assert source.closed == []
    chunks.close()  # type: ignore[attr-defined]
    assert source.closed == ["a"]  # the source's generator was closed, in this thread, before close() returned
    assert run.runs["a"].records == 1


def test_an_inline_airbyte_read_repeats_its_last_state_while_a_step_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The heartbeat comes from the StepSentry's thread, written at once, while the consumer's thread
    waits inside the read; never between steps, and only states of chunks already written."""
    monkeypatch.setenv("SOLIDAFY_HEARTBEAT_SECS", "0.2")
    written: list[list[dict[str, Any]]] = []
    beats = threading.Event()

    class Waits(ThreadNoting):
        def read_stream(self, stream: str, ctx: ReadContext) -> Iterator[Batch]:
            self.threads[stream] = threading.current_thread().name
            yield Batch(stream, [{"id": 1}], {"cursor": 1})
            assert beats.wait(60), "no heartbeat while the read waited"  # an event, not a time
            yield Batch(stream, [{"id": 2}], {"cursor": 2})

    def write_now(messages: list[dict[str, Any]]) -> None:
        written.append(messages)
        if sum(len(w) for w in written) >= 2:
            beats.set()

    source = Waits({"a": [[1], [2]]})
    run = SyncRun(source, plan(source, flavour="airbyte"))
    run.write_now = write_now
    out = messages(run)
    assert source.threads == {"a": threading.current_thread().name}  # inline
    repeated = [m["state"]["stream"]["stream_state"] for w in written for m in w]
    assert len(repeated) >= 2 and all(s == {"cursor": 1} for s in repeated)  # the state of the records out
    assert [m["record"]["data"]["id"] for m in out if m["type"] == "RECORD"] == [1, 2]
