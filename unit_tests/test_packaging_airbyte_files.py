"""Checklist point 20: the files Airbyte reads about us agree with each other.

Airbyte runs ``AIRBYTE_ENTRYPOINT`` when it overrides the image's entrypoint, keys custom sources on
``definitionId``, and matches the image's ``io.airbyte.*`` labels against the metadata; a mismatch
shows only once the image is in a workspace, so these static checks catch it on every change.
"""

from __future__ import annotations

import json
import re
import shlex
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]

REQUIRED_DATA_KEYS = {
    "name", "definitionId", "connectorType", "connectorSubtype", "dockerRepository", "dockerImageTag",
    "license", "documentationUrl", "githubIssueLabel", "releaseStage", "supportLevel", "tags",
}  # fmt: skip
# Every key ConnectorMetadataDefinitionV0 allows under `data` (it sets additionalProperties: false).
KNOWN_DATA_KEYS = REQUIRED_DATA_KEYS | {
    "icon", "connectorBuildOptions", "connectorTestSuitesOptions", "connectorIPCOptions", "supportsDbt",
    "supportsNormalization", "maxSecondsBetweenMessages", "releaseDate", "protocolVersion", "erdUrl",
    "registryOverrides", "registries", "allowedHosts", "releases", "normalizationConfig", "suggestedStreams",
    "resourceRequirements", "ab_internal", "remoteRegistries", "supportsRefreshes", "supportsFileTransfer",
    "supportsDataActivation", "generated", "language",
}  # fmt: skip


def final_stage(text: str) -> list[str]:
    """The Dockerfile's instructions (continuations joined, comments dropped) after the last FROM."""
    joined = re.sub(r"\\\n", " ", text)
    lines = [ln.strip() for ln in joined.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    last_from = max(i for i, ln in enumerate(lines) if ln.upper().startswith("FROM "))
    return lines[last_from:]


def instruction_args(lines: list[str], name: str) -> list[str]:
    return [ln.split(None, 1)[1] for ln in lines if ln.split(None, 1)[0].upper() == name]


def key_values(args: list[str]) -> dict[str, str]:
    """ENV/LABEL ``k=v k2="v 2"`` pairs (the ``ENV k v`` form too)."""
    out: dict[str, str] = {}
    for arg in args:
        parts = shlex.split(arg)
        if parts and "=" not in parts[0]:
            out[parts[0]] = " ".join(parts[1:])
            continue
        out.update(part.split("=", 1) for part in parts)
    return out


def entrypoint(lines: list[str]) -> str:
    (arg,) = instruction_args(lines, "ENTRYPOINT")[-1:]
    form = json.loads(arg) if arg.startswith("[") else shlex.split(arg)
    return " ".join(form)


@pytest.fixture(scope="module")
def metadata() -> dict[str, Any]:
    return yaml.safe_load((REPO / "metadata.yaml").read_text())


@pytest.fixture(scope="module")
def docker() -> list[str]:
    return final_stage((REPO / "Dockerfile").read_text())


def test_airbyte_entrypoint_is_the_entrypoint(docker: list[str]) -> None:
    env = key_values(instruction_args(docker, "ENV"))
    assert env["AIRBYTE_ENTRYPOINT"] == entrypoint(docker) == "source-solidafy"


def test_labels_match_metadata(docker: list[str], metadata: dict[str, Any]) -> None:
    labels = key_values(instruction_args(docker, "LABEL"))
    assert labels["io.airbyte.name"] == metadata["data"]["dockerRepository"]
    assert labels["io.airbyte.version"] == metadata["data"]["dockerImageTag"]
    assert labels["org.opencontainers.image.version"] == metadata["data"]["dockerImageTag"]


def test_image_runs_as_non_root(docker: list[str]) -> None:
    users = instruction_args(docker, "USER")
    assert users and users[-1] not in ("root", "0")


def test_image_version_is_the_package_version(metadata: dict[str, Any]) -> None:
    import tomllib

    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert metadata["data"]["dockerImageTag"] == version


def test_dockerignore_keeps_tests_and_caches_out() -> None:
    ignored = {ln.strip() for ln in (REPO / ".dockerignore").read_text().splitlines() if ln.strip()}
    assert {"unit_tests", "integration_tests", ".venv", ".git", "**/__pycache__"} <= ignored
    docker_text = (REPO / "Dockerfile").read_text()
    for copied in re.findall(r"^COPY (?!--from)(.+) \S+$", docker_text, re.M):
        for src in copied.split():
            assert src not in ignored, f"Dockerfile copies {src}, which .dockerignore leaves out"


def test_metadata_keys(metadata: dict[str, Any]) -> None:
    assert set(metadata) == {"metadataSpecVersion", "data"}
    data = metadata["data"]
    assert set(data) >= REQUIRED_DATA_KEYS, REQUIRED_DATA_KEYS - set(data)
    assert set(data) <= KNOWN_DATA_KEYS, set(data) - KNOWN_DATA_KEYS
    assert str(uuid.UUID(data["definitionId"])) == data["definitionId"]
    assert data["connectorType"] == "source" and data["connectorSubtype"] == "api"
    assert data["releaseStage"] in {"alpha", "beta", "generally_available", "custom"}
    assert data["supportLevel"] in {"community", "certified", "archived"}
    assert data["documentationUrl"].startswith("https://")
    assert isinstance(data["tags"], list) and all(isinstance(t, str) for t in data["tags"])


def named_paths(node: Any) -> list[str]:
    """Every ``*_path`` / ``path`` value anywhere in the acceptance config."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if (key == "path" or key.endswith("_path")) and isinstance(value, str):
                found.append(value)
            else:
                found += named_paths(value)
    elif isinstance(node, list):
        for item in node:
            found += named_paths(item)
    return found


def test_acceptance_config_sections_and_paths() -> None:
    cat = yaml.safe_load((REPO / "acceptance-test-config.yml").read_text())
    assert cat["test_strictness_level"] == "high"
    assert cat["connector_image"].split(":")[0] == yaml.safe_load((REPO / "metadata.yaml").read_text())[
        "data"
    ]["dockerRepository"]
    tests = cat["acceptance_tests"]
    assert {"spec", "connection", "discovery", "basic_read", "full_refresh", "incremental"} <= set(tests)
    assert [t["status"] for t in tests["connection"]["tests"]] == ["succeed", "failed"]
    # airbyte-cdk's standard tests (`airbyte-cdk image test`) refuse to collect anything when an entry
    # of the sections they read carries a key of the retired acceptance tests.
    retired = {"expect_records", "exact_order", "ignored_fields", "fail_on_extra_columns"}
    for section in ("spec", "connection", "discovery", "basic_read", "full_refresh"):
        for entry in tests[section]["tests"]:
            assert not retired & set(entry), f"{section}: {retired & set(entry)}"
    assert (REPO / "integration_tests" / "expected_records.jsonl").is_file()
    assert tests["incremental"]["tests"][0]["future_state"]["future_state_path"]
    paths = named_paths(tests)
    assert len(paths) >= 6
    missing = [p for p in paths if not (REPO / p).is_file()]
    assert not missing, missing


def test_acceptance_fixture_files_parse() -> None:
    base = REPO / "integration_tests"
    for name in ("configured_catalog", "invalid_config", "valid_config", "abnormal_state", "sample_state"):
        json.loads((base / f"{name}.json").read_text())
    for line in (base / "expected_records.jsonl").read_text().splitlines():
        row = json.loads(line)
        assert set(row) == {"stream", "data", "emitted_at"}


def test_configured_catalog_validates() -> None:
    from airbyte_protocol.models import ConfiguredAirbyteCatalog

    text = (REPO / "integration_tests" / "configured_catalog.json").read_text()
    catalog = ConfiguredAirbyteCatalog.model_validate_json(text)
    assert catalog.streams


def test_state_files_are_stream_state_arrays() -> None:
    from airbyte_protocol.models import AirbyteStateMessage

    for name in ("abnormal_state", "sample_state"):
        states = json.loads((REPO / "integration_tests" / f"{name}.json").read_text())
        assert isinstance(states, list) and states
        for state in states:
            assert AirbyteStateMessage.model_validate(state).type.value == "STREAM"
