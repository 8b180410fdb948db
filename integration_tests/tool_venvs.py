"""Virtualenvs for test-only tools whose pins conflict with ours (airbyte-cdk, PyAirbyte).

Each is made from one requirements file, once per pin set, and cached between runs: the directory is
``<cache>/<file stem>-<sha256 of the file, 12 hex>``, so changing a pin makes a new one and CI that
keeps the cache directory installs nothing. A lock file serialises two test processes making the same
one; a half-made venv (no ``.installed`` stamp) is made again.

    venv = pinned_venv(REPO / "integration_tests" / "airbyte-cdk.txt")
    subprocess.run([str(venv / "bin" / "python"), ...])
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

TOOLS_CACHE = Path(os.environ.get("SOLIDAFY_TOOLS_CACHE") or Path.home() / ".cache" / "solidafy-test-tools")


def pinned_venv(requirements: Path, cache: Path = TOOLS_CACHE) -> Path:
    """The virtualenv with ``requirements`` installed (made on first use, then reused)."""
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    venv = cache / f"{requirements.stem}-{digest}"
    if (venv / ".installed").is_file():
        return venv
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / f"{venv.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be making it: wait, then reuse its work
        if not (venv / ".installed").is_file():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
            pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "-r", str(requirements)],
                                 capture_output=True, text=True, timeout=900)  # fmt: skip
            assert pip.returncode == 0, f"installing {requirements.name} failed:\n{pip.stderr[-4000:]}"
            (venv / ".installed").write_text(requirements.read_text())
    return venv
