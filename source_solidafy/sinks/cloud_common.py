"""Helpers every cloud backend shares: environment, part sizes, secret-free error messages."""

from __future__ import annotations

import os
from collections.abc import Iterable

from source_solidafy.errors import ConfigError, StreamError, redact
from source_solidafy.sinks.storage import Storage, Upload

SECRET_ENV = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "GOOGLE_SERVICE_ACCOUNT_KEY",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_CLIENT_SECRET",
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_STORAGE_SAS_TOKEN",
)
DEFAULT_PART_BYTES = 8 * 1024 * 1024


def env(*names: str) -> str | None:
    """The first of ``names`` set to a non-empty value."""
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def part_bytes(minimum: int) -> int:
    """Upload part size: ``SOLIDAFY_UPLOAD_PART_BYTES`` (tests make it small) or 8 MiB, never under ``minimum``."""
    raw = os.environ.get("SOLIDAFY_UPLOAD_PART_BYTES")
    try:
        size = int(raw) if raw else DEFAULT_PART_BYTES
    except ValueError:
        raise ConfigError(f"SOLIDAFY_UPLOAD_PART_BYTES={raw!r}: expected a number of bytes") from None
    return max(size, minimum)


def secrets_from_env() -> list[str]:
    """Values to blank out of any message: secret variables, and the key inside a connection string."""
    values = [os.environ.get(name, "") for name in SECRET_ENV]
    conn = os.environ.get("AZURE_STORAGE_CONNECTION_STRING", "")
    for part in conn.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() in ("accountkey", "sharedaccesssignature"):
            values.append(value)
    return [v for v in values if v]


def clean(message: str) -> str:
    """``message`` with every credential we know of replaced by ``***``, and kept to one short line."""
    text = redact(str(message), secrets_from_env())
    text = " ".join(text.split())
    return text if len(text) <= 400 else text[:400] + "..."


def missing_sdk(scheme: str, package: str) -> ConfigError:
    return ConfigError(
        f"needs the {package} package: pip install 'source-solidafy[cloud]'", option="output", value=f"{scheme}://..."
    )


def failure(uri: str, action: str, exc: BaseException) -> StreamError:
    """A StreamError naming the object and what failed, with no credential in it."""
    return StreamError(f"{uri}: {action} failed: {clean(f'{type(exc).__name__}: {exc}')}")


class CloudStorage(Storage):
    """A bucket (``kind``: container for Azure) and a key prefix: the names and the checks every store shares.

    Subclasses say whether the bucket and an object exist (``_bucket_exists``, ``_object_exists``);
    failures become one secret-free message naming the output.
    """

    kind = "bucket"

    def __init__(self, scheme: str, bucket: str, prefix: str) -> None:
        self.scheme, self.bucket_name, self.prefix = scheme, bucket, prefix
        self.root = f"{scheme}://{bucket}/{prefix}".rstrip("/")

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri(self, key: str) -> str:
        return f"{self.scheme}://{self.bucket_name}/{self._key(key)}"

    def _bucket_exists(self) -> bool:
        raise NotImplementedError

    def _object_exists(self, key: str) -> bool:
        raise NotImplementedError

    def _names_under(self, prefix: str) -> Iterable[str]:
        """The full names of the objects directly under ``prefix`` (not in deeper "folders")."""
        raise NotImplementedError

    def list(self, dir_key: str) -> list[str]:
        prefix = self._key(dir_key).rstrip("/") + "/"
        try:
            return sorted(name[len(prefix):] for name in self._names_under(prefix))
        except Exception as exc:  # noqa: BLE001 - the SDKs raise many kinds
            raise failure(self.uri(dir_key), "listing", exc) from None

    def _not_found(self) -> type[Exception]:
        """The SDK's exception for a missing object (imported when needed)."""
        raise NotImplementedError

    def _delete_object(self, key: str) -> None:
        raise NotImplementedError

    def _read_object(self, key: str) -> bytes:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        """Remove ``key``; a missing one is no error."""
        missing = self._not_found()
        try:
            self._delete_object(self._key(key))
        except missing:
            return
        except Exception as exc:  # noqa: BLE001
            raise failure(self.uri(key), "deleting", exc) from None

    def read(self, key: str) -> bytes | None:
        missing = self._not_found()
        try:
            return self._read_object(self._key(key))
        except missing:
            return None
        except Exception as exc:  # noqa: BLE001
            raise failure(self.uri(key), "reading", exc) from None

    def check(self) -> None:
        try:
            found = self._bucket_exists()
        except Exception as exc:  # noqa: BLE001 - the SDKs raise many kinds
            raise ConfigError(f"cannot reach the {self.kind}: {clean(str(exc))}", option="output", value=self.root) from None
        if not found:
            raise ConfigError(f"{self.kind} '{self.bucket_name}' does not exist", option="output", value=self.root)

    def exists(self, key: str) -> bool:
        try:
            return self._object_exists(self._key(key))
        except Exception as exc:  # noqa: BLE001
            raise failure(self.uri(key), "checking", exc) from None


class PartedUpload(Upload):
    """An upload sent in parts of ``part_size`` bytes as they fill (S3 multipart, Azure blocks)."""

    def __init__(self, part_size: int) -> None:
        super().__init__()
        self._part_size = part_size
        self._buf = bytearray()

    def _send_part(self, body: bytes) -> None:
        raise NotImplementedError

    def _write(self, data: bytes | memoryview) -> None:
        self._buf += data
        while len(self._buf) >= self._part_size:
            self._send_part(bytes(self._buf[: self._part_size]))
            del self._buf[: self._part_size]
