"""The Airbyte flavour end to end: ``source-solidafy spec|check|discover|read`` against the generic mock.

Every stdout line is validated against ``airbyte_protocol.models.AirbyteMessage``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from airbyte_protocol.models import AirbyteMessage

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.generic import Credentials, GenericApi, connector, make_items
from integration_tests.mocks.server import Faults, MockServer, Response

ITEMS = make_items(12)
IDS = [r["id"] for r in ITEMS]
TOKEN = "tok-AIRBYTE-secret"


def _lines(res: Result) -> list[dict[str, Any]]:
    """Every line is one AirbyteMessage (and never a solidafy-only type)."""
    out = []
    for line in res.stdout.splitlines():
        AirbyteMessage.model_validate_json(line)
        msg = json.loads(line)
        assert msg["type"] not in ("STREAMS", "SYNC_SUMMARY"), line
        out.append(msg)
    return out


def _files(tmp_path: Path, srv: MockServer, name: str, streams: list[str], token: str = TOKEN) -> tuple[str, str]:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"connector": connector(name), "base_url": f"{srv.url}/v1", "api_token": token}))
    catalog = tmp_path / "catalog.json"
    configured = [
        {
            "stream": {"name": s, "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
            "sync_mode": "incremental",
            "destination_sync_mode": "append",
        }
        for s in streams
    ]
    catalog.write_text(json.dumps({"streams": configured}))
    return str(config), str(catalog)


def _airbyte(*args: str) -> tuple[Result, list[dict[str, Any]]]:
    res = run_cli(*args, script="source-solidafy")
    return res, _lines(res)


def _statuses(msgs: list[dict[str, Any]], stream: str) -> list[str]:
    return [
        m["trace"]["stream_status"]["status"] for m in msgs
        if m["type"] == "TRACE" and m["trace"]["type"] == "STREAM_STATUS"
        and m["trace"]["stream_status"]["stream_descriptor"]["name"] == stream
    ]


def _states(msgs: list[dict[str, Any]], stream: str) -> list[dict[str, Any]]:
    return [m["state"] for m in msgs if m["type"] == "STATE" and m["state"]["stream"]["stream_descriptor"]["name"] == stream]


def _api(faults: Faults | None = None) -> GenericApi:
    return GenericApi(ITEMS, Credentials("bearer", token=TOKEN), faults=faults)


def test_airbyte_read_two_streams_and_resume(tmp_path: Path) -> None:
    with MockServer(_api()) as srv:
        config, catalog = _files(tmp_path, srv, "airbyte_bearer", ["items", "filtered"])
        res, msgs = _airbyte("read", "--config", config, "--catalog", catalog)
        assert res.rc == 0, res.stderr
        for stream in ("items", "filtered"):
            assert [m["record"]["data"]["id"] for m in msgs if m["type"] == "RECORD" and m["record"]["stream"] == stream] == IDS
            assert _statuses(msgs, stream) == ["STARTED", "RUNNING", "COMPLETE"]
            states = _states(msgs, stream)
            assert states and all(s["type"] == "STREAM" for s in states)
            assert sum(s["sourceStats"]["recordCount"] for s in states) == 12.0
            assert states[-1]["stream"]["stream_state"] == {"cursor": ITEMS[-1]["updated_at"]}
        assert all(isinstance(m["record"]["emitted_at"], int) for m in msgs if m["type"] == "RECORD")
        assert TOKEN not in res.stdout and TOKEN not in res.stderr

        state_file = tmp_path / "state.json"
        state_file.write_text(json.dumps([m["state"] for m in msgs if m["type"] == "STATE"]))
        res2, msgs2 = _airbyte("read", "--config", config, "--catalog", catalog, "--state", str(state_file))
    assert res2.rc == 0, res2.stderr
    records2 = [m["record"]["data"]["id"] for m in msgs2 if m["type"] == "RECORD"]
    assert sorted(records2) == ["it_011", "it_011"], "only the boundary record comes again"
    for stream in ("items", "filtered"):
        assert [s["sourceStats"]["recordCount"] for s in _states(msgs2, stream)][-1] >= 0
        assert sum(s["sourceStats"]["recordCount"] for s in _states(msgs2, stream)) == 1.0


def test_airbyte_read_state_per_page_counts(tmp_path: Path) -> None:
    with MockServer(_api()) as srv:
        config, catalog = _files(tmp_path, srv, "airbyte_bearer", ["items"])
        res, msgs = _airbyte("read", "--config", config, "--catalog", catalog, "--state-per-page")
    assert res.rc == 0, res.stderr
    assert [s["sourceStats"]["recordCount"] for s in _states(msgs, "items")] == [5.0, 5.0, 2.0]
    assert not [m for m in msgs if m["type"] == "RECORD" and m["record"]["stream"] != "items"], "subset catalog"


def test_airbyte_read_failed_stream_incomplete_trace_error(tmp_path: Path) -> None:
    down = {n: Response.json({"error": "down"}, 500) for n in range(2, 20)}
    with MockServer(_api(Faults(down, path_prefix="/v1/cursor"))) as srv:
        config, catalog = _files(tmp_path, srv, "airbyte_bearer", ["items", "filtered"])
        res, msgs = _airbyte("read", "--config", config, "--catalog", catalog, "--state-per-page")
    assert res.rc == 1
    assert _statuses(msgs, "items") == ["STARTED", "RUNNING", "INCOMPLETE"]
    assert _statuses(msgs, "filtered") == ["STARTED", "RUNNING", "COMPLETE"]
    errors = [m["trace"]["error"] for m in msgs if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]
    assert len(errors) == 1 and errors[0]["stream_descriptor"] == {"name": "items"}, errors
    assert "500" in errors[0]["message"] or "500" in (errors[0].get("internal_message") or "")
    assert [s["stream"]["stream_state"] for s in _states(msgs, "items")] == [{"cursor": ITEMS[4]["updated_at"]}]
    assert TOKEN not in res.stdout and TOKEN not in res.stderr


def test_airbyte_spec_check_discover(tmp_path: Path) -> None:
    with MockServer(_api()) as srv:
        config, _ = _files(tmp_path, srv, "airbyte_bearer", [])
        (tmp_path / "bad").mkdir()
        bad_config, _ = _files(tmp_path / "bad", srv, "airbyte_bearer", [], token="tok-WRONG-abc")
        spec, spec_msgs = _airbyte("spec", "--connector", connector("airbyte_bearer"))
        good, good_msgs = _airbyte("check", "--config", config)
        bad, bad_msgs = _airbyte("check", "--config", bad_config)
        disc, disc_msgs = _airbyte("discover", "--config", config)
    assert spec.rc == 0 and [m["type"] for m in spec_msgs] == ["SPEC"]
    props = spec_msgs[0]["spec"]["connectionSpecification"]["properties"]
    assert props["api_token"].get("airbyte_secret") is True
    assert "base_url" in props and "base_url" not in spec_msgs[0]["spec"]["connectionSpecification"].get("required", [])
    assert good.rc == 0 and [m["connectionStatus"]["status"] for m in good_msgs if m["type"] == "CONNECTION_STATUS"] == [
        "SUCCEEDED"
    ]
    assert bad.rc == 0
    statuses = [m["connectionStatus"] for m in bad_msgs if m["type"] == "CONNECTION_STATUS"]
    assert [s["status"] for s in statuses] == ["FAILED"] and "401" in statuses[0]["message"]
    assert "tok-WRONG-abc" not in bad.stdout + bad.stderr
    assert disc.rc == 0
    catalogs = [m["catalog"] for m in disc_msgs if m["type"] == "CATALOG"]
    assert len(catalogs) == 1
    streams = {s["name"]: s for s in catalogs[0]["streams"]}
    assert sorted(streams) == ["filtered", "items"]
    assert streams["items"]["default_cursor_field"] == ["updated_at"]
    assert streams["items"]["source_defined_primary_key"] == [["id"]]
    assert "incremental" in streams["items"]["supported_sync_modes"]
    assert set(streams["items"]["json_schema"]["properties"]) >= {"id", "n", "name", "updated_at"}


@pytest.mark.parametrize("problem", ["unknown-stream", "bad-state"])
def test_airbyte_read_bad_input_config_error(tmp_path: Path, problem: str) -> None:
    with MockServer(_api()) as srv:
        config, catalog = _files(tmp_path, srv, "airbyte_bearer", ["items", "nope"] if problem == "unknown-stream" else ["items"])
        extra: list[str] = []
        if problem == "bad-state":
            (tmp_path / "state.json").write_text(json.dumps({"streams": ["not", "a", "map"]}))
            extra = ["--state", str(tmp_path / "state.json")]
        res, msgs = _airbyte("read", "--config", config, "--catalog", catalog, *extra)
    assert res.rc == 2, res.stdout + res.stderr
    errors = [m["trace"]["error"] for m in msgs if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]
    assert [e["failure_type"] for e in errors] == ["config_error"]
    assert not [m for m in msgs if m["type"] == "RECORD"]
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr
    if problem == "unknown-stream":
        assert "nope" in res.stderr and "nope" in errors[0]["message"]
    else:
        assert "state" in res.stderr.lower()
