"""rest/header_parsing.py gives what http.client's email-based parser gives, or leaves the block to it."""

from __future__ import annotations

import email.parser
import http.client
import io
from typing import Any

import pytest

from source_solidafy.rest import header_parsing
from source_solidafy.rest.header_parsing import OURS, parse_headers, simple_message

PLAIN = [
    "Content-Type: application/json\r\nContent-Length: 12\r\n\r\n",
    "Server: BaseHTTP/0.6 Python/3.11.7\r\nDate: Mon, 07 Dec 2026 16:00:00 GMT\r\nSet-Cookie: a=1; Path=/\r\n"
    "set-cookie: b=2\r\nX-Empty:\r\nX-Spaces:   \t padded  \r\nRateLimit: \"default\";r=5;t=30\r\n\r\n",
    "Link: <https://h/x?page=2>; rel=\"next\"\r\nX-Odd-Chars: caf\xe9 \xff ~!#$%&'*+-.^_`|\r\n\r\n",
    "Content-Type: text/csv; charset=utf-8\r\n\r\n",
    "\r\n",
]
ODD = [
    "X-Folded: a\r\n b\r\n\r\n",  # a continuation line
    "Not a header line\r\nX-A: 1\r\n\r\n",
    ": empty name\r\n\r\n",
    "X-A: 1\nX-B: 2\n\n",  # LF only
    "X-A: 1\rX-B: 2\r\n\r\n",  # a bare CR splits a line for the email parser
    "X-A: 1\x0bX-B: 2\r\n\r\n",
    "X-A: 1\x85X-B: 2\r\n\r\n",
    "X-A: 1\r\n",  # cut by the end of the stream: no empty line
    "Content-Type: multipart/mixed; boundary=x\r\n\r\n",
    "Content-Type: message/rfc822\r\n\r\n",
    "From nobody\r\nX-A: 1\r\n\r\n",
    "X A: 1\r\n\r\n",
]


def _email(block: str) -> http.client.HTTPMessage:
    return email.parser.Parser(_class=http.client.HTTPMessage).parsestr(block)


def _shape(msg: Any) -> Any:
    payload = msg.get_payload()
    inner = [_shape(m) for m in payload] if isinstance(payload, list) else payload
    return msg.items(), inner, [type(d) for d in msg.defects]


@pytest.mark.parametrize("block", PLAIN)
def test_plain_blocks_parse_as_the_email_parser_does(block: str) -> None:
    ours = simple_message(block, http.client.HTTPMessage)
    assert ours is not None
    theirs = _email(block)
    assert vars(ours) == vars(theirs)
    assert ours.items() == theirs.items() and ours.get_all("set-cookie") == theirs.get_all("set-cookie")


@pytest.mark.parametrize("block", ODD)
def test_other_blocks_go_to_the_email_parser(block: str) -> None:
    assert simple_message(block, http.client.HTTPMessage) is None
    with OURS:
        ours = parse_headers(io.BytesIO(block.encode("iso-8859-1") + b"body"))
    theirs = header_parsing._STANDARD(io.BytesIO(block.encode("iso-8859-1") + b"body"))
    assert _shape(ours) == _shape(theirs)


def test_parse_headers_reads_a_response_block_and_stops_at_the_body() -> None:
    fp = io.BytesIO(PLAIN[1].encode("iso-8859-1") + b'{"body": 1}')
    with OURS:
        assert vars(parse_headers(fp)) == vars(_email(PLAIN[1]))
    assert fp.read() == b'{"body": 1}'


def test_only_our_connections_answers_take_the_short_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another http.client user in the process (installed or not) gets the standard parser, untouched."""
    seen: list[str] = []
    monkeypatch.setattr(header_parsing, "simple_message", lambda block, cls: seen.append(block))
    plain = PLAIN[0].encode("iso-8859-1")
    assert parse_headers(io.BytesIO(plain)).items() == _email(PLAIN[0]).items() and seen == []
    with OURS:
        parse_headers(io.BytesIO(plain))
    assert seen == [PLAIN[0]]
    parse_headers(io.BytesIO(plain))
    assert seen == [PLAIN[0]]
