"""Helpers every cloud backend shares: environment, part sizes, secret-free error messages."""

from __future__ import annotations

import os

from source_solidafy.errors import ConfigError, StreamError, redact

SECRET_ENV = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "GOOGLE_SERVICE_ACCOUNT_KEY",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_CLIENT_SECRET",
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_STORAGE_SAS_TOKEN",
)
DEFAULT_PART_BYTES = 8 * 1024 * 1024


def env(*names: str) -> str | None:
    """The first of ``names`` set to a non-empty value."""
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def part_bytes(minimum: int) -> int:
    """Upload part size: ``SOLIDAFY_UPLOAD_PART_BYTES`` (tests make it small) or 8 MiB, never under ``minimum``."""
    raw = os.environ.get("SOLIDAFY_UPLOAD_PART_BYTES")
    try:
        size = int(raw) if raw else DEFAULT_PART_BYTES
    except ValueError:
        raise ConfigError(f"SOLIDAFY_UPLOAD_PART_BYTES={raw!r}: expected a number of bytes") from None
    return max(size, minimum)


def secrets_from_env() -> list[str]:
    """Values to blank out of any message: secret variables, and the key inside a connection string."""
    values = [os.environ.get(name, "") for name in SECRET_ENV]
    conn = os.environ.get("AZURE_STORAGE_CONNECTION_STRING", "")
    for part in conn.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() in ("accountkey", "sharedaccesssignature"):
            values.append(value)
    return [v for v in values if v]


def clean(message: str) -> str:
    """``message`` with every credential we know of replaced by ``***``, and kept to one short line."""
    text = redact(str(message), secrets_from_env())
    text = " ".join(text.split())
    return text if len(text) <= 400 else text[:400] + "..."


def missing_sdk(scheme: str, package: str) -> ConfigError:
    return ConfigError(
        f"needs the {package} package: pip install 'source-solidafy[cloud]'", option="output", value=f"{scheme}://..."
    )


def failure(uri: str, action: str, exc: BaseException) -> StreamError:
    """A StreamError naming the object and what failed, with no credential in it."""
    return StreamError(f"{uri}: {action} failed: {clean(f'{type(exc).__name__}: {exc}')}")
