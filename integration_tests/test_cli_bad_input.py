"""Every user mistake: one clear line on stderr naming what and where, exit 2, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from integration_tests.helpers import Result, run_cli

GOOD = """name: bad
base_url: "http://127.0.0.1:9/v1"
streams:
  - name: items
    request: {path: /cursor}
"""

# file content, then the pieces the one stderr line must contain
YAML_CASES: dict[str, tuple[str, list[str]]] = {
    "malformed-yaml": ("name: x\nstreams: [\n  - a: b\n", [":3:", "invalid YAML"]),
    "unknown-key": (
        GOOD + "    paginaton: {type: cursor, cursor_param: c, cursor_path: n}\n",
        [":6:", "streams[0].paginaton", "unknown key", "did you mean 'pagination'"],
    ),
    "missing-required-key": ("name: bad\nstreams:\n  - name: items\n    request: {path: /x}\n", [":1:", "base_url"]),
    "missing-stream-name": (GOOD.replace("  - name: items\n", "  - description: items\n"), [":4:", "streams[0]", "name"]),
    "wrong-type": (GOOD.replace("streams:", "http: {max_retries: many}\nstreams:"), [":3:", "http.max_retries", "integer"]),
    "unknown-auth-type": (
        GOOD.replace("streams:", "auth: {type: kerberos}\nstreams:"), [":3:", "auth.type", "kerberos", "bearer"]
    ),
    "unknown-pagination-type": (
        GOOD + "    pagination: {type: scroll}\n", [":6:", "streams[0].pagination.type", "scroll", "cursor"]
    ),
    "template-syntax-error": (
        GOOD.replace("{path: /cursor}", '{path: "/cursor/{{ config.id "}'), [":5:", "streams[0].request.path", "template"]
    ),
    "template-config-key-missing": (
        GOOD.replace("{path: /cursor}", '{path: "/cursor/{{ config.account_id }}"}'),
        ["account_id", "streams[0].request.path", "required"],
    ),
    "duplicate-stream": (GOOD + "  - name: items\n    request: {path: /y}\n", ["items", "duplicate"]),
    # 543 bytes that expand to billions of nodes took 40 s in the duplicate-key check
    "alias-bomb": (GOOD + "    schema:\n" + "".join(
        f"      a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9) if i else 'x'}]\n" for i in range(9)),
        [":12:", "aliases expand to more than 100,000 nodes"]),
    "deep-nesting": (GOOD + "    schema: " + "[" * 5000 + "]" * 5000 + "\n", [":6:", "nested more than 64 levels"]),
    "very-deep-nesting": ("[" * 200_000 + "]" * 200_000 + "\n", [":1:", "nested more than 64 levels"]),  # crashed libyaml
}


def _usage_error(res: Result, *pieces: str) -> str:
    assert res.rc == 2, (res.rc, res.stdout[-1000:], res.stderr)
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr
    for piece in pieces:
        assert piece.lower() in lines[0].lower(), (piece, lines[0])
    for line in res.stdout.splitlines():  # whatever reached stdout is still protocol
        assert "type" in json.loads(line)
    return lines[0]


@pytest.mark.parametrize("case", sorted(YAML_CASES))
def test_bad_input_connector_yaml(tmp_path: Path, case: str) -> None:
    text, pieces = YAML_CASES[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    line = _usage_error(run_cli("read", "-c", str(path), "--config-json", "{}"), *pieces)
    if case == "template-config-key-missing":  # a config problem: named by connector and key path
        assert line.startswith("error: bad:"), line
        check = run_cli("check", "-c", str(path), "--config-json", "{}")
        status = check.of_type("CONNECTION_STATUS")[0]["connectionStatus"]
        assert check.rc == 0 and status["status"] == "FAILED" and "account_id" in status["message"]
    else:
        assert f"{case}.yaml" in line, line
        if case in ("unknown-key", "template-syntax-error"):  # load errors are the same for every command
            _usage_error(run_cli("check", "-c", str(path), "--config-json", "{}"), *pieces)


UNCLOSED = {
    "flow-sequence": (GOOD + "    primary_key: [id, name\n    cursor_field: updated_at\n",
                      "unclosed.yaml:6: invalid YAML: flow sequence '[' opened at line 6 is not closed "
                      "(line 7: did not find expected ',' or ']')"),
    "flow-mapping": (GOOD.replace("{path: /cursor}", "{path: /cursor\n    primary_key: id"),
                     "unclosed.yaml:5: invalid YAML: flow mapping '{' opened at line 5 is not closed "
                     "(line 6: did not find expected ',' or '}')"),
    "quoted-string": (GOOD.replace("{path: /cursor}", "{path: '/cursor}\n    primary_key: id\n"),
                      "unclosed.yaml:5: invalid YAML: quoted string opened at line 5 is not closed "
                      "(line 8: found unexpected end of stream)"),
    "tab": (GOOD.replace("  - name: items", "\t- name: items"),
            "unclosed.yaml:4: invalid YAML: a tab character cannot indent YAML (use spaces)"),
    "indentation": (GOOD + "   primary_key: id\n",
                    "unclosed.yaml:6: invalid YAML: did not find expected '-' indicator (in the list that starts "
                    "at line 4; check the indentation)"),
}


@pytest.mark.parametrize("case", sorted(UNCLOSED))
def test_yaml_syntax_error_names_where_the_construct_starts(tmp_path: Path, case: str) -> None:
    """Where the broken construct starts and where the parser gave up, one line, exit 2, every command."""
    text, expected = UNCLOSED[case]
    path = tmp_path / "unclosed.yaml"
    path.write_text(text)
    validated = run_cli("validate", str(path))
    assert validated.rc == 2 and validated.stderr.strip() == expected, validated.stderr
    read = _usage_error(run_cli("read", "-c", str(path), "--config-json", "{}"))
    assert read == f"error: {expected}", read


DEMO_CFG = json.dumps({"api_key": "demo-SECRET-value"})


@pytest.mark.parametrize(
    ("args", "pieces"),
    [
        (["read", "-c", "demo", "--config-json", '{"a":'], ["--config-json", "not valid JSON"]),
        (["read", "-c", "demo", "--config-json", "[1, 2]"], ["--config-json", "object"]),
        (["read", "-c", "demo", "-C", "/nonexistent/config.json"], ["config file", "/nonexistent/config.json"]),
        (["read", "-c", "nosuch", "--config-json", "{}"], ["unknown connector 'nosuch'", "demo"]),
        (["streams", "-c", "nosuch"], ["unknown connector 'nosuch'"]),
        (["read", "-c", "demo", "--config-json", DEMO_CFG, "--streams", "customers,nope"],
         ["unknown stream 'nope'", "customers"]),
        (["read", "-c", "demo", "--config-json", DEMO_CFG, "--state-json", '{"streams": 5}'], ["--state-json", "streams"]),
        (["read", "-c", "demo", "--config-json", DEMO_CFG, "--state-json", "[1, 2]"], ["--state-json[0]", "state"]),
        (["read", "-c", "demo", "--config-json", DEMO_CFG, "--state-json", "{oops"], ["--state-json", "JSON"]),
        (["read", "-c", "demo", "--config-json", "{}"], ["api_key"]),
        (["read", "-c", "demo", "--config-json", DEMO_CFG, "--format", "xml"], ["format", "xml"]),
        (["read", "-c", "demo", "--config-json", DEMO_CFG, "--max-records", "lots"], ["--max-records"]),
        (["read", "-c", "demo", "--config-json", DEMO_CFG, "--concurrency", "0"], ["--concurrency", "at least 1", "0"]),
        (["read", "-c", "demo", "--config-json", DEMO_CFG, "--concurrency", "-1"], ["--concurrency", "at least 1", "-1"]),
        (["read", "-c", "demo", "--config-json", DEMO_CFG, "--state-json", '{"streams": {"customers": {"cursor": {"gt": 1}}}}'],
         ["--state-json", "'customers'", "'cursor' must be a string or a number", "object"]),
        (["read", "-c", "demo", "--config-json", DEMO_CFG, "--state-json", '{"customers": {"cursor": [1, 2]}}'],
         ["'customers'", "'cursor'", "a list"]),
        (["read", "-c", "demo", "--config-json", DEMO_CFG, "--state-json", '{"customer_notes": {"partitions": {"a": 1}}}'],
         ["'customer_notes'", "'partitions' must be a list"]),
        (["read", "-c", "demo", "--config-json", DEMO_CFG, "--state-json",
          '{"customer_notes": {"partitions": [{"partition": {"id": 1}, "cursor": {"x": 1}}]}}'],
         ["partitions[0]", "'cursor' must be a string or a number"]),
    ],
    ids=[
        "config-json-invalid", "config-json-not-object", "config-file-missing", "unknown-connector",
        "unknown-connector-streams", "unknown-stream", "state-streams-not-object", "state-array-of-ints",
        "state-json-invalid", "required-config-missing", "unknown-format", "bad-max-records",
        "concurrency-zero", "concurrency-negative", "state-cursor-object", "state-cursor-list",
        "state-partitions-not-list", "state-partition-cursor-object",
    ],
)
def test_bad_input_flags(args: list[str], pieces: list[str]) -> None:
    res = run_cli(*args)
    _usage_error(res, *pieces)
    assert "demo-SECRET-value" not in res.stdout + res.stderr


@pytest.mark.parametrize(
    ("content", "pieces"),
    [("{bad", ["state.json", "JSON"]), ('{"streams": ["a"]}', ["state.json", "streams"]), ("42", ["state.json"])],
    ids=["invalid-json", "wrong-shape", "scalar"],
)
def test_bad_input_state_file(tmp_path: Path, content: str, pieces: list[str]) -> None:
    state = tmp_path / "state.json"
    state.write_text(content)
    _usage_error(run_cli("read", "-c", "demo", "--config-json", DEMO_CFG, "--state", str(state)), *pieces)
    assert state.read_text() == content, "a state file we could not read is left alone"


@pytest.mark.parametrize("flag", ["-C", "--state"])
def test_bad_input_file_not_utf8(tmp_path: Path, flag: str) -> None:
    bad = tmp_path / "latin1.json"
    bad.write_bytes('{"api_key": "demo-SECRET-value", "note": "caf\xe9"}'.encode("latin-1"))
    args = ["-C", str(bad)] if flag == "-C" else ["--config-json", DEMO_CFG, "--state", str(bad)]
    res = run_cli("read", "-c", "demo", *args)
    _usage_error(res, "latin1.json", "not UTF-8", "byte 0xe9")
    assert "demo-SECRET-value" not in res.stdout + res.stderr


@pytest.mark.parametrize("where", ["parent-is-a-file", "under-a-file", "a-directory", "unwritable-filesystem"])
def test_unwritable_state_path_is_refused_before_the_sync(tmp_path: Path, where: str) -> None:
    """Before, the sync ran to its end and then failed with 'internal error' and no SYNC_SUMMARY."""
    from integration_tests.mocks.server import MockServer, Response

    (tmp_path / "a-file").write_text("x")
    path = {"parent-is-a-file": tmp_path / "a-file" / "state.json", "under-a-file": tmp_path / "a-file" / "d" / "s.json",
            "a-directory": tmp_path, "unwritable-filesystem": Path("/proc/solidafy-state.json")}[where]
    with MockServer(lambda req: Response.json({"data": [], "has_more": False})) as api:
        cfg = json.dumps({"api_key": "demo-SECRET-value", "base_url": api.url + "/v1"})
        res = run_cli("read", "-c", "demo", "--config-json", cfg, "--state", str(path))
        line = _usage_error(res, "--state" if where != "a-directory" else "", str(path))
        assert api.requests == [], "the sync must not start"
    assert res.stdout == "" and ("not a directory" in line or "cannot" in line), line


def test_bad_input_config_file_invalid_json(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text('{"api_key": "demo-SECRET-value",')
    res = run_cli("read", "-c", "demo", "-C", str(config))
    _usage_error(res, "config.json", "JSON")
    assert "demo-SECRET-value" not in res.stdout + res.stderr


def test_bad_input_airbyte_missing_config_file_is_config_error(tmp_path: Path) -> None:
    res = run_cli("check", "--config", str(tmp_path / "missing.json"), script="source-solidafy")
    assert res.rc == 2 and "Traceback" not in res.stderr
    errors = [m["trace"]["error"] for m in res.messages if m["type"] == "TRACE"]
    assert [e["failure_type"] for e in errors] == ["config_error"]
    assert "missing.json" in res.stderr
