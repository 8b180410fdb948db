"""``--state FILE`` is rewritten at checkpoints while the sync runs: a CLI run killed with SIGKILL half-way
resumes from its last saved checkpoint, and the rerun asks the API only for what was missing.

The events API (``integration_tests/mocks/events.py``) holds the page that starts at record 1400 until
the test has killed the CLI, so where the sync stands at the kill is known exactly; the test waits for
events (the gate reached, the state file written, a temporary part on disk), never for a time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import duckdb

from integration_tests.helpers import cli_path, run_cli
from integration_tests.mocks.events import CONNECTOR, EventsApi, config_json, wait_until
from integration_tests.mocks.server import MockServer

TOTAL, GATE, PAGE = 2000, 1400, 100


def _argv(connector: Path, url: str, *extra: str) -> list[str]:
    return ["read", "--connector", str(connector), "--config-json", config_json(url), *extra]


def _cursor(state: Path) -> int | None:
    try:
        return json.loads(state.read_text())["streams"]["events"]["cursor"]
    except (OSError, ValueError, KeyError):
        return None


def _kill_at_gate(api: EventsApi, argv: list[str], stdout: Path, env: dict[str, str], *ready) -> None:  # noqa: ANN002
    """Start the CLI, wait until it blocks on the gated page and ``ready`` holds, then SIGKILL it."""
    with stdout.open("wb") as out:
        proc = subprocess.Popen([cli_path(), *argv], stdout=out, stderr=subprocess.DEVNULL,
                                env={**os.environ, **env})
        try:
            wait_until(api.gate_reached.is_set, "the request for the gated page")
            for predicate, what in ready:
                wait_until(predicate, what)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=120)
        finally:
            api.release.set()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == -signal.SIGKILL


def _pages_from(cursor: int) -> int:
    return -(-(TOTAL - cursor) // PAGE)  # the boundary record comes again (at-least-once)


def test_killed_stdout_sync_resumes_from_its_last_saved_checkpoint(tmp_path):
    connector, state, printed = tmp_path / "events.yaml", tmp_path / "state.json", tmp_path / "out.ndjson"
    connector.write_text(CONNECTOR)
    api = EventsApi(TOTAL)
    api.gate = GATE
    with MockServer(api) as srv:
        # the default policy: the first checkpoint is saved at once, later ones at most once a second
        _kill_at_gate(api, _argv(connector, srv.url, "--state", str(state)), printed, {},
                      (lambda: _cursor(state) is not None, "the first checkpoint in the state file"))
        cursor = _cursor(state)
        assert cursor is not None and PAGE - 1 <= cursor < GATE
        lines = [json.loads(line) for line in printed.read_bytes().split(b"\n")[:-1]]  # complete lines
        seen = {m["record"]["data"]["updated_at"] for m in lines if m["type"] == "RECORD"}
        assert seen >= set(range(cursor + 1)), "the saved cursor covers only records already printed"

        srv.requests.clear()
        api.gate = None
        rerun = run_cli(*_argv(connector, srv.url, "--state", str(state)))
    assert rerun.rc == 0, rerun.stderr
    asked = [r for r in srv.requests if r.path == "/events"]
    assert len(asked) == _pages_from(cursor)  # only what was missing, not all 20 pages again
    assert asked[0].arg("updated_since") == str(cursor)
    assert rerun.records("events") == [api.record(i) for i in range(cursor, TOTAL)]
    assert _cursor(state) == TOTAL - 1


def test_sigkill_mid_write_then_rerun_with_state(tmp_path):
    connector, state, out = tmp_path / "events.yaml", tmp_path / "state.json", tmp_path / "lake"
    connector.write_text(CONNECTOR)
    env = {"SOLIDAFY_ROW_GROUP_ROWS": "100", "SOLIDAFY_PART_ROWS": "300", "SOLIDAFY_STATE_SAVE_SECS": "0"}
    parquet = ("--format", "parquet", "--output", str(out), "--state", str(state))
    api = EventsApi(TOTAL)
    with MockServer(api) as srv:
        first = run_cli(*_argv(connector, srv.url, *parquet, "--max-records", "500"), env=env)
        assert first.rc == 0, first.stderr
        assert _cursor(state) == 499

        # From 499 the killed run publishes a part per 300 rows (checkpoints 798, 1098, 1398) and
        # writes the page 1399-1498 into the open part's temporary before it blocks on 1499.
        api.gate = GATE
        _kill_at_gate(api, _argv(connector, srv.url, *parquet), tmp_path / "killed.ndjson", env,
                      (lambda: _cursor(state) == 1398, "the checkpoint at 1398 in the state file"),
                      (lambda: list(out.rglob(".*.tmp")), "the open part's temporary file"))
        assert json.loads(state.read_text()) == {"streams": {"events": {"cursor": 1398}}}
        glob = f"{out}/*/dt=*/*.parquet"
        for f in out.rglob("*.parquet"):  # only complete files at final names
            assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{f}')").fetchone()[0] > 0
        published = duckdb.sql(f"SELECT count(*), count(DISTINCT updated_at), max(updated_at) "
                               f"FROM read_parquet('{glob}')").fetchone()
        assert published == (500 + 900, 1399, 1398)  # exactly what the saved state covers

        srv.requests.clear()
        api.gate = None
        rerun = run_cli(*_argv(connector, srv.url, *parquet), env=env)
    assert rerun.rc == 0, rerun.stderr
    assert len([r for r in srv.requests if r.path == "/events"]) == _pages_from(1398)
    assert not list(out.rglob(".*.tmp"))  # the killed run's temporary was cleaned up
    ids = duckdb.sql(f"SELECT DISTINCT updated_at FROM read_parquet('{glob}') ORDER BY 1").fetchall()
    assert [i[0] for i in ids] == list(range(TOTAL))  # nothing lost (the boundary records repeat)
    assert _cursor(state) == TOTAL - 1
