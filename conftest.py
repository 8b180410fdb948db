"""The test session's validated-manifest cache (source_solidafy/manifest/cache.py) lives in a private
temporary directory, not in the home of whoever runs the tests; the CLI subprocesses inherit it."""

from __future__ import annotations

import os
import tempfile

_CACHE = tempfile.TemporaryDirectory(prefix="solidafy-test-cache-")
os.environ["SOLIDAFY_CACHE_DIR"] = _CACHE.name
os.environ.pop("SOLIDAFY_NO_CACHE", None)
