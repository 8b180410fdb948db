"""A unit's manifest: written last, after every file of the unit is published; its presence means done.

    <output>/_solidafy/runs/<run_id>/<unit_id>.json
    {"type": "UNIT_MANIFEST", "run_id": "3fa2c1d9e0b7", "unit_id": "u00003", "stream": "customer_notes",
     "rows": 1200, "files": ["out/customer_notes/dt=2025-12-14/data-3fa2c1d9e0b7-00003.parquet"],
     "state": {"partitions": [...], "cursor": "..."}, "held": false, "warnings": [], ...}

The ``_solidafy`` directory starts with ``_``: Spark, Hive and DuckDB's Hive globs skip it.
``state merge`` reads the manifests of a run; ``read --plan`` skips a unit whose manifest exists
(its rerun would read the same data again). A retried unit removes its manifest before it writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from source_solidafy import jsoncodec
from source_solidafy.errors import UsageError
from source_solidafy.sinks.storage import Storage

RUNS_DIR = "_solidafy/runs"


def manifest_key(run_id: str, unit_id: str) -> str:
    return f"{RUNS_DIR}/{run_id}/{unit_id}.json"


@dataclass
class UnitManifest:
    run_id: str
    unit_id: str
    stream: str
    rows: int
    files: list[str]
    state: dict[str, Any] | None
    held: bool = False  # a warning: the unit's state did not advance (ReadContext.warn)
    warnings: list[str] = field(default_factory=list)
    duration_ms: int = 0
    finished_at: str = ""
    ext: str = ""  # of the unit's data files ("parquet", "jsonl")

    def as_dict(self) -> dict[str, Any]:
        return {"type": "UNIT_MANIFEST", "run_id": self.run_id, "unit_id": self.unit_id, "stream": self.stream,
                "rows": self.rows, "files": self.files, "state": self.state, "held": self.held,
                "warnings": self.warnings, "duration_ms": self.duration_ms, "finished_at": self.finished_at,
                "ext": self.ext}

    @classmethod
    def from_bytes(cls, data: bytes, where: str) -> UnitManifest:
        try:
            v = jsoncodec.loads(data)
            if not isinstance(v, dict) or v.get("type") != "UNIT_MANIFEST":
                raise ValueError("not a UNIT_MANIFEST object")
            return cls(str(v["run_id"]), str(v["unit_id"]), str(v["stream"]), int(v["rows"]), list(v["files"]),
                       v.get("state"), bool(v.get("held")), list(v.get("warnings") or []),
                       int(v.get("duration_ms") or 0), str(v.get("finished_at") or ""), str(v.get("ext") or ""))
        except (ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"{where}: not a unit manifest ({exc})") from None


def write_manifest(storage: Storage, manifest: UnitManifest) -> str:
    """Publish the manifest (replacing an earlier attempt's): the unit is done."""
    upload = storage.create(manifest_key(manifest.run_id, manifest.unit_id), overwrite=True)
    try:
        upload.write(jsoncodec.dumps(manifest.as_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
        return upload.commit()
    except BaseException:
        upload.abort()
        raise


def read_manifest(storage: Storage, run_id: str, unit_id: str) -> UnitManifest | None:
    key = manifest_key(run_id, unit_id)
    data = storage.read(key)
    return None if data is None else UnitManifest.from_bytes(data, f"{storage.root}/{key}")


def read_run(storage: Storage, run_id: str) -> dict[str, UnitManifest]:
    """Every manifest of a run, by unit id."""
    out = {}
    for name in storage.list(f"{RUNS_DIR}/{run_id}"):
        if name.endswith(".json") and not name.startswith("."):
            found = read_manifest(storage, run_id, name[: -len(".json")])
            if found is not None:
                out[found.unit_id] = found
    return out


def forget_manifest(storage: Storage, run_id: str, unit_id: str) -> None:
    storage.delete(manifest_key(run_id, unit_id))
