"""source_solidafy: REST APIs and SQL databases to JSON lines or Parquet; a drop-in Airbyte source.

The Python API lives in :mod:`source_solidafy.api`; its functions are re-exported here lazily so that
``import source_solidafy`` stays cheap.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = ("list_connectors", "spec", "check", "streams", "discover", "read", "sync", "prepare_sync")
_SCALE = ("plan", "read_plan", "prepare_plan_read", "merge_state", "load_plan")  # docs/scale-out.md


def __getattr__(name: str) -> Any:
    if name in _API:
        from source_solidafy import api

        return getattr(api, name)
    if name in _SCALE:
        from source_solidafy.scale import api as scale_api

        return getattr(scale_api, name)
    raise AttributeError(name)


__all__ = ["__version__", *_API, *_SCALE]
