"""Connector YAML: schema models, the loader with line numbers, template compilation.

    from source_solidafy.manifest import load_manifest, summarize
    manifest = load_manifest("stripe.yaml")   # ManifestError (exit 2) listing every problem
    print(summarize(manifest))

The names load their modules on first use: importing one light submodule (``yaml_lines``, to read a
file's shape) does not build the models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from source_solidafy.manifest.loader import load_manifest, load_manifest_text
    from source_solidafy.manifest.models import Manifest, Stream
    from source_solidafy.manifest.summary import summarize
    from source_solidafy.manifest.templates import TemplateString, build_context, config_keys_used

_HOMES = {
    "Manifest": "models", "Stream": "models", "TemplateString": "templates", "build_context": "templates",
    "config_keys_used": "templates", "load_manifest": "loader", "load_manifest_text": "loader", "summarize": "summary",
}

__all__ = [
    "Manifest",
    "Stream",
    "TemplateString",
    "build_context",
    "config_keys_used",
    "load_manifest",
    "load_manifest_text",
    "summarize",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'source_solidafy.manifest' has no attribute {name!r}")
    return getattr(importlib.import_module(f"source_solidafy.manifest.{home}"), name)
