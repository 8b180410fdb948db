"""Errors are part of the interface: each kind knows its exit code and Airbyte failure type.

A user mistake raises a subclass of :class:`UserError` (exit 2, ``config_error``); the front doors turn
it into one clear line, never a traceback. Failures while syncing a stream raise :class:`StreamError`
(or an :class:`HttpError`) and fail only that stream.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable


class SolidafyError(Exception):
    """Base of every error this package raises on purpose.

    An error about one option of a sync (``output``, ``format``, ``compression``: the Python API's
    keyword names) carries ``option`` and ``value`` beside the ``problem``, so each front door names
    the option in its own words (:meth:`worded`: ``--output X: ...`` on the command line,
    ``field 'output' (X): ...`` in the server). ``str()`` is the neutral wording, ``output X: ...``.
    """

    exit_code = 1
    failure_type = "system_error"

    def __init__(self, message: str, *, option: str | None = None, value: object = None) -> None:
        self.problem, self.option, self.value = message, option, value
        self.message = self.worded(neutral_subject)
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def worded(self, subject: Subject) -> str:
        """The message with its option named by ``subject(option, value)`` (see :data:`Subject`)."""
        if self.option is None:
            return self.problem
        return f"{subject(self.option, self.value)}: {self.problem}"


Subject = Callable[[str, object], str]  # (option, value or None) -> how a front door names it


def neutral_subject(option: str, value: object) -> str:
    """``output s3://b/p``: the Python API's keyword and the value given."""
    return option if value is None else f"{option} {value}"


class UserError(SolidafyError):
    """A mistake in what the user gave us: flags, config, catalog, state, YAML."""

    exit_code = 2
    failure_type = "config_error"


class UsageError(UserError):
    """Bad command-line usage (unknown flag, missing argument, bad value)."""


class ConfigError(UserError):
    """The connector config is missing a field or has a wrong value."""


class ManifestError(UserError):
    """A connector YAML file is invalid. ``problems`` holds one line per problem."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class UnknownConnectorError(UserError):
    """No built-in connector, alias or YAML file of that name."""


class UnknownStreamError(UserError):
    """A stream named in ``--streams`` or the catalog does not exist."""


class StateError(UserError):
    """The state given is not of a shape we understand."""


class StreamError(SolidafyError):
    """A stream failed while syncing; the other streams go on."""


class SuspectReadError(StreamError):
    """A warning that the stream may not have read everything, raised instead of warned under strict."""


class TemplateError(SolidafyError):
    """A template failed to render at run time (syntax errors are ManifestErrors)."""


class HttpError(StreamError):
    """An HTTP request failed for good (after retries where retrying made sense)."""

    def __init__(self, message: str, status: int | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.url = url


class AuthError(HttpError):
    """The API refused our credentials (401/403)."""

    failure_type = "config_error"


def not_utf8(exc: UnicodeDecodeError) -> str:
    """``byte 0xff at offset 12``: where a file stops being UTF-8 (for one-line messages)."""
    return f"byte 0x{exc.object[exc.start]:02x} at offset {exc.start}"


_MIN_SECRET_LEN = 4


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret value (and its URL-encoded form) in ``text`` with ``***``."""
    from urllib.parse import quote, quote_plus

    for secret in sorted({s for s in secrets if s and len(s) >= _MIN_SECRET_LEN}, key=len, reverse=True):
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            text = text.replace(form, "***")
    return re.sub(_URL_PASSWORD, r"\1***@", text)


def redact_cut(text: str | bytes, secrets: Iterable[str] | Callable[[str], str], limit: int) -> str:
    """``text`` redacted, on one line, then cut to ``limit`` characters (``...`` marks the cut).

    Always in this order: cut first and a secret split by the cut is no longer found, so its start
    leaks. ``text`` may be a body (bytes, read as UTF-8). ``secrets`` is the values to hide or a function that redacts (HttpClient.redact). Only a
    window of ``text`` is redacted, so a huge body costs little more than a short one; the window
    grows until the part kept lies well before its end (where a secret may be split).
    """
    if callable(secrets):
        redactor, margin = secrets, 4096
    else:
        values = [s for s in secrets if s]
        redactor = lambda t: redact(t, values)  # noqa: E731
        margin = 3 * max((len(s) for s in values), default=0) + 512  # %-encoded: at most 3x longer
    window = limit + margin
    while True:
        part = text[:window]
        clean = " ".join(redactor(part.decode("utf-8", "replace") if isinstance(part, bytes) else part).split())
        if window >= len(text) or len(clean) >= limit + margin:
            break
        window *= 4
    return clean if len(clean) <= limit else clean[:limit] + "..."


# Regexes here and in config_updates, paths, quota_headers, transforms, field_paths are compiled on first
# use (re's own cache): one compiled at import is ~0.1 ms of every start-up; a plain read uses none of these.
_URL_PASSWORD = r"([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]+:)[^@\s]+@"
