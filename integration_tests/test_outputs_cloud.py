"""Parquet and JSON lines to S3, R2, GCS and Azure, against real emulators over real sockets."""

from __future__ import annotations

import base64
import io
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from integration_tests.emulators import (  # noqa: F401 - fixtures
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    Emulator,
    azurite,
    cloud_env,
    gcs_emulator,
    moto_s3,
)
from source_solidafy.errors import ConfigError, StreamError
from source_solidafy.sinks import make_sink

BUCKET = "lake"


@dataclass
class Backend:
    scheme: str
    keys: Callable[[str], list[str]]  # keys under a prefix
    read: Callable[[str], bytes]
    pending_uploads: Callable[[], int]  # unfinished multipart uploads (S3 only; others 0)
    put: Callable[[str, bytes], None]


def _s3_backend(emulator: Emulator, scheme: str) -> Backend:
    import boto3

    client = boto3.client(
        "s3", endpoint_url=emulator.url, region_name="us-east-1",
        aws_access_key_id=emulator.env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=emulator.env["AWS_SECRET_ACCESS_KEY"],
    )
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if BUCKET not in existing:
        client.create_bucket(Bucket=BUCKET)

    def keys(prefix: str) -> list[str]:
        listing = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
        return sorted(o["Key"] for o in listing.get("Contents", []))

    def pending() -> int:
        return len(client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []))

    return Backend(scheme, keys, lambda k: client.get_object(Bucket=BUCKET, Key=k)["Body"].read(), pending,
                   lambda k, data: client.put_object(Bucket=BUCKET, Key=k, Body=data))


def _gcs_backend(emulator: Emulator) -> Backend:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(project="test", credentials=AnonymousCredentials(),
                            client_options={"api_endpoint": emulator.url})
    bucket = client.bucket(BUCKET)
    if not bucket.exists():
        client.create_bucket(BUCKET)
    return Backend(
        "gs",
        lambda prefix: sorted(b.name for b in client.list_blobs(BUCKET, prefix=prefix)),
        lambda k: bucket.blob(k).download_as_bytes(),
        lambda: 0,
        lambda k, data: bucket.blob(k).upload_from_string(data),
    )


def _azure_backend(emulator: Emulator) -> Backend:
    from azure.storage.blob import BlobServiceClient

    container = BlobServiceClient.from_connection_string(
        emulator.env["AZURE_STORAGE_CONNECTION_STRING"]
    ).get_container_client(BUCKET)
    if not container.exists():
        container.create_container()
    return Backend(
        "az",
        lambda prefix: sorted(b.name for b in container.list_blobs(name_starts_with=prefix)),
        lambda k: container.download_blob(k).readall(),
        lambda: 0,
        lambda k, data: container.upload_blob(k, data, overwrite=True),
    )


@pytest.fixture(params=["s3", "r2", "gs", "az"])
def backend(request, cloud_env) -> Backend:  # noqa: F811
    kind = request.param
    if kind in ("s3", "r2"):
        emulator = request.getfixturevalue("moto_s3")
        env = dict(emulator.env)
        if kind == "r2":  # R2 style: the endpoint only in R2_ENDPOINT_URL
            env["R2_ENDPOINT_URL"] = env.pop("AWS_ENDPOINT_URL")
        cloud_env(env)
        return _s3_backend(emulator, kind)
    if kind == "gs":
        emulator = request.getfixturevalue("gcs_emulator")
        cloud_env(emulator.env)
        return _gcs_backend(emulator)
    emulator = request.getfixturevalue("azurite")
    cloud_env(emulator.env)
    return _azure_backend(emulator)


def _records(n: int, pad: int = 16) -> list[dict]:
    return [{"id": i, "name": f"user {i}", "blob": secrets.token_hex(pad), "meta": {"i": i}} for i in range(n)]


def _sync(sink, stream: str, batches: list[list[dict]]) -> str | None:
    sink.open(stream, None)
    for batch in batches:
        sink.write(stream, batch, 0)
    return sink.commit(stream)


def test_parquet_lands_in_hive_layout_and_reads_back(backend):
    prefix = f"run-{uuid.uuid4().hex[:8]}"
    sink = make_sink("parquet", f"{backend.scheme}://{BUCKET}/{prefix}/")
    assert sink.directory == f"{backend.scheme}://{BUCKET}/{prefix}"
    records = _records(3000)
    uri = _sync(sink, "public.users", [records[:1000], records[1000:]])
    keys = backend.keys(prefix)
    assert len(keys) == 1 and keys[0].startswith(f"{prefix}/public.users/dt=") and keys[0].endswith("/data.parquet")
    assert uri == f"{backend.scheme}://{BUCKET}/{keys[0]}"
    table = pq.ParquetFile(io.BytesIO(backend.read(keys[0]))).read()
    assert table.num_rows == 3000
    got = table.to_pylist()
    assert [r["id"] for r in got] == list(range(3000))
    assert [json.loads(r["meta"]) for r in got] == [r["meta"] for r in records]
    assert [r["blob"] for r in got] == [r["blob"] for r in records]


def test_second_sync_writes_a_new_object_and_jsonl_works(backend):
    prefix = f"run-{uuid.uuid4().hex[:8]}"
    out = f"{backend.scheme}://{BUCKET}/{prefix}"
    _sync(make_sink("parquet", out), "u", [[{"a": 1}]])
    _sync(make_sink("parquet", out), "u", [[{"a": 2}]])
    _sync(make_sink("json", out), "u", [[{"a": 3, "n": {"x": [1]}}]])
    keys = backend.keys(prefix)
    parquet = [k for k in keys if k.endswith(".parquet")]
    jsonl = [k for k in keys if k.endswith(".jsonl")]
    assert len(parquet) == 2 and len(jsonl) == 1 and jsonl[0].endswith("/data.jsonl")
    values = sorted(pq.ParquetFile(io.BytesIO(backend.read(k))).read().column("a")[0].as_py() for k in parquet)
    assert values == [1, 2]
    assert json.loads(backend.read(jsonl[0])) == {"a": 3, "n": {"x": [1]}}


def test_large_file_goes_up_in_parts_intact(backend, cloud_env):  # noqa: F811
    cloud_env({"SOLIDAFY_UPLOAD_PART_BYTES": str(256 * 1024)})  # S3 keeps its 5 MiB minimum
    prefix = f"run-{uuid.uuid4().hex[:8]}"
    sink = make_sink("parquet", f"{backend.scheme}://{BUCKET}/{prefix}", compression="none")
    records = _records(14_000, pad=200)  # ~6 MB of incompressible text: several parts everywhere
    _sync(sink, "big", [records[i: i + 2000] for i in range(0, len(records), 2000)])
    (key,) = backend.keys(prefix)
    data = backend.read(key)
    assert len(data) > 5 * 1024 * 1024
    table = pq.ParquetFile(io.BytesIO(data)).read()
    assert table.column("blob").to_pylist() == [r["blob"] for r in records]
    assert backend.pending_uploads() == 0


def test_abort_leaves_no_object_and_no_open_upload(backend, cloud_env):  # noqa: F811
    cloud_env({"SOLIDAFY_UPLOAD_PART_BYTES": str(256 * 1024)})
    prefix = f"run-{uuid.uuid4().hex[:8]}"
    sink = make_sink("parquet", f"{backend.scheme}://{BUCKET}/{prefix}", compression="none", row_group_rows=1000)
    sink.open("s", None)
    for _ in range(4):  # row groups go up as they fill: S3 gets a 5 MiB part, the others several chunks
        sink.write("s", _records(2500, pad=300), 0)
        assert sink.checkpoint("s") is False
    if backend.scheme in ("s3", "r2"):
        assert backend.pending_uploads() == 1
    assert backend.keys(prefix) == []
    sink.abort("s")
    assert backend.keys(prefix) == []
    assert backend.pending_uploads() == 0


def test_missing_bucket_is_one_clear_error(backend):
    with pytest.raises(ConfigError, match="no-such-bucket") as info:
        make_sink("parquet", f"{backend.scheme}://no-such-bucket/x")
    assert "does not exist" in str(info.value)


def test_r2_without_an_endpoint_says_which_variable(cloud_env):  # noqa: F811
    cloud_env({"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"})
    with pytest.raises(ConfigError, match="R2_ENDPOINT_URL"):
        make_sink("parquet", "r2://lake/x")


def test_azure_account_name_and_key_with_endpoint_override(azurite, cloud_env):  # noqa: F811
    _azure_backend(azurite)
    cloud_env({"AZURE_STORAGE_ACCOUNT_NAME": AZURITE_ACCOUNT, "AZURE_STORAGE_ACCOUNT_KEY": AZURITE_KEY,
               "AZURE_STORAGE_ENDPOINT": azurite.url})
    uri = _sync(make_sink("parquet", f"azure://{BUCKET}/named"), "t", [[{"x": 1}]])
    assert uri.startswith(f"azure://{BUCKET}/named/t/dt=") and uri.endswith("/data.parquet")


def test_wrong_azure_key_fails_without_printing_it(azurite, cloud_env):  # noqa: F811
    _azure_backend(azurite)
    wrong = base64.b64encode(b"wrong-key-" * 6).decode()
    cloud_env({"AZURE_STORAGE_ACCOUNT_NAME": AZURITE_ACCOUNT, "AZURE_STORAGE_ACCOUNT_KEY": wrong,
               "AZURE_STORAGE_ENDPOINT": azurite.url})
    with pytest.raises(ConfigError) as info:
        make_sink("parquet", f"az://{BUCKET}/x")
    assert wrong not in str(info.value) and AZURITE_KEY not in str(info.value)


def test_s3_credentials_never_in_errors(moto_s3, cloud_env):  # noqa: F811
    cloud_env({**moto_s3.env, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"})  # nothing listens there
    with pytest.raises(ConfigError, match="cannot reach") as info:
        make_sink("parquet", "s3://lake/x")
    text = str(info.value)
    assert moto_s3.env["AWS_SECRET_ACCESS_KEY"] not in text and moto_s3.env["AWS_ACCESS_KEY_ID"] not in text


def test_gcs_key_json_that_is_not_json_is_named_not_shown(cloud_env):  # noqa: F811
    cloud_env({"GOOGLE_SERVICE_ACCOUNT_KEY": "not-json-secret-material"})
    with pytest.raises(ConfigError, match="GOOGLE_SERVICE_ACCOUNT_KEY") as info:
        make_sink("parquet", "gs://lake/x")
    assert "not-json-secret-material" not in str(info.value)


def test_arrow_batches_to_cloud(backend):
    prefix = f"run-{uuid.uuid4().hex[:8]}"
    batch = pa.record_batch({"id": pa.array([1, 2], pa.int32()), "at": pa.array([0, 1], pa.timestamp("us"))})
    _sync(make_sink("parquet", f"{backend.scheme}://{BUCKET}/{prefix}"), "db.t", [batch])
    (key,) = backend.keys(prefix)
    assert pq.ParquetFile(io.BytesIO(backend.read(key))).read().schema == batch.schema


def test_a_name_taken_before_the_upload_starts_is_skipped(backend):
    prefix = f"run-{uuid.uuid4().hex[:8]}"
    sink = make_sink("parquet", f"{backend.scheme}://{BUCKET}/{prefix}")
    sink.open("s", None)
    sink.write("s", [{"i": 1}], 0)  # still buffered: no object name chosen yet
    (files,) = sink._open.values()
    taken = f"{prefix}/{files.dir_key}/data.parquet"
    backend.put(taken, b"someone else's file")
    uri = sink.commit("s")
    assert not uri.endswith(taken)
    assert backend.read(taken) == b"someone else's file"
    assert len(backend.keys(prefix)) == 2


def test_an_object_created_during_the_upload_is_never_replaced(backend, cloud_env):  # noqa: F811
    if backend.scheme == "gs":
        pytest.skip("gcp-storage-emulator ignores ifGenerationMatch (real GCS refuses the commit)")
    cloud_env({"SOLIDAFY_UPLOAD_PART_BYTES": str(256 * 1024)})
    prefix = f"run-{uuid.uuid4().hex[:8]}"
    sink = make_sink("parquet", f"{backend.scheme}://{BUCKET}/{prefix}", compression="none", row_group_rows=1000)
    sink.open("s", None)
    sink.write("s", _records(10_000, pad=300), 0)  # a multipart / block upload is under way
    (files,) = sink._open.values()
    taken = f"{prefix}/{files.dir_key}/data.parquet"
    assert files.upload is not None and files.upload.uri.endswith(taken)
    backend.put(taken, b"someone else's file")
    with pytest.raises(StreamError, match="data.parquet"):
        sink.commit("s")
    sink.abort("s")
    assert backend.read(taken) == b"someone else's file"
    assert backend.keys(prefix) == [taken]
    assert backend.pending_uploads() == 0
