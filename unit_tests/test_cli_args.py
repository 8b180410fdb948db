"""CLI argument handling in-process: config/state parsing errors, flavour choice, error reporting."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from source_solidafy import cli
from source_solidafy.errors import ConfigError, UsageError


def _ns(**kw: object) -> argparse.Namespace:
    return argparse.Namespace(**{"config_json": None, "config": None, **kw})


def test_config_from_json_and_file(tmp_path: Path) -> None:
    assert cli._config(_ns(config_json='{"a": 1}')) == {"a": 1}
    path = tmp_path / "c.json"
    path.write_text('{"b": 2}')
    assert cli._config(_ns(config=str(path))) == {"b": 2}
    assert cli._config(_ns()) == {}


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"config_json": "{nope"}, "--config-json: not valid JSON"),
        ({"config_json": "[1]"}, "--config-json: config must be a JSON object, got list"),
        ({"config": "/nonexistent/c.json"}, "config file not found: /nonexistent/c.json"),
    ],
)
def test_config_errors_name_where(kw: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        cli._config(_ns(**kw))
    assert str(info.value).startswith(expected)
    assert info.value.exit_code == 2


def test_parser_errors_raise_usage_error() -> None:
    with pytest.raises(UsageError) as info:
        cli.build_parser().parse_args(["read", "--max-records", "lots"])
    assert "--max-records" in str(info.value)


def test_read_defaults() -> None:
    args = cli.build_parser().parse_args(["read", "-c", "demo"])
    assert (args.format, args.streams, args.state_per_page, args.max_records) == ("json", "", False, None)


def test_airbyte_flavour_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOLIDAFY_FLAVOUR", raising=False)
    monkeypatch.setattr(sys, "argv", ["/x/solidafy-cdk"])
    assert not cli._is_airbyte(["read", "-c", "demo"])
    assert cli._is_airbyte(["read", "--catalog", "k.json"])
    monkeypatch.setattr(sys, "argv", ["/x/source-solidafy"])
    assert cli._is_airbyte(["spec"])
    monkeypatch.setattr(sys, "argv", ["/x/solidafy-cdk"])
    monkeypatch.setenv("SOLIDAFY_FLAVOUR", "airbyte")
    assert cli._is_airbyte(["spec"])


def test_report_airbyte_writes_trace_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli._report(ConfigError("bad catalog: stream 'x'"), airbyte=True, verbose=False)
    out, err = capsys.readouterr()
    assert code == 2
    [msg] = [json.loads(line) for line in out.splitlines()]
    assert msg["type"] == "TRACE" and msg["trace"]["error"]["failure_type"] == "config_error"
    assert err == "error: bad catalog: stream 'x'\n"


def test_report_unexpected_error_is_one_line_without_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli._report(RuntimeError("boom"), airbyte=False, verbose=False)
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err == "error: internal error: RuntimeError: boom\n"


def test_main_version_and_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert "solidafy-cdk" in capsys.readouterr().out
    assert cli.main(["nosuchcommand"]) == 2
    err = capsys.readouterr().err
    assert "nosuchcommand" in err and "Traceback" not in err


@pytest.mark.parametrize("argv", [["list"], ["spec", "-c", "stripe"], ["streams", "-c", "stripe"], ["--help"]])
def test_fast_commands_import_nothing_heavy(argv: list[str]) -> None:
    code = (
        "import sys\nfrom source_solidafy.cli import main\n"
        f"rc = main({argv!r})\n"
        "heavy = [m for m in ('pyarrow', 'duckdb', 'flask', 'smart_open', 'boto3') if m in sys.modules]\n"
        "sys.stderr.write('HEAVY=' + ','.join(heavy) + ' RC=' + str(rc))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stderr.strip().endswith("HEAVY= RC=0"), proc.stderr[-2000:]
