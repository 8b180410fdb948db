"""Airbyte's own tools against the built image: airbyte-cdk's standard image tests and PyAirbyte.

Both run from their own virtualenv (container/airbyte-tools.txt: they conflict with our pins) and call
``docker``, here container/bin/docker (podman with host networking). The demo API runs on the host;
airbyte-cdk reads a copy of the repository's acceptance-test-config.yml, metadata.yaml and
integration_tests/*.json whose ``base_url`` points at it (the connector directory is named
``source-solidafy``, as airbyte-cdk expects).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration_tests.container import REPO, Image, airbyte_tools, built_image, docker_env
from source_solidafy.demo_api import DemoApi

pytestmark = [pytest.mark.container, pytest.mark.timeout(1500)]
READ_TEST = "test_docker_image_build_and_read['valid_config' Test Scenario]"
STANDARD_PASSED = {
    "test_docker_image_build_and_spec",
    "test_docker_image_build_and_check['invalid_config' Test Scenario]",
    "test_docker_image_build_and_check['valid_config' Test Scenario]",
    "test_docker_image_build_and_config_matches_spec['valid_config' Test Scenario]",
    "test_docker_image_build_and_discover['valid_config' Test Scenario]",
    READ_TEST,
}
# The only skips allowed, each with its reason: invalid_config is listed under `connection` alone
# (check only), and the spec is not compared with a published one (none, and no registry here).
STANDARD_SKIPPED = {
    "test_docker_image_spec_backward_compatibility": "registry could not be reached",
    "test_docker_image_build_and_config_matches_spec['invalid_config' Test Scenario]": "`spec` does not run",
    "test_docker_image_build_and_discover['invalid_config' Test Scenario]": "`discover` does not run",
    "test_docker_image_build_and_read['invalid_config' Test Scenario]": "`read` does not run",
}


@pytest.fixture(scope="module")
def image() -> Image:
    return built_image()


@pytest.fixture(scope="module")
def tools(image: Image) -> Path:
    return airbyte_tools()


@pytest.fixture(scope="module")
def demo() -> Iterator[str]:
    with DemoApi() as api:
        yield api.url


@pytest.fixture
def connector_dir(tmp_path: Path, demo: str) -> Path:
    """The files airbyte-cdk reads, as in the repository, with base_url pointing at the demo API."""
    root = tmp_path / "source-solidafy"
    (root / "integration_tests").mkdir(parents=True)
    for name in ("metadata.yaml", "acceptance-test-config.yml"):
        shutil.copy(REPO / name, root / name)
    for source in (REPO / "integration_tests").glob("*.json"):
        data = json.loads(source.read_text())
        if isinstance(data, dict) and "base_url" in data:
            data["base_url"] = demo
        (root / "integration_tests" / source.name).write_text(json.dumps(data))
    return root


def standard_results(junit: Path) -> dict[str, tuple[str, str]]:
    """test name -> (passed|skipped|failed, message) from airbyte-cdk's JUnit report."""
    results = {}
    for case in ET.parse(junit).iter("testcase"):
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("skipped", "failure", "error"):
                outcome, message = ("skipped" if child.tag == "skipped" else "failed"), child.get("message", "")
        results[case.get("name", "")] = (outcome, message)
    return results


def run_tool(tools: Path, args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    env = {**docker_env(), "AIRBYTE_OFFLINE_MODE": "1", "DO_NOT_TRACK": "1", "HOME": str(cwd), **env}
    return subprocess.run([str(tools / "bin" / args[0]), *args[1:]], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=1200, stdin=subprocess.DEVNULL)  # fmt: skip


@pytest.mark.parametrize("command", ["image test", "connector test --read-from-streams=all"])
def test_airbyte_cdk_standard_image_tests(tools: Path, image: Image, connector_dir: Path, command: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    if command == "image test":
        args = ["airbyte-cdk", "image", "test", str(connector_dir), "--image", image.name]
    else:  # the same tests, with pytest options `image test` does not pass on
        pytest_args = ["-m", "image_tests", f"--connector-image={image.name}", "--read-from-streams=all",
                       "-p", "no:cacheprovider"]  # fmt: skip
        args = ["airbyte-cdk", "connector", "test", str(connector_dir), *(f"--pytest-arg={a}" for a in pytest_args)]
    proc = run_tool(tools, args, connector_dir.parent)
    results = standard_results(connector_dir / "build" / "test-results" / "standard-tests-junit.xml")
    with capsys.disabled():
        print(f"\n[airbyte-cdk {command}] " + "; ".join(f"{name}: {outcome}" for name, (outcome, _) in sorted(results.items())))
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    want_passed, want_skipped = set(STANDARD_PASSED), dict(STANDARD_SKIPPED)
    if command == "image test":  # `image test` reads nothing unless given --read-from-streams
        want_passed.remove(READ_TEST)
        want_skipped[READ_TEST] = "--read-from-streams"
    passed = {name for name, (outcome, _) in results.items() if outcome == "passed"}
    assert passed == want_passed, results
    skipped = {name: message for name, (outcome, message) in results.items() if outcome == "skipped"}
    assert set(skipped) == set(want_skipped), skipped
    for name, reason in want_skipped.items():
        assert reason in skipped[name], (name, skipped[name])


def test_pyairbyte_reads_every_stream_then_incrementally(tools: Path, image: Image, demo: str, tmp_path: Path) -> None:
    work = tmp_path / "pyairbyte"
    (work / "tmp").mkdir(parents=True)
    (work / "tmp").chmod(0o777)  # PyAirbyte mounts it into the container for config and catalog files
    script = ["python", str(REPO / "container" / "pyairbyte_read.py"), image.name, demo, str(work / "cache")]
    proc = run_tool(tools, script, work, AIRBYTE_TEMP_DIR=str(work / "tmp"), AIRBYTE_PROJECT_DIR=str(work),
                    AIRBYTE_LOGGING_ROOT=str(work / "logs"))  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    first, second = (json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{"))
    full = {"customers": 1000, "orders": 2500, "products": 200, "customer_notes": 999}
    assert first == {"delivered": sum(full.values()), "cached": full}
    # Second read: products (full refresh) again, the incremental streams only from their saved cursor
    # (the boundary record again: the cursor is inclusive); the cache still holds every record once.
    assert 200 <= second["delivered"] <= 200 + 3, second
    assert second["cached"] == full
