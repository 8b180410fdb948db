"""Output URIs: the one list of object-store schemes we write to, and how a URI splits.

The CLI's ``--output``, the Python API's ``output=`` and the server's ``"output"`` all go through
:func:`split_uri`, so a URI one of them accepts is one the sinks can write to. ``s3a://``, ``abfs://``
and ``abfss://`` (Hadoop's names) are refused with the scheme to use instead: their buckets and
accounts are written differently (``abfss://container@account.dfs.core.windows.net/``) and we do
not parse them.
"""

from __future__ import annotations

import re

from source_solidafy.errors import UsageError

CLOUD_SCHEMES = ("s3", "r2", "gs", "gcs", "az", "azure")
_INSTEAD = {"s3a": "s3", "s3n": "s3", "abfs": "az", "abfss": "az", "wasb": "az", "wasbs": "az"}
_URI = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$")


def scheme_of(uri: str) -> str | None:
    """``S3://b/p`` -> ``s3``; None for a local path."""
    match = _URI.match(uri)
    return match[1].lower() if match else None


def unknown_scheme(uri: str, scheme: str, option: str = "output") -> UsageError:
    instead = _INSTEAD.get(scheme)
    hint = f"did you mean {instead}://? " if instead else ""
    return UsageError(
        f"unknown scheme '{scheme}://'; {hint}expected a directory or s3://, r2://, gs://, az:// (azure://)",
        option=option, value=uri,
    )


def split_uri(output: str) -> tuple[str, str, str]:
    """``s3://bucket/a/b`` -> (``s3``, ``bucket``, ``a/b``); a local path -> (``file``, ``""``, path)."""
    match = _URI.match(output)
    if not match:
        return "file", "", output
    scheme, rest = match[1].lower(), match[2]
    if scheme == "file":
        return "file", "", rest
    bucket, _, prefix = rest.partition("/")
    if scheme not in CLOUD_SCHEMES:
        raise unknown_scheme(output, scheme)
    if not bucket:
        raise UsageError(f"missing the bucket (container) name, e.g. {scheme}://my-bucket/path",
                         option="output", value=output)
    return scheme, bucket, prefix.strip("/")
