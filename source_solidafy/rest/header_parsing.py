"""Response headers parsed without the email package when they are plain ``Name: value`` lines.

``http.client`` hands every response's header block to ``email.parser`` (a feed parser built for
mail: ~12% of a request's CPU on a fast local API). :func:`parse_headers` gives the same
``HTTPMessage`` (the same ``(name, value)`` pairs as the compat32 policy stores them, the same
empty payload, no defects) for a block of CRLF-terminated ``Name: value`` lines, and hands anything
else to the email parser as before: a folded (continued) line, a line that is not a header, a bare
CR or LF, headers cut by the end of the stream, a ``multipart``/``message`` content type (the email
parser reads a body for those). unit_tests/rest/test_header_parsing.py compares both on such blocks.

:func:`install` puts it in ``http.client`` (once, at import of rest/transport.py); the line and
count limits of ``http.client._read_headers`` still apply. It takes the short way only for our own
connections' answers (inside :data:`OURS`, which rest/transport.py's connections enter around
``getresponse``): any other ``http.client`` user in the process gets the standard parser, untouched.
"""

from __future__ import annotations

import email.parser
import http.client
import re
import threading
from typing import Any

_NAME = re.compile(r"[!-9;-~]+")  # what the email parser takes for a header name (printable, no ':')
_ODD = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85]")  # a bare CR or LF, any other control (some split lines)


def simple_message(block: str, cls: type[http.client.HTTPMessage]) -> http.client.HTTPMessage | None:
    """The message of ``block`` when it is plain ``Name: value`` lines ending with an empty line; else None."""
    lines = block.split("\r\n")
    if len(lines) < 2 or lines[-1] or lines[-2] or _ODD.search(block.replace("\r\n", "")):
        return None
    pairs = []
    for line in lines[:-2]:
        name, colon, value = line.partition(":")
        if not colon or not _NAME.fullmatch(name):
            return None
        pairs.append((name, value.lstrip(" \t")))
    for name, value in pairs:
        if name.lower() == "content-type" and ("multipart" in value.lower() or "message" in value.lower()):
            return None
    msg = cls()
    msg._headers = pairs  # type: ignore[attr-defined]  # what the feed parser stores (policy.header_source_parse)
    msg.set_payload("")
    return msg


_STANDARD = http.client.parse_headers
_local = threading.local()


class _Ours:
    """``with OURS:`` the answers this thread reads meanwhile are our connections' (see the module's doc)."""

    __slots__ = ()

    def __enter__(self) -> None:
        _local.ours = True

    def __exit__(self, *exc: object) -> None:
        _local.ours = False


OURS = _Ours()


def parse_headers(fp: Any, _class: type[http.client.HTTPMessage] = http.client.HTTPMessage) -> http.client.HTTPMessage:
    """``http.client.parse_headers``, plain blocks of our connections' answers without the email parser."""
    if not getattr(_local, "ours", False):
        return _STANDARD(fp, _class)
    block = b"".join(http.client._read_headers(fp)).decode("iso-8859-1")  # type: ignore[attr-defined]
    msg = simple_message(block, _class)
    return msg if msg is not None else email.parser.Parser(_class=_class).parsestr(block)


def install() -> None:
    """Use :func:`parse_headers` in ``http.client`` (when this Python has the reader it builds on)."""
    if hasattr(http.client, "_read_headers"):
        http.client.parse_headers = parse_headers  # type: ignore[assignment]
