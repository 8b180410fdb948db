"""Output URIs and the secret scrubbing every cloud error message goes through."""

from __future__ import annotations

import pytest

from source_solidafy.errors import UsageError
from source_solidafy.sinks.cloud_common import clean, part_bytes
from source_solidafy.uris import split_uri


@pytest.mark.parametrize(
    ("output", "parts"),
    [
        ("./out", ("file", "", "./out")),
        ("/abs/out", ("file", "", "/abs/out")),
        ("file:///abs/out", ("file", "", "/abs/out")),
        ("s3://bucket/a/b/", ("s3", "bucket", "a/b")),
        ("S3://bucket", ("s3", "bucket", "")),
        ("r2://b/p", ("r2", "b", "p")),
        ("gs://b/p", ("gs", "b", "p")),
        ("az://container/p", ("az", "container", "p")),
        ("azure://container/p", ("azure", "container", "p")),
    ],
)
def test_split_uri(output, parts):
    assert split_uri(output) == parts


@pytest.mark.parametrize(("output", "message"), [("ftp://h/x", "unknown scheme"), ("gs:///x", "missing the bucket")])
def test_bad_uris_are_usage_errors(output, message):
    with pytest.raises(UsageError, match=message):
        split_uri(output)


def test_clean_removes_every_credential(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG")
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", "AccountName=a;AccountKey=c2VjcmV0a2V5Cg==;BlobEndpoint=x")
    monkeypatch.setenv("GOOGLE_SERVICE_ACCOUNT_KEY", '{"private_key": "-----BEGIN"}')
    text = clean(
        "signature wJalrXUtnFEMI%2FK7MDENG failed for key c2VjcmV0a2V5Cg== with "
        '{"private_key": "-----BEGIN"} at https://user:pw123@host/x'
    )
    for secret in ("wJalrXUtnFEMI", "c2VjcmV0a2V5Cg==", "BEGIN", "pw123"):
        assert secret not in text
    assert "***" in text


def test_clean_keeps_messages_short_and_on_one_line():
    text = clean("line one\nline two " + "x" * 1000)
    assert "\n" not in text and len(text) <= 403


def test_part_bytes(monkeypatch):
    monkeypatch.delenv("SOLIDAFY_UPLOAD_PART_BYTES", raising=False)
    assert part_bytes(5) == 8 * 1024 * 1024
    monkeypatch.setenv("SOLIDAFY_UPLOAD_PART_BYTES", "10")
    assert part_bytes(100) == 100


@pytest.mark.parametrize("output", ["s3a://b/p", "abfs://c@a/p", "abfss://c@a/p"])
def test_hadoop_schemes_are_refused_saying_which_to_use(output):
    with pytest.raises(UsageError, match=r"did you mean (s3|az)://\?") as info:
        split_uri(output)
    assert info.value.option == "output" and info.value.value == output
