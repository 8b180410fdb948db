"""A full-refresh stream synced twice on the same day replaces that day's files (the new ones complete
first, then the old ones go), locally and in S3, GCS and Azure; an incremental stream appends
(test_outputs_cli.py). ``make demo`` twice gives the same counts.

Full refresh, for the sink, is a stream read from scratch: no incoming state for it (or the catalog's
``full_refresh`` sync mode) and no ``--max-records`` (docs/outputs.md). The day is the UTC date a
sync opened the stream: two runs either side of midnight fill two days, each with one snapshot, and
the tests check that too rather than depend on the hour they run at.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from integration_tests.emulators import (  # noqa: F401
    azurite,
    create_bucket,
    gcs_emulator,
    moto_s3,
    object_names,
)
from integration_tests.helpers import run_cli
from integration_tests.mocks.events import CONNECTOR, EventsApi, config_json
from integration_tests.mocks.server import MockServer

DEMO_STREAMS = ("customers", "orders", "products", "customer_notes")


@pytest.fixture
def connector(tmp_path: Path) -> str:
    path = tmp_path / "events.yaml"
    path.write_text(CONNECTOR)
    return str(path)


def _read(connector: str, url: str, *extra: str, env: dict[str, str] | None = None):  # noqa: ANN202
    return run_cli("read", "--connector", connector, "--config-json", config_json(url), *extra, env=env)


def _count(glob: str, reader: str = "read_parquet") -> int:
    return duckdb.sql(f"SELECT count(*) FROM {reader}('{glob}')").fetchone()[0]


def test_demo_twice_gives_the_same_counts(tmp_path):
    out = tmp_path / "output"
    counts = []
    for _ in range(2):
        result = run_cli("demo", "--output", str(out), cwd=str(tmp_path), timeout=300)
        assert result.rc == 0, result.stdout + result.stderr
        counts.append({s: _count(f"{out}/{s}/dt=*/*.parquet") for s in DEMO_STREAMS})
    assert all(counts[0].values())
    days = sorted((out / "customers").iterdir())
    if len(days) == 1:  # the usual case: both runs on the same UTC day
        assert counts[1] == counts[0]
    for stream in DEMO_STREAMS:
        for day in (out / stream).iterdir():  # each day: one snapshot, one file
            assert len(list(day.glob("*.parquet"))) == 1, "the first run's file is gone"
            assert _count(f"{day}/*.parquet") == counts[0][stream]


@pytest.mark.parametrize(("fmt", "ext", "reader"), [("parquet", "parquet", "read_parquet"),
                                                    ("json", "jsonl", "read_json_auto")])
def test_full_refresh_twice_replaces_the_days_files(tmp_path, connector, fmt, ext, reader):
    out = tmp_path / "lake"
    api = EventsApi(150)
    with MockServer(api) as srv:
        first = _read(connector, srv.url, "--format", fmt, "--output", str(out))
        (out / "events" / "notes.txt").write_text("someone else's file")
        api.total = 120  # the API has fewer records now: a snapshot, not a union
        second = _read(connector, srv.url, "--format", fmt, "--output", str(out))
    assert first.rc == 0 and second.rc == 0, second.stderr
    old, new = (Path(r.summary["streams"][0]["output_file"]) for r in (first, second))
    assert old.exists() is (old.parent != new.parent)  # replaced, unless the runs were on two UTC days
    assert sorted(p.name for p in new.parent.iterdir()) == [new.name]
    assert (out / "events" / "notes.txt").exists()
    assert new.name.endswith(f".{ext}")
    assert _count(f"{new.parent}/*.{ext}", reader) == 120


@pytest.mark.parametrize("with_state", [False, True], ids=["no-state", "state-file"])
def test_a_failed_full_refresh_loses_nothing(tmp_path, connector, with_state):
    out, state = tmp_path / "lake", tmp_path / "state.json"
    env = {"SOLIDAFY_PART_ROWS": "300", "SOLIDAFY_ROW_GROUP_ROWS": "100"}
    api = EventsApi(1000)
    with MockServer(api) as srv:
        first = _read(connector, srv.url, "--format", "parquet", "--output", str(out), env=env)
        api.fail_at = 500
        extra = ("--state", str(state)) if with_state else ()
        second = _read(connector, srv.url, "--format", "parquet", "--output", str(out), *extra, env=env)
    assert first.rc == 0 and second.rc == 1
    counts = duckdb.sql(f"SELECT count(*), count(DISTINCT id) FROM read_parquet('{out}/*/dt=*/*.parquet')")
    if not with_state:  # nothing was checkpointed: the failed run left nothing, the earlier files stay
        assert counts.fetchone() == (1000, 1000)
        return
    # a state file makes checkpoints: the part published for the saved state stays beside the earlier
    # files (the reader sees rows 0-299 twice), and the next run resumes after it
    assert counts.fetchone() == (1300, 1000)
    assert json.loads(state.read_text()) == {"streams": {"events": {"cursor": 299}}}


@pytest.mark.parametrize(("scheme", "fixture"), [("s3", "moto_s3"), ("gs", "gcs_emulator"), ("az", "azurite")])
def test_full_refresh_twice_replaces_the_days_objects_in_the_cloud(request, scheme, fixture, connector):
    emulator = request.getfixturevalue(fixture)
    bucket = f"replace-{scheme}"
    read_object = create_bucket(emulator, bucket)
    blank = ("AWS_ENDPOINT", "AWS_ENDPOINT_URL_S3", "R2_ENDPOINT_URL", "GOOGLE_SERVICE_ACCOUNT",
             "GOOGLE_SERVICE_ACCOUNT_KEY", "AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT_KEY")
    env = {name: "" for name in blank} | emulator.env
    api = EventsApi(150)
    with MockServer(api) as srv:
        results = []
        for total in (150, 120):
            api.total = total
            results.append(_read(connector, srv.url, "--format", "parquet", "--output", f"{scheme}://{bucket}/raw",
                                 env=env))
    assert all(r.rc == 0 for r in results), results[-1].stderr
    new = results[1].summary["streams"][0]["output_file"].removeprefix(f"{scheme}://{bucket}/")
    assert object_names(emulator, bucket, new.rsplit("/", 1)[0] + "/") == [new]  # the day holds one snapshot
    table = pq.ParquetFile(io.BytesIO(read_object(new))).read()
    assert table.column("id").to_pylist() == [f"evt_{i}" for i in range(120)]
    assert results[1].summary["status"] == "SUCCEEDED"
