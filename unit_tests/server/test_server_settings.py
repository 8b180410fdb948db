"""serve flags: safe defaults, the token rule for exposed binds, clear errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from source_solidafy.errors import UsageError
from source_solidafy.server.main import serve_main
from source_solidafy.server.settings import is_loopback, parse_settings


def test_defaults_are_safe() -> None:
    s = parse_settings([], environ={})
    assert (s.host, s.port, s.auth_token, s.allow_custom_connectors, s.output_root, s.cors_origins) == (
        "127.0.0.1", 8080, None, False, None, ())


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.9.9.9", True), ("::1", True),
                                            ("localhost", True), ("0.0.0.0", False), ("::", False),
                                            ("10.0.0.5", False), ("example.com", False), ("", False)])
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_exposed_bind_needs_a_token() -> None:
    with pytest.raises(UsageError, match="refusing to bind '0.0.0.0' without an auth token"):
        parse_settings(["--host", "0.0.0.0"], environ={})
    assert parse_settings(["--host", "0.0.0.0", "--auth-token", "t0k3n"], environ={}).auth_token == "t0k3n"
    assert parse_settings(["--host", "0.0.0.0"], environ={"SOLIDAFY_API_TOKEN": "envtok"}).auth_token == "envtok"


def test_serve_main_refuses_with_one_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOLIDAFY_API_TOKEN", raising=False)
    assert serve_main(["--host", "0.0.0.0", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "without an auth token" in err
    rc = serve_main(["--threads", "zero"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "--threads" in err


def test_output_root_and_cors(tmp_path: Path) -> None:
    s = parse_settings(["--output-root", str(tmp_path), "--cors-origin", "https://a.example/,https://b.example",
                        "--cors-origin", "https://c.example"], environ={})
    assert s.output_root == str(tmp_path.resolve())
    assert s.cors_origins == ("https://a.example", "https://b.example", "https://c.example")
    with pytest.raises(UsageError, match="not an existing directory"):
        parse_settings(["--output-root", str(tmp_path / "missing")], environ={})


@pytest.mark.parametrize("bind, header, allowed", [
    ("127.0.0.1", "127.0.0.1:8080", True), ("127.0.0.1", "localhost:8080", True), ("127.0.0.1", "[::1]:8080", True),
    ("127.0.0.1", "LOCALHOST.", True), ("127.0.0.1", "evil.example:8080", False), ("127.0.0.1", "10.0.0.5", False),
    ("127.0.0.1", "127.0.0.1.evil.example", False), ("0.0.0.0", "10.0.0.5:8080", True), ("0.0.0.0", "evil.example", False),
    ("0.0.0.0", "api.internal", True), ("::", "[fd00::2]:8080", True), ("10.0.0.5", "10.0.0.5:8080", True),
    ("10.0.0.5", "localhost", False), ("127.0.0.1", None, True), ("127.0.0.1", "", True),
])
def test_host_header_rules(bind: str, header: str | None, allowed: bool) -> None:
    from source_solidafy.server.hosts import host_allowed

    settings = parse_settings(["--host", bind, "--allowed-host", "API.internal"], environ={"SOLIDAFY_API_TOKEN": "t"})
    assert host_allowed(settings, header) is allowed


def test_concurrent_calls_stay_below_the_threads() -> None:
    assert parse_settings([], environ={}).call_limit == 6
    assert parse_settings(["--threads", "2"], environ={}).call_limit == 1
    assert parse_settings(["--threads", "4", "--max-concurrent-calls", "3"], environ={}).call_limit == 3
    with pytest.raises(UsageError, match="--max-concurrent-calls 8 must be below --threads 8"):
        parse_settings(["--max-concurrent-calls", "8"], environ={})
