"""Airbyte declarative manifests (airbyte-cdk's low-code YAML) run by our engine.

``--connector manifest.yaml`` loads one when the file has the shape of one (``type: DeclarativeSource``);
see docs/airbyte-manifests.md for what is supported.
"""

from __future__ import annotations

from source_solidafy.lowcode.loader import (
    load_airbyte_manifest,
    load_airbyte_text,
    looks_like_airbyte,
    looks_like_airbyte_text,
)

# The Airbyte paginator and the datetime and parent routers register themselves in the engine's tables.
from source_solidafy.lowcode import cursor as _cursor  # noqa: E402,F401  isort: skip
from source_solidafy.lowcode import paging as _paging  # noqa: E402,F401  isort: skip
from source_solidafy.lowcode import parents as _parents  # noqa: E402,F401  isort: skip

__all__ = ["load_airbyte_manifest", "load_airbyte_text", "looks_like_airbyte", "looks_like_airbyte_text"]
