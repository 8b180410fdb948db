"""Google Cloud Storage: resumable uploads, finalised on commit, cancelled on abort.

Credentials: ``GOOGLE_SERVICE_ACCOUNT_KEY`` (the key JSON itself), ``GOOGLE_SERVICE_ACCOUNT`` or
``GOOGLE_APPLICATION_CREDENTIALS`` (path to the key file), else Application Default Credentials.
``STORAGE_EMULATOR_HOST`` (e.g. ``http://127.0.0.1:9023``) points the client at an emulator, with
anonymous credentials when no key is given. Objects are created with ``ifGenerationMatch=0``: an
existing object is never replaced.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from typing import Any

from source_solidafy.errors import ConfigError
from source_solidafy.sinks.cloud_common import CloudStorage, clean, env, failure, missing_sdk, part_bytes
from source_solidafy.sinks.storage import Upload

GCS_CHUNK = 256 * 1024  # resumable chunks are multiples of this


def _credentials() -> tuple[Any, str | None]:
    from google.oauth2 import service_account

    key_json = env("GOOGLE_SERVICE_ACCOUNT_KEY")
    key_file = env("GOOGLE_SERVICE_ACCOUNT", "GOOGLE_APPLICATION_CREDENTIALS")
    try:
        if key_json:
            try:
                info = json.loads(key_json)
            except ValueError:
                raise ConfigError("GOOGLE_SERVICE_ACCOUNT_KEY is not valid JSON (expected a service account key)") from None
            return service_account.Credentials.from_service_account_info(info), info.get("project_id")
        if key_file:
            creds = service_account.Credentials.from_service_account_file(key_file)
            return creds, getattr(creds, "project_id", None)
    except (ValueError, KeyError, OSError) as exc:
        raise ConfigError(f"Google service account key is not usable: {clean(str(exc))}") from None
    if env("STORAGE_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials(), "emulator"
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        creds, project = google.auth.default()
    except DefaultCredentialsError:
        raise ConfigError(
            "no Google credentials; set GOOGLE_SERVICE_ACCOUNT (path to a key file) "
            "or GOOGLE_SERVICE_ACCOUNT_KEY (the key JSON)",
            option="output", value="gs://...",
        ) from None
    return creds, project


class GCSUpload(Upload):
    def __init__(self, blob: Any, uri: str, chunk: int, overwrite: bool = False) -> None:
        super().__init__()
        self.uri = uri
        condition = {} if overwrite else {"if_generation_match": 0}
        self._writer = blob.open("wb", chunk_size=chunk, ignore_flush=True, **condition)

    def _write(self, data: bytes | memoryview) -> None:
        try:
            self._writer.write(bytes(data))
        except Exception as exc:  # noqa: BLE001 - google-api-core raises many kinds
            raise failure(self.uri, "upload", exc) from None

    def commit(self) -> str:
        try:
            self._writer.close()
        except Exception as exc:  # noqa: BLE001
            self.abort()
            raise failure(self.uri, "upload", exc) from None
        return self.uri

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # cancels the resumable session; nothing was finalised
            self._writer.terminate()


class GCSStorage(CloudStorage):
    def __init__(self, bucket: str, prefix: str) -> None:
        try:
            from google.cloud import storage as gcs
        except ImportError:
            raise missing_sdk("gs", "google-cloud-storage") from None
        super().__init__("gs", bucket, prefix)
        creds, project = _credentials()
        self.client = gcs.Client(project=project, credentials=creds)
        self.bucket = self.client.bucket(bucket)
        chunk = part_bytes(GCS_CHUNK)
        self.chunk = chunk - chunk % GCS_CHUNK

    def _bucket_exists(self) -> bool:
        return bool(self.bucket.exists())

    def _object_exists(self, key: str) -> bool:
        return bool(self.bucket.blob(key).exists())

    def _names_under(self, prefix: str) -> Iterable[str]:
        return [blob.name for blob in self.client.list_blobs(self.bucket_name, prefix=prefix, delimiter="/")]

    def _not_found(self) -> type[Exception]:
        from google.api_core.exceptions import NotFound

        return NotFound

    def _delete_object(self, key: str) -> None:
        self.bucket.blob(key).delete()

    def _read_object(self, key: str) -> bytes:
        return bytes(self.bucket.blob(key).download_as_bytes())

    def create(self, key: str, overwrite: bool = False) -> Upload:
        return GCSUpload(self.bucket.blob(self._key(key)), self.uri(key), self.chunk, overwrite)
