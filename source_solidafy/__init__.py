"""source_solidafy: REST APIs and SQL databases to JSON lines or Parquet; a drop-in Airbyte source.

The Python API lives in :mod:`source_solidafy.api`; its functions are re-exported here lazily so that
``import source_solidafy`` stays cheap (no pydantic, pyarrow or duckdb until a function is used).
Type checkers see the real functions (the imports under ``TYPE_CHECKING``), so ``ss.read`` is typed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from source_solidafy.api import (
        check,
        discover,
        list_connectors,
        plan_sync,
        prepare_sync,
        read,
        spec,
        streams,
        sync,
    )
    from source_solidafy.options import SyncOptions
    from source_solidafy.scale.api import load_plan, merge_state, plan, prepare_plan_read, read_plan
else:
    _API = {name: "api" for name in (
        "list_connectors", "spec", "check", "streams", "discover", "read", "sync", "prepare_sync", "plan_sync")}
    _API["SyncOptions"] = "options"
    _API.update({name: "scale.api" for name in (  # docs/scale-out.md
        "plan", "read_plan", "prepare_plan_read", "merge_state", "load_plan")})

    def __getattr__(name: str) -> object:
        module = _API.get(name)
        if module is None:
            raise AttributeError(f"module 'source_solidafy' has no attribute {name!r}")
        from importlib import import_module

        return getattr(import_module(f"source_solidafy.{module}"), name)


__all__ = [
    "SyncOptions",
    "__version__",
    "check",
    "discover",
    "list_connectors",
    "load_plan",
    "merge_state",
    "plan",
    "plan_sync",
    "prepare_plan_read",
    "prepare_sync",
    "read",
    "read_plan",
    "spec",
    "streams",
    "sync",
]
