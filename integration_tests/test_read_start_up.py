"""What a read from the validated-manifest cache imports: nothing it does not use (issue #16: start-up is
most of a short read's CPU). The CLI runs as a subprocess twice against the generic mock API; the second
run, a cache hit, says which of the modules a plain read has no use for it imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from integration_tests.mocks.generic import GenericApi
from integration_tests.mocks.server import MockServer

CONNECTOR = """\
name: plain
base_url: "{{ config.base_url }}"
streams:
  - name: items
    request: {path: /v1/cursor, params: {limit: "5"}}
    decoder: {type: json, records_path: data}
    pagination: {type: cursor, cursor_param: cursor, cursor_path: next_cursor}
    primary_key: id
"""
# what no plain read (no auth fetching tokens, no retry, one stream, no schema, no plugin) needs; pydantic:
# a hit's models are light (manifest/light.py)
UNUSED = ("tenacity", "difflib", "yaml", "pyarrow", "duckdb", "flask", "smart_open", "boto3", "pydantic", "pydantic_core",
          "source_solidafy.plugins", "source_solidafy.confinement", "source_solidafy.drift", "source_solidafy.sync_result",
          "source_solidafy.rest.infer", "source_solidafy.rest.record_filter", "source_solidafy.rest.oauth2",
          "source_solidafy.rest.jwt_auth", "source_solidafy.rest.key_pool", "source_solidafy.rest.line_stream",
          "source_solidafy.rest.json_stream", "source_solidafy.rest.cast",
          "source_solidafy.databases")

READ_AND_SAY = (
    "import sys, os\n"
    "from source_solidafy.cli import main\n"
    "out, sys.stdout = sys.stdout, open(os.devnull, 'w')\n"
    "rc = main()\n"  # the command line of this process, as the console script runs it
    "sys.stdout = out\n"
    f"print(rc, sorted(m for m in {UNUSED!r} if m in sys.modules))\n"
)


def test_a_cache_hit_read_imports_nothing_it_does_not_use(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(CONNECTOR)
    env = {**os.environ, "SOLIDAFY_CACHE_DIR": str(tmp_path / "cache")}
    with MockServer(GenericApi([{"id": f"it_{i}"} for i in range(12)])) as srv:
        argv = ["read", "-c", str(tmp_path / "c.yaml"), "--config-json", json.dumps({"base_url": srv.url})]
        said = [subprocess.run([sys.executable, "-c", READ_AND_SAY, *argv], capture_output=True, text=True,
                               env=env, timeout=120) for _ in range(2)]
    assert [s.returncode for s in said] == [0, 0], said[1].stderr[-2000:]
    assert said[1].stdout.strip() == "0 []", said[1].stdout
    assert any(entry.is_file() for entry in (tmp_path / "cache").iterdir())  # the second read was a hit


def test_a_cache_hit_read_without_templates_needs_no_jinja_nor_pickle_py(tmp_path: Path) -> None:
    """No template (the config's base_url replaces the file's): no jinja2, and the entry is unpickled by
    pickle's C loader alone (manifest/cache.py), pickle.py never imported."""
    (tmp_path / "c.yaml").write_text(CONNECTOR.replace('"{{ config.base_url }}"', "http://127.0.0.1:1"))
    env = {**os.environ, "SOLIDAFY_CACHE_DIR": str(tmp_path / "cache")}
    code = READ_AND_SAY.replace(repr(UNUSED), repr(("jinja2", "pickle")))
    with MockServer(GenericApi([{"id": f"it_{i}"} for i in range(12)])) as srv:
        argv = ["read", "-c", str(tmp_path / "c.yaml"), "--config-json", json.dumps({"base_url": srv.url})]
        said = [subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                               env=env, timeout=120) for _ in range(2)]
    assert [s.returncode for s in said] == [0, 0], said[1].stderr[-2000:]
    assert said[0].stdout.strip() == "0 ['pickle']", said[0].stdout  # a load: the entry is written
    assert said[1].stdout.strip() == "0 []", said[1].stdout


def test_a_cache_hit_read_of_an_airbyte_manifest_parses_no_yaml(tmp_path: Path) -> None:
    """The translated Airbyte manifest comes from the cache too: no YAML parser, no problem wording."""
    from integration_tests.test_airbyte_manifests import HERE, _events_api

    (tmp_path / "manifest.yaml").write_text((HERE / "events_manifest.yaml").read_text())
    env = {**os.environ, "SOLIDAFY_CACHE_DIR": str(tmp_path / "cache")}
    code = READ_AND_SAY.replace(repr(UNUSED), repr(("yaml", "difflib", "source_solidafy.manifest.problems", "pydantic")))
    with MockServer(_events_api([])) as srv:
        config = {"api_key": "k-1", "api_url": srv.url, "start_date": "2024-01-01", "end_date": "2024-01-03"}
        argv = ["read", "-c", str(tmp_path / "manifest.yaml"), "--config-json", json.dumps(config)]
        said = [subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                               env=env, timeout=120) for _ in range(2)]
    assert [s.returncode for s in said] == [0, 0], said[1].stderr[-2000:]
    assert said[0].stdout.strip() == ("0 ['difflib', 'pydantic', 'source_solidafy.manifest.problems', 'yaml']"), \
        said[0].stdout  # a load
    assert said[1].stdout.strip() == "0 []", said[1].stdout
