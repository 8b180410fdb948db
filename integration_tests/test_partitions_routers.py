"""Partition routers end to end through the installed CLI: list, date_range (both forms), parent_stream."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from integration_tests.test_partitions_support import (
    CUSTOMERS,
    EVENTS,
    PartitionApi,
    calls,
    final_state,
    iso,
    parse,
    read,
    serve,
    write_connector,
)

DAILY_README = """
  - name: daily
    request:
      path: /daily
      params: {start: "{{ partition.start }}", end: "{{ partition.end }}", day: "{{ partition.day }}"}
    partition: {type: date_range, field: day, start: "2024-01-01T00:00:00Z", end: "2024-01-05T12:00:00Z",
                step: P1D}
    decoder: {type: json, records_path: data}
    primary_key: id
    cursor_field: ts
"""

DAILY_SEED = """
  - name: daily
    request:
      path: /daily
      params: {start: "{{ partition.from }}", end: "{{ partition.to }}"}
    # microseconds: two syncs within one second still see different "now" ends (a window whose
    # end did not move since it was done is rightly skipped)
    partition: {type: date_range, start: "{{ config.start }}", step: 1d, start_field: from, end_field: to,
                format: "%Y-%m-%dT%H:%M:%S.%fZ"}
    decoder: {type: json, records_path: data}
    primary_key: id
    cursor_field: ts
"""


def test_list_partitions_with_transforms(tmp_path: Path) -> None:
    api = PartitionApi()
    conn = write_connector(tmp_path, EVENTS)
    with serve(api) as srv:
        result = read(conn, srv, "--streams", "events")
    assert result.rc == 0, result.stderr[-2000:]
    records = result.records("events")
    assert sorted(r["id"] for r in records) == sorted(e["id"] for evs in api.events.values() for e in evs)
    first = next(r for r in records if r["id"] == "eu-3")
    assert first["source_region"] == "eu" and first["api"] == "http://"
    assert first["doubled"] == 6 and first["amount_units"] == 3
    assert "internal" not in first and "amount" not in first
    parse(first["synced_at"])  # ISO 8601
    state = final_state(result)["events"]
    assert [e["partition"]["region"] for e in state["partitions"]] == sorted(api.events)
    for entry in state["partitions"]:
        assert entry["cursor"] == api.events[entry["partition"]["region"]][-1]["updated_at"]
    assert state["cursor"] == max(e["updated_at"] for evs in api.events.values() for e in evs)
    assert result.summary["streams"][0]["records_synced"] == len(records)


def _windows(srv: object, start: str, end: str) -> list[tuple[str, str]]:
    return sorted((r.arg(start), r.arg(end)) for r in calls(srv, "/daily"))  # type: ignore[arg-type]


def test_date_range_readme_form_windows_are_half_open_and_contiguous(tmp_path: Path) -> None:
    api = PartitionApi()
    conn = write_connector(tmp_path, DAILY_README)
    with serve(api) as srv:
        result = read(conn, srv)
        windows = _windows(srv, "start", "end")
        days = sorted(r.arg("day") for r in calls(srv, "/daily"))
    assert result.rc == 0, result.stderr[-2000:]
    assert windows == [("2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"), ("2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"),
                       ("2024-01-03T00:00:00Z", "2024-01-04T00:00:00Z"), ("2024-01-04T00:00:00Z", "2024-01-05T00:00:00Z"),
                       ("2024-01-05T00:00:00Z", "2024-01-05T12:00:00Z")]
    assert days == [w[0] for w in windows]
    expected = [d["id"] for d in api.daily if parse(d["ts"]) < parse("2024-01-05T12:00:00Z")]
    assert sorted(r["id"] for r in result.records("daily")) == sorted(expected)  # each record exactly once
    state = final_state(result)["daily"]
    assert all(e["done"] for e in state["partitions"]) and len(state["partitions"]) == 5


def test_date_range_seed_form_ends_now_and_resumes_after_done_windows(tmp_path: Path) -> None:
    api = PartitionApi()
    now = dt.datetime.now(dt.timezone.utc)
    start = (now - dt.timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
    api.daily = [{"id": f"d{i}", "ts": iso(start + dt.timedelta(hours=7 * i))} for i in range(13)]
    api.daily.append({"id": "today", "ts": iso(start + dt.timedelta(days=3))})  # <= now: the cursor is today
    conn = write_connector(tmp_path, DAILY_SEED)
    state_file = tmp_path / "state.json"
    with serve(api) as srv:
        first = read(conn, srv, "--state", str(state_file), start=iso(start))
        windows = _windows(srv, "start", "end")
        srv.requests.clear()
        second = read(conn, srv, "--state", str(state_file), start=iso(start))
        again = _windows(srv, "start", "end")
    assert first.rc == 0 and second.rc == 0, first.stderr[-2000:] + second.stderr[-2000:]
    assert len(windows) == 4 and windows[0][0] == start.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert all(a[1] == b[0] for a, b in zip(windows, windows[1:], strict=False))  # no gap, no overlap
    assert parse(windows[-1][1]) <= dt.datetime.now(dt.timezone.utc)  # the last window ends at "now"
    assert len(first.records("daily")) == len([d for d in api.daily if parse(d["ts"]) < parse(windows[-1][1])])
    # the three full days are done and before the cursor: skipped; only today's window (clipped at
    # "now", holding the cursor) is read again
    assert len(again) == 1 and again[0][0] == windows[-1][0]
    assert len(second.records("daily")) == 1  # from its cursor on (inclusive): the newest record only
    saved = json.loads(state_file.read_text())["streams"]["daily"]
    assert [e["partition"]["from"] for e in saved["partitions"]] == [w[0] for w in windows]


def test_parent_stream_is_fetched_once_and_children_once_per_parent(tmp_path: Path) -> None:
    api = PartitionApi()
    conn = write_connector(tmp_path, CUSTOMERS)
    with serve(api) as srv:
        result = read(conn, srv, "--streams", "customers,notes")
        parent_calls = [r for r in srv.requests if r.path == "/customers"]
        child_calls = sorted(r.path for r in calls(srv, "/customers/"))
    assert result.rc == 0, result.stderr[-2000:]
    assert len(parent_calls) == 1  # selected for output and read for the child: fetched once
    assert child_calls == sorted(f"/customers/{c['id']}/notes" for c in api.customers)
    assert len(result.records("customers")) == len(api.customers)
    assert sorted(r["id"] for r in result.records("notes")) == sorted(n["id"] for ns in api.notes.values() for n in ns)
    state = final_state(result)
    assert state["notes"]["parent"] == state["customers"] == {"cursor": api.customers[-1]["updated_at"]}


def test_parent_child_incremental_over_two_syncs(tmp_path: Path) -> None:
    api = PartitionApi()
    conn = write_connector(tmp_path, CUSTOMERS)
    state_file = tmp_path / "state.json"
    with serve(api) as srv:
        first = read(conn, srv, "--streams", "notes", "--state", str(state_file))
        assert first.rc == 0, first.stderr[-2000:]
        changed = api.customers[2]
        changed["updated_at"] = iso(parse(api.customers[-1]["updated_at"]) + dt.timedelta(days=1))
        api.notes[changed["id"]].append({"id": "c2-new", "customer_id": "c2", "updated_at": changed["updated_at"]})
        srv.requests.clear()
        second = read(conn, srv, "--streams", "notes", "--state", str(state_file))
        child_calls = {r.path: r.arg("since") for r in calls(srv, "/customers/")}
    assert second.rc == 0, second.stderr[-2000:]
    last = api.customers[-1]
    # only the changed parent and the one at the (inclusive) parent cursor; never all six again
    assert set(child_calls) == {"/customers/c2/notes", f"/customers/{last['id']}/notes"}
    assert child_calls["/customers/c2/notes"] == api.notes["c2"][-2]["updated_at"]  # newer children only
    assert "c2-new" in {r["id"] for r in second.records("notes")}
    assert len(second.records("notes")) < len(first.records("notes"))
    saved = json.loads(state_file.read_text())["streams"]["notes"]
    assert saved["parent"] == {"cursor": changed["updated_at"]}
    assert len(saved["partitions"]) == len(api.customers)  # entries of unchanged parents are kept


PARENT_FIELDS = CUSTOMERS.replace(
    'path: "/customers/{{ partition.customer_id }}/notes"',
    'path: "/customers/{{ partition.customer_id }}/notes"\n      params: {owner: "{{ partition.owner }}", '
    'name: "{{ partition.name }}"}',
).replace("parent_field: id, field: customer_id", "parent_fields: {customer_id: id, owner: owner.login, name: name}")


def test_several_parent_fields_reach_the_child_with_or_without_the_parent_selected(tmp_path: Path) -> None:
    """Every named parent field is in partition.*; a parent with one of them null gives no partition."""
    api = PartitionApi()
    for i, customer in enumerate(api.customers):
        customer["owner"] = {"login": f"user{i}"}
    api.customers[3]["name"] = None
    conn = write_connector(tmp_path, PARENT_FIELDS)
    expected = {(f"/customers/{c['id']}/notes", c["owner"]["login"], c["name"]) for c in api.customers if c["name"]}
    for streams in ("customers,notes", "notes"):  # the parent's read shared (projected) or read for the child
        with serve(api) as srv:
            result = read(conn, srv, "--streams", streams)
            child_calls = {(r.path, r.arg("owner"), r.arg("name")) for r in calls(srv, "/customers/")}
        assert result.rc == 0, result.stderr[-2000:]
        assert child_calls == expected
        assert {r["customer_id"] for r in result.records("notes")} == {c["id"] for c in api.customers if c["name"]}
