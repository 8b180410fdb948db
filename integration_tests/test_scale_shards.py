"""plan / read --plan --shard / state merge through the real CLI against a mock API (docs/scale-out.md).

What a single-process read gives (records by primary key, final state) is the reference: N shards
as separate processes, then a merge, give the same; a shard killed mid-unit and run again leaves no
duplicate; a merge before every unit is done does not advance a cursor.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from integration_tests.helpers import Result, cli_path, run_cli
from integration_tests.mocks.shards import CONNECTOR, ShardsApi, config

STREAMS = ("accounts", "account_notes", "region_events", "daily_events")
PK = "id"


@pytest.fixture
def api() -> Iterator[ShardsApi]:
    with ShardsApi() as server:
        yield server


@pytest.fixture
def connector(tmp_path: Path) -> str:
    path = tmp_path / "shards_mock.yaml"
    path.write_text(CONNECTOR)
    return str(path)


def wait_for(condition: Any, guard: float = 60.0) -> bool:
    """Wait for an event the test cannot be told of (a file a process publishes); ``guard`` only stops a hang."""
    deadline = time.monotonic() + guard
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _today() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT00:00:00Z")


def plan(connector: str, api: ShardsApi, out: Path, *extra: str, state: Path | None = None) -> dict[str, Any]:
    args = ["plan", "-c", connector, "--config-json", json.dumps(config(api.url)), "-o", str(out), *extra]
    if state is not None:
        args += ["--state", str(state)]
    res = run_cli(*args)
    assert res.rc == 0, res.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    return {"header": lines[0], "units": lines[1:]}


def read_shard(connector: str, api: ShardsApi, plan_file: Path, out: Path, shard: str, *extra: str,
               env: dict[str, str] | None = None) -> Result:
    return run_cli("read", "-c", connector, "--config-json", json.dumps(config(api.url)), "--plan", str(plan_file),
                   "--shard" if "/" in shard or shard == "auto" else "--units", shard, "-o", str(out), *extra, env=env)


def merge(plan_file: Path, out: Path, state: Path) -> Result:
    return run_cli("state", "merge", "--plan", str(plan_file), "-o", str(out), "--state", str(state))


def file_records(out: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Records of the data files by stream and primary key; a key seen twice fails."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for stream in STREAMS:
        rows: dict[str, dict[str, Any]] = {}
        for f in sorted((out / stream).glob("dt=*/data*.jsonl")):
            for line in f.read_text().splitlines():
                rec = json.loads(line)
                assert rec[PK] not in rows, f"{stream}: {rec[PK]} twice ({f.name})"
                rows[rec[PK]] = rec
        found[stream] = rows
    return found


def single_process(connector: str, api: ShardsApi, tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    res = run_cli("read", "-c", connector, "--config-json", json.dumps(config(api.url)))
    assert res.rc == 0, res.stderr
    records = {s: {r[PK]: r for r in res.records(s)} for s in STREAMS}
    state = res.of_type("STATE")[-1]["state"]["streams"]
    return records, state


def test_plan_is_deterministic_and_bundles(api: ShardsApi, connector: str, tmp_path: Path) -> None:
    a = plan(connector, api, tmp_path / "a.jsonl", "--max-units", "8", "--now", "2024-06-01T00:00:00Z")
    plan(connector, api, tmp_path / "b.jsonl", "--max-units", "8", "--now", "2024-06-01T00:00:00Z")
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    units = a["units"]
    assert 4 <= len(units) <= 8 and a["header"]["units"] == len(units)
    assert [u["unit_id"] for u in units] == [f"u{i:05d}" for i in range(len(units))]
    by_stream: dict[str, list[Any]] = {}
    for u in units:
        by_stream.setdefault(u["stream"], []).append(u)
    assert set(by_stream) == set(STREAMS)
    notes = [p["account_id"] for u in by_stream["account_notes"] for p in u["bounds"]["partitions"]]
    assert notes == sorted(f"acc_{i:04d}" for i in range(60))  # the parent read at plan time, bundled, in order
    days = [p["start"] for u in by_stream["daily_events"] for p in u["bounds"]["partitions"]]
    assert len(days) == 7 and days == sorted(days)
    regions = [p["region"] for u in by_stream["region_events"] for p in u["bounds"]["partitions"]]
    assert len(regions) == 6
    c = plan(connector, api, tmp_path / "c.jsonl", "--max-units", "8", "--now", "2024-06-02T00:00:00Z")
    assert c["header"]["run_id"] != a["header"]["run_id"]  # another day, another run


@pytest.mark.parametrize("shards", [1, 3])
def test_shards_give_the_records_and_state_of_one_process(api: ShardsApi, connector: str, tmp_path: Path,
                                                          shards: int) -> None:
    reference, reference_state = single_process(connector, api, tmp_path)
    out, plan_file, state = tmp_path / "out", tmp_path / "plan.jsonl", tmp_path / "state.json"
    # an earlier full sync of the same day: the plan run (from no state) replaces its files at merge
    assert run_cli("read", "-c", connector, "--config-json", json.dumps(config(api.url)), "-o", str(out)).rc == 0
    made = plan(connector, api, plan_file, "--max-units", "9", "--now", _today())
    seen: list[str] = []
    for i in range(shards):
        res = read_shard(connector, api, plan_file, out, f"{i}/{shards}")
        assert res.rc == 0, res.stderr
        seen += [m["unit"]["unit_id"] for m in res.of_type("UNIT")]
        assert res.summary["status"] == "SUCCEEDED"
    assert sorted(seen) == [u["unit_id"] for u in made["units"]]  # disjoint and complete
    res = merge(plan_file, out, state)
    assert res.rc == 0, res.stderr
    assert res.of_type("MERGE_SUMMARY")[0]["summary"]["complete"] is True
    assert file_records(out) == reference
    assert json.loads(state.read_text())["streams"] == reference_state
    again = merge(plan_file, out, state)  # every manifest merged a second time: the same state
    assert again.rc == 0 and json.loads(state.read_text())["streams"] == reference_state


def test_killed_shard_rerun_replaces_its_files(api: ShardsApi, connector: str, tmp_path: Path) -> None:
    reference, reference_state = single_process(connector, api, tmp_path)
    out, plan_file, state = tmp_path / "out", tmp_path / "plan.jsonl", tmp_path / "state.json"
    made = plan(connector, api, plan_file, "--max-units", "6", "--now", "2024-06-01T00:00:00Z")
    held = next(u for u in made["units"] if {"account_id": "acc_0031"} in u["bounds"].get("partitions", []))
    last = held["bounds"]["partitions"][-1]["account_id"]  # the others are read (and published) before it
    env = {**os.environ, "SOLIDAFY_PART_ROWS": "2", "SOLIDAFY_STATE_SAVE_SECS": "0"}
    api.hold(f"/accounts/{last}/notes")
    argv = [cli_path(), "read", "-c", connector, "--config-json", json.dumps(config(api.url)), "--plan",
            str(plan_file), "--units", held["unit_id"], "-o", str(out), "--concurrency", "1"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    notes_dir = out / "account_notes" / "dt=2024-06-01"
    try:
        assert api.arrived.wait(120), "the held request never came"
        assert wait_for(lambda: len(list(notes_dir.glob("data-*.jsonl"))) >= 2), "no part published before the kill"
        first_attempt = sorted(p.name for p in notes_dir.glob("data-*.jsonl"))
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(60)
        api.release()
    assert first_attempt, "no part was published before the kill"
    assert not (out / "_solidafy" / "runs" / made["header"]["run_id"] / f"{held['unit_id']}.json").exists()
    for i in range(2):  # the engine retries the shard; every unit of the plan then runs
        res = read_shard(connector, api, plan_file, out, f"{i}/2", env={"SOLIDAFY_PART_ROWS": "2"})
        assert res.rc == 0, res.stderr
    run_id, number = made["header"]["run_id"], int(held["unit_id"][1:])
    mine = f"data-{run_id}-{number:05d}"
    retried = sorted(p.name for p in notes_dir.glob(f"{mine}*.jsonl"))
    manifest = json.loads((out / "_solidafy" / "runs" / run_id / f"{held['unit_id']}.json").read_text())
    assert retried == sorted(Path(f).name for f in manifest["files"])  # nothing left of the first attempt
    assert set(first_attempt) <= set(retried)  # the same names, replaced
    assert not [p.name for p in notes_dir.iterdir() if p.name.startswith(".")]  # no temporary left
    assert merge(plan_file, out, state).rc == 0
    assert file_records(out) == reference  # no record twice, none missing
    assert json.loads(state.read_text())["streams"] == reference_state


def test_merge_before_every_unit_holds_the_cursor(api: ShardsApi, connector: str, tmp_path: Path) -> None:
    reference, reference_state = single_process(connector, api, tmp_path)
    out, plan_file, state = tmp_path / "out", tmp_path / "plan.jsonl", tmp_path / "state.json"
    made = plan(connector, api, plan_file, "--max-units", "8", "--now", "2024-06-01T00:00:00Z")
    notes = [u["unit_id"] for u in made["units"] if u["stream"] == "account_notes"]
    assert len(notes) >= 2
    res = read_shard(connector, api, plan_file, out, notes[0])
    assert res.rc == 0, res.stderr
    res = merge(plan_file, out, state)
    assert res.rc == 1  # not complete
    merged = json.loads(state.read_text())["streams"]
    assert "cursor" not in merged["account_notes"] and "parent" not in merged["account_notes"]
    assert merged["account_notes"]["partitions"]  # the finished unit's partitions are kept
    assert "accounts" not in merged  # a stream no unit of which ran keeps its (empty) state
    assert "WARN stream 'account_notes'" in res.stderr
    rest = [u["unit_id"] for u in made["units"] if u["unit_id"] != notes[0]]
    assert read_shard(connector, api, plan_file, out, ",".join(rest)).rc == 0
    assert merge(plan_file, out, state).rc == 0
    assert json.loads(state.read_text())["streams"] == reference_state
    assert file_records(out) == reference


def test_second_plan_continues_from_the_merged_state(api: ShardsApi, connector: str, tmp_path: Path) -> None:
    out, plan_file, state = tmp_path / "out", tmp_path / "plan.jsonl", tmp_path / "state.json"
    plan(connector, api, plan_file, "--max-units", "8", "--now", "2024-06-01T00:00:00Z")
    assert read_shard(connector, api, plan_file, out, "0/1").rc == 0
    assert merge(plan_file, out, state).rc == 0
    second = tmp_path / "plan2.jsonl"
    made = plan(connector, api, second, "--max-units", "8", "--now", "2024-06-01T00:00:00Z", state=state)
    notes = [p for u in made["units"] if u["stream"] == "account_notes" for p in u["bounds"]["partitions"]]
    assert notes == [{"account_id": "acc_0059"}]  # only the parent at the inclusive boundary
    before = len(api.server.requests)
    res = read_shard(connector, api, second, out, "0/1")
    assert res.rc == 0, res.stderr
    assert res.summary["total_records"] < 20
    assert len(api.server.requests) - before < 20
    stale = run_cli("state", "merge", "--plan", str(plan_file), "-o", str(out), "--state", str(state))
    assert stale.rc == 0  # the first run merged into this file: merging it again is allowed
    assert merge(second, out, state).rc == 0
    assert run_cli("state", "merge", "--plan", str(plan_file), "-o", str(out), "--state", str(state)).rc == 1


@pytest.mark.parametrize(("extra", "message"), [
    ([], "give --shard"),
    (["--shard", "0/2", "--state", "s.json"], "--state cannot be used with a plan"),
    (["--shard", "0/2", "--streams", "accounts"], "--streams cannot be used with a plan"),
    (["--shard", "2/2"], "0 <= index < count"),
    (["--shard", "auto"], "JOB_COMPLETION_INDEX"),
    (["--units", "u99999"], "no such unit"),
])
def test_read_plan_usage_errors(api: ShardsApi, connector: str, tmp_path: Path, extra: list[str], message: str) -> None:
    plan(connector, api, tmp_path / "plan.jsonl", "--max-units", "4")
    env = {k: v for k, v in os.environ.items() if k not in ("JOB_COMPLETION_INDEX", "CLOUD_RUN_TASK_INDEX",
                                                            "AWS_BATCH_JOB_ARRAY_INDEX")}
    res = run_cli("read", "-c", connector, "--config-json", json.dumps(config(api.url)), "--plan",
                  str(tmp_path / "plan.jsonl"), "-o", str(tmp_path / "out"), *extra, env=env)
    assert res.rc == 2 and message in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert not (tmp_path / "out" / "_solidafy").exists()


def test_plan_usage_errors(api: ShardsApi, connector: str, tmp_path: Path) -> None:
    cfg = ["-c", connector, "--config-json", json.dumps(config(api.url))]
    for extra, message in ((["--max-units", "0"], "--max-units"), (["--run-id", "Not Hex"], "--run-id"),
                           (["--now", "yesterday"], "--now"), (["--max-units", "2"], "at least 4 units")):
        res = run_cli("plan", *cfg, *extra)
        assert res.rc == 2 and message in res.stderr and "Traceback" not in res.stderr, (extra, res.stderr)
    missing = run_cli("read", *cfg, "--plan", str(tmp_path / "nope.jsonl"), "--shard", "0/1", "-o", str(tmp_path))
    assert missing.rc == 2 and "not found" in missing.stderr


def test_a_unit_reports_what_its_errors_rules_skipped(api: ShardsApi, tmp_path: Path) -> None:
    """A plan unit succeeds without a deleted account's notes (errors: ignore 404) and its UNIT result says so."""
    path = tmp_path / "skipping.yaml"
    path.write_text(CONNECTOR.replace(
        "    partition: {type: parent_stream, stream: accounts, parent_field: id, field: account_id}\n",
        "    partition: {type: parent_stream, stream: accounts, parent_field: id, field: account_id}\n"
        "    errors: {ignore: [404]}\n"))
    del api.notes["acc_0003"]  # listed, but its notes answer 404 "no such account"
    out, plan_file = tmp_path / "out", tmp_path / "plan.jsonl"
    plan(str(path), api, plan_file, "--max-units", "4", "--now", _today(), "--streams", "account_notes")
    res = read_shard(str(path), api, plan_file, out, "0/1")
    assert res.rc == 0, res.stderr
    units = [m["unit"] for m in res.of_type("UNIT") if m["unit"]["stream"] == "account_notes"]
    assert units and {u["status"] for u in units} == {"SUCCEEDED"}
    (skipped,) = [s for u in units for s in u.get("skipped", [])]
    assert skipped.startswith("stream 'account_notes': partition account_id=acc_0003 skipped: HTTP 404 ")
