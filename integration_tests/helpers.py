"""Run the installed CLI as a real subprocess and parse what it prints."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BIN_DIR = Path(sys.executable).parent


def cli_path(name: str = "solidafy-cdk") -> str:
    """The console script installed next to this interpreter (the installed package, not the checkout)."""
    candidate = BIN_DIR / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"console script {name} is not installed")
    return found


@dataclass
class Result:
    rc: int
    stdout: str
    stderr: str

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == kind]

    def records(self, stream: str | None = None) -> list[dict[str, Any]]:
        return [
            m["record"]["data"]
            for m in self.of_type("RECORD")
            if stream is None or m["record"]["stream"] == stream
        ]

    @property
    def summary(self) -> dict[str, Any]:
        last = self.messages[-1]
        assert last["type"] == "SYNC_SUMMARY", last
        return last["summary"]


def run_cli(
    *args: str,
    script: str = "solidafy-cdk",
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    timeout: float = 120,
    input: str | None = None,  # noqa: A002
) -> Result:
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [cli_path(script), *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)
