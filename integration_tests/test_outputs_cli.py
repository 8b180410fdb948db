"""`solidafy-cdk read --format parquet|json --output DIR|s3://...` end to end, against a mock API.

The API is a small cursor-paginated events API defined by the YAML connector below: ``GET /events``
with ``limit``, ``cursor`` (next page) and ``updated_since`` (incremental), answering
``{"data": [...], "next_cursor": n|null}``; records come in ``updated_at`` order.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from integration_tests.emulators import azurite, create_bucket, gcs_emulator, moto_s3  # noqa: F401 - fixtures
from integration_tests.helpers import cli_path, run_cli
from integration_tests.mocks.server import MockServer, Request, Response

API_KEY = "sk_test_outputs_5f3a9c1e"
CONNECTOR = """
name: events
version: "1.0.0"
description: test events API
base_url: "{{ config.base_url }}"
auth:
  type: bearer
  token: "{{ config.api_key }}"
http:
  max_retries: 0
spec:
  - {name: api_key, type: string, required: true, secret: true}
  - {name: base_url, type: string, required: true}
streams:
  - name: events
    request:
      path: /events
      params: {limit: "100"}
    decoder: {type: json, records_path: data}
    pagination: {type: cursor, cursor_param: cursor, cursor_path: next_cursor}
    primary_key: id
    cursor_field: updated_at
    incremental: {request_param: updated_since}
    schema:
      type: object
      properties:
        id: {type: string}
        updated_at: {type: integer}
        amount: {type: ["null", number]}
        tags: {type: ["null", array]}
"""


class EventsApi:
    """Serves ``total`` events; ``gate`` (page cursor) blocks that page until released; ``fail_at`` answers 400."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.gate: int | None = None
        self.gate_reached = threading.Event()
        self.release = threading.Event()
        self.fail_at: int | None = None

    def record(self, i: int) -> dict:
        rec = {"id": f"evt_{i}", "updated_at": i, "amount": i * 1.25, "tags": ["a", str(i)]}
        if i % 10 == 0:
            rec["note"] = f"ünïcode {i}"
        return rec

    def __call__(self, req: Request) -> Response:
        if req.header("Authorization") != f"Bearer {API_KEY}":
            return Response.json({"error": "unauthorized"}, status=401)
        since = int(req.arg("updated_since") or 0)
        start = int(req.arg("cursor") or since)
        limit = int(req.arg("limit") or 100)
        if self.fail_at is not None and start >= self.fail_at:
            return Response.json({"error": "bad request"}, status=400)
        if self.gate is not None and start >= self.gate:
            self.gate_reached.set()
            self.release.wait(30)
        data = [self.record(i) for i in range(start, min(start + limit, self.total))]
        nxt = start + limit if start + limit < self.total else None
        return Response.json({"data": data, "next_cursor": nxt})


@pytest.fixture
def connector(tmp_path) -> str:
    path = tmp_path / "events.yaml"
    path.write_text(CONNECTOR)
    return str(path)


def _args(connector: str, url: str, *extra: str) -> list[str]:
    config = json.dumps({"api_key": API_KEY, "base_url": url})
    return ["read", "--connector", connector, "--config-json", config, *extra]


def _query(sql: str) -> list[tuple]:
    return duckdb.connect().execute(sql).fetchall()


def test_parquet_to_a_directory_reads_back_exactly(tmp_path, connector):
    out = tmp_path / "lake"
    api = EventsApi(1234)
    with MockServer(api) as srv:
        result = run_cli(*_args(connector, srv.url, "--format", "parquet", "--output", str(out)))
    assert result.rc == 0, result.stderr
    assert not result.of_type("RECORD")
    summary = result.summary
    assert summary["output"] == {"format": "parquet", "directory": str(out), "state_file": None}
    (stream,) = summary["streams"]
    assert Path(stream["output_file"]).name == "data.parquet"
    assert Path(stream["output_file"]).parent.name.startswith("dt=")
    rows = _query(
        f"SELECT id, updated_at, amount, tags, note, dt FROM read_parquet('{out}/*/dt=*/*.parquet', "
        "hive_partitioning=true) ORDER BY updated_at"
    )
    assert len(rows) == 1234
    expected = [api.record(i) for i in range(1234)]
    assert [(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows] == [
        (e["id"], e["updated_at"], e["amount"], e["tags"], e.get("note")) for e in expected
    ]
    types = dict(_query(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "
                        f"read_parquet('{out}/*/dt=*/*.parquet', hive_partitioning=true))"))
    assert types == {"id": "VARCHAR", "updated_at": "BIGINT", "amount": "DOUBLE", "tags": "VARCHAR",
                     "note": "VARCHAR", "dt": "DATE"}
    assert API_KEY not in result.stdout + result.stderr


def test_second_run_same_day_adds_a_file(tmp_path, connector):
    out = tmp_path / "lake"
    with MockServer(EventsApi(150)) as srv:
        first = run_cli(*_args(connector, srv.url, "--format", "parquet", "--output", str(out)))
        second = run_cli(*_args(connector, srv.url, "--format", "parquet", "--output", str(out)))
    assert first.rc == 0 and second.rc == 0
    one = first.summary["streams"][0]["output_file"]
    two = second.summary["streams"][0]["output_file"]
    assert one != two and Path(one).exists() and Path(two).exists()
    assert _query(f"SELECT count(*) FROM read_parquet('{out}/*/dt=*/*.parquet')") == [(300,)]


def test_json_with_output_writes_jsonl_files(tmp_path, connector):
    out = tmp_path / "lake"
    api = EventsApi(250)
    with MockServer(api) as srv:
        result = run_cli(*_args(connector, srv.url, "--format", "json", "--output", str(out)))
    assert result.rc == 0, result.stderr
    assert not result.of_type("RECORD")
    path = Path(result.summary["streams"][0]["output_file"])
    assert path.name == "data.jsonl"
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert lines == [api.record(i) for i in range(250)]


def test_failed_stream_leaves_no_file_and_no_temporary(tmp_path, connector):
    out = tmp_path / "lake"
    api = EventsApi(1000)
    api.fail_at = 500
    with MockServer(api) as srv:
        result = run_cli(*_args(connector, srv.url, "--format", "parquet", "--output", str(out)),
                         env={"SOLIDAFY_ROW_GROUP_ROWS": "100"})
    assert result.rc == 1
    assert result.summary["status"] == "FAILED"
    assert "output_file" not in result.summary["streams"][0]
    assert [p for p in out.rglob("*") if p.is_file()] == []


def test_bad_output_is_one_clear_usage_error(tmp_path, connector):
    with MockServer(EventsApi(1)) as srv:
        result = run_cli(*_args(connector, srv.url, "--format", "parquet", "--output", "ftp://x/y"))
    assert result.rc == 2
    assert "ftp://" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(("scheme", "fixture"), [("s3", "moto_s3"), ("gs", "gcs_emulator"), ("az", "azurite")])
def test_parquet_to_cloud_emulators(request, scheme, fixture, connector):
    emulator = request.getfixturevalue(fixture)
    read_object = create_bucket(emulator, "cli-lake")
    blank = ("AWS_ENDPOINT", "AWS_ENDPOINT_URL_S3", "R2_ENDPOINT_URL", "GOOGLE_SERVICE_ACCOUNT",
             "GOOGLE_SERVICE_ACCOUNT_KEY", "AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT_KEY")
    env = {name: "" for name in blank} | emulator.env
    api = EventsApi(300)
    with MockServer(api) as srv:
        result = run_cli(*_args(connector, srv.url, "--format", "parquet", "--output", f"{scheme}://cli-lake/raw/"),
                         env=env)
    assert result.rc == 0, result.stderr
    uri = result.summary["streams"][0]["output_file"]
    assert uri.startswith(f"{scheme}://cli-lake/raw/events/dt=") and uri.endswith(".parquet")
    assert result.summary["output"]["directory"] == f"{scheme}://cli-lake/raw"
    table = pq.ParquetFile(io.BytesIO(read_object(uri.removeprefix(f"{scheme}://cli-lake/")))).read()
    assert table.column("id").to_pylist() == [f"evt_{i}" for i in range(300)]
    text = result.stdout + result.stderr
    assert API_KEY not in text
    for secret in ("AWS_SECRET_ACCESS_KEY", "AZURE_STORAGE_CONNECTION_STRING"):
        if secret in emulator.env:
            assert emulator.env[secret] not in text


def _wait_for(predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def test_sigkill_mid_write_then_rerun_with_state(tmp_path, connector):
    out, state = tmp_path / "lake", tmp_path / "state.json"
    api = EventsApi(2000)
    env = {**os.environ, "SOLIDAFY_ROW_GROUP_ROWS": "100", "SOLIDAFY_PART_ROWS": "300"}
    with MockServer(api) as srv:
        first = run_cli(*_args(connector, srv.url, "--format", "parquet", "--output", str(out),
                               "--state", str(state), "--max-records", "500"))
        assert first.rc == 0, first.stderr
        saved = json.loads(state.read_text())

        api.gate = 1400  # the killed run blocks on this page, with row groups in its open part
        argv = [cli_path(), *_args(connector, srv.url, "--format", "parquet", "--output", str(out),
                                   "--state", str(state), "--state-per-page")]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
        try:
            assert api.gate_reached.wait(60)
            _wait_for(lambda: list(out.rglob(".*.tmp")))
            proc.send_signal(signal.SIGKILL)
            stdout, _ = proc.communicate(timeout=30)
        finally:
            api.release.set()
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == -signal.SIGKILL
        states = [json.loads(line) for line in stdout.splitlines() if '"STATE"' in line]
        cursors = [s["state"]["stream"]["stream_state"]["cursor"] for s in states]
        assert cursors, "the killed run emitted states before it was killed"
        for f in out.rglob("*.parquet"):  # only complete files at final names
            assert _query(f"SELECT count(*) FROM read_parquet('{f}')")[0][0] > 0
        covered = _query(f"SELECT max(updated_at) FROM read_parquet('{out}/*/dt=*/*.parquet')")[0][0]
        assert covered >= max(cursors)  # every emitted STATE is backed by published data
        assert json.loads(state.read_text()) == saved  # the state file moved only with a completed sync

        api.gate = None
        rerun = run_cli(*_args(connector, srv.url, "--format", "parquet", "--output", str(out),
                               "--state", str(state)), env=env)
    assert rerun.rc == 0, rerun.stderr
    assert not list(out.rglob(".*.tmp"))
    ids = _query(f"SELECT DISTINCT updated_at FROM read_parquet('{out}/*/dt=*/*.parquet') ORDER BY 1")
    assert [i[0] for i in ids] == list(range(2000))  # nothing lost (replays may repeat records)
    assert json.loads(state.read_text())["streams"]["events"]["cursor"] == 1999
