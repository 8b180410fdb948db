"""POST /sync with ``Accept: application/x-ndjson``: protocol messages as NDJSON while they are produced.

Each chunk ``api.read`` yields (one page of messages) becomes one write of NDJSON lines, so memory
stays flat for any sync size. The first chunk is pulled before the response starts: errors that
happen up front (unknown connector or stream, bad config or state) still get their HTTP status. A
failure after the response started cannot change the status any more; it ends the stream with one
line ``{"type": "ERROR", "error": {"code": ..., "message": ...}}`` (a complete sync ends with
SYNC_SUMMARY instead). When the client goes away the WSGI server closes this iterator: the sync is
cancelled and ``api.read``'s generator is closed, releasing its sessions and files.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson

from source_solidafy import protocol
from source_solidafy.server.errors import classify, log_exception, message_for


class _Capture:
    """A write-only 'stream' for :class:`protocol.NdjsonWriter`: keeps the bytes of one chunk."""

    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)

    def flush(self) -> None:
        return None


def encode_chunk(messages: Iterable[Any]) -> bytes:
    """NDJSON lines exactly as the CLI prints them (same serialiser: Decimals, dates, 5 MB line cap)."""
    capture = _Capture()
    protocol.NdjsonWriter(capture).write(messages)  # type: ignore[arg-type]
    return capture.data


class NdjsonStream:
    """A WSGI body iterator over ``api.read`` chunks that stops the sync when closed early."""

    def __init__(self, chunks: Iterator[list[dict[str, Any]]], cancel: threading.Event, secrets: list[str],
                 on_close: Callable[[], None] | None = None) -> None:
        self._chunks = chunks
        self._on_close = on_close
        self._cancel = cancel
        self._secrets = secrets
        self._first: bytes | None = None
        self._finished = False

    def prime(self) -> None:
        """Run the sync up to its first chunk; exceptions here propagate to the HTTP error handler."""
        try:
            first = next(self._chunks, None)
        except BaseException:
            self._close_source()
            raise
        if first is None:
            self._finished = True
            self._first = b""
        else:
            self._first = encode_chunk(first)

    def __iter__(self) -> Iterator[bytes]:
        if self._first:
            yield self._first
        if self._finished:
            return
        try:
            for chunk in self._chunks:
                if chunk:
                    yield encode_chunk(chunk)
        except Exception as exc:  # the status line is sent: report in-band, then end the stream
            yield self._error_line(exc)
        self._finished = True

    def _error_line(self, exc: Exception) -> bytes:
        status, code = classify(exc)
        if status >= 500 and code == "internal_error":
            log_exception(exc, self._secrets, "POST /sync (streaming)")
        error = {"code": code, "status": status, "message": message_for(exc, status, code, self._secrets)}
        return orjson.dumps({"type": "ERROR", "error": error}, option=orjson.OPT_APPEND_NEWLINE)

    def close(self) -> None:
        """Called by the WSGI server at the end, and early when the client disconnects."""
        if not self._finished:
            sys.stderr.write("solidafy serve: client disconnected during a streamed /sync; sync cancelled\n")
            sys.stderr.flush()
        self._close_source()

    def _close_source(self) -> None:
        if self._on_close is not None:
            self._on_close()
        self._cancel.set()
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
