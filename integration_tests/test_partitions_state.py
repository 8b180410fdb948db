"""Per-partition state under failures and concurrency, through the installed CLI."""

from __future__ import annotations

import json
from pathlib import Path

from integration_tests.test_partitions_support import (
    CUSTOMERS,
    EVENTS,
    PAGE,
    PartitionApi,
    calls,
    final_state,
    read,
    serve,
    write_connector,
)


def test_failed_partition_fails_the_stream_and_a_resume_redoes_only_what_is_missing(tmp_path: Path) -> None:
    api = PartitionApi()
    api.fail[("/regions/eu/", 1)] = 500  # eu's second page fails (max_retries: 0)
    conn = write_connector(tmp_path, EVENTS, CUSTOMERS)
    state_file = tmp_path / "state.json"
    with serve(api) as srv:
        first = read(conn, srv, "--streams", "events,customers", "--state", str(state_file))
        api.fail.clear()
        srv.requests.clear()
        second = read(conn, srv, "--streams", "events", "--state", str(state_file))
        resumed = {r.path.split("/")[2]: r.arg("since") for r in calls(srv, "/regions/") if not r.arg("cursor")}
    assert first.rc == 1
    by_stream = {s["stream"]: s for s in first.summary["streams"]}
    assert by_stream["events"]["status"] == "FAILED" and "500" in by_stream["events"]["error"]
    assert by_stream["customers"]["status"] == "SUCCESS"  # the other stream goes on
    saved = final_state(first)["events"]
    cursors = {e["partition"]["region"]: e["cursor"] for e in saved["partitions"]}
    assert cursors["eu"] == api.events["eu"][PAGE - 1]["updated_at"]  # eu kept its first page
    finished = {r for r in cursors if r != "eu"}
    assert all(cursors[r] == api.events[r][-1]["updated_at"] for r in finished)
    unstarted = set(api.events) - set(cursors)  # no new partition starts once one has failed
    # the resume asks eu from its cursor, every finished region only from its own cursor, and
    # regions that never started from the beginning
    assert second.rc == 0, second.stderr[-2000:]
    assert resumed == {**cursors, **dict.fromkeys(unstarted)}
    got = sorted(r["id"] for r in second.records("events"))
    expected = [e["id"] for e in api.events["eu"][PAGE - 1:]] + [api.events[r][-1]["id"] for r in finished]
    expected += [e["id"] for r in unstarted for e in api.events[r]]
    assert got == sorted(expected)


def _sync(conn: str, srv: object, concurrency: int) -> tuple[list[str], dict[str, object], dict[str, int]]:
    result = read(conn, srv, "--concurrency", str(concurrency))  # type: ignore[arg-type]
    assert result.rc == 0, result.stderr[-2000:]
    records = sorted(json.dumps(m["record"]["data"], sort_keys=True) for m in result.of_type("RECORD"))
    counts = {s["stream"]: s["records_synced"] for s in result.summary["streams"]}
    return records, final_state(result), counts


def test_concurrency_1_and_8_give_identical_records_and_state(tmp_path: Path) -> None:
    api = PartitionApi()
    events = EVENTS.replace('      - set: {field: synced_at, value: "{{ now }}"}\n', "")
    conn = write_connector(tmp_path, events, CUSTOMERS)
    with serve(api) as srv:
        one = _sync(conn, srv, 1)
        eight = _sync(conn, srv, 8)
        lines = [m for m in read(conn, srv, "--concurrency", "8", "--state-per-page").messages]  # type: ignore[arg-type]
    assert one == eight
    records, _state, counts = eight
    assert counts == {"events": 35, "customers": 6, "notes": 12} and len(records) == sum(counts.values())
    # a STATE of a stream only ever follows records of that stream already printed
    seen: dict[str, set[str]] = {}
    for m in lines:
        if m["type"] == "RECORD":
            seen.setdefault(m["record"]["stream"], set()).add(m["record"]["data"]["id"])
        elif m["type"] == "STATE" and "stream" in m["state"]:
            name = m["state"]["stream"]["stream_descriptor"]["name"]
            st = m["state"]["stream"]["stream_state"]
            for entry in st.get("partitions", []):
                if name == "events" and entry.get("cursor"):
                    region = entry["partition"]["region"]
                    upto = [e["id"] for e in api.events[region] if e["updated_at"] <= entry["cursor"]]
                    assert set(upto) <= seen.get("events", set()), (entry, upto)


def test_retries_inside_partitions_use_the_connector_client_and_are_logged(tmp_path: Path) -> None:
    api = PartitionApi()
    for region in ("us", "eu", "ap"):
        api.fail_once[(f"/regions/{region}/", 1)] = 503
    conn = write_connector(tmp_path, EVENTS, retries=2)
    with serve(api) as srv:
        result = read(conn, srv, "--streams", "events", "--concurrency", "4")
    assert result.rc == 0, result.stderr[-2000:]
    assert len(result.records("events")) == 35  # each retried page once, no duplicates
    warnings = [m["log"]["message"] for m in result.of_type("LOG") if m["log"]["level"] == "WARN"]
    assert sum("503" in w for w in warnings) == 3, warnings
