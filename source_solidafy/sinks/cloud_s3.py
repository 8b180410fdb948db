"""S3 and R2 (any S3-compatible store): multipart uploads, nothing visible until completed.

Credentials come from the usual AWS variables (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_SESSION_TOKEN``, ``AWS_DEFAULT_REGION``) or any other source boto3 knows (profiles, instance
roles). The endpoint: ``r2://`` uses ``R2_ENDPOINT_URL``, else ``AWS_ENDPOINT_URL``/``AWS_ENDPOINT``
(required); ``s3://`` uses ``AWS_ENDPOINT_URL``/``AWS_ENDPOINT`` when set (MinIO, moto, ...).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from source_solidafy.errors import ConfigError, StreamError
from source_solidafy.sinks.cloud_common import (
    CloudStorage,
    PartedUpload,
    clean,
    env,
    failure,
    missing_sdk,
    part_bytes,
)
from source_solidafy.sinks.storage import Upload

S3_MIN_PART = 5 * 1024 * 1024  # S3's minimum for every part but the last


def _endpoint(scheme: str) -> str | None:
    names = ("R2_ENDPOINT_URL", "AWS_ENDPOINT_URL", "AWS_ENDPOINT") if scheme == "r2" else (
        "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT")
    url = env(*names)
    if scheme == "r2" and not url:
        raise ConfigError(
            "set R2_ENDPOINT_URL (or AWS_ENDPOINT_URL) to "
            "https://<ACCOUNT_ID>.r2.cloudflarestorage.com",
            option="output", value="r2://...",
        )
    if url and "://" not in url:
        url = f"https://{url}"
    return url


def _error_code(exc: Exception) -> str:
    response: dict[str, Any] = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


class S3Upload(PartedUpload):
    def __init__(self, client: Any, bucket: str, key: str, uri: str, part_size: int,
                 conditional: list[bool] | None = None) -> None:
        super().__init__(part_size)
        self.conditional = conditional if conditional is not None else [True]  # shared per storage
        self._client, self._bucket, self._key, self.uri = client, bucket, key, uri
        self._parts: list[dict[str, Any]] = []
        self._upload_id: str | None = None

    def _send_part(self, body: bytes) -> None:
        try:
            if self._upload_id is None:
                started = self._client.create_multipart_upload(Bucket=self._bucket, Key=self._key)
                self._upload_id = started["UploadId"]
            number = len(self._parts) + 1
            answer = self._client.upload_part(
                Bucket=self._bucket, Key=self._key, PartNumber=number, UploadId=self._upload_id, Body=body
            )
        except Exception as exc:  # noqa: BLE001 - botocore raises many kinds; all fail the stream
            raise failure(self.uri, "upload", exc) from None
        self._parts.append({"ETag": answer["ETag"], "PartNumber": number})

    def _finish(self, condition: dict[str, str]) -> None:
        if self._upload_id is None:
            self._client.put_object(Bucket=self._bucket, Key=self._key, Body=bytes(self._buf), **condition)
        else:
            self._client.complete_multipart_upload(
                Bucket=self._bucket, Key=self._key, UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts}, **condition,
            )

    def commit(self) -> str:
        """Publish with ``If-None-Match: *`` (never replace an object); stores that do not implement
        conditional writes get one plain retry, and are not asked again."""
        try:
            if self._upload_id is not None and self._buf:
                self._send_part(bytes(self._buf))
                self._buf = bytearray()
            try:
                self._finish({"IfNoneMatch": "*"} if self.conditional[0] else {})
            except Exception as exc:
                if _error_code(exc) not in ("NotImplemented", "501"):
                    raise
                self.conditional[0] = False
                self._finish({})
        except Exception as exc:  # noqa: BLE001 - botocore raises many kinds
            self.abort()
            if isinstance(exc, StreamError):
                raise
            if _error_code(exc) in ("PreconditionFailed", "412"):
                raise StreamError(f"{self.uri}: another writer created this object first; nothing was replaced") from None
            raise failure(self.uri, "upload", exc) from None
        self._buf = bytearray()
        return self.uri

    def abort(self) -> None:
        self._buf = bytearray()
        upload_id, self._upload_id = self._upload_id, None
        if upload_id is not None:
            with contextlib.suppress(Exception):  # best effort; bucket lifecycle rules catch the rest
                self._client.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=upload_id)


class S3Storage(CloudStorage):
    def __init__(self, scheme: str, bucket: str, prefix: str) -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise missing_sdk(scheme, "boto3") from None
        super().__init__(scheme, bucket, prefix)
        self.bucket = bucket
        self.endpoint = _endpoint(scheme)
        region = env("AWS_DEFAULT_REGION", "AWS_REGION") or ("auto" if scheme == "r2" else None)
        config = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10, read_timeout=120)
        try:
            self.client = boto3.session.Session().client(
                "s3", endpoint_url=self.endpoint, region_name=region, config=config
            )
        except Exception as exc:  # noqa: BLE001 - bad endpoint URL, CA bundle, profile...
            raise ConfigError(f"{clean(str(exc))}", option="output", value=self.root) from None
        self.part_size = part_bytes(S3_MIN_PART)
        self.conditional = [True]  # cleared once the store says it has no conditional writes

    def check(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except NoCredentialsError:
            raise ConfigError(
                "no AWS credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                option="output", value=self.root,
            ) from None
        except ClientError as exc:
            code = _error_code(exc)
            if code in ("404", "NoSuchBucket", "NotFound"):
                raise ConfigError(f"bucket '{self.bucket}' does not exist", option="output", value=self.root) from None
            if code not in ("403", "AccessDenied", "Forbidden"):  # write-only credentials may not HEAD
                raise ConfigError(f"{clean(str(exc))}", option="output", value=self.root) from None
        except BotoCoreError as exc:
            where = f" at {self.endpoint}" if self.endpoint else ""
            raise ConfigError(f"cannot reach the storage{where}: {clean(str(exc))}", option="output", value=self.root) from None

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise failure(self.uri(key), "checking", exc) from None
        except Exception as exc:  # noqa: BLE001
            raise failure(self.uri(key), "checking", exc) from None
        return True

    def _names_under(self, prefix: str) -> Iterable[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/")
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))  # a missing key is no error
        except Exception as exc:  # noqa: BLE001
            raise failure(self.uri(key), "deleting", exc) from None

    def read(self, key: str) -> bytes | None:
        try:
            return bytes(self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read())
        except Exception as exc:  # noqa: BLE001 - botocore raises many kinds
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise failure(self.uri(key), "reading", exc) from None

    def create(self, key: str, overwrite: bool = False) -> Upload:
        conditional = [False] if overwrite else self.conditional
        return S3Upload(self.client, self.bucket, self._key(key), self.uri(key), self.part_size, conditional)
