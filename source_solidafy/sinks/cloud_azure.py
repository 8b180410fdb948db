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
from typing import Any

from source_solidafy.errors import ConfigError
from source_solidafy.sinks.cloud_common import clean, env, failure, missing_sdk, part_bytes
from source_solidafy.sinks.storage import Storage, Upload

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


class AzureUpload(Upload):
    def __init__(self, blob: Any, uri: str, block_size: int, overwrite: bool = False) -> None:
        super().__init__()
        self._blob, self.uri, self._block_size = blob, uri, block_size
        self._overwrite = overwrite
        self._buf = bytearray()
        self._blocks: list[str] = []
        self._prefix = uuid.uuid4().hex[:16]

    def _write(self, data: bytes | memoryview) -> None:
        self._buf += data
        while len(self._buf) >= self._block_size:
            self._stage(bytes(self._buf[: self._block_size]))
            del self._buf[: self._block_size]

    def _stage(self, data: bytes) -> None:
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
                    self._stage(bytes(self._buf))
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


class AzureStorage(Storage):
    def __init__(self, scheme: str, container: str, prefix: str) -> None:
        try:
            import azure.storage.blob  # noqa: F401
        except ImportError:
            raise missing_sdk(scheme, "azure-storage-blob") from None
        self.scheme, self.container_name, self.prefix = scheme, container, prefix
        self.root = f"{scheme}://{container}/{prefix}".rstrip("/")
        self.container = _service().get_container_client(container)
        self.block_size = part_bytes(AZURE_MIN_BLOCK)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri(self, key: str) -> str:
        return f"{self.scheme}://{self.container_name}/{self._key(key)}"

    def check(self) -> None:
        try:
            found = self.container.exists()
        except Exception as exc:  # noqa: BLE001
            raise ConfigError(f"cannot reach the container: {clean(str(exc))}", option="output", value=self.root) from None
        if not found:
            raise ConfigError(f"container '{self.container_name}' does not exist", option="output", value=self.root)

    def exists(self, key: str) -> bool:
        try:
            return bool(self.container.get_blob_client(self._key(key)).exists())
        except Exception as exc:  # noqa: BLE001
            raise failure(self.uri(key), "checking", exc) from None

    def list(self, dir_key: str) -> list[str]:
        prefix = self._key(dir_key).rstrip("/") + "/"
        try:
            blobs = self.container.walk_blobs(name_starts_with=prefix, delimiter="/")
            return sorted(b.name[len(prefix):] for b in blobs if not b.name.endswith("/"))
        except Exception as exc:  # noqa: BLE001 - azure-core raises many kinds
            raise failure(self.uri(dir_key), "listing", exc) from None

    def delete(self, key: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            self.container.delete_blob(self._key(key))
        except ResourceNotFoundError:
            return
        except Exception as exc:  # noqa: BLE001
            raise failure(self.uri(key), "deleting", exc) from None

    def read(self, key: str) -> bytes | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return bytes(self.container.download_blob(self._key(key)).readall())
        except ResourceNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001
            raise failure(self.uri(key), "reading", exc) from None

    def create(self, key: str, overwrite: bool = False) -> Upload:
        return AzureUpload(self.container.get_blob_client(self._key(key)), self.uri(key), self.block_size, overwrite)
