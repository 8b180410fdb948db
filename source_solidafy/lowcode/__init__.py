"""Airbyte declarative manifests (airbyte-cdk's low-code YAML) run by our engine.

``--connector manifest.yaml`` loads one when the file has the shape of one (``type: DeclarativeSource``);
see docs/airbyte-manifests.md for what is supported. The names below load the translation (and
register the Airbyte paginator and routers with the engine's factory) on first use; ``lowcode.shape``
alone tells whether a file is one.
"""

from __future__ import annotations

from typing import Any

__all__ = ["load_airbyte_manifest", "load_airbyte_text", "looks_like_airbyte", "looks_like_airbyte_text"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from source_solidafy.lowcode import loader

        return getattr(loader, name)
    raise AttributeError(name)
