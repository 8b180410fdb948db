"""The offline commands: validate (the seed corpus and a broken file), --help, --version, list, spec, streams."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from integration_tests.helpers import run_cli

SEED = Path("/work/shared/compat/seed-connectors")
SEED_FILES = sorted(SEED.glob("*.yaml"))
COMMANDS = ["list", "check", "streams", "discover", "spec", "read", "validate", "demo", "serve"]
# any attempt to reach the network goes to a closed port and fails
NO_NETWORK = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}


def test_seed_corpus_is_complete() -> None:
    assert len(SEED_FILES) == 10, SEED_FILES


@pytest.mark.parametrize("path", SEED_FILES, ids=[p.stem for p in SEED_FILES])
def test_validate_seed_connector(path: Path) -> None:
    res = run_cli("validate", str(path))
    assert res.rc == 0, res.stderr
    assert "valid" in res.stdout and "Traceback" not in res.stderr


def test_validate_json_format() -> None:
    res = run_cli("validate", "--format", "json", str(SEED / "hubspot.yaml"))
    assert res.rc == 0, res.stderr
    assert json.loads(res.stdout.splitlines()[0])


def test_validate_broken_file_lists_every_problem(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "name: bad\n"
        'base_url: "http://x"\n'
        "http: {max_retries: many}\n"
        "streams:\n"
        "  - name: items\n"
        "    request: {path: /cursor}\n"
        "    paginaton: {type: cursor}\n"
        "  - name: b\n"
        "    decoder: {type: yaml}\n"
    )
    res = run_cli("validate", str(broken))
    assert res.rc == 2
    assert "Traceback" not in res.stderr
    problems = [line for line in (res.stdout + res.stderr).splitlines() if re.match(r".*broken\.yaml:\d+: ", line)]
    assert [re.search(r"broken\.yaml:(\d+):", p).group(1) for p in problems] == ["3", "7", "9"], problems  # type: ignore[union-attr]
    assert "http.max_retries" in problems[0]
    assert "did you mean 'pagination'" in problems[1]
    assert "streams[1].decoder.type" in problems[2] and "json" in problems[2]


def test_validate_missing_file(tmp_path: Path) -> None:
    res = run_cli("validate", str(tmp_path / "nope.yaml"))
    assert res.rc == 2 and "nope.yaml" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_help_on_each_command(command: str) -> None:
    res = run_cli(command, "--help")
    assert res.rc == 0, res.stderr
    assert res.stdout.startswith(f"usage: solidafy-cdk {command}")


def test_top_level_help_and_version() -> None:
    res = run_cli("--help")
    assert res.rc == 0
    for command in COMMANDS:
        assert command in res.stdout
    version = run_cli("--version")
    assert version.rc == 0 and re.search(r"\d+\.\d+", version.stdout + version.stderr)


def test_unknown_command_is_a_usage_error() -> None:
    res = run_cli("frobnicate")
    assert res.rc == 2 and "Traceback" not in res.stderr and "frobnicate" in res.stderr


def test_list_offline_human_and_json(tmp_path: Path) -> None:
    human = run_cli("list", env=NO_NETWORK, cwd=str(tmp_path))
    assert human.rc == 0, human.stderr
    assert human.stdout.splitlines()[0].split()[:2] == ["NAME", "ALIASES"]
    res = run_cli("list", "--format", "json", env=NO_NETWORK, cwd=str(tmp_path))
    assert res.rc == 0, res.stderr
    [msg] = res.messages
    names = {c["name"] for c in msg["connectors"]}
    assert {"demo", "stripe", "github", "hubspot", "shopify", "zendesk", "salesforce", "openai"} <= names
    demo = next(c for c in msg["connectors"] if c["name"] == "demo")
    assert {"customers", "orders", "products"} <= set(demo["streams"])


@pytest.mark.parametrize("name", ["stripe", "demo-shop"])
def test_spec_and_streams_offline_without_config(tmp_path: Path, name: str) -> None:
    spec = run_cli("spec", "-c", name, env=NO_NETWORK, cwd=str(tmp_path))
    assert spec.rc == 0, spec.stderr
    [msg] = spec.messages
    schema = msg["spec"]["connectionSpecification"]
    assert schema["type"] == "object"
    assert "base_url" in schema["properties"] and "base_url" not in schema.get("required", [])
    secrets = [k for k, v in schema["properties"].items() if v.get("airbyte_secret")]
    assert secrets, schema["properties"]
    streams = run_cli("streams", "-c", name, env=NO_NETWORK, cwd=str(tmp_path))
    assert streams.rc == 0, streams.stderr
    [smsg] = streams.messages
    assert smsg["type"] == "STREAMS" and smsg["streams"]
    if name == "stripe":
        assert {"customers", "invoices", "charges"} <= set(smsg["streams"])


def test_streams_and_spec_of_a_yaml_file_offline(tmp_path: Path) -> None:
    path = str(Path(__file__).parent / "connectors_for_tests" / "auth_bearer.yaml")
    streams = run_cli("streams", "-c", path, env=NO_NETWORK, cwd=str(tmp_path))
    assert streams.rc == 0 and streams.messages == [{"type": "STREAMS", "connector": "auth_bearer", "streams": ["items"]}]
    spec = run_cli("spec", "-c", path, env=NO_NETWORK, cwd=str(tmp_path))
    props = spec.messages[0]["spec"]["connectionSpecification"]["properties"]
    assert props["api_token"].get("airbyte_secret") is True
    assert "api_token" in spec.messages[0]["spec"]["connectionSpecification"]["required"]


def test_python_dash_m_is_the_same_program(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "source_solidafy", "streams", "-c", "demo"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["type"] == "STREAMS"
