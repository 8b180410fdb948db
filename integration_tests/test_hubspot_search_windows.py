"""HubSpot's search returns at most 10,000 results of one query: the built-in's windows split themselves.

The HubSpot mock enforces the cap as api.hubapi.com does (HTTP 400 for a page past the 10,000th
result, ``total`` the query's full count). The built-in's search streams read a ``date_range``
window with ``split_when: {total_path: total, above: 10000}``: a window over the cap is read as two
halves, again while over. These tests read a 12,000-contact portal through the CLI (the built-in's
YAML with its 5 requests/s budget lifted: a local mock needs none) and check every record comes
exactly once, that without the split the same mock refuses the read, that a window too dense to
split fails loudly, and that a failed sync resumes after the last completed part.
"""

from __future__ import annotations

from pathlib import Path

from integration_tests.connector_checks import Connector, final_state, requests_to
from integration_tests.helpers import Result
from integration_tests.mocks.hubspot import HubSpotMock
from integration_tests.mocks.server import MockServer

HUBSPOT = Connector("hubspot")
SEARCH = "/crm/v3/objects/contacts/search"
BIG = 12_000  # contacts: over HubSpot's 10,000-result cap


def _connector(tmp_path: Path, *edits: tuple[str, str]) -> Connector:
    """The built-in's YAML without its rate limit (and with ``edits``), read as a YAML path."""
    text = HUBSPOT.yaml_path.read_text()
    for old, new in (("  rate_limit_rps: 5\n", ""), *edits):
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "hubspot.yaml"
    path.write_text(text)
    return Connector("hubspot", ref=str(path))


def _read(conn: Connector, mock: HubSpotMock, *extra: str, state: object = None) -> tuple[MockServer, Result]:
    return conn.read_against(mock, ["contacts"], *extra, state=state)


def _ids(result: Result) -> list[str]:
    return [r["id"] for r in result.records("contacts")]


def _logs(result: Result, text: str) -> list[str]:
    return [m["log"]["message"] for m in result.of_type("LOG") if text in m["log"]["message"]]


def test_a_portal_over_the_cap_is_read_whole_each_record_once(tmp_path: Path) -> None:
    mock = HubSpotMock(sizes={"contacts": BIG})
    srv, result = _read(_connector(tmp_path), mock)
    assert result.rc == 0, result.stdout[-2000:] + result.stderr[-2000:]
    want = mock.expected_records("contacts")  # sorted by (updatedAt, id), the order of the windows' pages
    assert len(want) == BIG and _ids(result) == [r["id"] for r in want]
    bodies = [r.json() for r in requests_to(srv, SEARCH)]
    assert max(int(b.get("after") or 0) + b["limit"] for b in bodies) <= 10_000  # never asked past the cap
    assert len(_logs(result, "read as two halves")) >= 2
    (entry,) = final_state(result)["streams"]["contacts"]["partitions"]
    assert entry["done"] is True and entry["cursor"] == want[-1]["updatedAt"]


def test_without_split_when_the_same_read_hits_the_cap(tmp_path: Path) -> None:
    conn = _connector(tmp_path, ("      split_when: {total_path: total, above: 10000}\n", ""))
    _, result = _read(conn, HubSpotMock(sizes={"contacts": BIG}))
    assert result.rc == 1 and result.summary["streams"][0]["status"] == "FAILED"
    assert "limited to 10,000 total results" in result.summary["streams"][0]["error"]


def test_a_window_too_dense_to_split_fails_loudly(tmp_path: Path) -> None:
    """60 contacts modified in the same millisecond, a cap of 50: no window can hold them under it."""
    mock = HubSpotMock(search_cap=50, sizes={"contacts": 60})
    for record in mock.data["contacts"]:
        record["properties"]["lastmodifieddate"] = record["updatedAt"] = "2025-03-01T10:00:00.123Z"
    conn = _connector(tmp_path, ("above: 10000", "above: 50"), ('{"limit": 200,', '{"limit": 10,'))
    _, result = _read(conn, mock)
    assert result.rc == 1, result.stdout[-2000:]
    entry = result.summary["streams"][0]
    assert entry["status"] == "FAILED" and entry["records_synced"] == 0
    assert "matches 60 results, more than partition.split_when.above=50, and cannot be split further" in entry["error"]
    assert "the window [2025-03-01T10:00:00.123Z, 2025-03-01T10:00:00.124Z)" in entry["error"]
    assert "(the smallest window is 1 ms)" in entry["error"]
    assert result.records() == []  # nothing of the window was passed for a complete read


def test_a_failed_sync_resumes_after_the_last_completed_part(tmp_path: Path) -> None:
    conn = _connector(tmp_path)
    mock = HubSpotMock(sizes={"contacts": BIG})
    mock.fail_search_at = 55  # in the last part of the split window
    _, first = _read(conn, mock, "--state-per-page")
    assert first.rc == 1 and "injected failure" in first.summary["streams"][0]["error"]
    state = final_state(first)
    (entry,) = state["streams"]["contacts"]["partitions"]
    assert entry["done"] is False
    read_first = _ids(first)
    want = mock.expected_records("contacts")
    assert 0 < len(read_first) < BIG and read_first == [r["id"] for r in want[:len(read_first)]]
    assert entry["cursor"] <= want[len(read_first) - 1]["updatedAt"]
    mock.fail_search_at = None
    _, second = _read(conn, mock, state=state)
    assert second.rc == 0, second.stderr[-2000:]
    assert set(read_first) | set(_ids(second)) == {r["id"] for r in want}  # nothing lost
    assert len(_ids(second)) == len(set(_ids(second))) < BIG  # the completed parts were not read again
