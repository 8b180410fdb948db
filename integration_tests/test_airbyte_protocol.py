"""Airbyte-flavour behaviour that does not depend on the API behind the connector.

Checklist points 1 and 5 (generic spec, every built-in's spec, unreachable host, broken YAML),
17 (usage errors keep stdout parseable) and the three ways to choose a connector (config.connector,
``--connector``, ``SOLIDAFY_CONNECTOR``). Everything runs the installed ``source-solidafy``.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration_tests.acceptance import checks
from integration_tests.acceptance.runner import AirbyteRun, airbyte

DEMO_TOKEN = "demo-secret-token"


@pytest.fixture(scope="module")
def demo_url() -> Iterator[str]:
    from source_solidafy.demo_api import DemoApi

    api = DemoApi()
    yield api.start(port=0)
    api.stop()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def only_spec(run: AirbyteRun) -> dict:
    assert run.rc == 0 and not run.problems, run.describe()
    specs = run.of_type("SPEC")
    assert len(specs) == 1 and len(run.messages) <= 10, run.describe()
    return specs[0]["spec"]


def usage_failure(run: AirbyteRun, rc: int = 2) -> None:
    """Exit ``rc``, stdout still protocol (a config_error TRACE ERROR), one clear stderr line, no traceback."""
    assert run.rc == rc, run.describe()
    assert not run.problems, run.problems
    assert [e["failure_type"] for e in run.errors()] == ["config_error"], run.describe()
    assert "Traceback" not in run.stderr and run.stderr.strip(), run.describe()


def test_generic_spec_offers_a_connector_choice() -> None:
    spec = only_spec(airbyte("spec"))
    assert not checks.spec_problems(spec), checks.spec_problems(spec)
    props = spec["connectionSpecification"]["properties"]
    assert "connector" in props, list(props)
    assert "connector" in spec["connectionSpecification"].get("required", [])


def test_every_builtin_spec_passes_the_acceptance_rules() -> None:
    from source_solidafy import api

    names = [c["name"] for c in api.list_connectors(detail=False)]
    assert "demo" in names and "stripe" in names
    problems = {n: checks.spec_problems(api.spec(n)["spec"]) for n in names}
    assert not any(problems.values()), {n: p for n, p in problems.items() if p}


def test_connector_by_flag_and_by_environment() -> None:
    from source_solidafy import api

    want = api.spec("demo")["spec"]["connectionSpecification"]
    by_flag = only_spec(airbyte("spec", extra=("--connector", "demo")))
    by_env = only_spec(airbyte("spec", env={"SOLIDAFY_CONNECTOR": "demo"}))
    assert by_flag["connectionSpecification"] == by_env["connectionSpecification"] == want
    assert by_flag["connectionSpecification"]["properties"]["api_key"]["airbyte_secret"] is True


@pytest.mark.parametrize("how", ["config", "flag", "env"])
def test_check_chooses_connector_three_ways(demo_url: str, how: str) -> None:
    config = {"api_key": DEMO_TOKEN, "base_url": demo_url}
    kwargs: dict = {"config": {**config, "connector": "demo"} if how == "config" else config}
    if how == "flag":
        kwargs["extra"] = ("--connector", "demo")
    if how == "env":
        kwargs["env"] = {"SOLIDAFY_CONNECTOR": "demo"}
    run = airbyte("check", **kwargs)
    assert run.rc == 0 and not run.problems, run.describe()
    assert [m["connectionStatus"]["status"] for m in run.of_type("CONNECTION_STATUS")] == ["SUCCEEDED"]


def test_check_unreachable_host_is_a_failed_status(tmp_path: Path) -> None:
    """Point 5: no server at all is a failed check like bad credentials: CONNECTION_STATUS FAILED, exit 0.

    (Refused, unknown host and timeout, in both flavours: test_cli_check_unreachable.py.)
    """
    port = closed_port()
    manifest = tmp_path / "unreachable.yaml"
    manifest.write_text(
        "name: unreachable\n"
        f"base_url: http://127.0.0.1:{port}/v1\n"
        "http: {max_retries: 1, backoff: constant, backoff_base_secs: 0.01, timeout_secs: 5}\n"
        "streams:\n  - name: things\n    request: {path: /things}\n"
    )
    run = airbyte("check", config={"connector": str(manifest)})
    assert run.rc == 0 and not run.problems and not run.errors(), run.describe()
    (status,) = [m["connectionStatus"] for m in run.of_type("CONNECTION_STATUS")]
    assert status["status"] == "FAILED" and f"127.0.0.1:{port}" in status["message"], run.describe()


def test_check_broken_yaml_is_a_config_error(tmp_path: Path) -> None:
    """Point 5: a connector YAML that does not parse: TRACE ERROR config_error naming the file, exit 2."""
    manifest = tmp_path / "broken.yaml"
    manifest.write_text("name: broken\nstreams: [\n  - name: x\n    request: {path: /x\n")
    run = airbyte("check", config={"connector": str(manifest)})
    usage_failure(run)
    assert "broken.yaml" in run.errors()[0]["message"], run.describe()


def test_read_without_catalog(demo_url: str) -> None:
    """Point 17: ``read`` with no ``--catalog`` fails as a usage error; stdout stays parseable."""
    usage_failure(airbyte("read", config={"connector": "demo", "api_key": DEMO_TOKEN, "base_url": demo_url}))


def test_unknown_command() -> None:
    """Point 17: an unknown command fails as a usage error; stdout stays parseable."""
    usage_failure(airbyte("frobnicate", extra=("--config", "x.json")))


def test_unreadable_config_file(tmp_path: Path) -> None:
    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    run = airbyte("check", extra=("--config", str(bad)))
    usage_failure(run)
    assert "config.json" in run.stderr, run.describe()


def test_invalid_catalog_is_a_config_error(demo_url: str) -> None:
    config = {"connector": "demo", "api_key": DEMO_TOKEN, "base_url": demo_url}
    usage_failure(airbyte("read", config=config, catalog={"streams": [{"stream": {"name": "customers"}}]}))
