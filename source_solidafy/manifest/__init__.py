"""Connector YAML: schema models, the loader with line numbers, template compilation.

    from source_solidafy.manifest import load_manifest, summarize
    manifest = load_manifest("stripe.yaml")   # ManifestError (exit 2) listing every problem
    print(summarize(manifest))
"""

from __future__ import annotations

from source_solidafy.manifest.loader import load_manifest, load_manifest_text
from source_solidafy.manifest.models import Manifest, Stream
from source_solidafy.manifest.summary import summarize
from source_solidafy.manifest.templates import TemplateString, build_context, config_keys_used

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
