"""One fully read HTTP response, short names for transport failures, and the error of a request that got no answer to use (all redacted, then cut)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
from requests.structures import CaseInsensitiveDict

from source_solidafy import jsoncodec
from source_solidafy.errors import ConfigError, HttpError, SolidafyError, StreamError, redact_cut
from source_solidafy.rest.transport import DeadlineExceeded, RedirectRefused, ResponseTooLarge, refusal

_UNSET = object()


class Response:
    """A fully read response. ``json()`` parses once (orjson; integers of any size exact) and caches."""

    __slots__ = ("status", "reason", "headers", "content", "url", "method", "max_bytes", "accepted", "_json", "_redact")

    def __init__(self, raw: requests.Response, method: str, redactor: Callable[[str], str],
                 max_bytes: int | None = None) -> None:
        """``max_bytes``: the client's response limit (a packed body's unpacked size is held to it too)."""
        self.status: int = raw.status_code
        self.reason: str = raw.reason or ""
        self.headers: CaseInsensitiveDict[str] = raw.headers
        self.content: bytes = raw.content
        self.url: str = raw.url
        self.method = method
        self.max_bytes = max_bytes
        self.accepted: str | None = None  # the rule that read this answer as a page (an ``accept``): its words
        self._json: Any = _UNSET
        self._redact = redactor

    def json(self) -> Any:
        if self._json is _UNSET:
            self._json = parse_json(self.content, self.method, self.url, self.headers.get("Content-Type"),
                                    self._redact)
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


class StreamedResponse:
    """A successful response whose body is read as it arrives (``HttpClient.stream``); close it after.

    ``max_bytes`` and ``deadline`` are the client's limits, for a reader that bounds what it holds
    and how long it waits for each record.
    """

    __slots__ = ("status", "reason", "headers", "url", "method", "max_bytes", "deadline", "_raw", "_redact")

    def __init__(self, raw: requests.Response, method: str, redactor: Callable[[str], str], max_bytes: int,
                 deadline: float | None) -> None:
        self.status: int = raw.status_code
        self.reason: str = raw.reason or ""
        self.headers: CaseInsensitiveDict[str] = raw.headers
        self.url: str = raw.url
        self.method, self.max_bytes, self.deadline = method, max_bytes, deadline
        self._raw, self._redact = raw, redactor

    def chunks(self, size: int = 1 << 20) -> Iterator[bytes]:
        """The body (Content-Encoding undone) in pieces of at most ``size``, each as soon as some bytes
        arrived (so a reader can watch the time however slowly they come); a connection lost on the
        way is an HttpError."""
        from urllib3.exceptions import DecodeError, HTTPError, ReadTimeoutError

        read, raw = 0, self._raw.raw
        try:
            while chunk := raw.read1(size, decode_content=True):
                read += len(chunk)
                yield chunk
        except (HTTPError, OSError) as exc:
            what = ("timeout" if isinstance(exc, (ReadTimeoutError, TimeoutError)) else
                    "undecodable compressed body" if isinstance(exc, DecodeError) else "truncated response body")
            raise HttpError(self._redact(
                f"{what} from {self.method} {self.url} after {read:,} bytes of a streamed body (not "
                "retried: a stream cannot resume)"), url=self._redact(self.url)) from None

    def redact(self, text: str) -> str:
        return self._redact(text)

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> StreamedResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def parse_json(content: bytes, method: str, url: str, content_type: str | None,
               redactor: Callable[[str], str]) -> Any:
    """A body parsed as JSON (integers of any size exact); an invalid one is a StreamError saying what came."""
    try:
        return jsoncodec.loads(content)
    except orjson.JSONDecodeError as exc:
        kind = str(content_type or "").split(";")[0].strip()
        hint = next((f"; Content-Type {kind}: did you mean decoder.type: {d}?" for d in ("csv", "xml")
                     if d in kind.lower()), "")
        raise StreamError(redactor(
            f"invalid JSON from {method} {url}: {exc} (first bytes: {redact_cut(content, redactor, 80)!r}){hint}"
        )) from None


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


TRANSIENT = (  # retried: no answer, or an answer cut short
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,  # truncated body: IncompleteRead, Content-Length mismatch
    requests.exceptions.ContentDecodingError,  # truncated gzip body
)


def failure(exc: requests.RequestException, method: str, url: str, display: Callable[[], str], timeout: float,
            retries: int, answered: bool, redactor: Callable[[str], str]) -> SolidafyError:
    """The error of a request that got no answer to use (``display()``: its URL with the query, redacted)."""
    if isinstance(exc, (requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
                        requests.exceptions.InvalidURL)):  # no URL to display
        return ConfigError(redactor(f"cannot request {url!r}: {exc} (check base_url and the path)"))
    shown = display()
    where = f"{method} {shown}"
    if isinstance(exc, (ResponseTooLarge, RedirectRefused)):
        return HttpError(redactor(f"{where}: {refusal(exc)}"), url=shown)
    if isinstance(exc, requests.Timeout):  # a silent server may hit either first: one wording for both
        secs, why = timeout, ""
        if isinstance(exc, DeadlineExceeded):
            secs, why = exc.secs, ": no complete response within http.deadline_secs (default timeout_secs)"
        return HttpError(redactor(f"timeout after {secs:g}s from {where} after {retries} retries{why}"), url=shown)
    if isinstance(exc, TRANSIENT):
        if is_unknown_host(exc) and not answered:
            return HttpError(redactor(f"cannot resolve host '{urlsplit(url).hostname}' for {where} (check base_url)"),
                             url=shown)
        return HttpError(redactor(f"{describe(exc, redactor)} from {where} after {retries} retries"), url=shown)
    return HttpError(redactor(f"{where} failed: {exc}"))
