"""Run the installed ``source-solidafy`` executable the way Airbyte runs a source image.

Airbyte hands a source JSON files (``--config``, ``--catalog``, ``--state``) and reads NDJSON from
stdout; every line must be an ``AirbyteMessage``. :func:`airbyte` writes the files into a fresh
directory, runs the command and returns an :class:`AirbyteRun` whose ``problems`` list every line
that is not a valid protocol message (so each test can assert ``not run.problems``).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from integration_tests.helpers import cli_path

MAX_LINE_BYTES = 5 * 1024 * 1024
_counter = itertools.count()


def _validate_line(line: str) -> tuple[dict[str, Any] | None, str | None]:
    """Parse one stdout line; return (message, problem)."""
    from airbyte_protocol.models import AirbyteMessage
    from pydantic import ValidationError

    if len(line.encode()) >= MAX_LINE_BYTES:
        return None, f"line of {len(line.encode())} bytes (limit 5 MB)"
    try:
        msg = json.loads(line)
    except ValueError as exc:
        return None, f"not JSON ({exc}): {line[:200]!r}"
    if not isinstance(msg, dict) or "type" not in msg:
        return None, f"not an object with 'type': {line[:200]!r}"
    try:
        AirbyteMessage.model_validate(msg)
    except ValidationError as exc:
        return msg, f"not an AirbyteMessage ({exc.errors()[0]}): {line[:200]!r}"
    record = msg.get("record")
    if msg["type"] == "RECORD" and not isinstance(record.get("emitted_at"), int):
        return msg, f"emitted_at is not integer milliseconds: {line[:200]!r}"
    return msg, None


@dataclass
class AirbyteRun:
    """What one invocation printed, parsed and checked line by line."""

    args: list[str]
    rc: int
    stdout: str
    stderr: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for line in self.stdout.splitlines():
            if not line.strip():
                continue
            msg, problem = _validate_line(line)
            if msg is not None:
                self.messages.append(msg)
            if problem:
                self.problems.append(problem)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == kind]

    def records(self, stream: str | None = None) -> list[dict[str, Any]]:
        return [
            m["record"]
            for m in self.of_type("RECORD")
            if stream is None or m["record"]["stream"] == stream
        ]

    def states(self) -> list[dict[str, Any]]:
        return [m["state"] for m in self.of_type("STATE")]

    def traces(self, kind: str) -> list[dict[str, Any]]:
        return [m["trace"] for m in self.of_type("TRACE") if m["trace"].get("type") == kind]

    def errors(self) -> list[dict[str, Any]]:
        return [t["error"] for t in self.traces("ERROR")]

    def statuses(self, stream: str) -> list[str]:
        return [
            t["stream_status"]["status"]
            for t in self.traces("STREAM_STATUS")
            if t["stream_status"]["stream_descriptor"]["name"] == stream
        ]

    def final_state_array(self) -> list[dict[str, Any]]:
        """The last STATE per stream, as the JSON array Airbyte passes back with ``--state``."""
        last: dict[str, dict[str, Any]] = {}
        for state in self.states():
            if state.get("type") == "STREAM":
                last[state["stream"]["stream_descriptor"]["name"]] = state
        return list(last.values())

    def describe(self) -> str:
        """For assertion messages: the command, exit code, errors, and bounded excerpts of both streams."""
        errors = "\n".join(f"  {e.get('stream_descriptor')}: {e.get('message', '')[:300]}" for e in self.errors())
        return (
            f"$ source-solidafy {' '.join(self.args)}\nrc={self.rc}\nTRACE ERRORs:\n{errors or '  none'}\n"
            f"stdout (first 1500 chars):\n{self.stdout[:1500]}\nstderr (last 1500 chars):\n{self.stderr[-1500:]}"
        )


def write_json(directory: Path, stem: str, obj: Any) -> Path:
    path = directory / f"{stem}-{next(_counter)}.json"
    path.write_text(json.dumps(obj))
    return path


def airbyte(
    command: str,
    *,
    config: dict[str, Any] | None = None,
    catalog: dict[str, Any] | None = None,
    state: Any = None,
    extra: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    workdir: Path | None = None,
    timeout: float = 120,
) -> AirbyteRun:
    """Run ``source-solidafy <command> [--config F] [--catalog F] [--state F] [extra...]``."""
    directory = workdir or Path(tempfile.mkdtemp(prefix="solidafy-acceptance-"))
    args = [command] if command else []
    for flag, obj in (("--config", config), ("--catalog", catalog), ("--state", state)):
        if obj is not None:
            args += [flag, str(write_json(directory, flag.strip("-"), obj))]
    args += list(extra)
    # A SOLIDAFY_CONNECTOR left in the caller's environment would pick the connector for us.
    full_env = {k: v for k, v in os.environ.items() if k != "SOLIDAFY_CONNECTOR"}
    full_env.update(env or {})
    proc = subprocess.run(
        [cli_path("source-solidafy"), *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=str(directory),
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return AirbyteRun(args, proc.returncode, proc.stdout, proc.stderr)
