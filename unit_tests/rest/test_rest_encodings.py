"""Decoders of text in other encodings (``decoder.encoding``) and the ``lines`` decoder, on bytes in memory."""

from __future__ import annotations

import gzip
from typing import Any

import pytest

from source_solidafy.errors import StreamError
from source_solidafy.manifest import models as m
from source_solidafy.rest import builders

MB = 2**20


class Body:
    """A streamed response cut into ``piece``-byte chunks (and, as a read body, its ``content``)."""

    url, method, max_bytes, deadline = "https://h/x", "GET", MB, None

    def __init__(self, data: bytes, piece: int = 1000) -> None:
        self.content, self.piece, self.headers = data, piece, {}

    def chunks(self) -> Any:
        return iter([self.content[i:i + self.piece] for i in range(0, len(self.content), self.piece)])

    def json(self) -> Any:
        raise AssertionError("not JSON")

    def redact(self, text: str) -> str:
        return text


def _decoder(**spec: Any) -> Any:
    return builders.decoder(m.Stream.model_validate({"name": "s", "request": {"path": "/"}, "decoder": spec}).decoder)


def _records(decoder: Any, body: Body) -> list[Any]:
    if decoder.streaming:
        return [r for batch in decoder.batches(body) for r in batch]
    return list(decoder.decode(body).records)


CSV = "id;name\n1;Caf\u00e9\n2;\u00c5ngstr\u00f6m\n"
ROWS = [{"id": "1", "name": "Caf\u00e9"}, {"id": "2", "name": "\u00c5ngstr\u00f6m"}]


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "utf-16"])
@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("piece", [1, 3, 1000])
def test_csv_in_another_encoding(encoding: str, stream: bool, piece: int) -> None:
    decoder = _decoder(type="csv", delimiter=";", encoding=encoding, stream=stream)
    assert _records(decoder, Body(CSV.encode(encoding), piece)) == ROWS
    assert _records(decoder, Body(gzip.compress(CSV.encode(encoding)), piece)) == ROWS


@pytest.mark.parametrize("stream", [True, False])
def test_jsonl_and_json_stream_in_latin1(stream: bool) -> None:
    lines = '{"n": "Caf\u00e9"}\n{"n": "\u00e9t\u00e9"}\n'.encode("latin-1")
    assert _records(_decoder(type="jsonl", encoding="latin-1", stream=stream), Body(lines, 2)) == [
        {"n": "Caf\u00e9"}, {"n": "\u00e9t\u00e9"}]
    doc = '{"data": [{"n": "Caf\u00e9"}]}'.encode("latin-1")
    assert _records(_decoder(type="json_stream", records_path="data", encoding="latin1"), Body(doc, 1)) == [
        {"n": "Caf\u00e9"}]


def test_bytes_not_in_the_encoding_fail_the_stream() -> None:
    with pytest.raises(StreamError, match=r"GET https://h/x: the body is not valid utf-16 .*set decoder.encoding"):
        _records(_decoder(type="csv", encoding="utf-16", stream=True), Body(b"id\n1\n"))
    with pytest.raises(StreamError, match="invalid CSV"):
        _records(_decoder(type="csv", stream=True), Body("id\nCaf\u00e9\n".encode("latin-1")))


def test_unknown_encoding_is_a_config_error() -> None:
    with pytest.raises(Exception, match="expected a text encoding such as utf-8 or latin-1, got 'klingon'"):
        _decoder(type="csv", encoding="klingon")


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("piece", [1, 2, 1000])
def test_lines_are_records_as_requests_iter_lines_cuts_them(stream: bool, piece: int) -> None:
    body = b"first\r\nsecond\rthird\n\nlast \xc3\xa9"
    decoder = _decoder(type="lines", stream=stream)
    assert _records(decoder, Body(body, piece)) == [
        {"record": "first"}, {"record": "second"}, {"record": "third"}, {"record": ""}, {"record": "last \u00e9"}]
    assert _records(decoder, Body(b"", piece)) == []
    with pytest.raises(StreamError, match="a line is not valid UTF-8"):
        _records(decoder, Body(b"ok\n\xff\n", piece))


def test_lines_in_latin1_gzip() -> None:
    decoder = _decoder(type="lines", stream=True, encoding="latin-1")
    assert _records(decoder, Body(gzip.compress("\u00e9\n\u00e8\n".encode("latin-1")), 5)) == [
        {"record": "\u00e9"}, {"record": "\u00e8"}]
