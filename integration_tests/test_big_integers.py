"""Integers beyond 64 bits stay exact end to end: the same digits in NDJSON (stdout and files), a string
in Parquet, exact in the state file and in the request that resumes from it.

The mock ledger API answers with integers orjson alone would turn into floats (10**20 became ``1e20``)
or refuse to write: ids from 10**20 up (also the cursor), balances below -2**63, a nested 2**70, and
2**64-1 (the largest integer orjson keeps). ``accounts`` is the parent of ``entries``, so the ids also
travel through a partition (and the spool a shared parent read is written to).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from integration_tests.helpers import run_cli
from integration_tests.mocks.server import MockServer, Request, Response

BASE = 10**20
CONNECTOR = """
name: ledger
base_url: "{{ config.base_url }}"
streams:
  - name: accounts
    request: {path: /accounts, params: {limit: "2"}}
    decoder: {type: json, records_path: data}
    pagination: {type: cursor, cursor_param: after, cursor_path: next}
    primary_key: id
    cursor_field: id
    incremental: {request_param: since}
  - name: entries
    request: {path: "/accounts/{{ partition.account }}/entries"}
    decoder: {type: json, records_path: data}
    partition: {type: parent_stream, stream: accounts, field: account, parent_field: id}
    primary_key: id
"""


def account(i: int) -> dict[str, Any]:
    return {"id": BASE + i, "balance": -(2**63) - 1 - i, "limits": {"max": 2**70, "list": [BASE * 7]},
            "u64": 2**64 - 1, "small": i, "rate": 1.5, "code": "12345678901234567890123"}


ACCOUNTS = [account(i) for i in range(5)]


def ledger(req: Request) -> Response:
    if req.path == "/accounts":
        since = int(req.arg("since") or 0)
        rows = [a for a in ACCOUNTS if a["id"] >= since]
        start = int(req.arg("after") or 0)
        page = rows[start:start + 2]
        nxt = str(start + 2) if start + 2 < len(rows) else None
        return Response(body=json.dumps({"data": page, "next": nxt}), headers={"Content-Type": "application/json"})
    parent = int(req.path.split("/")[2])
    entries = [{"id": parent * 10 + k, "account": parent, "amount": -(10**25) - k} for k in range(2)]
    return Response(body=json.dumps({"data": entries}), headers={"Content-Type": "application/json"})


def expected_entries() -> list[dict[str, Any]]:
    return [{"id": a["id"] * 10 + k, "account": a["id"], "amount": -(10**25) - k} for a in ACCOUNTS for k in range(2)]


def _by_id(record: dict[str, Any]) -> int:
    return int(record["id"])


@pytest.fixture
def connector(tmp_path: Path) -> str:
    path = tmp_path / "ledger.yaml"
    path.write_text(CONNECTOR)
    return str(path)


def _read(connector: str, url: str, *extra: str):  # noqa: ANN202
    result = run_cli("read", "-c", connector, "--config-json", json.dumps({"base_url": url}), *extra)
    assert result.rc == 0, result.stderr[-2000:]
    return result


def test_stdout_keeps_the_digits_and_the_state_resumes_exactly(tmp_path, connector):
    state = tmp_path / "state.json"
    with MockServer(ledger) as srv:
        first = _read(connector, srv.url, "--state", str(state))
        assert "e+" not in first.stdout and "e20" not in first.stdout
        assert str(BASE) in first.stdout and str(-(2**63) - 1) in first.stdout
        assert first.records("accounts") == ACCOUNTS  # json.loads: exact Python ints
        assert sorted(first.records("entries"), key=_by_id) == expected_entries()  # partitions run concurrently
        assert '"cursor": 100000000000000000004' in state.read_text()

        srv.requests.clear()
        second = _read(connector, srv.url, "--state", str(state), "--streams", "accounts")
    assert [r.arg("since") for r in srv.requests] == [str(BASE + 4)]  # the exact cursor goes back out
    assert second.records("accounts") == ACCOUNTS[4:]


def test_pretty_output_keeps_the_digits(connector):
    with MockServer(ledger) as srv:
        result = _read(connector, srv.url, "--format", "pretty", "--streams", "accounts")
    assert "100000000000000000000" in result.stdout and "e+" not in result.stdout


def test_jsonl_files_keep_the_digits(tmp_path, connector):
    out = tmp_path / "lake"
    with MockServer(ledger) as srv:
        result = _read(connector, srv.url, "--format", "json", "--output", str(out))
    files = {s["stream"]: Path(s["output_file"]) for s in result.summary["streams"]}
    assert [json.loads(line) for line in files["accounts"].read_text().splitlines()] == ACCOUNTS
    entries = [json.loads(line) for line in files["entries"].read_text().splitlines()]
    assert sorted(entries, key=_by_id) == expected_entries()


def test_parquet_holds_big_integers_as_their_digits(tmp_path, connector):
    out = tmp_path / "lake"
    with MockServer(ledger) as srv:
        _read(connector, srv.url, "--format", "parquet", "--output", str(out))
    rel = duckdb.sql(f"SELECT id, balance, limits, u64, small FROM read_parquet('{out}/accounts/*/*.parquet') ORDER BY small")
    assert [t for t in rel.types] == ["VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "BIGINT"]
    rows = rel.fetchall()
    assert [(r[0], r[1], json.loads(r[2]), r[3]) for r in rows] == [
        (str(a["id"]), str(a["balance"]), a["limits"], str(a["u64"])) for a in ACCOUNTS
    ]
    amounts = duckdb.sql(f"SELECT amount FROM read_parquet('{out}/entries/*/*.parquet') ORDER BY id").fetchall()
    assert [a[0] for a in amounts] == [str(e["amount"]) for e in expected_entries()]
