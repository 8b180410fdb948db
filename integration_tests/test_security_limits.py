"""Bounded resources against a hostile server (real CLI, real sockets): body size and request time.

Peak memory for the same cases is measured in bench/bench_limits.py (not here: no timed assertions).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.generic import json_body
from integration_tests.mocks.hostile import HostileServer


def _connector(tmp_path: Path, path: str, http: dict[str, Any]) -> str:
    doc = {"name": "hostile", "base_url": "http://127.0.0.1:9",
           "http": {"max_retries": 0, **http},
           "streams": [{"name": "items", "request": {"path": path},
                        "decoder": {"type": "json", "records_path": "data"}}]}
    out = tmp_path / "hostile.yaml"
    out.write_text(yaml.safe_dump(doc))
    return str(out)


def _read(tmp_path: Path, srv: HostileServer, path: str, **http: Any) -> Result:
    yaml_path = _connector(tmp_path, path, http)
    return run_cli("read", "-c", yaml_path, "--config-json", json_body({"base_url": srv.url}), timeout=300)


def _failure(res: Result) -> str:
    assert res.rc == 1, res.stdout[-2000:] + res.stderr[-2000:]
    stream = res.summary["streams"][0]
    assert stream["status"] == "FAILED", stream
    assert "Traceback" not in res.stderr
    return str(stream["error"])


@pytest.mark.parametrize("path", ["/stream", "/chunked", "/bomb"])
def test_body_past_the_limit_fails_while_streaming(tmp_path: Path, path: str) -> None:
    """A close-delimited endless body, an endless chunked stream and a gzip bomb (1 MB -> 1 GB)."""
    with HostileServer() as srv:
        res = _read(tmp_path, srv, path, max_response_mb=4)
    error = _failure(res)
    assert error == (f"GET {srv.url}{path}: the response is larger than 4 MB, the limit (http.max_response_mb); "
                     "stopped reading there")
    if path != "/bomb":  # reading stopped at the limit: the server saw the client go (not 1 GB later)
        assert path in srv.stopped and srv.sent[path] < 64 * 2**20, srv.sent


def test_declared_length_past_the_default_limit_fails_before_reading(tmp_path: Path) -> None:
    """500 MB announced in Content-Length: refused at the headers, with the default limit (128 MB)."""
    with HostileServer() as srv:
        res = _read(tmp_path, srv, "/big")
    assert "the response is larger than 128 MB, the limit (http.max_response_mb)" in _failure(res)
    assert srv.sent["/big"] < 64 * 2**20, srv.sent


def test_limit_leaves_a_normal_page_alone(tmp_path: Path) -> None:
    with HostileServer() as srv:
        res = _read(tmp_path, srv, "/ok", max_response_mb=0.001)
    assert res.rc == 0, res.stderr
    assert [r["id"] for r in res.records("items")] == ["a", "b"]


@pytest.mark.parametrize("path", ["/trickle", "/trickle_headers"])
def test_trickling_server_is_cut_at_the_deadline(tmp_path: Path, path: str) -> None:
    """One byte a second: every read is within timeout_secs, so only the overall deadline stops it.

    The whole answer would take 30 s or more; the deadline is 2 s (timeout_secs, its default).
    """
    with HostileServer() as srv:
        res = _read(tmp_path, srv, path, timeout_secs=2)
    error = _failure(res)
    assert error == (f"timeout after 2s from GET {srv.url}{path} after 0 retries: no complete response within "
                     "http.deadline_secs (default timeout_secs)")


def test_deadline_secs_is_its_own_key(tmp_path: Path) -> None:
    with HostileServer() as srv:
        res = _read(tmp_path, srv, "/trickle", timeout_secs=20, deadline_secs=1.5)
    assert "timeout after 1.5s from GET" in _failure(res)
