"""Meltano itself over the built image, through MeltanoLabs' tap-airbyte wrapper (vendored, unmodified).

The project is integration_tests/meltano/meltano.yml, copied into a temporary directory: the wrapper
(``pip_url``: integration_tests/vendor/tap-airbyte-wrapper) inherited by ``tap-solidafy-demo``, whose
``airbyte_spec`` is the built image, and target-jsonl. Meltano (container/meltano-tools.txt, a
virtualenv of its own) installs both plugins with its uv, runs the wrapper's connection test, then
``meltano run`` twice against the demo API on the host: the second run starts from the state Meltano
kept and reads only what changed. The wrapper calls ``docker run`` literally; ``docker`` is
integration_tests/meltano/bin/docker (podman, host network, see there for the one change).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integration_tests.container import REPO, Image, built_image, docker_env, meltano_tools
from source_solidafy.demo_api import DEMO_TOKEN, DemoApi, make_data

pytestmark = [pytest.mark.container, pytest.mark.timeout(1200)]
PROJECT = REPO / "integration_tests" / "meltano"
WRAPPER = REPO / "integration_tests" / "vendor" / "tap-airbyte-wrapper"
STATE_ID = "test:tap-solidafy-demo-to-target-jsonl"  # Meltano's: <environment>:<extractor>-to-<loader>


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoApi]:
    with DemoApi(data=make_data(customers=120, orders=300, products=30)) as api:  # notes: a request per customer
        yield api


class Meltano:
    def __init__(self, venv: Path, project: Path, image: Image, demo: DemoApi) -> None:
        name, tag = image.name.rsplit(":", 1)
        self.exe, self.project = venv / "bin" / "meltano", project
        self.env = {**docker_env(), "PATH": f"{PROJECT / 'bin'}:{docker_env()['PATH']}",
                    "TAP_AIRBYTE_PIP_URL": str(WRAPPER), "SOLIDAFY_IMAGE_NAME": name, "SOLIDAFY_IMAGE_TAG": tag,
                    "DEMO_BASE_URL": demo.url, "DEMO_API_KEY": DEMO_TOKEN,
                    "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false"}  # fmt: skip

    def __call__(self, *args: str, timeout: float = 600, **env: str) -> str:
        proc = subprocess.run([str(self.exe), *args], cwd=self.project, env={**self.env, **env},
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)  # fmt: skip
        what = f"meltano {' '.join(args)}: rc {proc.returncode}"
        assert proc.returncode == 0, f"{what}\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
        return proc.stdout + proc.stderr

    def run(self) -> dict[str, list[dict[str, Any]]]:
        """``meltano run tap-solidafy-demo target-jsonl``: the records target-jsonl wrote, per stream."""
        out = self.project / "output"
        shutil.rmtree(out, ignore_errors=True)
        self("run", "tap-solidafy-demo", "target-jsonl")
        records: dict[str, list[dict[str, Any]]] = {}
        for path in sorted(out.glob("*.jsonl")):  # <stream>-<timestamp>.jsonl
            stream = path.name.rsplit("-", 1)[0]
            records.setdefault(stream, []).extend(json.loads(line) for line in path.read_text().splitlines())
        return records

    def state(self) -> dict[str, Any]:
        """The STREAM states the wrapper left in Meltano's state (its ``airbyte_state`` list), per stream."""
        out = self("state", "get", STATE_ID)
        state = json.loads(out[out.index("{"):out.rindex("}") + 1])["singer_state"]  # fmt: skip
        streams = [s["stream"] for s in state["airbyte_state"]]
        return {s["stream_descriptor"]["name"]: s["stream_state"] for s in streams}


@pytest.fixture(scope="module")
def meltano(tmp_path_factory: pytest.TempPathFactory, demo: DemoApi) -> Meltano:
    image = built_image()
    project = tmp_path_factory.mktemp("meltano")
    shutil.copy(PROJECT / "meltano.yml", project / "meltano.yml")
    return Meltano(meltano_tools(), project, image, demo)


def test_meltano_installs_the_wrapper_and_checks_the_image(meltano: Meltano) -> None:
    meltano("install")
    # Meltano 4.4.1 makes the plugin's virtualenv with its own Python (3.11 here) and installs with uv,
    # which ignores the wrapper's `python = ">=3.9,<3.11"` (pip refuses: "requires a different Python").
    venv = meltano.project / ".meltano" / "extractors" / "tap-airbyte" / "venv"
    assert list((venv / "lib").glob("python3.11/site-packages/tap_airbyte-0.7.0.dist-info")), list(venv.iterdir())
    out = meltano("invoke", "tap-solidafy-demo", "--test")
    assert "Configuration has been verified via the Airbyte check command." in out, out[-3000:]
    # A failed check is only a log line: the wrapper exits 0 whatever `check` answered.
    out = meltano("invoke", "tap-solidafy-demo", "--test", DEMO_API_KEY="wrong-key")
    assert "Connection check failed: HTTP 401" in out, out[-3000:]


def test_two_meltano_runs_the_second_incremental(meltano: Meltano, demo: DemoApi) -> None:
    if not (meltano.project / ".meltano" / "extractors" / "tap-airbyte").is_dir():
        meltano("install")
    first = meltano.run()
    notes = sum(int(c["id"].rsplit("_", 1)[1]) % 3 for c in demo.data["customers"])  # the demo API's
    want = {**{name: len(rows) for name, rows in demo.data.items()}, "customer_notes": notes}
    assert {name: len(rows) for name, rows in first.items()} == want
    state = meltano.state()
    assert set(state) == set(want), state.keys()

    newest = demo.data["customers"][-1]
    later = dt.datetime.strptime(newest["updated_at"], "%Y-%m-%dT%H:%M:%SZ") + dt.timedelta(minutes=1)
    added = {**newest, "id": "cus_meltano", "updated_at": later.strftime("%Y-%m-%dT%H:%M:%SZ")}
    demo.data["customers"].append(added)
    try:
        second = meltano.run()
    finally:
        demo.data["customers"].remove(added)
    # From the kept state: customers only the boundary record (the cursor is inclusive) and the new one,
    # orders and customer_notes only their boundary records, products (full refresh) all again.
    assert {r["id"] for r in second["customers"]} == {newest["id"], "cus_meltano"}, second["customers"]
    assert len(second["orders"]) <= 2 and len(second.get("customer_notes", [])) <= 3, second
    assert len(second["products"]) == len(demo.data["products"])
    assert meltano.state()["customers"] != state["customers"]
