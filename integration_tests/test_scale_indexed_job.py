"""The Kubernetes Indexed Job of docs/scale-out.md, run the way the Job runs it, without Kubernetes:
N processes at once, each told its index by JOB_COMPLETION_INDEX, one killed mid-way and started
again with the same index (the Job controller's retry), then the merge step. Against the mock API
and the real PostgreSQL: records by primary key and the merged state are those of one process.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from integration_tests.helpers import cli_path, run_cli
from integration_tests.mocks.shards import CONNECTOR, ShardsApi, config
from integration_tests.test_db_support import psql, unique
from integration_tests.test_scale_shards import wait_for

SHARDS = 3
MANIFEST = Path(__file__).resolve().parent.parent / "docs" / "k8s" / "solidafy-indexed-job.yaml"


def job_command(job: str, **values: str) -> list[str]:
    """The container command line of ``job`` in the documented manifest, its $(VAR)s expanded as
    Kubernetes does, from the container's env with ``values`` in place of the example's."""
    import re

    import yaml

    docs = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d and d.get("kind") == "Job"]
    spec = next(d for d in docs if d["metadata"]["name"] == job)["spec"]
    container = spec["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value", "") for e in container.get("env", [])}
    env.update(values)
    if job == "solidafy-read":
        assert spec["completionMode"] == "Indexed" and spec["completions"] == int(env["SHARDS"]) or values
    expand = lambda text: re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], text)  # noqa: E731
    assert container["command"] == ["solidafy-cdk"]
    return [cli_path(), *(expand(a) for a in container["args"])]


def job_pod(out: Path, index: int, **values: str) -> subprocess.Popen[str]:
    """One pod of the read Job: the manifest's command line, its index in the environment."""
    env = {**os.environ, "JOB_COMPLETION_INDEX": str(index), "SOLIDAFY_PART_ROWS": "3"}
    argv = job_command("solidafy-read", LAKE=str(out / "lake"), SHARDS=str(SHARDS), **values)
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_job(out: Path, values: dict[str, str], victim: int, pause: Callable[[], None], blocked: Callable[[], bool],
            resume: Callable[[], None]) -> None:
    """Start every pod; kill ``victim`` once ``blocked()`` (it is mid-unit), resume, start it again."""
    pause()
    pods = {i: job_pod(out, i, **values) for i in range(SHARDS)}
    try:
        assert wait_for(blocked, guard=120), "the victim never reached its paused unit"
        pods[victim].kill()
        pods[victim].wait(60)
    finally:
        resume()
    for i, pod in pods.items():
        if i != victim:
            _, err = pod.communicate(timeout=300)
            assert pod.returncode == 0, err
    retry = job_pod(out, victim, **values)
    stdout, err = retry.communicate(timeout=300)
    assert retry.returncode == 0, err
    units = [json.loads(line)["unit"] for line in stdout.splitlines() if '"UNIT"' in line]
    assert [u["status"] for u in units].count("SKIPPED") == len(units) - 1  # finished units are not read again
    assert units[-1]["status"] == "SUCCEEDED"


def merged_state(out: Path) -> dict[str, Any]:
    argv = job_command("solidafy-merge", LAKE=str(out / "lake"))
    res = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    return json.loads((out / "lake" / "state.json").read_text())["streams"]


# --------------------------------------------------------------------------------------------- mock API


@pytest.fixture
def api() -> Iterator[ShardsApi]:
    with ShardsApi(accounts=90) as server:
        yield server


def lake_records(lake: Path, streams: list[str]) -> dict[str, dict[Any, Any]]:
    """The Parquet files the read Job wrote, by stream and primary key; a key seen twice fails."""
    import pyarrow.parquet as pq

    found: dict[str, dict[Any, Any]] = {}
    for stream in streams:
        rows: dict[Any, Any] = {}
        for f in sorted((lake / "data" / stream).glob("dt=*/data*.parquet")):
            for rec in pq.ParquetFile(f).read().to_pylist():
                assert rec["id"] not in rows, f"{stream}: {rec['id']} twice ({f.name})"
                rows[rec["id"]] = _same_instant(rec)
        found[stream] = rows
    return found


def test_indexed_job_against_the_mock_api(api: ShardsApi, tmp_path: Path) -> None:
    yaml = tmp_path / "shards.yaml"
    yaml.write_text(CONNECTOR)
    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / "config.json").write_text(json.dumps(config(api.url)))
    single = run_cli("read", "-c", str(yaml), "-C", str(lake / "config.json"))
    streams = ["accounts", "account_notes", "region_events", "daily_events"]
    reference = {s: {r["id"]: _same_instant(r) for r in single.records(s)} for s in streams}
    values = {"CONNECTOR": str(yaml), "SHARDS": str(SHARDS), "MAX_UNITS": "9", "LAKE": str(lake)}
    planned = subprocess.run(job_command("solidafy-plan", **values), capture_output=True, text=True, timeout=300)
    assert planned.returncode == 0, planned.stderr
    from source_solidafy.scale.api import load_plan
    from source_solidafy.scale.units import shard_units

    plan = load_plan(str(lake / "plan.jsonl"))
    assert plan.parallel_shards == SHARDS
    victim = 1
    notes = [u for u in shard_units(plan.units, victim, SHARDS) if u.stream == "account_notes"]
    assert notes, "the victim shard reads some account_notes"
    held = notes[-1].bounds["partitions"][-1]["account_id"]
    run_job(tmp_path, {"CONNECTOR": str(yaml)}, victim, lambda: api.hold(f"/accounts/{held}/notes"),
            lambda: api.arrived.is_set(), api.release)
    assert lake_records(lake, streams) == reference
    assert merged_state(tmp_path) == single.of_type("STATE")[-1]["state"]["streams"]


# ------------------------------------------------------------------------------------------- PostgreSQL

TABLES = ("t_a", "t_b", "t_c", "t_d")


@pytest.fixture(scope="module")
def pg() -> Iterator[str]:
    db = unique("solidafy_shards_pg")
    psql(f'DROP DATABASE IF EXISTS "{db}"; CREATE DATABASE "{db}";')
    sql = "".join(
        f"CREATE TABLE {t} (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, note text);"
        f"INSERT INTO {t} SELECT g, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute', "
        f"'{t} row ' || g FROM generate_series(1, {500 * (k + 1)}) g;"
        for k, t in enumerate(TABLES))
    try:
        psql(sql, database=db)
        yield db
    finally:
        psql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE);')


def _same_instant(rec: dict[str, Any]) -> dict[str, Any]:
    """Files write timestamps as ``+00:00``, stdout as ``.000000Z`` (docs/outputs.md#types): compare instants."""
    from datetime import datetime

    value = rec["updated_at"]
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return {**rec, "updated_at": value}


class TableLock:
    """A transaction holding ACCESS EXCLUSIVE on a table: readers wait in PostgreSQL until it ends."""

    def __init__(self, db: str, table: str) -> None:
        self.db, self.table, self.proc = db, table, None

    def take(self) -> None:
        self.proc = subprocess.Popen(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", self.db, "-q", "-X"],
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     text=True)
        self.proc.stdin.write(f"BEGIN; LOCK TABLE {self.table} IN ACCESS EXCLUSIVE MODE; SELECT 1;\n")
        self.proc.stdin.flush()
        assert wait_for(lambda: self.granted(), guard=60)

    def granted(self) -> bool:
        return psql(f"SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    f"WHERE c.relname = '{self.table}' AND l.mode = 'AccessExclusiveLock' AND l.granted",
                    database=self.db).strip() == "1"

    def waited_on(self) -> bool:
        return psql(f"SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    f"WHERE c.relname = '{self.table}' AND NOT l.granted", database=self.db).strip() != "0"

    def release(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.write("ROLLBACK;\n\\q\n")
            self.proc.stdin.close()
            self.proc.wait(60)


def test_indexed_job_against_postgres(pg: str, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / "config.json").write_text(json.dumps({"connection_string": f"postgresql://postgres@127.0.0.1:5432/{pg}"}))
    streams = [f"public.{t}" for t in TABLES]
    cursors = [a for t in TABLES for a in ("--cursor-field", f"public.{t}=updated_at")]
    args = ["-c", "postgres", "-C", str(lake / "config.json"), "--streams", ",".join(streams), *cursors]
    single = run_cli("read", *args)
    assert single.rc == 0, single.stderr
    reference = {s: {r["id"]: _same_instant(r) for r in single.records(s)} for s in streams}
    assert run_cli("plan", *args, "-o", str(lake / "plan.jsonl")).rc == 0
    from source_solidafy.scale.api import load_plan
    from source_solidafy.scale.units import shard_units

    plan = load_plan(str(lake / "plan.jsonl"))
    victim = next(i for i in range(SHARDS) if len(shard_units(plan.units, i, SHARDS)) >= 2)
    second = shard_units(plan.units, victim, SHARDS)[1].stream.split(".")[1]  # its first unit finishes first
    lock = TableLock(pg, second)
    run_job(tmp_path, {"CONNECTOR": "postgres"}, victim, lock.take, lock.waited_on, lock.release)
    assert lake_records(lake, streams) == reference
    assert merged_state(tmp_path) == single.of_type("STATE")[-1]["state"]["streams"]
