"""Exceptions -> HTTP status and a stable error ``code``, so clients branch on codes, not on messages.

Two different 401s exist and must not be confused: ``unauthorized`` is *our* bearer token missing or
wrong; ``upstream_unauthorized`` is the connector's API (Stripe, ...) refusing the credentials in the
config. Anything that is not one of our error classes is a bug: 500 with a generic message, and the
detail (redacted) goes to stderr only.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterable

from source_solidafy import errors as e
from source_solidafy.confinement import NotAllowedError


class ApiError(Exception):
    """An error the server itself raises (bad body, refused path, our token) with its status and code."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


_TOO_MANY = "TooManyRecords"

# Most specific first: AuthError is an HttpError, every user error is a UserError.
_MAP: tuple[tuple[type[BaseException], int, str], ...] = (
    (e.UnknownConnectorError, 404, "unknown_connector"),
    (e.UnknownStreamError, 404, "unknown_stream"),
    (NotAllowedError, 403, "not_allowed"),
    (e.ManifestError, 422, "invalid_manifest"),
    (e.StateError, 422, "invalid_state"),
    (e.ConfigError, 422, "invalid_config"),
    (e.UsageError, 400, "bad_request"),
    (e.UserError, 422, "invalid_request"),
    (e.AuthError, 401, "upstream_unauthorized"),
    (e.HttpError, 502, "upstream_error"),
)


def classify(exc: BaseException) -> tuple[int, str]:
    """(status, code) for an exception raised by the API layer."""
    if isinstance(exc, ApiError):
        return exc.status, exc.code
    if type(exc).__name__ == _TOO_MANY or getattr(exc, "code", None) == "too_many_records":
        return 413, "too_many_records"
    for cls, status, code in _MAP:
        if isinstance(exc, cls):
            return status, code
    if isinstance(exc, e.SolidafyError):
        return 500, "sync_error"
    return 500, "internal_error"


def field_subject(option: str, value: object) -> str:
    """How the server names a sync option in a message: ``field 'output' (s3a://b/p)``."""
    return f"field '{option}'" if value is None else f"field '{option}' ({value})"


def message_for(exc: BaseException, status: int, code: str, secrets: Iterable[str]) -> str:
    """The client-facing message: ours verbatim (redacted), a generic one for bugs."""
    if code == "internal_error":
        return "internal server error (the detail is in the server log)"
    text = exc.worded(field_subject) if isinstance(exc, e.SolidafyError) else str(exc)
    if code == "upstream_unauthorized":
        text = f"the upstream API refused the credentials in config (its HTTP 401/403): {text}"
    elif code == "upstream_error":
        text = f"the upstream API failed: {text}"
    return e.redact(text, secrets)


def log_exception(exc: BaseException, secrets: Iterable[str], where: str) -> None:
    """One redacted traceback on stderr for a 500; never the config, never a secret."""
    detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    sys.stderr.write(e.redact(f"solidafy serve: unexpected error in {where}:\n{detail}", secrets))
    sys.stderr.flush()
