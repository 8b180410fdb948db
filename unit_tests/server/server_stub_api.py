"""A stand-in for ``source_solidafy.api`` with the same signatures, for the server's unit tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from source_solidafy import errors as e


class TooManyRecords(e.SolidafyError):
    pass


@dataclass
class StubSource:
    name: str

    def secrets(self, config: dict[str, Any]) -> list[str]:
        return [config["hidden"]] if "hidden" in config else []


@dataclass
class StubApi:
    raise_on: dict[str, BaseException] = field(default_factory=dict)
    calls: list[tuple[str, Any, dict[str, Any]]] = field(default_factory=list)
    pages: int = 3
    closed: threading.Event = field(default_factory=threading.Event)

    def _maybe_raise(self, what: str) -> None:
        if what in self.raise_on:
            raise self.raise_on[what]

    def list_connectors(self) -> list[dict[str, Any]]:
        self.calls.append(("list_connectors", None, {}))
        return [{"name": "demo", "description": "d", "category": "Demo", "aliases": ["demo-api"],
                 "config_schema": [{"name": "base_url", "type": "string", "required": True, "secret": False,
                                    "description": ""}], "streams": ["items", "users"], "streams_dynamic": False}]

    def load_connector(self, connector: str | None = None, *, yaml_text: str | None = None,
                       allow_paths: bool = True, confinement: Any = None, allow_plugins: bool = True) -> StubSource:
        self.calls.append(("load_connector", connector, {"yaml_text": yaml_text, "allow_paths": allow_paths,
                                                         "allow_plugins": allow_plugins}))
        if yaml_text is not None:
            self._maybe_raise("yaml")
            return StubSource("custom")
        if connector not in ("demo", "demo-api"):
            raise e.UnknownConnectorError(f"unknown connector '{connector}'")
        return StubSource("demo")

    def spec(self, connector: Any) -> dict[str, Any]:
        return {"type": "SPEC", "spec": {"connectionSpecification": {"type": "object"}}}

    def check(self, connector: Any, config: dict[str, Any], on_config: Any = None) -> dict[str, Any]:
        self.calls.append(("check", connector, {"config": config}))
        self._maybe_raise("check")
        return {"type": "CONNECTION_STATUS", "connectionStatus": {"status": "SUCCEEDED"}}

    def streams(self, connector: Any, config: dict[str, Any] | None = None) -> list[str]:
        self.calls.append(("streams", connector, {"config": config}))
        self._maybe_raise("streams")
        return ["items", "users"]

    def discover(self, connector: Any, config: dict[str, Any], sample: int = 0, on_config: Any = None) -> dict[str, Any]:
        self.calls.append(("discover", connector, {"config": config, "sample": sample}))
        self._maybe_raise("discover")
        return {"type": "CATALOG", "catalog": {"streams": [{"name": "items"}]}}

    def read(self, connector: Any, config: dict[str, Any], **options: Any) -> Iterator[list[dict[str, Any]]]:
        self.calls.append(("read", connector, {"config": config, **options}))
        self._maybe_raise("read")
        return self._chunks(options)

    def _chunks(self, options: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        try:
            for page in range(self.pages):
                if "read_mid" in self.raise_on and page == 1:
                    raise self.raise_on["read_mid"]
                yield [{"type": "RECORD", "record": {"stream": "items", "data": {"id": page}, "emitted_at": 1}}]
            yield [{"type": "STATE", "state": {"streams": {}}}, {"type": "SYNC_SUMMARY", "summary": {"status": "SUCCEEDED"}}]
        finally:
            self.closed.set()

    def sync(self, connector: Any, config: dict[str, Any], *, max_held_records: int = 10_000,
             **options: Any) -> dict[str, Any]:
        self.calls.append(("sync", connector, {"config": config, "max_held_records": max_held_records, **options}))
        self._maybe_raise("sync")
        return {"status": "SUCCEEDED", "connector": "demo", "total_records": 1,
                "streams": [{"stream": "items", "status": "SUCCESS", "records_synced": 1,
                             "output_file": "s3://b/items/part-0.parquet"}],
                "state": {"streams": {}}, "records": [{"stream": "items", "data": {"id": 1}, "emitted_at": 1}]}
