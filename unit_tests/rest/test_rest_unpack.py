"""Packed bodies (gzip, zip) and the streamed JSON scanner, on bytes in memory.

End to end (the CLI against a mock API over a socket, bombs from a hostile server) is
integration_tests/test_cli_decoders.py.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from typing import Any

import orjson
import pytest

from source_solidafy.errors import StreamError
from source_solidafy.manifest import models as m
from source_solidafy.rest import builders
from source_solidafy.rest.json_stream import JsonStream, read_records, value_end
from source_solidafy.rest.unpack import Packing, gunzip, unpack

MB = 2**20


class Resp:
    def __init__(self, content: bytes, max_bytes: int | None = None, **headers: str) -> None:
        self.content, self.url, self.method, self.max_bytes = content, "https://h/x", "GET", max_bytes
        self.headers = headers

    def json(self) -> Any:
        return orjson.loads(self.content)


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def _decoder(**spec: Any) -> Any:
    return builders.decoder(m.Stream.model_validate({"name": "s", "request": {"path": "/"},
                                                     "decoder": spec}).decoder)


def test_gzip_body_found_by_its_first_bytes_whatever_the_decoder() -> None:
    csv = b"id,name\n1,a\n2,b\n"
    assert _decoder(type="csv").decode(Resp(gzip.compress(csv))).records == [
        {"id": "1", "name": "a"}, {"id": "2", "name": "b"}]
    lines = b'{"id": 1}\n{"id": 2}\n'
    assert _decoder(type="jsonl").decode(Resp(gzip.compress(lines) + gzip.compress(b'{"id": 3}'))).records == [
        {"id": 1}, {"id": 2}, {"id": 3}]  # two gzip members one after another: one body
    assert _decoder(type="json", records_path="data").decode(
        Resp(gzip.compress(b'{"data": [{"id": 10000000000000000000001}]}'))).records == [{"id": 10000000000000000000001}]


def test_zip_members_each_decoded_or_those_matching() -> None:
    body = _zip({"a.csv": b"id\n1\n", "notes.txt": b"hello", "dir/b.csv": b"id\n2\n"})
    picked = _decoder(type="csv", compression={"type": "zip", "members": "*.csv"}).decode(Resp(body))
    assert picked.records == [{"id": "1"}, {"id": "2"}]
    with pytest.raises(StreamError, match=r"no zip member matches decoder.compression.members 'a.cvs'.*did you mean 'a.csv'"):
        _decoder(type="csv", compression={"type": "zip", "members": "a.cvs"}).decode(Resp(body))
    member = _decoder(type="json", records_path="data", compression="zip").decode(Resp(_zip({"x.json": b'{"d": 1}'})))
    assert member.missing is not None and "(zip member x.json)" in member.missing


def test_compression_that_insists_refuses_another_body() -> None:
    with pytest.raises(StreamError, match=r"decoder.compression is gzip but the body is not gzip"):
        _decoder(type="csv", compression="gzip").decode(Resp(b"id\n1\n"))
    # a Content-Encoding: gzip body arrives unpacked already: taken as it is
    assert _decoder(type="csv", compression="gzip").decode(Resp(b"id\n1\n", **{"Content-Encoding": "gzip"})).records
    assert _decoder(type="csv", compression="none").decode(Resp(b"id\n1\n")).records == [{"id": "1"}]


def test_bombs_stop_at_the_response_limit() -> None:
    bomb = gzip.compress(b" " * (64 * MB))
    with pytest.raises(StreamError, match=r"larger than 4 MB once unpacked, the limit \(http.max_response_mb\)"):
        _decoder(type="jsonl").decode(Resp(bomb, max_bytes=4 * MB))
    zip_bomb = _zip({f"f{i}.csv": b"a" * (2 * MB) for i in range(4)})  # 8 MB over all members
    with pytest.raises(StreamError, match=r"larger than 5 MB once unpacked"):
        _decoder(type="csv", compression="zip").decode(Resp(zip_bomb, max_bytes=5 * MB))


def test_inner_gzip_layers_are_unpacked_where_they_start_like_gzip() -> None:
    """Airbyte's GzipDecoder inside a GzipDecoder (or ZipfileDecoder): the CDK's GzipParser in a
    GzipParser, each unpacking only bytes that start like gzip."""
    lines = b'{"id": 1}\n{"id": 2}\n'
    twice = _decoder(type="jsonl", compression={"type": "auto", "inner_gzip": 1})
    streamed = _decoder(type="jsonl", compression={"type": "auto", "inner_gzip": 1}, stream=True)
    for body in (gzip.compress(gzip.compress(lines)), gzip.compress(lines), lines):
        assert twice.decode(Resp(body)).records == [{"id": 1}, {"id": 2}]
        assert [r for b in streamed.batches(_pieces(body, 3)) for r in b] == [{"id": 1}, {"id": 2}]
    with pytest.raises(StreamError, match="invalid JSON line 1"):  # one layer only: the inner gzip is not JSON
        _decoder(type="jsonl").decode(Resp(gzip.compress(gzip.compress(lines))))
    archive = _zip({"a.csv": gzip.compress(b"id\n1\n"), "b.csv": b"id\n2\n"})
    zipped = _decoder(type="csv", compression={"type": "zip", "inner_gzip": 1})
    assert zipped.decode(Resp(archive)).records == [{"id": "1"}, {"id": "2"}]
    with pytest.raises(Exception, match=r"'inner_gzip' unpacks layers inside a packed body; compression is none"):
        _decoder(type="csv", compression={"type": "none", "inner_gzip": 1})


def test_inner_gzip_bombs_stop_at_the_response_limit() -> None:
    """Every layer and what comes out of them all are held to the limit: the inner gzip of 64 MB of
    spaces is 64 kB, its outer layer smaller still."""
    bomb = gzip.compress(gzip.compress(b" " * (64 * MB)))
    with pytest.raises(StreamError, match=r"larger than 4 MB once unpacked, the limit \(http.max_response_mb\)"):
        _decoder(type="jsonl", compression={"type": "auto", "inner_gzip": 1}).decode(Resp(bomb, max_bytes=4 * MB))
    archive = _zip({f"f{i}.csv": gzip.compress(b"a" * (2 * MB)) for i in range(4)})  # 8 MB once unpacked
    with pytest.raises(StreamError, match=r"larger than 5 MB once unpacked"):
        _decoder(type="csv", compression={"type": "zip", "inner_gzip": 1}).decode(Resp(archive, max_bytes=5 * MB))
    header, empty_end = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", b"\x01\x00\x00\xff\xff" + bytes(8)
    empty = header + b"\x00\x00\x00\xff\xff" * (2 * MB) + empty_end  # 10 MB of empty deflate blocks: no byte out
    assert gzip.decompress(empty) == b""
    with pytest.raises(StreamError, match=r"larger than 4 MB once unpacked"):  # the inner layer is held too
        _decoder(type="jsonl", compression={"type": "auto", "inner_gzip": 1}).decode(Resp(gzip.compress(empty),
                                                                                         max_bytes=4 * MB))


def test_a_zip_of_too_many_entries_is_refused_before_they_are_listed() -> None:
    from source_solidafy.rest.unpack import MAX_MEMBERS, entry_count

    many = _zip({f"{i}.csv": b"" for i in range(MAX_MEMBERS + 1)})
    assert entry_count(many) == MAX_MEMBERS + 1 and entry_count(_zip({"a": b"1"})) == 1
    with pytest.raises(StreamError, match=r"declares 10,001 entries, more than 10,000 \(the limit"):
        _decoder(type="csv").decode(Resp(many))


def test_broken_packing_is_a_clear_error() -> None:
    whole = gzip.compress(b'{"id": 1}\n' * 1000)
    with pytest.raises(StreamError, match=r"the gzip body ends early \(truncated\)"):
        list(gunzip([whole[: len(whole) // 2]], MB, "GET u"))
    with pytest.raises(StreamError, match=r"not a readable zip archive"):
        unpack(b"PK\x03\x04garbage", Packing("auto"), MB, "GET u")


def test_model_errors() -> None:
    with pytest.raises(Exception, match=r"'members' picks zip members; compression is gzip"):
        _decoder(type="csv", compression={"type": "gzip", "members": "*.csv"})
    with pytest.raises(Exception, match=r"expected dotted object keys"):
        _decoder(type="json_stream", records_path="data[*].x")
    with pytest.raises(Exception, match=r"a zip needs the whole body"):
        _decoder(type="json_stream", compression="zip")


# ------------------------------------------------------------------------------------- json_stream


def _stream(doc: bytes, path: str | None = "data", piece: int = 7, batch: int = 2, limit: int = MB) -> list[Any]:
    chunks = iter([doc[i:i + piece] for i in range(0, len(doc), piece)])
    keys = path.split(".") if path else []
    return [r for b in read_records(chunks, keys, batch, limit, None, "GET u") for r in b]


def test_stream_reads_the_records_under_the_path_in_small_pieces() -> None:
    records = [{"id": i, "s": 'a "quoted" ] } [ { string \\', "n": {"deep": [[1], {"x": None}]}} for i in range(50)]
    doc = orjson.dumps({"meta": {"skip": [1, {"a": "]"}]}, "page": {"data": records, "after": 1}})
    for piece in (1, 3, 7, 64, 10_000):
        assert _stream(doc, "page.data", piece=piece) == records
    assert _stream(b'[1, "two", {"three": 3}, null, true]', None) == [1, "two", {"three": 3}, None, True]
    assert _stream(b'{"data": {"id": 1}}') == [{"id": 1}]  # an object: one record, as with json
    assert _stream(b'{"data": null}') == [] and _stream(b"") == [] and _stream(b'{"data": []}') == []
    assert _stream(b'{"data": [{"big": 123456789012345678901234567890}]}') == [{"big": 123456789012345678901234567890}]


def test_stream_errors_say_what_and_where() -> None:
    with pytest.raises(StreamError, match=r"records_path 'data' matched nothing in GET u: 'data' is not a key of "
                                          r"the document \(keys: items, meta\)"):
        _stream(b'{"items": [1], "meta": {}}')
    with pytest.raises(StreamError, match=r"'page.data' matched nothing .*: page is a list, not an object"):
        _stream(b'{"page": [1]}', "page.data")
    with pytest.raises(StreamError, match=r"ends inside a value .*truncated"):
        _stream(b'{"data": [{"id": 1}, {"id": 2')
    with pytest.raises(StreamError, match=r"invalid JSON at byte 0: expected .*an error or login page"):
        _stream(b"<html>nope</html>")
    with pytest.raises(StreamError, match=r"invalid JSON in a record"):
        _stream(b'{"data": [{"id": 1,}]}')
    with pytest.raises(StreamError, match=r"a value at byte 9 is larger than [0-9.]+ MB, the limit \(http.max_response_mb\) for one record"):
        _stream(orjson.dumps({"data": [{"blob": "x" * 5000}]}), limit=MB // 1000)


def test_stream_refuses_nesting_no_parser_reads_without_scanning_on() -> None:
    deep = b'{"data": [' + b"[" * 2000 + b"]" * 2000 + b"]}"
    with pytest.raises(StreamError, match=r"invalid JSON at byte 10: expected a value nested at most 1024 levels deep"):
        _stream(deep, piece=100_000)
    assert _stream(b'{"data": [' + b"[" * 500 + b"]" * 500 + b"]}", piece=64) == [orjson.loads(b"[" * 500 + b"]" * 500)]


def test_value_end_waits_for_more_when_the_buffer_ends_inside_a_value() -> None:
    assert value_end(b'{"a": "}"}, 1', 0, False) == 10
    assert value_end(b'{"a": "}', 0, False) == -1
    assert value_end(b"123", 0, False) == -1 and value_end(b"123", 0, True) == 3
    assert value_end(b'"ab\\"c" ', 0, False) == 7


def test_json_stream_decoder_reads_a_gzip_document() -> None:
    doc = orjson.dumps({"data": [{"id": i} for i in range(10)]})
    decoder = JsonStream("data", Packing("auto"), 3)
    assert decoder.decode(Resp(gzip.compress(doc))).records == [{"id": i} for i in range(10)]
    with pytest.raises(StreamError, match=r"compression is gzip but the body is not gzip"):
        JsonStream("data", Packing("gzip")).decode(Resp(doc))


# -------------------------------------------------------------------------------- stream: true (lines)


def _pieces(data: bytes, piece: int) -> Any:
    class Body:
        url, method, headers, max_bytes, deadline = "https://h/x", "GET", {}, MB, None

        def chunks(self) -> Any:
            return iter([data[i:i + piece] for i in range(0, len(data), piece)])

        def redact(self, text: str) -> str:
            return text

    return Body()


def test_csv_stream_reads_rows_across_chunks_quoted_newlines_and_a_bom() -> None:
    body = '\ufeffid,note\n1,"two\nlines, ""quoted"""\n2,plain\r\n3,é\n'.encode()
    decoder = _decoder(type="csv", stream=True)
    assert decoder.streaming
    for piece in (1, 2, 5, 1000):
        batches = list(decoder.batches(_pieces(body, piece)))
        assert [r for b in batches for r in b] == [{"id": "1", "note": 'two\nlines, "quoted"'},
                                                   {"id": "2", "note": "plain"}, {"id": "3", "note": "é"}]
    assert decoder.decode(Resp(gzip.compress(body))).records[2] == {"id": "3", "note": "é"}


def test_jsonl_stream_batches_and_names_a_bad_line() -> None:
    body = b"".join(b'{"id": %d}\n' % i for i in range(2500)) + b"\n"
    decoder = _decoder(type="jsonl", stream=True)
    batches = list(decoder.batches(_pieces(gzip.compress(body), 100)))
    assert [len(b) for b in batches] == [1000, 1000, 500] and batches[2][-1] == {"id": 2499}
    with pytest.raises(StreamError, match=r"invalid JSON line 3 from GET https://h/x"):
        list(decoder.batches(_pieces(b'{"a": 1}\n\n{"a": \n', 4)))


def test_line_stream_limits_one_line() -> None:
    body = b"id\n" + b"x" * (3 * MB) + b"\n"
    with pytest.raises(StreamError, match=r"a line at byte 3 is larger than 1 MB, the limit \(http.max_response_mb\) "
                                          r"for one record; stopped reading there"):
        list(_decoder(type="csv", stream=True).batches(_pieces(body, 64 * 1024)))
    with pytest.raises(Exception, match=r"decoder.stream reads one body as it arrives; it takes no pagination"):
        m.Stream.model_validate({"name": "s", "request": {"path": "/"}, "decoder": {"type": "csv", "stream": True},
                                 "pagination": {"type": "offset"}})
