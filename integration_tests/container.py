"""The real image for the container tests: built by container/build.sh, run with podman (host network).

``built_image()`` returns an :class:`Image` once container/build.sh has installed the engine (when
missing), made the local base and built the Dockerfile unchanged (once per test process). It skips,
with the script's reason, only when the engine cannot run on this machine (exit 3: no root/apt to
install it, or no container starts).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from integration_tests.helpers import Result
from integration_tests.tool_venvs import pinned_venv

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "container" / "build.sh"
DOCKER_SHIM = REPO / "container" / "bin"  # a `docker` that is podman over build.sh's storage
CACHE = Path(os.environ.get("SOLIDAFY_CONTAINER_CACHE", "/var/cache/solidafy-container"))
IMAGE = os.environ.get("SOLIDAFY_IMAGE", "solidafy/source-solidafy:dev")
CANNOT_RUN = 3  # build.sh's exit code when no engine can run here


def docker_env() -> dict[str, str]:
    """The environment under which ``docker`` is the podman shim (what PyAirbyte and airbyte-cdk call)."""
    return {**os.environ, "PATH": f"{DOCKER_SHIM}{os.pathsep}{os.environ.get('PATH', '')}",
            "SOLIDAFY_CONTAINER_CACHE": str(CACHE), "SOLIDAFY_IMAGE": IMAGE}  # fmt: skip


def docker(*args: str, timeout: float = 300, input: str | None = None) -> subprocess.CompletedProcess[str]:  # noqa: A002
    return subprocess.run([str(DOCKER_SHIM / "docker"), *args], capture_output=True, text=True, timeout=timeout,
                          env=docker_env(), input=input, stdin=None if input is not None else subprocess.DEVNULL)  # fmt: skip


@dataclass(frozen=True)
class Image:
    name: str

    def run(self, *args: str, volumes: Sequence[tuple[Path | str, str]] = (), env: dict[str, str] | None = None,
            entrypoint: str | None = None, timeout: float = 300) -> Result:  # fmt: skip
        """``docker run --rm [-v HOST:CONTAINER:ro ...] [-e K=V ...] IMAGE ARGS`` (host network)."""
        return Result(*_completed(docker(*self.run_args(volumes, env, entrypoint), self.name, *args, timeout=timeout)))

    @staticmethod
    def run_args(volumes: Sequence[tuple[Path | str, str]] = (), env: dict[str, str] | None = None,
                 entrypoint: str | None = None) -> list[str]:  # fmt: skip
        argv = ["run", "--rm", "--network", "host"]
        for host, container in volumes:
            argv += ["-v", f"{host}:{container}"]
        for key, value in (env or {}).items():
            argv += ["-e", f"{key}={value}"]
        if entrypoint:
            argv += ["--entrypoint", entrypoint]
        return argv

    def inspect(self) -> dict:
        proc = docker("image", "inspect", self.name)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)[0]

    @contextmanager
    def detached(self, *args: str, env: dict[str, str] | None = None, publish: Sequence[str] = ()) -> Iterator[str]:
        """``docker run -d`` a named container; it is removed (killed at once) on exit, whatever happened.

        With ``publish`` (``-p HOST_IP:HOST_PORT:PORT`` values) it gets a network of its own, as under
        Docker's default bridge: slirp4netns, which forwards the published ports (no bridge here).
        """
        name = f"solidafy-test-{uuid.uuid4().hex[:10]}"
        network = "slirp4netns:port_handler=slirp4netns" if publish else "host"
        argv = ["run", "-d", "--rm", "--name", name, "--network", network]
        for port in publish:
            argv += ["-p", port]
        for key, value in (env or {}).items():
            argv += ["-e", f"{key}={value}"]
        proc = docker(*argv, self.name, *args)
        try:
            assert proc.returncode == 0, proc.stderr
            yield name
        finally:
            docker("rm", "-f", "-t", "0", name)


def _completed(proc: subprocess.CompletedProcess[str]) -> tuple[int, str, str]:
    return proc.returncode, proc.stdout, proc.stderr


def build_image() -> str | None:
    """Run container/build.sh; None when the image is built, else why no engine can run here."""
    proc = subprocess.run(["bash", str(BUILD)], capture_output=True, text=True, timeout=1500,
                          env={**docker_env(), "SOLIDAFY_IMAGE": IMAGE})  # fmt: skip
    if proc.returncode == CANNOT_RUN:
        return proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "container engine cannot run"
    assert proc.returncode == 0, f"container/build.sh failed:\n{proc.stdout}\n{proc.stderr[-6000:]}"
    return None


@functools.cache
def built_image() -> Image:
    reason = build_image()
    if reason:
        pytest.skip(f"no container engine can run here: {reason}")
    return Image(IMAGE)


def writable_dir(path: Path) -> Path:
    """A host directory the image's non-root user (uid 1000) may write into."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o777)
    return path


TOOLS_REQUIREMENTS = REPO / "container" / "airbyte-tools.txt"
MELTANO_REQUIREMENTS = REPO / "container" / "meltano-tools.txt"


def airbyte_tools() -> Path:
    """The virtualenv with airbyte-cdk and PyAirbyte (container/airbyte-tools.txt), made once per pin set."""
    return pinned_venv(TOOLS_REQUIREMENTS, CACHE)


def meltano_tools() -> Path:
    """The virtualenv with Meltano (container/meltano-tools.txt), made once per pin set."""
    return pinned_venv(MELTANO_REQUIREMENTS, CACHE)


if __name__ == "__main__":  # `make container-test` makes the tools' venvs while container/build.sh runs
    with ThreadPoolExecutor() as pool:
        print(*pool.map(lambda make: make(), (airbyte_tools, meltano_tools)), sep="\n")
