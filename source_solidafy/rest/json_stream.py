"""One huge JSON document read as it arrives (``decoder.type: json_stream``), in bounded memory.

    decoder: {type: json_stream, records_path: data.items}

The body comes in chunks (``StreamedResponse.chunks``, a gzip body unpacked on the way). A small
scanner walks the document to ``records_path`` (dotted object keys), then cuts each item of the
array there out of the buffer (it finds where a value ends by its brackets, stepping over strings
with one regular expression per bracket) and hands the items of a batch to ``jsoncodec.loads`` in
one call, which validates them and keeps integers of any size exact, exactly as the ``json``
decoder reads a page. What is held at any time is the unread rest of the last chunk, the value
being cut and one batch: a value (a record, or one skipped on the way to the path) larger than
``http.max_response_mb`` fails the stream, and so does waiting longer than ``http.deadline_secs``
for the next record.

Why not ijson: its C backend stops at integers beyond 64 bits ("integer overflow"), which our
decoders read exactly (``jsoncodec``), and its pure Python backend is several times slower than this.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any, NoReturn

import orjson

from source_solidafy import jsoncodec
from source_solidafy.errors import StreamError
from source_solidafy.rest.decoders import DecodableResponse, DecodedPage, Decoder, utf8_chunks
from source_solidafy.rest.unpack import Packing, limit_of, unpacked_chunks

_WS = re.compile(rb"[ \t\r\n]*")
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NEXT_BRACKET = re.compile(rb'[^"\[\]{}]*(?:"[^"\\]*(?:\\.[^"\\]*)*"[^"\[\]{}]*)*([\[\]{}])')
_SCALAR = re.compile(rb"[^,\]}\s]+")
_OPEN = frozenset(b"[{")
_STARTS = frozenset(b'{["-0123456789tfn')
MAX_DEPTH = 1024  # orjson's own limit (and about the standard library's): deeper never parses
_BATCH_BYTES = 8 << 20  # a batch is handed on once its records hold this much text


def _container_end(buf: bytes, pos: int) -> int:
    """End of the array or object starting at ``buf[pos]``; -1 when the buffer ends first, -2 when it
    nests deeper than any parser reads (so a hostile ``[[[[...`` is not scanned to the size limit)."""
    depth, match = 0, _NEXT_BRACKET.match
    while True:
        found = match(buf, pos)
        if found is None:
            return -1
        pos = found.end()
        if buf[pos - 1] in _OPEN:
            depth += 1
            if depth > MAX_DEPTH:
                return -2
        else:
            depth -= 1
            if depth == 0:
                return pos


def value_end(buf: bytes, pos: int, final: bool) -> int:
    """End of the JSON value starting at ``buf[pos]`` (orjson validates it later); -1 when the
    buffer ends first and more may come (``final``: nothing more comes); -2 when nested too deep."""
    first = buf[pos]
    if first in _OPEN:
        return _container_end(buf, pos)
    if first == 0x22:  # "
        found = _STRING.match(buf, pos)
        return found.end() if found else -1
    scalar = _SCALAR.match(buf, pos)
    end = scalar.end() if scalar else pos
    return end if end < len(buf) or final else -1


class Feed:
    """The document's unread bytes, refilled from the chunks; at most one value plus one read held."""

    def __init__(self, chunks: Iterator[bytes], limit: int, deadline: float | None, where: str,
                 unit: str = "value", beyond: str = " or what is skipped on the way to records_path") -> None:
        """``unit`` and ``beyond`` word the error for a too long value (a JSON value, a line)."""
        self.unit, self.beyond = unit, beyond
        self.buf, self.pos, self.done = b"", 0, False
        self.offset = 0  # bytes of the document before buf
        self.chunks, self.limit, self.deadline, self.where = chunks, limit, deadline, where
        self.progress = time.monotonic()  # when a record was last complete
        self.fresh = False  # a record was completed since the last refill

    def more(self) -> None:
        """Read at least as many bytes again as are unread (so a long value is scanned O(n) times)."""
        if self.done:
            raise StreamError(f"{self.where}: the document ends inside a value at byte {self.offset + len(self.buf)} "
                              "(truncated?); its records are not all there")
        unread = self.buf[self.pos:]
        if len(unread) > self.limit:
            raise StreamError(f"{self.where}: a {self.unit} at byte {self.offset + self.pos} is larger than "
                              f"{self.limit / 2**20:g} MB, the limit (http.max_response_mb) for one record"
                              f"{self.beyond}; stopped reading there")
        parts, got = [unread], 0
        while got <= len(unread):
            self._waited()
            chunk = next(self.chunks, None)
            if chunk is None:
                self.done = True
                break
            parts.append(chunk)
            got += len(chunk)
        self.offset += self.pos
        self.buf, self.pos = b"".join(parts), 0

    def _waited(self) -> None:
        now = time.monotonic()
        if self.fresh:
            self.progress, self.fresh = now, False
        elif self.deadline is not None and now - self.progress > self.deadline:
            raise StreamError(f"{self.where}: no complete record within {self.deadline:g}s "
                              "(http.deadline_secs, default timeout_secs); stopped reading there")

    def peek(self) -> int | None:
        """The next byte that is not whitespace (None at the end of the document)."""
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()  # type: ignore[union-attr]  # matches ""
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if self.done:
                return None
            self.more()

    def value(self) -> tuple[int, int]:
        """Start and end in ``buf`` of the next value (read in as far as needed)."""
        while True:
            if self.peek() is None:
                raise StreamError(f"{self.where}: the document ends where a value was expected (truncated?)")
            end = value_end(self.buf, self.pos, self.done)
            if end > self.pos:
                return self.pos, end
            if end == self.pos:
                self.fail("a value")
            if end == -2:
                self.fail(f"a value nested at most {MAX_DEPTH} levels deep (the parser's limit)")
            self.more()

    def expect(self, byte: int, what: str) -> None:
        if self.peek() != byte:
            self.fail(what)
        self.pos += 1

    def fail(self, expected: str) -> NoReturn:
        got = self.buf[self.pos:self.pos + 20]
        hint = " (an error or login page?)" if self.offset + self.pos == 0 else ""
        raise StreamError(f"{self.where}: invalid JSON at byte {self.offset + self.pos}: expected {expected}, "
                          f"found {got!r}{hint}")


def _describe(byte: int | None) -> str:
    return {0x5B: "a list", 0x22: "a string", None: "nothing"}.get(byte, "a value")


class _Walk:
    """The scanner's way through one document: to ``keys``, then through the records there."""

    def __init__(self, feed: Feed, keys: list[str], key: str) -> None:
        self.feed, self.keys, self.key = feed, keys, key

    def to_records(self) -> bool:
        """Step to the value at the path; False when it is null (no records). A missing key fails."""
        feed = self.feed
        for depth, name in enumerate(self.keys):
            at = ".".join(self.keys[:depth]) or "the document"
            first = feed.peek()
            if first == ord("n"):
                return False
            if first != ord("{"):
                self._missing(f"{at} is {_describe(first)}, not an object")
            feed.pos += 1
            self._find_key(name, at)
        return feed.peek() != ord("n")

    def _find_key(self, name: str, at: str) -> None:
        feed, seen = self.feed, list[str]()
        while feed.peek() != ord("}"):
            if seen:
                feed.expect(ord(","), "',' or '}'")
            start, end = feed.value()
            key = orjson.loads(feed.buf[start:end]) if feed.buf[start] == 0x22 else feed.fail("a key")
            feed.pos = end
            feed.expect(ord(":"), "':'")
            if key == name:
                return
            seen.append(str(key))
            feed.pos = feed.value()[1]  # skipped (bounded like a record)
        keys = f" (keys: {', '.join(seen[:10])}{' ...' if len(seen) > 10 else ''})" if seen else " (no keys)"
        self._missing(f"'{name}' is not a key of {at}{keys}")

    def _missing(self, why: str) -> NoReturn:
        raise StreamError(f"{self.key} '{'.'.join(self.keys)}' matched nothing in {self.feed.where}: {why}")

    def records(self) -> Iterator[tuple[int, int]]:
        """Start and end of each record: the items of an array, or the one value that is not one."""
        feed = self.feed
        if feed.peek() != ord("["):
            start, feed.pos = feed.value()
            yield start, feed.pos
            return
        feed.pos += 1
        first = True
        while feed.peek() != ord("]"):
            if not first:
                feed.expect(ord(","), "',' or ']'")
            first = False
            start, feed.pos = feed.value()
            yield start, feed.pos


def read_records(chunks: Iterator[bytes], keys: list[str], batch: int, limit: int, deadline: float | None,
                 where: str, key: str = "decoder.records_path") -> Iterator[list[Any]]:
    """The records of one streamed document, ``batch`` at a time (fewer if they hold 8 MB of text)."""
    feed = Feed(chunks, limit, deadline, where)
    walk = _Walk(feed, keys, key)
    first = feed.peek()
    if first is None:
        return
    if first not in _STARTS:
        feed.fail("a JSON document")
    if not walk.to_records():
        return
    texts: list[bytes] = []
    size = 0
    for start, end in walk.records():
        texts.append(feed.buf[start:end])
        size += end - start
        feed.fresh = True
        if len(texts) >= batch or size >= _BATCH_BYTES:
            yield _parse(texts, where)
            texts, size = [], 0
            feed.progress = time.monotonic()  # the consumer's time is not the server's
    if texts:
        yield _parse(texts, where)


def _parse(texts: list[bytes], where: str) -> list[Any]:
    try:
        parsed: list[Any] = jsoncodec.loads(b"[" + b",".join(texts) + b"]")
    except orjson.JSONDecodeError as exc:
        raise StreamError(f"{where}: invalid JSON in a record: {exc}") from None
    return parsed


class JsonStream(Decoder):
    """``decoder.type: json_stream``: records read from the body as it arrives (see the module)."""

    streaming = True

    def __init__(self, records_path: str | None, packing: Packing, batch_records: int = 1000,
                 key: str = "decoder.records_path", encoding: str = "utf-8") -> None:
        self.keys = records_path.split(".") if records_path else []
        self.packing, self.batch, self.key, self.encoding = packing, batch_records, key, encoding

    def batches(self, response: Any) -> Iterator[list[Any]]:
        """Records of a ``StreamedResponse`` in batches (the caller closes it)."""
        where = response.redact(f"{response.method} {response.url}")
        chunks = utf8_chunks(unpacked_chunks(response.chunks(), self.packing, response, where), self.encoding, where)
        yield from read_records(chunks, self.keys, self.batch, response.max_bytes, response.deadline, where, self.key)

    def decode(self, response: DecodableResponse) -> DecodedPage:
        """A body read already (a test, or an async job download): the same records."""
        where = f"{response.method} {response.url}"
        chunks = utf8_chunks(unpacked_chunks(iter([response.content]), self.packing, response, where), self.encoding,
                             where)
        batches = read_records(chunks, self.keys, self.batch, limit_of(response), None, where, self.key)
        return DecodedPage(None, [record for batch in batches for record in batch])
