"""The offline Airbyte acceptance suite: PROTOCOL.md's twenty-point checklist, per target.

Targets are the demo API of acceptance-test-config.yml (its files: configured catalog, invalid
config, expected records, abnormal state) and every built-in REST connector against its mock.
Each test checks one point on runs made once per target (see acceptance/session.py). Points that
do not depend on the API (generic spec, usage errors, broken YAML) are in test_airbyte_protocol.py;
point 20 (metadata, Dockerfile, acceptance config) in unit_tests/test_packaging_airbyte_files.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from integration_tests.acceptance import checks
from integration_tests.acceptance.runner import AirbyteRun
from integration_tests.acceptance.session import Session, one
from integration_tests.acceptance.targets import all_targets

TARGETS = all_targets()


@pytest.fixture(scope="module", params=TARGETS, ids=[t.name for t in TARGETS])
def session(request: pytest.FixtureRequest) -> Iterator[Session]:
    target = request.param
    if target.skip:
        pytest.skip(target.skip)
    if target.broken:
        pytest.fail(target.broken)
    target.start()
    try:
        session = Session(target)
        session.prefetch()
        yield session
    finally:
        target.stop()


def ok(run: AirbyteRun, rc: int = 0) -> None:
    assert run.rc == rc, run.describe()
    assert not run.problems, f"{run.problems}\n{run.describe()}"


def test_spec_one_valid_message(session: Session) -> None:
    """Points 1-3: one SPEC in the first 10 lines, draft 7, secrets marked, no forbidden keywords."""
    run = session.spec_run
    ok(run)
    head = [json.loads(line)["type"] for line in run.stdout.splitlines()[:10] if line.strip()]
    assert head.count("SPEC") == 1 and len(run.of_type("SPEC")) == 1, run.describe()
    problems = checks.spec_problems(run.of_type("SPEC")[0]["spec"])
    assert not problems, problems


def test_check_succeeds(session: Session) -> None:
    """Point 4: a good config gives one CONNECTION_STATUS SUCCEEDED."""
    run = session.check_run
    ok(run)
    statuses = run.of_type("CONNECTION_STATUS")
    assert len(statuses) == 1 and statuses[0]["connectionStatus"]["status"] == "SUCCEEDED", run.describe()


def test_check_bad_credentials_fails_cleanly(session: Session) -> None:
    """Point 4: the API's 401 becomes CONNECTION_STATUS FAILED with a message, exit 0."""
    run = session.bad_check_run
    ok(run)
    statuses = run.of_type("CONNECTION_STATUS")
    assert len(statuses) == 1, run.describe()
    assert statuses[0]["connectionStatus"]["status"] == "FAILED", run.describe()
    assert statuses[0]["connectionStatus"].get("message"), run.describe()


def test_discover_catalog(session: Session) -> None:
    """Point 6: one CATALOG; unique names, sync modes, no $ref, key and cursor paths exist."""
    run = session.discover_run
    ok(run)
    assert len(run.of_type("CATALOG")) == 1, run.describe()
    problems = checks.catalog_problems(session.catalog)
    assert not problems, problems


def test_configured_catalog_matches_discover(session: Session) -> None:
    """The acceptance catalog names discovered streams with modes and cursors discover allows."""
    for entry in session.configured_catalog["streams"]:
        found = session.streams.get(entry["stream"]["name"])
        assert found, f"configured stream {entry['stream']['name']} is not discovered"
        assert entry["sync_mode"] in found["supported_sync_modes"], entry["stream"]["name"]
        if entry["sync_mode"] == "incremental":
            assert entry.get("cursor_field", found["default_cursor_field"]) == found["default_cursor_field"]


def test_full_read_records_match_schema(session: Session) -> None:
    """Point 7: at least one record per configured stream, each valid against the discovered schema."""
    run = session.read1
    ok(run)
    empty = [n for n in session.configured_names() if not run.records(n)]
    assert not empty, f"streams with no records: {empty}\n{run.describe()}"
    problems = checks.record_problems(session.streams, run.records())
    assert not problems, problems


def test_expected_records_present(session: Session) -> None:
    """The demo's integration_tests/expected_records.jsonl lines are all read (any order);
    for a connector mock, the primary keys read are exactly those of the mock's expected_records."""
    path = session.target.files.get("expected_records")
    if path is not None:
        got = {(r["stream"], json.dumps(r["data"], sort_keys=True)) for r in session.read1.records()}
        expected = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        assert expected, f"{path} is empty"
        missing = [e for e in expected if (e["stream"], json.dumps(e["data"], sort_keys=True)) not in got]
        assert not missing, f"{len(missing)} expected records not read, first: {missing[:2]}"
        return
    compared = 0
    for name in session.configured_names():
        want = mock_keys(session, name)
        if want is None:
            continue
        pk = session.streams[name]["source_defined_primary_key"]
        got = {tuple(str(checks.record_cursor(r["data"], p)) for p in pk) for r in session.read1.records(name)}
        assert got == want, f"{name}: {len(want - got)} missing, {len(got - want)} unexpected, e.g. {sorted(want ^ got)[:3]}"
        compared += 1
    if not compared:
        pytest.skip("the mock's expected records carry no primary keys to compare")


def mock_keys(session: Session, stream: str) -> set[tuple[str, ...]] | None:
    """Primary keys of the records the mock says a full read returns (None: nothing to compare)."""
    pk = session.streams[stream].get("source_defined_primary_key")
    if not pk or session.target.mock is None:
        return None
    try:
        expected = session.target.mock.expected_records(stream)
    except Exception:  # a stream the mock cannot predict (e.g. one made from several endpoints)
        return None
    keys = {tuple(checks.record_cursor(r, p) for p in pk) for r in expected}
    if not keys or any(None in k for k in keys):
        return None
    return {tuple(map(str, k)) for k in keys}


def test_subset_catalog_only_configured_streams(session: Session) -> None:
    """Point 8: a one-stream catalog yields records of that stream only."""
    run = session.subset_run
    ok(run)
    streams = {r["stream"] for r in run.records()}
    assert streams == {session.subset_stream}, f"{streams}\n{run.describe()}"


def test_stream_statuses(session: Session) -> None:
    """Point 9: STARTED, RUNNING (with the first record), COMPLETE for every configured stream."""
    run = session.read1
    for name in session.configured_names():
        statuses = run.statuses(name)
        assert statuses == ["STARTED", "RUNNING", "COMPLETE"], f"{name}: {statuses}"
    first_record, running = {}, {}
    for i, msg in enumerate(run.messages):
        if msg["type"] == "RECORD":
            first_record.setdefault(msg["record"]["stream"], i)
        elif msg["type"] == "TRACE" and msg["trace"]["type"] == "STREAM_STATUS":
            status = msg["trace"]["stream_status"]
            if status["status"] == "RUNNING":
                running[status["stream_descriptor"]["name"]] = i
    late = [n for n, i in first_record.items() if running.get(n, 10**9) > i]
    assert not late, f"records before the RUNNING status: {late}"


def state_count_problems(run: AirbyteRun) -> list[str]:
    """Every STATE is STREAM with a stream_state and recordCount = records since that stream's last STATE."""
    problems: list[str] = []
    since: dict[str, int] = {}
    for msg in run.messages:
        if msg["type"] == "RECORD":
            since[msg["record"]["stream"]] = since.get(msg["record"]["stream"], 0) + 1
        if msg["type"] != "STATE":
            continue
        state = msg["state"]
        if state.get("type") != "STREAM" or not isinstance(state.get("stream", {}).get("stream_state"), dict):
            problems.append(f"not a STREAM state with stream_state: {state}")
            continue
        name = state["stream"]["stream_descriptor"]["name"]
        count = (state.get("sourceStats") or {}).get("recordCount")
        if not isinstance(count, float) or count != since.get(name, 0):
            problems.append(f"{name}: recordCount {count!r}, records since last state {since.get(name, 0)}")
        since[name] = 0
    return problems


def test_state_messages(session: Session) -> None:
    """Point 10 and 19: STREAM states only, float recordCount that adds up, one per stream at least."""
    run = session.read1
    problems = state_count_problems(run)
    assert not problems, problems
    with_state = {s["stream"]["stream_descriptor"]["name"] for s in run.states()}
    missing = set(session.configured_names()) - with_state
    assert not missing, f"configured streams without a STATE: {missing}"


def test_incremental_from_saved_state(session: Session) -> None:
    """Point 11: read 2 from read 1's STATE array returns nothing older than each saved cursor."""
    run = session.read2
    ok(run)
    assert not state_count_problems(run)
    saved = {s["stream"]["stream_descriptor"]["name"]: s for s in session.read1.final_state_array()}
    checked = 0
    for name in session.configured_names():
        cursor = session.cursor_of(name)
        if not cursor or name not in saved:
            continue
        bounds = checks.state_cursors(saved[name]["stream"]["stream_state"], cursor)
        assert bounds, f"{name}: no cursor value in the saved state {saved[name]}"
        low = min(checks.as_comparable(b) for b in bounds)
        older = [r["data"] for r in run.records(name) if checks.as_comparable(checks.record_cursor(r["data"], cursor)) < low]
        assert not older, f"{name}: {len(older)} records older than the saved cursor {bounds}: {older[:2]}"
        checked += 1
    if not checked:
        pytest.skip("no incremental stream in the configured catalog")


def test_future_state_reads_nothing(session: Session) -> None:
    """Point 12: a state far in the future gives zero records and at least one STATE."""
    if not session.incremental_catalog()["streams"]:
        pytest.skip("no incremental stream in the configured catalog")
    run = session.future_run
    ok(run)
    assert not run.records(), f"{len(run.records())} records, first {run.records()[:1]}"
    assert run.states(), run.describe()


def test_lenient_inputs(session: Session) -> None:
    """Point 13: no --state (read1); a state without sourceStats and unknown keys in config, catalog
    and state (the future-state run) are accepted."""
    ok(session.read1)
    if not session.incremental_catalog()["streams"]:
        pytest.skip("no incremental stream in the configured catalog")
    ok(session.future_run)


def test_emitted_at_never_goes_back(session: Session) -> None:
    """Point 14: every emitted_at of a later full-refresh read is >= every one of the earlier read."""
    first, second = session.read1, session.subset_run
    ok(second)
    assert second.records(), second.describe()
    assert min(r["emitted_at"] for r in second.records()) >= max(r["emitted_at"] for r in first.records())


def test_unknown_stream_in_catalog(session: Session) -> None:
    """Point 15: a catalog naming a stream that does not exist: TRACE ERROR, non-zero exit."""
    run = session.unknown_stream_run
    assert run.rc != 0, run.describe()
    assert not run.problems, run.problems
    assert any("no_such_stream_xyz" in e["message"] for e in run.errors()), run.describe()


def test_failing_stream_is_incomplete_and_others_go_on(session: Session) -> None:
    """Point 16: HTTP 503s after retries fail one stream; the others complete; exit 1; states kept."""
    run, failing = session.fault_run, session.subset_stream
    assert session.target.gate and session.target.gate.failed > 1, "the fault was never hit (or not retried)"
    ok(run, rc=1)
    assert run.statuses(failing)[-1:] == ["INCOMPLETE"], run.statuses(failing)
    errors = [e for e in run.errors() if (e.get("stream_descriptor") or {}).get("name") == failing]
    assert errors, f"no TRACE ERROR with stream_descriptor {failing}\n{run.describe()}"
    # A stream sharing the failed endpoint (report variants of one URL) may fail too, of the same
    # injected 503; every other stream completes with its STATE.
    hit = {(e.get("stream_descriptor") or {}).get("name") for e in run.errors() if "503" in e["message"]}
    others = [n for n in session.fault_names if n != failing and n not in hit]
    assert others, f"no stream left to go on: {session.fault_names}"
    statuses = {n: run.statuses(n) for n in others}
    assert all(s[-1:] == ["COMPLETE"] for s in statuses.values()), f"{statuses}\n{run.describe()}"
    with_state = {s["stream"]["stream_descriptor"]["name"] for s in run.states()}
    assert set(others) <= with_state, f"completed streams without a STATE: {set(others) - with_state}"
    assert not state_count_problems(run)
    # States of the failing stream emitted before its error stand: a STATE after the error may only
    # repeat the last one before it (never roll the cursor back or forward past what was delivered).
    # (A stream read newest first may rightly emit none before it completes.)
    before, after, seen_error = [], [], False
    for m in run.messages:
        if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR":
            seen_error = True
        elif m["type"] == "STATE" and m["state"]["stream"]["stream_descriptor"]["name"] == failing:
            (after if seen_error else before).append(m["state"]["stream"]["stream_state"])
    assert all(a == before[-1] for a in after) if before else not after, (before[-1:], after)


def test_no_secret_in_any_output(session: Session) -> None:
    """Point 18: no secret value of any config used appears on stdout or stderr of any run."""
    _ = session.fault_run, session.bad_check_run
    spec = one(session.spec_run, "SPEC")["spec"]
    names = checks.secret_fields(spec)
    secrets = {str(c[n]) for c in (session.config, session.bad_config) for n in names if c.get(n)}
    secrets = {s for s in secrets if len(s) >= 4}
    for run in session.runs:
        if run.args[:1] == ["spec"]:
            continue  # spec never sees a config (and the demo documents its public token there)
        for secret in secrets:
            assert secret not in run.stdout and secret not in run.stderr, f"secret leaked by {run.args}"


def test_quiet_and_no_legacy_state(session: Session) -> None:
    """Points 2, 3, 19: every line of every run valid, no LEGACY state, stderr < 64 KiB on a read."""
    assert len(session.read1.stderr.encode()) < 64 * 1024, session.read1.stderr[-2000:]
    for run in session.runs:
        assert not run.problems, f"{run.args}: {run.problems[:3]}"
        legacy = [s for s in run.states() if s.get("type") in (None, "LEGACY")]
        assert not legacy, f"{run.args}: LEGACY state {legacy[:1]}"
