"""The wheel ships the built-in connectors: build it, install it in a fresh venv, run it elsewhere.

The fresh venv has no system site packages, so nothing leaks from the editable checkout; pip gets
the dependencies from the configured local mirror (offline).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # about 70 s: most of it is pip installing pyarrow, duckdb & co. from the mirror

REPO = Path(__file__).resolve().parent.parent
SKIP = shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
                              ".ruff_cache", "bench", "integration_tests", "unit_tests")


def _run(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"{args}: rc={proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """bin/ of a fresh venv with the freshly built wheel installed."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    shutil.copytree(REPO, src, ignore=SKIP)  # build from a copy: the work tree stays untouched
    dist = root / "dist"
    venv = root / "venv"
    with ThreadPoolExecutor(max_workers=1) as pool:  # the venv is made while the wheel builds
        made = pool.submit(_run, sys.executable, "-m", "venv", str(venv), cwd=root)
        _run(sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(src), cwd=root)
        made.result()
    [wheel] = dist.glob("source_solidafy-*.whl")
    _run(str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel), cwd=root)
    yield venv / "bin"


@pytest.fixture(scope="module")
def demo_url() -> Iterator[str]:
    from source_solidafy.demo_api import DemoApi

    api = DemoApi()
    yield api.start(port=0)
    api.stop()


def test_wheel_is_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    proc = _run(str(installed / "python"), "-c", "import source_solidafy; print(source_solidafy.__file__)", cwd=tmp_path)
    location = proc.stdout.strip()
    assert "site-packages" in location and not location.startswith(str(REPO / "source_solidafy")), location


def test_wheel_list_and_streams_from_elsewhere(installed: Path, tmp_path: Path) -> None:
    listing = _run(str(installed / "solidafy-cdk"), "list", "--format", "json", cwd=tmp_path)
    names = {c["name"] for c in json.loads(listing.stdout)["connectors"]}
    assert {"demo", "stripe", "hubspot", "zendesk"} <= names
    streams = _run(str(installed / "solidafy-cdk"), "streams", "-c", "stripe", cwd=tmp_path)
    msg = json.loads(streams.stdout)
    assert msg["type"] == "STREAMS" and {"customers", "invoices"} <= set(msg["streams"])


def test_wheel_reads_the_demo_api(installed: Path, tmp_path: Path, demo_url: str) -> None:
    config = json.dumps({"api_key": "demo-secret-token", "base_url": demo_url})
    proc = _run(str(installed / "solidafy-cdk"), "read", "-c", "demo", "--config-json", config,
                "--streams", "products", cwd=tmp_path)
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    records = [m for m in lines if m["type"] == "RECORD"]
    summary = lines[-1]["summary"]
    assert summary["status"] == "SUCCEEDED" and summary["total_records"] == len(records) > 0
    assert "demo-secret-token" not in proc.stdout + proc.stderr


def _dev_pin(name: str) -> str:
    import tomllib

    dev = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    return next(d for d in dev if d.split("==")[0] == name)


def test_acceptance_tests_pass_against_the_wheel(installed: Path, tmp_path: Path) -> None:
    """The acceptance tests, run by the wheel's interpreter from the checkout: the CLI they start is the
    installed one, and nothing in them needs the checkout's layout (connectors/ is not a package there)."""
    _run(str(installed / "python"), "-m", "pip", "install", "--quiet", _dev_pin("pytest"), _dev_pin("pytest-timeout"), _dev_pin("jsonschema"),
         cwd=tmp_path)
    proc = _run(str(installed / "python"), "-m", "pytest", "-p", "no:cacheprovider", "-k", "stripe or demo",
                "integration_tests/test_airbyte_acceptance.py", cwd=REPO)  # rc 0: nothing failed
    assert " passed" in proc.stdout, proc.stdout[-2000:]
