"""The API's rate limit, learnt from its headers, keeps a concurrent sync under it: no 429.

The mock (mocks/ratelimited.py) enforces a real budget per fixed window and answers 429 past it;
it advertises the budget on every response in one header family. The CLI reads, as a subprocess,
three streams at ``--concurrency 8``: a parent, its children (a partition per parent) and a list of
partitions, 2,000 requests in all, every one drawing on the host's one budget. Without the budget
(what the engine did before) the same sync meets hundreds of 429s.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.ratelimited import FAMILIES, LimitedApi, Pool
from integration_tests.mocks.server import MockServer

PAGE = "decoder: {type: json, records_path: data}\n    pagination: {type: cursor, cursor_param: cursor, cursor_path: next}"


def _connector(tmp_path: Path, regions: int | list[str], teams: bool = True, pools: str = "") -> str:
    values = ", ".join(regions if isinstance(regions, list) else [f"r{i}" for i in range(regions)])
    text = f"""
name: limited
base_url: http://127.0.0.1:9
http: {{max_retries: 2, timeout_secs: 30{pools}}}
streams:
  - name: events
    request: {{path: "/items/{{{{ partition.region }}}}"}}
    partition: {{type: list, field: region, values: [{values}]}}
    {PAGE}
    primary_key: id
"""
    if teams:
        text += f"""
  - name: teams
    request: {{path: /teams}}
    {PAGE}
    primary_key: id
  - name: members
    request: {{path: "/items/{{{{ partition.team }}}}"}}
    partition: {{type: parent_stream, stream: teams, parent_field: id, field: team}}
    {PAGE}
    primary_key: id
"""
    path = tmp_path / "limited.yaml"
    path.write_text(text)
    return str(path)


def _read(connector: str, url: str, *extra: str) -> Result:
    return run_cli("read", "-c", connector, "--config-json", json.dumps({"base_url": url}), "--concurrency", "8",
                   *extra, timeout=300)


def _http(res: Result) -> dict[str, dict[str, Any]]:
    assert res.rc == 0, res.stdout[-3000:] + res.stderr[-2000:]
    return {s["stream"]: s["http"] for s in res.summary["streams"]}


def test_a_concurrent_sync_of_2000_requests_stays_under_the_advertised_budget(tmp_path: Path) -> None:
    """100 requests per 0.5 s window; teams (20 pages) -> members (100 x 10 pages) + events (98 x 10)."""
    api = LimitedApi([Pool("", 100, 0.5)], "ietf", pages=10, teams=100, decimal_reset=True)
    with MockServer(api) as srv:
        res = _read(_connector(tmp_path, regions=98), srv.url)
    http = _http(res)
    assert api.rejected == 0, f"{api.rejected} requests got a 429"
    assert sum(h["requests"] for h in http.values()) == api.served[""] == 2000
    assert {name: h["retries"] for name, h in http.items()} == {"events": 0, "teams": 0, "members": 0}
    assert sum(h["rate_limit_waits"] for h in http.values()) > 0  # the budget was what bounded the sync
    assert len(res.records("members")) == 1000 and len(res.records("events")) == 980


@pytest.mark.parametrize("family", FAMILIES)
def test_each_header_family_keeps_the_sync_under_the_budget(tmp_path: Path, family: str) -> None:
    """30 requests per 1 s window (whole seconds, as real APIs send them), 60 requests."""
    api = LimitedApi([Pool("", 30, 1.0)], family, pages=10)
    with MockServer(api) as srv:
        res = _read(_connector(tmp_path, regions=6, teams=False), srv.url)
    http = _http(res)["events"]
    assert api.rejected == 0, f"{family}: {api.rejected} requests got a 429"
    assert http["requests"] == 60 and http["retries"] == 0 and http["rate_limit_waits"] > 0, http
    assert http["rate_limit_wait_ms"] > 0


def test_a_declared_pool_has_a_budget_of_its_own(tmp_path: Path) -> None:
    """GitHub's search API: 10 a second under /search, 1,000 a minute for the rest of the host, in
    the same headers (no policy name): only the declared pool keeps search's budget from slowing the
    other stream down, which then never waits."""
    api = LimitedApi([Pool("", 1000, 60.0), Pool("/items/search", 10, 1.0)], "github", pages=10)
    pools = ', rate_limit_pools: {search: ["/items/search*"]}'
    connector = _connector(tmp_path, ["search-a", "search-b", "search-c"], teams=False, pools=pools)
    text = Path(connector).read_text().replace("name: events", "name: search")
    Path(connector).write_text(text + text[text.index("  - name: search"):].replace(
        "name: search", "name: core").replace("search-a, search-b, search-c", "r0, r1, r2"))
    with MockServer(api) as srv:
        res = _read(connector, srv.url)
    http = _http(res)
    assert api.rejected == 0, f"{api.rejected} requests got a 429"
    assert api.served == {"": 30, "/items/search": 30}
    assert http["search"]["rate_limit_waits"] > 0 and http["core"]["rate_limit_waits"] == 0, http


def test_a_429_is_retried_and_counted_when_the_api_does_not_say_its_budget(tmp_path: Path) -> None:
    """No headers until the limit: the 429's Retry-After is the only word; the summary counts it."""
    api = LimitedApi([Pool("", 5, 1.0)], "ietf", pages=8)
    api._headers = lambda *a: {}  # type: ignore[method-assign]  # an API that says nothing until it refuses
    with MockServer(api) as srv:
        res = _read(_connector(tmp_path, regions=1, teams=False), srv.url)
    http = _http(res)["events"]
    assert api.rejected > 0 and http["retries"] == api.rejected and http["retry_wait_ms"] > 0, http
    assert http["requests"] == 8 + api.rejected and len(res.records("events")) == 8


def test_a_long_wait_is_said_before_it_starts_in_both_flavours(tmp_path: Path) -> None:
    """2 requests per 2 s window from the first request, 3 pages: a wait of about 2 s (a fresh API each run). The solidafy flavour logs each one
    as it starts; the Airbyte flavour's stream says RUNNING with the protocol's RATE_LIMITED reason
    and when the quota resets, and its last STREAM_STATUS carries the counts."""
    from airbyte_protocol.models import AirbyteMessage

    connector = _connector(tmp_path, regions=1, teams=False)
    api = LimitedApi([Pool("", 2, 2.0)], "ietf", pages=3, start_on_first=True)
    with MockServer(api) as srv:
        res = _read(connector, srv.url)
    api = LimitedApi([Pool("", 2, 2.0)], "ietf", pages=3, start_on_first=True)
    with MockServer(api) as srv:
        config, catalog = tmp_path / "config.json", tmp_path / "catalog.json"
        config.write_text(json.dumps({"connector": connector, "base_url": srv.url}))
        catalog.write_text(json.dumps({"streams": [{"stream": {"name": "events", "json_schema": {},
                                                               "supported_sync_modes": ["full_refresh"]},
                                                    "sync_mode": "full_refresh", "destination_sync_mode": "append"}]}))
        airbyte = run_cli("read", "--config", str(config), "--catalog", str(catalog), script="source-solidafy")
    assert _http(res)["events"]["rate_limit_waits"] > 0
    said = [m["log"]["message"] for m in res.of_type("LOG") if "for the rate limit of 127.0.0.1" in m["log"]["message"]]
    assert said and said[0].startswith("waiting ") and " left, resets in " in said[0], said
    assert airbyte.rc == 0 and api.rejected == 0, airbyte.stderr[-2000:]
    for line in airbyte.stdout.splitlines():
        AirbyteMessage.model_validate_json(line)
    statuses = [m["trace"]["stream_status"] for m in airbyte.of_type("TRACE") if m["trace"]["type"] == "STREAM_STATUS"]
    limited = [s for s in statuses if s.get("reasons")]
    assert limited and limited[0]["status"] == "RUNNING", statuses
    reason = limited[0]["reasons"][0]
    assert reason["type"] == "RATE_LIMITED" and reason["rate_limited"]["quota_reset"] > 1_700_000_000_000
    names = [s["status"] for s in statuses]
    assert names[0] == "STARTED" and names[-1] == "COMPLETE" and set(names[1:-1]) == {"RUNNING"}, names
    assert statuses[-1]["http"]["rate_limit_waits"] > 0 and statuses[-1]["http"]["requests"] == 3
