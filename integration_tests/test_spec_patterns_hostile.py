"""A config field's ``pattern`` (a connector's ``spec:``, an Airbyte manifest's ``connection_specification``)
is matched against config values, so it follows the rule of every regex a connector file gives
(manifest/safe_regex.py): refused at load when it has a repeat inside a repeated group (``^(a+)+$`` takes
exponential time on ``aaaa…!``), and a value longer than 2,048 characters is refused unmatched.
Through the real server (custom YAML is hostile input there) and the CLI.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration_tests.helpers import run_cli
from integration_tests.test_server_support import ServerProcess

HERE = Path(__file__).resolve().parent
NESTED = "a repeat inside a repeated group ((a+)+) can take exponential time on hostile input"
HOSTILE_VALUE = "a" * 40 + "!"  # 2**40 steps for ^(a+)+$ before the fix

OURS = """\
name: patterned
base_url: http://127.0.0.1:9
spec:
  - {{name: account, type: string, required: true, pattern: '{pattern}'}}
streams:
  - name: items
    request: {{path: /items}}
"""


def _airbyte(pattern: str) -> str:
    text = (HERE / "airbyte_manifests" / "events_manifest.yaml").read_text()
    old = "      start_date: {type: string}\n"
    assert old in text
    return text.replace(old, f"      start_date: {{type: string, pattern: '{pattern}'}}\n")


def _airbyte_line() -> int:
    lines = _airbyte("x").splitlines()
    return next(i for i, line in enumerate(lines, 1) if "pattern: 'x'" in line)


@pytest.fixture(scope="module")
def custom() -> Iterator[ServerProcess]:
    with ServerProcess("--allow-custom-connectors") as s:
        yield s


def _invalid_manifest(resp) -> str:
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["success"] is False and body["error"]["code"] == "invalid_manifest", body
    return str(body["error"]["message"])


def test_server_refuses_a_nested_repeat_in_a_spec_pattern(custom: ServerProcess) -> None:
    yaml_text = OURS.format(pattern="^(a+)+$")
    resp = custom.post("/check", {"connector_yaml": yaml_text, "config": {"account": HOSTILE_VALUE}})
    message = _invalid_manifest(resp)
    assert ":4: spec[0].pattern: " + NESTED in message, message
    assert custom.get("/health").json()["status"] == "ok"


def test_server_refuses_a_nested_repeat_in_an_airbyte_spec_pattern(custom: ServerProcess) -> None:
    config = {"api_key": "k", "start_date": HOSTILE_VALUE}
    resp = custom.post("/check", {"connector_yaml": _airbyte("^(a+)+$"), "config": config})
    message = _invalid_manifest(resp)
    where = f":{_airbyte_line()}: spec.connection_specification.properties.start_date.pattern: "
    assert where + NESTED in message, message
    assert custom.get("/health").json()["status"] == "ok"


@pytest.mark.parametrize("kind", ["ours", "airbyte"])
def test_cli_validate_names_the_pattern_and_its_line(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "conn.yaml"
    path.write_text(OURS.format(pattern="^(\\w*x)*$") if kind == "ours" else _airbyte("("))
    result = run_cli("validate", str(path))
    assert result.rc == 2, result.stdout + result.stderr
    expected = ("conn.yaml:4: spec[0].pattern: a repeat inside a repeated group ((\\w*x)*)" if kind == "ours" else
                f"conn.yaml:{_airbyte_line()}: spec.connection_specification.properties.start_date.pattern: "
                "invalid regular expression: missing ), unterminated subpattern at position 0")
    assert result.stderr.startswith(expected), result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("kind", ["ours", "airbyte"])
def test_cli_check_refuses_a_value_too_long_to_match(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "conn.yaml"
    path.write_text(OURS.format(pattern="^[a-z]+$") if kind == "ours" else _airbyte("^[a-z]+$"))
    field = "account" if kind == "ours" else "start_date"
    config = {field: "a" * 3000, "api_key": "k"}
    (tmp_path / "config.json").write_text(json.dumps(config))
    result = run_cli("check", "--connector", str(path), "--config", str(tmp_path / "config.json"))
    status = result.of_type("CONNECTION_STATUS")[0]["connectionStatus"]
    assert status["status"] == "FAILED"
    assert f"config field '{field}' is 3,000 characters, longer than the 2,048" in status["message"], status


@pytest.mark.parametrize("where", ["errors", "spec"])
def test_server_refuses_a_huge_regex_at_once(custom: ServerProcess, where: str) -> None:
    """Looking for the nesting in ``(a*a*…a*)c`` took time quadratic in its length (minutes at 200 KB)."""
    huge = "(" + "a*" * 100_000 + ")c"
    yaml_text = OURS.format(pattern=huge if where == "spec" else "^a$")
    if where == "errors":
        yaml_text += f"    errors: [{{body_matches: '{huge}', action: fail}}]\n"
    resp = custom.post("/check", {"connector_yaml": yaml_text, "config": {"account": "a"}})
    message = _invalid_manifest(resp)
    key = "spec[0].pattern" if where == "spec" else "streams[0].errors[0].body_matches"
    assert f"{key}: a regular expression may have at most 1,000 characters, this one has {len(huge):,}" in message, message
    assert custom.get("/health").json()["status"] == "ok"


def test_a_manifest_regex_filter_with_a_nested_repeat_fails_the_stream_not_the_machine(tmp_path: Path) -> None:
    """``regex_search`` in an Airbyte template searches what the API sends: the same rule, when first used."""
    from integration_tests.mocks.server import MockServer
    from integration_tests.test_airbyte_manifests import _events_api

    text = (HERE / "airbyte_manifests" / "events_manifest.yaml").read_text()
    added = ("    transformations:\n      - type: AddFields\n        fields:\n          - path: [day]\n"
             "            value: \"{{ record['id'] | regex_search('^(\\\\w+-?)+$') }}\"\n    schema_loader:\n")
    (tmp_path / "manifest.yaml").write_text(text.replace("    schema_loader:\n", added, 1))
    with MockServer(_events_api([])) as api:
        config = {"api_key": "k-1", "api_url": api.url, "start_date": "2024-01-01", "end_date": "2024-01-01"}
        (tmp_path / "config.json").write_text(json.dumps(config))
        result = run_cli("read", "--connector", str(tmp_path / "manifest.yaml"), "--config",
                         str(tmp_path / "config.json"), timeout=60)
    assert result.rc == 1, result.stdout[-2000:] + result.stderr
    assert "Traceback" not in result.stderr
    line = next(i for i, t in enumerate((tmp_path / "manifest.yaml").read_text().splitlines(), 1) if "regex_search" in t)
    error = result.summary["streams"][0]["error"]
    assert f"manifest.yaml:{line}: " in error and "a repeat inside a repeated group ((\\w+-?)+)" in error, error
