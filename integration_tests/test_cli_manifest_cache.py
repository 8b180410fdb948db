"""The validated-manifest cache across processes, end to end: ``solidafy-cdk`` run twice as subprocesses
against the generic mock API. The second run loads the connector from the cache (no YAML parse, no
validator built: said by ``read --verbose``'s DEBUG line) and its output is the first run's."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.generic import GenericApi
from integration_tests.mocks.server import MockServer

CONNECTOR = """\
name: cached
base_url: "{{ config.base_url }}"
streams:
  - name: items
    request: {path: /v1/cursor, params: {limit: "5", since: "{{ config.since }}"}}
    decoder: {type: json, records_path: data}
    pagination: {type: cursor, cursor_param: cursor, cursor_path: next_cursor}
    primary_key: id
    cursor_field: updated_at
    schema_file: items.json
    transform:
      - {op: set, field: seen, value: "{{ record.id }}-{{ config.tag }}"}
  - name: jobs
    request: {path: /ignored}
    partition:
      type: async_job
      create: {path: /jobs}
      poll: {path: "/jobs/{{ job_id }}", status_path: status, completed_value: done}
      download: {path: "/jobs/{{ job_id }}/result"}
"""
SCHEMA = {"type": "object", "properties": {"id": {"type": "string"}}}


def records(n: int = 12) -> list[dict[str, Any]]:
    return [{"id": f"it_{i:03d}", "n": i, "updated_at": f"2024-01-01T00:{i:02d}:00Z"} for i in range(n)]


def without_timings(node: Any) -> Any:
    """The output with what differs from run to run (times) left out."""
    if isinstance(node, dict):
        return {k: without_timings(v) for k, v in node.items() if k not in ("emitted_at", "duration_ms")}
    if isinstance(node, list):
        return [without_timings(v) for v in node]
    return node


def cache_lines(result: Result) -> list[str]:
    return [m["log"]["message"] for m in result.of_type("LOG") if m["log"]["message"].startswith("manifest cache:")]


def the_rest(result: Result) -> list[Any]:
    return [without_timings(m) for m in result.messages
            if not (m["type"] == "LOG" and m["log"]["message"].startswith("manifest cache:"))]


def test_a_second_read_uses_the_cache_and_says_the_same(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(CONNECTOR)
    (tmp_path / "items.json").write_text(json.dumps(SCHEMA))
    env = {"SOLIDAFY_CACHE_DIR": str(tmp_path / "cache")}
    with MockServer(GenericApi(records())) as srv:
        config = json.dumps({"base_url": srv.url, "since": "2024", "tag": "t"})
        first, second = (run_cli("read", "-v", "-c", str(tmp_path / "c.yaml"), "--config-json", config,
                                 "--streams", "items", env=env) for _ in range(2))
        assert first.rc == 0 and second.rc == 0, first.stderr + second.stderr
        assert cache_lines(first) == ["manifest cache: miss for c.yaml; Manifest validator built: yes; pydantic imported: yes"]
        assert cache_lines(second) == ["manifest cache: hit for c.yaml; Manifest validator built: no; pydantic imported: no"]
        assert the_rest(second) == the_rest(first)
        assert second.stderr == first.stderr
        assert [r["seen"] for r in second.records("items")][:2] == ["it_000-t", "it_001-t"]
        (entry,) = (tmp_path / "cache").iterdir()
        assert stat.S_IMODE(entry.stat().st_mode) == 0o600
        assert srv.url not in entry.read_bytes().decode("latin-1")  # config is never written

        (tmp_path / "items.json").write_text(json.dumps({**SCHEMA, "title": "changed"}))  # a file the load read
        third = run_cli("read", "-v", "-c", str(tmp_path / "c.yaml"), "--config-json", config, "--streams", "items",
                        env=env)
        assert cache_lines(third) == ["manifest cache: miss for c.yaml; Manifest validator built: yes; pydantic imported: yes"]
        assert the_rest(third) == the_rest(first)


def test_validate_twice_shows_the_same_summary_and_warnings(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(CONNECTOR)
    (tmp_path / "items.json").write_text(json.dumps(SCHEMA))
    env = {"SOLIDAFY_CACHE_DIR": str(tmp_path / "cache")}
    first, second = (run_cli("validate", str(tmp_path / "c.yaml"), env=env) for _ in range(2))
    assert first.rc == second.rc == 0
    assert "warning: c.yaml:" in first.stdout and "ignored: an async_job stream" in first.stdout
    assert (second.stdout, second.stderr) == (first.stdout, first.stderr)
    assert len(list((tmp_path / "cache").iterdir())) == 1


def test_errors_are_the_same_every_time_and_not_kept(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(CONNECTOR.replace("cursor_param: cursor", "cursor_parm: cursor"))
    env = {"SOLIDAFY_CACHE_DIR": str(tmp_path / "cache")}
    off = run_cli("validate", str(tmp_path / "c.yaml"), env={"SOLIDAFY_NO_CACHE": "1"})
    first, second = (run_cli("validate", str(tmp_path / "c.yaml"), env=env) for _ in range(2))
    assert first.rc == second.rc == off.rc == 2
    assert "did you mean 'cursor_param'" in first.stderr
    assert second.stderr == first.stderr == off.stderr
    assert not list((tmp_path / "cache").iterdir())


def test_an_airbyte_manifest_twice_and_after_a_spec_file_beside_it(tmp_path: Path) -> None:
    """The translation of an Airbyte manifest is kept too: its templates (the table's ``_ab`` helpers)
    render the same from the cache; a ``spec.yaml`` written beside it later (a file the load looked
    for) is a new load."""
    from integration_tests.test_airbyte_manifests import HERE, _events_api

    manifest = tmp_path / "manifest.yaml"
    manifest.write_text((HERE / "events_manifest.yaml").read_text())
    env = {"SOLIDAFY_CACHE_DIR": str(tmp_path / "cache")}
    with MockServer(_events_api([])) as api:
        config = {"api_key": "k-1", "api_url": api.url, "start_date": "2024-01-01", "end_date": "2024-01-03"}
        (tmp_path / "config.json").write_text(json.dumps(config))
        runs = [run_cli("read", "-v", "--connector", str(manifest), "--config", str(tmp_path / "config.json"),
                        "--concurrency", "1", env=env) for _ in range(2)]
        assert [r.rc for r in runs] == [0, 0], runs[0].stderr + runs[1].stderr
        assert [cache_lines(r) for r in runs] == [
            ["manifest cache: miss for manifest.yaml; Manifest validator built: yes; pydantic imported: yes"],
            ["manifest cache: hit for manifest.yaml; Manifest validator built: no; pydantic imported: no"]]
        assert the_rest(runs[1]) == the_rest(runs[0]) and len(runs[0].records("events")) == 7
        (tmp_path / "spec.yaml").write_text("connectionSpecification: {type: object, required: [api_key],"
                                            " properties: {api_key: {type: string}}}\n")
        third = run_cli("read", "-v", "--connector", str(manifest), "--config", str(tmp_path / "config.json"),
                        "--concurrency", "1", env=env)
    assert cache_lines(third)[0].startswith("manifest cache: miss") and third.rc == 0, third.stderr
    assert the_rest(third) == the_rest(runs[0])
