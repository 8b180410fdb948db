"""Airbyte error handlers that read the response, run by us alone (the CLI against the generic mock): what
the differential cases (cases/errors*.yaml) cannot show against airbyte-cdk, which prints what we must not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from integration_tests.helpers import run_cli
from integration_tests.mocks.manifest_api import ManifestApi
from integration_tests.mocks.server import MockServer

MANIFEST = Path(__file__).resolve().parent / "airbyte_manifests" / "errors_manifest.yaml"
TOKEN = "err-token-s3cret"


def _api(faults: list[dict[str, Any]]) -> ManifestApi:
    return ManifestApi({
        "auth": {"type": "bearer", "token": TOKEN},
        "routes": [{"path": "/v1/orders", "records": {"count": 4, "fields": {"id": "o{i}", "total": "{i}0.00"}},
                    "paging": {"type": "cursor", "cursor": "cursor", "limit": "limit", "size": 3},
                    "body": {"data": "$records", "next": "$next"}}],
        "faults": faults,
    })


def _read(tmp_path: Path, api: ManifestApi, manifest: str) -> Any:
    (tmp_path / "manifest.yaml").write_text(manifest)
    with MockServer(api) as server:
        (tmp_path / "config.json").write_text(json.dumps({"api_url": server.url, "token": TOKEN, "max_wait": 30}))
        (tmp_path / "catalog.json").write_text(json.dumps({"streams": [{
            "stream": {"name": "orders", "json_schema": {}, "supported_sync_modes": ["full_refresh"]},
            "sync_mode": "full_refresh", "destination_sync_mode": "append"}]}))
        return run_cli("read", "--connector", str(tmp_path / "manifest.yaml"), "--config",
                       str(tmp_path / "config.json"), "--catalog", str(tmp_path / "catalog.json"))


def test_a_200_error_body_ignored_on_the_first_page_is_an_empty_page(tmp_path: Path) -> None:
    """The CDK reads an IGNOREd success as a page; its body has no ``data``: no records, no next cursor,
    and the stream succeeds (our engine fails a first page whose records path matches nothing, unless a
    filter accepted it)."""
    api = _api([{"path": "/v1/orders", "nth": 1, "status": 200, "body": {"status": "error", "message": "maintenance"}}])
    result = _read(tmp_path, api, MANIFEST.read_text())
    assert result.rc == 0, result.stderr
    assert result.records("orders") == []
    assert len(api.log) == 1
    status = result.messages[-1]["trace"]["stream_status"]  # not silent: skipped on purpose, listed
    assert status["status"] == "COMPLETE", status
    (skipped,) = status["skipped"]
    assert skipped.startswith("stream 'orders': decoder.records_path 'data' matched nothing"), skipped
    assert "read as an empty page (errors[0] (accept)" in skipped and "maintenance" in skipped, skipped


def test_an_error_message_that_renders_a_secret_is_redacted(tmp_path: Path) -> None:
    """A FAIL filter's error_message may read the config; an airbyte_secret value never reaches an output."""
    manifest = MANIFEST.read_text().replace("({{ config['token'] | length }}-character token)",
                                            "(token {{ config['token'] }})")
    assert "(token {{ config['token'] }})" in manifest
    api = _api([{"path": "/v1/orders", "nth": 2, "status": 200, "body": {"suspended": True, "account": "acme"}}])
    result = _read(tmp_path, api, manifest)
    assert result.rc != 0
    assert "account acme is suspended (token ***)" in result.stdout + result.stderr
    assert TOKEN not in result.stdout + result.stderr
    assert [r["id"] for r in result.records("orders")] == ["o1", "o2", "o3"]
