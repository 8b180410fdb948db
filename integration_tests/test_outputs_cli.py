"""`solidafy-cdk read --format parquet|json --output DIR|s3://...` end to end, against a mock API.

The API is the small cursor-paginated events API of ``integration_tests/mocks/events.py``. A sync
killed mid-write and resumed from ``--state`` is in ``test_state_file_kill.py``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from integration_tests.emulators import azurite, create_bucket, gcs_emulator, moto_s3  # noqa: F401 - fixtures
from integration_tests.helpers import run_cli
from integration_tests.mocks.events import API_KEY, CONNECTOR, EventsApi
from integration_tests.mocks.server import MockServer


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


def test_second_incremental_run_same_day_adds_a_file(tmp_path, connector):
    out, state = tmp_path / "lake", tmp_path / "state.json"
    api = EventsApi(150)
    with MockServer(api) as srv:
        first = run_cli(*_args(connector, srv.url, "--format", "parquet", "--output", str(out), "--state", str(state)))
        api.total = 200
        second = run_cli(*_args(connector, srv.url, "--format", "parquet", "--output", str(out), "--state", str(state)))
    assert first.rc == 0 and second.rc == 0
    one = first.summary["streams"][0]["output_file"]
    two = second.summary["streams"][0]["output_file"]
    assert one != two and Path(one).exists() and Path(two).exists()  # appended: the first file stays
    assert _query(f"SELECT count(*) FROM read_parquet('{out}/*/dt=*/*.parquet')") == [(150 + 51,)]


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


@pytest.mark.parametrize(("output", "instead"), [("s3a://lake/x", "s3"), ("abfss://c@acct.dfs.core.windows.net/x", "az")])
def test_hadoop_schemes_are_refused_in_the_command_lines_words(tmp_path, connector, output, instead):
    with MockServer(EventsApi(1)) as srv:
        result = run_cli(*_args(connector, srv.url, "--format", "parquet", "--output", output))
    scheme = output.split(":")[0]
    assert result.rc == 2 and result.stdout == ""
    assert result.stderr.startswith(f"error: --output {output}: unknown scheme '{scheme}://'; did you mean {instead}://?")


def test_a_sink_error_names_the_flag(tmp_path, connector):
    with MockServer(EventsApi(1)) as srv:
        result = run_cli(*_args(connector, srv.url, "--format", "parquet", "--output", str(tmp_path / "o"),
                                "--compression", "lzma"))
    assert result.rc == 2 and result.stderr.startswith("error: --compression lzma: expected one of")


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
