"""JSON lines, CSV and plain lines read as they arrive (``decoder: {type: jsonl|csv|lines, stream: true}``).

    decoder: {type: csv, stream: true}        # a 2 GB export, gzip or not: 1000 records at a time

For exports larger than ``http.max_response_mb``: the body comes in chunks (a gzip body unpacked on
the way), is cut into lines by the same bounded buffer as ``json_stream``
(:class:`~source_solidafy.rest.json_stream.Feed`: one line longer than ``max_response_mb`` fails the
stream, and so does waiting longer than ``deadline_secs`` for the next one), and each batch of lines
is read by the ``jsonl`` or ``csv`` decoder's own code (the same records as a whole body gives; a
quoted CSV field may span lines). A body in another ``encoding`` is decoded as it arrives into UTF-8
before it is cut into lines (so UTF-16 works too).
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from typing import Any

from source_solidafy.errors import SolidafyError, StreamError
from source_solidafy.rest.decoders import (
    CsvDecoder,
    DecodableResponse,
    DecodedPage,
    Decoder,
    JsonlDecoder,
    utf8_chunks,
)
from source_solidafy.rest.json_stream import Feed
from source_solidafy.rest.unpack import Packing, limit_of, unpacked_chunks


def lines(feed: Feed) -> Iterator[bytes]:
    """Each line of the body with its newline (the last one may have none), read in as far as needed."""
    while True:
        end = feed.buf.find(b"\n", feed.pos)
        if end >= 0:
            line, feed.pos, feed.fresh = feed.buf[feed.pos:end + 1], end + 1, True
            yield line
        elif feed.done:
            rest, feed.pos = feed.buf[feed.pos:], len(feed.buf)
            if rest:
                yield rest
            return
        else:
            feed.more()


def _batched(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while batch := list(itertools.islice(items, size)):
        yield batch


def _where(response: Any) -> str:
    redact = getattr(response, "redact", None) or (lambda text: text)
    return str(redact(f"{response.method} {response.url}"))


class _LineStream(Decoder):
    streaming = True

    def __init__(self, packing: Packing, batch_records: int = 1000, encoding: str = "utf-8") -> None:
        self.packing, self.batch, self.encoding = packing, batch_records, encoding

    def _lines(self, response: Any, chunks: Iterator[bytes], deadline: float | None) -> Iterator[bytes]:
        where = _where(response)
        unpacked = utf8_chunks(unpacked_chunks(chunks, self.packing, response, where), self.encoding, where)
        return lines(Feed(unpacked, limit_of(response), deadline, where, "line", ""))

    def batches(self, response: Any) -> Iterator[list[Any]]:
        """Records of a ``StreamedResponse`` in batches (the caller closes it)."""
        return self._records(response, self._lines(response, response.chunks(), response.deadline))

    def decode(self, response: DecodableResponse) -> DecodedPage:
        """A body read already: the same records."""
        body = self._lines(response, iter([response.content]), None)
        return DecodedPage(None, [r for batch in self._records(response, body) for r in batch])

    def _records(self, response: Any, body: Iterator[bytes]) -> Iterator[list[Any]]:
        raise NotImplementedError


class JsonlStream(_LineStream):
    """``jsonl`` with ``stream: true``: a batch of lines at a time, each exactly one JSON value."""

    def _records(self, response: Any, body: Iterator[bytes]) -> Iterator[list[Any]]:
        number = 1
        for chunk in _batched(body, self.batch):
            records = JsonlDecoder.parse(response, chunk, number)
            if number == 1 and len(chunk) < self.batch:  # the whole body: maybe one JSON document
                JsonlDecoder.refuse_one_document(response, records)
            number += len(chunk)
            yield records


class LinesStream(_LineStream):
    """``lines``: each line as ``{"record": line}`` (airbyte-cdk's IterableDecoder, which reads
    requests' ``iter_lines``: a line ends at ``\\n``, ``\\r\\n`` or ``\\r``; empty lines are records)."""

    def _records(self, response: Any, body: Iterator[bytes]) -> Iterator[list[Any]]:
        texts = (part for line in body for part in line.splitlines())
        try:
            yield from _batched(({"record": part.decode("utf-8")} for part in texts), self.batch)
        except UnicodeDecodeError as exc:
            raise StreamError(f"{_where(response)}: a line is not valid "
                              f"UTF-8 ({exc.reason}); set decoder.encoding to the body's") from None


class CsvStream(_LineStream):
    """``csv`` with ``stream: true``: the csv module reads the lines as they come."""

    def __init__(self, reader: CsvDecoder, packing: Packing, batch_records: int = 1000,
                 encoding: str = "utf-8") -> None:
        super().__init__(packing, batch_records, encoding)
        self.reader = reader

    def _records(self, response: Any, body: Iterator[bytes]) -> Iterator[list[Any]]:
        first = next(body, b"")
        self.reader.refuse_other_content(response, first)
        text = (line.decode("utf-8") for line in itertools.chain([first.removeprefix(b"\xef\xbb\xbf")], body))
        rows = self.reader.rows(csv.reader(text, delimiter=self.reader.delimiter))
        while True:
            try:
                batch = list(itertools.islice(rows, self.batch))
            except SolidafyError:
                raise
            except (csv.Error, UnicodeDecodeError, ValueError) as exc:
                raise StreamError(f"invalid CSV from {response.method} {response.url}: {exc}") from None
            if not batch:
                return
            yield batch
