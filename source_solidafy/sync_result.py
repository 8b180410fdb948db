"""``ss.sync``: a whole sync held in one result, records included (the README's SYNC_RESULT).

Apart from api.py (which hands it out as ``api.sync``, on first use) because its options are a
second frozen 21-field dataclass, and making one is ~9 M instructions of every process's start-up
(its ``__init__``, ``__repr__``, ``__eq__``, ``__hash__`` and ``__setattr__`` are compiled from
generated source): a read, the CLI's or ``ss.read``'s, never holds a sync's records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from source_solidafy import protocol as p
from source_solidafy.api import TooManyRecords, plan_sync
from source_solidafy.options import SyncOptions, keyword_options

if TYPE_CHECKING:
    from source_solidafy.source import Source


@dataclass(frozen=True, kw_only=True)
class SyncResultOptions(SyncOptions):
    """``ss.sync``'s options: those of a sync, and how many records one result may hold."""

    max_held_records: int = 10_000


@keyword_options(SyncResultOptions)
def sync(connector: str | Source, config: dict[str, Any], options: SyncResultOptions) -> dict[str, Any]:
    """Run a whole sync and return the README's SYNC_RESULT ``result``, records included.

    The keywords are ``SyncOptions``' fields and ``max_held_records`` (default 10,000).
    """
    max_held_records = options.max_held_records
    run = plan_sync(connector, config, options)
    records: list[dict[str, Any]] = []
    it = iter(run)
    try:
        for chunk in it:
            for m in p.expand(chunk):
                if m["type"] == "RECORD":
                    if len(records) >= max_held_records:
                        raise TooManyRecords(
                            f"more than {max_held_records} records for one response; use streaming "
                            "(Accept: application/x-ndjson), max_records, or format parquet with an output"
                        )
                    records.append(m["record"])
    finally:
        it.close()
    summary = run.summary or {}
    return {
        "status": summary.get("status"),
        "connector": summary.get("connector"),
        "total_records": summary.get("total_records", 0),
        "streams": summary.get("streams", []),
        "output": summary.get("output"),
        "state": {"streams": run.final_state},
        "records": records,
        **({"config": run.updated_config} if run.updated_config is not None else {}),
    }
