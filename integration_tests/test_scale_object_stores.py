"""Stateless shards: config, plan, state and output in object stores (moto, Azurite, gcp-storage-emulator),
and state files that two writers cannot silently overwrite (small_files.py, docs/scale-out.md)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from integration_tests.emulators import (  # noqa: F401 - fixtures
    Emulator,
    azurite,
    cloud_env,
    create_bucket,
    gcs_emulator,
    moto_s3,
)
from integration_tests.helpers import cli_path, run_cli
from integration_tests.mocks.shards import CONNECTOR, ShardsApi, config
from source_solidafy.small_files import ConflictError, read_file, write_file

BUCKET = "shards"


@pytest.fixture(params=["s3", "r2", "az", "gs"])
def store(request: pytest.FixtureRequest, cloud_env: Callable[[dict[str, str]], None]) -> Iterator[tuple[str, Emulator]]:  # noqa: F811
    scheme = request.param
    emulator: Emulator = request.getfixturevalue({"s3": "moto_s3", "r2": "moto_s3", "az": "azurite",
                                                  "gs": "gcs_emulator"}[scheme])
    env = dict(emulator.env)
    if scheme == "r2":
        env["R2_ENDPOINT_URL"] = env.pop("AWS_ENDPOINT_URL")
    cloud_env(env)
    create_bucket(emulator, BUCKET)
    yield scheme, emulator


def test_conditional_writes(store: tuple[str, Emulator]) -> None:
    scheme, _ = store
    uri = f"{scheme}://{BUCKET}/cond-{os.urandom(4).hex()}/state.json"
    assert read_file(uri) == (None, None)
    first = write_file(uri, b"one", expect=None)
    assert read_file(uri) == (b"one", first)
    second = write_file(uri, b"two", expect=first)
    assert read_file(uri) == (b"two", second) and second != first
    if scheme == "gs":
        pytest.skip("gcp-storage-emulator ignores ifGenerationMatch: the refusals below are not testable there")
    with pytest.raises(ConflictError, match="changed by another writer since there was none"):
        write_file(uri, b"three", expect=None)
    with pytest.raises(ConflictError, match="since it was read"):
        write_file(uri, b"three", expect=first)
    assert read_file(uri)[0] == b"two"


def test_local_conditional_writes(tmp_path: Path) -> None:
    path = str(tmp_path / "s" / "state.json")
    first = write_file(path, b"one", expect=None)
    with pytest.raises(ConflictError):
        write_file(path, b"x", expect=None)
    second = write_file(path, b"two", expect=first)
    with pytest.raises(ConflictError):
        write_file(path, b"x", expect=first)
    assert read_file(path) == (b"two", second)
    lock = tmp_path / "s" / ".state.json.lock"
    lock.write_text("999999999")  # left by a process that is gone: taken over
    assert write_file(path, b"three", expect=second)
    assert not lock.exists()


@pytest.mark.parametrize("scheme", ["s3", "az"])
def test_stateless_shards_in_a_bucket(scheme: str, request: pytest.FixtureRequest,
                                      cloud_env: Callable[[dict[str, str]], None], tmp_path: Path) -> None:  # noqa: F811
    emulator: Emulator = request.getfixturevalue("moto_s3" if scheme == "s3" else "azurite")
    cloud_env(emulator.env)
    create_bucket(emulator, BUCKET)
    root = f"{scheme}://{BUCKET}/run-{os.urandom(4).hex()}"
    yaml = tmp_path / "shards.yaml"
    yaml.write_text(CONNECTOR)
    with ShardsApi() as api:
        write_file(f"{root}/config.json", json.dumps(config(api.url)).encode())
        single = run_cli("read", "-c", str(yaml), "--config-json", json.dumps(config(api.url)))
        reference = single.of_type("STATE")[-1]["state"]["streams"]
        cfg = ["-c", str(yaml), "-C", f"{root}/config.json"]
        res = run_cli("plan", *cfg, "--state", f"{root}/state.json", "--max-units", "6", "-o", f"{root}/plan.jsonl")
        assert res.rc == 0, res.stderr
        shards = [subprocess.Popen([cli_path(), "read", *cfg, "--plan", f"{root}/plan.jsonl", "--shard", "auto/2",
                                    "-o", f"{root}/out"], env={**os.environ, "JOB_COMPLETION_INDEX": str(i)},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                  for i in range(2)]  # at once, as a Kubernetes Indexed Job runs them: the index from the environment
        try:
            for proc in shards:
                _, err = proc.communicate(timeout=300)
                assert proc.returncode == 0, err
        finally:
            for proc in shards:
                if proc.poll() is None:  # a shard that outlived the other's failure
                    proc.kill()
        res = run_cli("state", "merge", "--plan", f"{root}/plan.jsonl", "-o", f"{root}/out", "--state", f"{root}/state.json")
        assert res.rc == 0, res.stderr
        stored = json.loads(read_file(f"{root}/state.json")[0] or b"{}")
        assert stored["streams"] == reference
        res = run_cli("plan", *cfg, "--state", f"{root}/state.json", "--max-units", "6", "-o", f"{root}/plan2.jsonl")
        assert res.rc == 0, res.stderr
        assert run_cli("read", *cfg, "--plan", f"{root}/plan2.jsonl", "--shard", "0/1", "-o", f"{root}/out").rc == 0
        assert run_cli("state", "merge", "--plan", f"{root}/plan2.jsonl", "-o", f"{root}/out",
                       "--state", f"{root}/state.json").rc == 0
        stale = run_cli("state", "merge", "--plan", f"{root}/plan.jsonl", "-o", f"{root}/out", "--state", f"{root}/state.json")
        assert stale.rc == 1 and "changed since plan" in stale.stderr
        assert json.loads(read_file(f"{root}/state.json")[0] or b"{}")["merged"]["accounts"] != json.loads(
            read_file(f"{root}/plan.jsonl")[0].splitlines()[0])["run_id"]


def test_a_sync_does_not_overwrite_a_state_file_another_writer_changed(tmp_path: Path) -> None:
    yaml = tmp_path / "shards.yaml"
    yaml.write_text(CONNECTOR)
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"streams": {}}))
    with ShardsApi() as api:
        api.hold("/accounts/acc_0003/notes")
        argv = [cli_path(), "read", "-c", str(yaml), "--config-json", json.dumps(config(api.url)),
                "--streams", "account_notes", "--state", str(state)]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "SOLIDAFY_STATE_SAVE_SECS": "0"})
        try:
            assert api.arrived.wait(120)
            other = json.dumps({"streams": {"other": {"cursor": "written by someone else"}}}).encode()
            for _ in range(100):  # another careful writer: read, then write only over what it read
                try:
                    write_file(str(state), other, expect=read_file(str(state))[1])
                    break
                except ConflictError:
                    continue  # the sync wrote a checkpoint in between: read again
        finally:
            api.release()
        out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err
    assert "changed by another writer" in err and str(state) in err
    assert json.loads(state.read_text())["streams"] == {"other": {"cursor": "written by someone else"}}
