"""Azure Blob Storage: blocks staged as they fill, the blob appears when the block list is committed.

Credentials: ``AZURE_STORAGE_CONNECTION_STRING``, or ``AZURE_STORAGE_ACCOUNT_NAME`` with
``AZURE_STORAGE_ACCOUNT_KEY`` (or ``AZURE_STORAGE_SAS_TOKEN``, or a service principal:
``AZURE_STORAGE_CLIENT_ID``/``_CLIENT_SECRET``/``_TENANT_ID``, which needs the ``azure-identity``
package). ``AZURE_STORAGE_ENDPOINT`` overrides the account URL (Azurite:
``http://127.0.0.1:10000/devstoreaccount1``). ``az://container/prefix`` and ``azure://`` are the same.
Commits use ``If-None-Match: *``: an existing blob is never replaced. An aborted upload leaves only
uncommitted blocks, which are invisible and discarded by the service.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from source_solidafy.errors import ConfigError
from source_solidafy.sinks.cloud_common import (
    CloudStorage,
    PartedUpload,
    env,
    failure,
    missing_sdk,
    part_bytes,
)
from source_solidafy.sinks.storage import Upload

AZURE_MIN_BLOCK = 64 * 1024


def _credential(account: str) -> Any:
    key = env("AZURE_STORAGE_ACCOUNT_KEY")
    if key:
        return {"account_name": account, "account_key": key}
    sas = env("AZURE_STORAGE_SAS_TOKEN")
    if sas:
        return sas
    client_id, secret, tenant = (env(f"AZURE_STORAGE_{n}") for n in ("CLIENT_ID", "CLIENT_SECRET", "TENANT_ID"))
    if client_id and secret and tenant:
        try:
            from azure.identity import ClientSecretCredential
        except ImportError:
            raise ConfigError(
                "Azure service principal credentials need the azure-identity package: pip install azure-identity"
            ) from None
        return ClientSecretCredential(tenant, client_id, secret)
    raise ConfigError(
        "no Azure credentials; set AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_SAS_TOKEN, "
        "AZURE_STORAGE_CLIENT_ID/_CLIENT_SECRET/_TENANT_ID, or AZURE_STORAGE_CONNECTION_STRING",
        option="output", value="az://...",
    )


def _service() -> Any:
    from azure.storage.blob import BlobServiceClient

    conn = env("AZURE_STORAGE_CONNECTION_STRING")
    if conn:
        try:
            return BlobServiceClient.from_connection_string(conn)
        except ValueError:
            raise ConfigError("AZURE_STORAGE_CONNECTION_STRING is not a valid connection string") from None
    account = env("AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT")
    if not account:
        raise ConfigError(
            "set AZURE_STORAGE_ACCOUNT_NAME (with AZURE_STORAGE_ACCOUNT_KEY) "
            "or AZURE_STORAGE_CONNECTION_STRING",
            option="output", value="az://...",
        )
    url = env("AZURE_STORAGE_ENDPOINT") or f"https://{account}.blob.core.windows.net"
    return BlobServiceClient(account_url=url, credential=_credential(account))


class AzureUpload(PartedUpload):
    def __init__(self, blob: Any, uri: str, block_size: int, overwrite: bool = False) -> None:
        super().__init__(block_size)
        self._blob, self.uri = blob, uri
        self._overwrite = overwrite
        self._blocks: list[str] = []
        self._prefix = uuid.uuid4().hex[:16]

    def _send_part(self, data: bytes) -> None:  # a block, staged
        block_id = f"{self._prefix}{len(self._blocks):08d}"  # same length for every block of a blob
        try:
            self._blob.stage_block(block_id, data, length=len(data))
        except Exception as exc:  # noqa: BLE001 - azure-core raises many kinds
            raise failure(self.uri, "upload", exc) from None
        self._blocks.append(block_id)

    def commit(self) -> str:
        from azure.core import MatchConditions
        from azure.storage.blob import BlobBlock

        try:
            if not self._blocks:
                self._blob.upload_blob(bytes(self._buf), overwrite=self._overwrite)
            else:
                if self._buf:
                    self._send_part(bytes(self._buf))
                blocks = [BlobBlock(block_id=b) for b in self._blocks]
                condition = {} if self._overwrite else {"match_condition": MatchConditions.IfMissing}
                self._blob.commit_block_list(blocks, **condition)
        except Exception as exc:  # noqa: BLE001
            self.abort()
            raise failure(self.uri, "upload", exc) from None
        self._buf = bytearray()
        return self.uri

    def abort(self) -> None:
        self._buf = bytearray()
        self._blocks = []


class AzureStorage(CloudStorage):
    kind = "container"

    def __init__(self, scheme: str, container: str, prefix: str) -> None:
        try:
            import azure.storage.blob  # noqa: F401
        except ImportError:
            raise missing_sdk(scheme, "azure-storage-blob") from None
        super().__init__(scheme, container, prefix)
        self.container = _service().get_container_client(container)
        self.block_size = part_bytes(AZURE_MIN_BLOCK)

    def _bucket_exists(self) -> bool:
        return bool(self.container.exists())

    def _object_exists(self, key: str) -> bool:
        return bool(self.container.get_blob_client(key).exists())

    def _names_under(self, prefix: str) -> Iterable[str]:
        blobs = self.container.walk_blobs(name_starts_with=prefix, delimiter="/")
        return [b.name for b in blobs if not b.name.endswith("/")]  # "name/": a deeper folder

    def _not_found(self) -> type[Exception]:
        from azure.core.exceptions import ResourceNotFoundError

        return ResourceNotFoundError

    def _delete_object(self, key: str) -> None:
        self.container.delete_blob(key)

    def _read_object(self, key: str) -> bytes:
        return bytes(self.container.download_blob(key).readall())

    def create(self, key: str, overwrite: bool = False) -> Upload:
        return AzureUpload(self.container.get_blob_client(self._key(key)), self.uri(key), self.block_size, overwrite)
