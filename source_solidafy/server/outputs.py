"""Where a /sync may write: cloud URIs always, the server's disk only under ``--output-root``.

A request names ``"output": "s3://bucket/stripe/"`` (or r2://, gs://, az://, ...) and the storage
layer writes there with the server's credentials. A local directory is refused unless the server was
started with ``--output-root DIR``; then ``"output": "stripe/2025"`` means ``DIR/stripe/2025``, and an
absolute path must already lie under DIR. ``..`` segments and symlinks that lead outside DIR are
refused, so a client can never make the server write (or create directories) elsewhere.
"""

from __future__ import annotations

import os
import re

from source_solidafy.server.errors import ApiError, field_subject
from source_solidafy.uris import CLOUD_SCHEMES, scheme_of, unknown_scheme


def _refuse(message: str) -> ApiError:
    return ApiError(403, "output_not_allowed", message)


def resolve_output(output: str | None, root: str | None) -> str | None:
    """The output to hand to the sync: a cloud URI unchanged, or an absolute path inside ``root``."""
    if not output:
        return None
    if "\x00" in output:
        raise ApiError(400, "bad_request", "field 'output' contains a NUL byte")
    scheme = scheme_of(output)
    if scheme is not None:
        if scheme in CLOUD_SCHEMES:
            return output
        if scheme != "file":
            raise ApiError(400, "bad_request", unknown_scheme(output, scheme).worded(field_subject))
        output = output[len("file://"):]
    return confine(output, root)


def confine(path: str, root: str | None) -> str:
    """``path`` resolved inside ``root`` (following symlinks), or an ``output_not_allowed`` error."""
    if root is None:
        raise _refuse(
            "local output directories are disabled on this server (it was started without --output-root); "
            "use a cloud URI such as s3://bucket/prefix/"
        )
    parts = re.split(r"[\\/]+", path)
    if ".." in parts:
        raise _refuse(f"output path {path!r} contains '..'; give a directory inside the output root")
    real_root = os.path.realpath(root)
    candidate = path if os.path.isabs(path) else os.path.join(real_root, path)
    resolved = os.path.realpath(candidate)
    if resolved != real_root and not resolved.startswith(real_root.rstrip(os.sep) + os.sep):
        raise _refuse(f"output path {path!r} is outside the server's output root")
    return resolved
