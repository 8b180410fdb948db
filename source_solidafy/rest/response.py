"""One fully read HTTP response, and short names for transport failures (both redacted, then cut)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson
import requests
from requests.structures import CaseInsensitiveDict

from source_solidafy import jsoncodec
from source_solidafy.errors import StreamError, redact_cut

_UNSET = object()


class Response:
    """A fully read response. ``json()`` parses once (orjson; integers of any size exact) and caches."""

    __slots__ = ("status", "reason", "headers", "content", "url", "method", "_json", "_redact")

    def __init__(self, raw: requests.Response, method: str, redactor: Callable[[str], str]) -> None:
        self.status: int = raw.status_code
        self.reason: str = raw.reason or ""
        self.headers: CaseInsensitiveDict[str] = raw.headers
        self.content: bytes = raw.content
        self.url: str = raw.url
        self.method = method
        self._json: Any = _UNSET
        self._redact = redactor

    def json(self) -> Any:
        if self._json is _UNSET:
            try:
                self._json = jsoncodec.loads(self.content)
            except orjson.JSONDecodeError as exc:
                kind = str(self.headers.get("Content-Type") or "").split(";")[0].strip()
                hint = next((f"; Content-Type {kind}: did you mean decoder.type: {d}?" for d in ("csv", "xml")
                             if d in kind.lower()), "")
                raise StreamError(self._redact(
                    f"invalid JSON from {self.method} {self.url}: {exc} (first bytes: {self.snippet(80)!r}){hint}"
                )) from None
        return self._json

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    @property
    def links(self) -> dict[str, dict[str, str]]:
        """RFC 8288 ``Link`` header parsed by requests, keyed by ``rel``."""
        header = self.headers.get("link")
        if not header:
            return {}
        links = requests.utils.parse_header_links(header)
        return {link.get("rel") or link.get("url", ""): link for link in links}

    def redact(self, text: str) -> str:
        """``text`` with the client's secrets replaced by ``***``."""
        return self._redact(text)

    def snippet(self, limit: int = 200) -> str:
        """The start of the body on one line, redacted and then cut (for error messages)."""
        return redact_cut(self.content, self._redact, limit)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.method} {self._redact(self.url)}>"


def describe(exc: BaseException | None, redactor: Callable[[str], str]) -> str:
    """A short human name for a transport failure (a quoted detail is redacted before it is cut)."""
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "truncated response body"
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return "undecodable (truncated?) compressed body"
    if isinstance(exc, requests.Timeout):  # the socket's or the deadline's (rest/transport.py): the same to a user
        return "timeout"
    if isinstance(exc, requests.ConnectionError):
        text = str(exc)
        if "reset" in text.lower() or "aborted" in text.lower():
            return "connection reset"
        return f"connection failed ({_short(redactor(text))})"
    return type(exc).__name__ if exc is not None else "error"


def _short(text: str) -> str:
    match = re.search(r"\[Errno [^\]]+\][^'\")]*", text)
    return match.group(0) if match else redact_cut(text, (), 120)


def is_unknown_host(exc: BaseException) -> bool:
    """A name that does not resolve before any answer is a configuration mistake: fail at once.

    Once the API has answered, a resolver failure is a blip (DNS in containers) and is retried.
    """
    from urllib3.exceptions import NameResolutionError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, NameResolutionError):
            return True
        reason = getattr(current, "reason", None)
        nested = current.args[0] if current.args and isinstance(current.args[0], BaseException) else None
        current = reason if isinstance(reason, BaseException) else nested or current.__context__
    return False
