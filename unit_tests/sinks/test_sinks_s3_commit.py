"""S3 commit logic with a fake client: conditional writes, the fallback for stores without them, abort."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from source_solidafy.errors import StreamError
from source_solidafy.sinks.cloud_s3 import S3Upload


def _error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "PutObject")


class FakeS3:
    def __init__(self, put_errors: list[str] | None = None) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.put_errors = list(put_errors or [])

    def put_object(self, **kwargs):
        self.calls.append(("put", kwargs))
        if self.put_errors:
            raise _error(self.put_errors.pop(0))

    def create_multipart_upload(self, **kwargs):
        self.calls.append(("create", kwargs))
        return {"UploadId": "u1"}

    def upload_part(self, **kwargs):
        self.calls.append(("part", kwargs))
        return {"ETag": f"e{kwargs['PartNumber']}"}

    def complete_multipart_upload(self, **kwargs):
        self.calls.append(("complete", kwargs))

    def abort_multipart_upload(self, **kwargs):
        self.calls.append(("abort", kwargs))


def test_small_file_is_one_conditional_put():
    s3 = FakeS3()
    upload = S3Upload(s3, "b", "k", "s3://b/k", part_size=10)
    upload.write(b"abc")
    assert upload.commit() == "s3://b/k"
    assert s3.calls == [("put", {"Bucket": "b", "Key": "k", "Body": b"abc", "IfNoneMatch": "*"})]


def test_store_without_conditional_writes_gets_one_plain_retry_then_never_asked_again():
    s3 = FakeS3(put_errors=["NotImplemented"])
    shared = [True]
    first = S3Upload(s3, "b", "k1", "s3://b/k1", part_size=10, conditional=shared)
    first.write(b"x")
    first.commit()
    second = S3Upload(s3, "b", "k2", "s3://b/k2", part_size=10, conditional=shared)
    second.write(b"y")
    second.commit()
    assert [c[1].get("IfNoneMatch") for c in s3.calls] == ["*", None, None]


def test_existing_object_is_a_clear_stream_error():
    s3 = FakeS3(put_errors=["PreconditionFailed"])
    upload = S3Upload(s3, "b", "k", "s3://b/k", part_size=10)
    upload.write(b"x")
    with pytest.raises(StreamError, match="another writer created this object first"):
        upload.commit()


def test_large_file_goes_in_parts_and_abort_aborts_the_multipart_upload():
    s3 = FakeS3()
    upload = S3Upload(s3, "b", "k", "s3://b/k", part_size=4)
    upload.write(b"0123456789")
    assert [c[0] for c in s3.calls] == ["create", "part", "part"]
    assert [c[1]["Body"] for c in s3.calls if c[0] == "part"] == [b"0123", b"4567"]
    upload.abort()
    assert s3.calls[-1] == ("abort", {"Bucket": "b", "Key": "k", "UploadId": "u1"})


def test_large_file_commit_sends_the_rest_then_completes_conditionally():
    s3 = FakeS3()
    upload = S3Upload(s3, "b", "k", "s3://b/k", part_size=4)
    upload.write(b"0123456789")
    upload.commit()
    kinds = [c[0] for c in s3.calls]
    assert kinds == ["create", "part", "part", "part", "complete"]
    complete = s3.calls[-1][1]
    assert complete["MultipartUpload"]["Parts"] == [
        {"ETag": "e1", "PartNumber": 1}, {"ETag": "e2", "PartNumber": 2}, {"ETag": "e3", "PartNumber": 3}
    ]
    assert complete["IfNoneMatch"] == "*"
