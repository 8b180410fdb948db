"""Real storage emulators as subprocesses on free 127.0.0.1 ports: moto (S3/R2), Azurite, gcp-storage-emulator.

Use the session fixtures in a test module::

    from integration_tests.emulators import moto_s3, azurite, gcs_emulator  # noqa: F401

Each fixture yields an :class:`Emulator` whose ``env`` holds the variables that point our storage
layer (and the cloud SDKs) at it. A fixture skips only when the emulator's program is not installed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BIN_DIR = Path(sys.executable).parent
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with code {proc.returncode} before listening on {port}")
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{name} did not listen on 127.0.0.1:{port} within {timeout}s")


@dataclass
class Emulator:
    name: str
    proc: subprocess.Popen[bytes]
    url: str
    env: dict[str, str] = field(default_factory=dict)
    workdir: str | None = None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _start(name: str, argv: list[str], port: int, workdir: str | None = None) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, cwd=workdir
    )
    try:
        _wait_port(port, proc, name)
    except RuntimeError:
        proc.kill()
        proc.wait()
        raise
    return proc


def start_moto() -> Emulator:
    port = free_port()
    proc = _start("moto_server", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], port)
    url = f"http://127.0.0.1:{port}"
    env = {
        "AWS_ACCESS_KEY_ID": "AKIAEMULATORKEY0001",
        "AWS_SECRET_ACCESS_KEY": "emulator-secret-key-do-not-print",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": url,
    }
    return Emulator("moto", proc, url, env)


def azurite_program() -> str | None:
    return shutil.which("azurite-blob")


def start_azurite() -> Emulator:
    program = azurite_program()
    assert program, "azurite-blob is not installed"
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="azurite-")
    argv = [program, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", workdir,
            "--skipApiVersionCheck", "--silent", "--loose"]
    proc = _start("azurite-blob", argv, port, workdir)
    url = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    env = {
        "AZURE_STORAGE_CONNECTION_STRING": (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};BlobEndpoint={url};"
        )
    }
    return Emulator("azurite", proc, url, env, workdir)


def gcs_program() -> str | None:
    candidate = BIN_DIR / "gcp-storage-emulator"
    return str(candidate) if candidate.exists() else shutil.which("gcp-storage-emulator")


def start_gcs() -> Emulator:
    program = gcs_program()
    assert program, "gcp-storage-emulator is not installed"
    port = free_port()
    proc = _start("gcp-storage-emulator", [program, "start", "--host", "127.0.0.1", "--port", str(port),
                                           "--in-memory"], port)
    url = f"http://127.0.0.1:{port}"
    return Emulator("gcs", proc, url, {"STORAGE_EMULATOR_HOST": url})


def cloud_variables() -> list[str]:
    """Cloud settings in this environment (kept out of emulator tests: never the developer's real ones)."""
    prefixes = ("AWS_", "AZURE_STORAGE_", "GOOGLE_", "R2_", "SOLIDAFY_")
    return [n for n in os.environ if n.startswith(prefixes) or n == "STORAGE_EMULATOR_HOST"]


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[Emulator]:
    import importlib.util

    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None:
        pytest.skip("moto[server] is not installed (pip install 'moto[server]')")
    emulator = start_moto()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def azurite() -> Iterator[Emulator]:
    if not azurite_program():
        pytest.skip("azurite-blob is not installed (npm install -g azurite@3)")
    emulator = start_azurite()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[Emulator]:
    if not gcs_program():
        pytest.skip("gcp-storage-emulator is not installed (pip install gcp-storage-emulator)")
    emulator = start_gcs()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def cloud_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[dict[str, str]], None]]:
    """``cloud_env(emulator.env)``: only these cloud variables are set for this test."""
    for name in cloud_variables():
        monkeypatch.delenv(name)

    def apply(values: dict[str, str]) -> None:
        for key, value in values.items():
            monkeypatch.setenv(key, value)

    yield apply


def create_bucket(emulator: Emulator, name: str) -> Callable[[str], bytes]:
    """Create bucket/container ``name`` in the emulator (if missing); return a reader of its objects."""
    if emulator.name == "moto":
        import boto3

        s3 = boto3.client("s3", endpoint_url=emulator.url, region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="y")
        if name not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
            s3.create_bucket(Bucket=name)
        return lambda key: s3.get_object(Bucket=name, Key=key)["Body"].read()
    if emulator.name == "gcs":
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        client = storage.Client(project="test", credentials=AnonymousCredentials(),
                                client_options={"api_endpoint": emulator.url})
        bucket = client.bucket(name)
        if not bucket.exists():
            client.create_bucket(name)
        return lambda key: bucket.blob(key).download_as_bytes()
    from azure.storage.blob import BlobServiceClient

    container = BlobServiceClient.from_connection_string(
        emulator.env["AZURE_STORAGE_CONNECTION_STRING"]
    ).get_container_client(name)
    if not container.exists():
        container.create_container()
    return lambda key: container.download_blob(key).readall()


def object_names(emulator: Emulator, bucket: str, prefix: str) -> list[str]:
    """Keys of the objects under ``prefix`` in bucket/container ``bucket``, sorted."""
    if emulator.name == "moto":
        import boto3

        s3 = boto3.client("s3", endpoint_url=emulator.url, region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="y")
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))
    if emulator.name == "gcs":
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        client = storage.Client(project="test", credentials=AnonymousCredentials(),
                                client_options={"api_endpoint": emulator.url})
        return sorted(blob.name for blob in client.list_blobs(bucket, prefix=prefix))
    from azure.storage.blob import BlobServiceClient

    container = BlobServiceClient.from_connection_string(
        emulator.env["AZURE_STORAGE_CONNECTION_STRING"]
    ).get_container_client(bucket)
    return sorted(blob.name for blob in container.list_blobs(name_starts_with=prefix))
