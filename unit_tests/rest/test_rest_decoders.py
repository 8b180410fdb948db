from __future__ import annotations

from typing import Any

import orjson
import pytest

from source_solidafy.errors import StreamError
from source_solidafy.rest.decoders import CsvDecoder, JsonDecoder, JsonlDecoder, XmlDecoder


class Resp:
    def __init__(self, content: bytes, url: str = "https://h/x") -> None:
        self.content, self.url, self.method = content, url, "GET"
        self.parsed = 0

    def json(self) -> Any:
        self.parsed += 1
        return orjson.loads(self.content)


def _j(obj: Any) -> Resp:
    return Resp(orjson.dumps(obj))


def test_decoders_json_whole_body_object_or_array() -> None:
    assert JsonDecoder().decode(_j({"id": 1})).records == [{"id": 1}]
    assert JsonDecoder().decode(_j([{"id": 1}, {"id": 2}])).records == [{"id": 1}, {"id": 2}]
    assert JsonDecoder().decode(Resp(b"")).records == []


def test_decoders_json_records_path_and_missing_path() -> None:
    page = JsonDecoder("data").decode(_j({"data": [{"id": 1}], "has_more": False}))
    assert page.records == [{"id": 1}] and page.body["has_more"] is False
    assert JsonDecoder("result").decode(_j({"result": {"id": "zone"}})).records == [{"id": "zone"}]
    missing = JsonDecoder("nope.deeper").decode(_j({"data": []}))
    assert missing.records == [] and missing.missing == (
        "decoder.records_path 'nope.deeper' matched nothing in GET https://h/x: "
        "no key 'nope' in the response (keys: data)")
    empty = JsonDecoder("data").decode(_j({"data": None}))
    assert empty.records == [] and empty.missing is None  # present and null: an empty page
    assert JsonDecoder("data.items").decode(_j({"data": None})).missing is None
    assert JsonDecoder("data").decode(Resp(b"")).missing is None  # an empty body is no evidence


def test_decoders_json_missing_suggests_the_close_or_the_only_list_key() -> None:
    close = JsonDecoder("result").decode(_j({"results": [1], "total": 1})).missing
    assert close is not None and "(keys: results, total; did you mean 'results'?)" in close
    only_list = JsonDecoder("data").decode(_j({"items": [{"id": 1}], "meta": {}})).missing
    assert only_list is not None and "did you mean 'items'?" in only_list
    top_list = JsonDecoder("data").decode(_j([{"id": 1}])).missing
    assert top_list is not None and "the response is a list of 1, not an object" in top_list
    many = JsonDecoder("zzz").decode(_j({f"k{i}": i for i in range(500)})).missing
    assert many is not None and len(many) < 400 and many.endswith("k19 ...)")


def test_decoders_json_parses_once() -> None:
    resp = _j({"data": [1]})
    JsonDecoder("data").decode(resp)
    assert resp.parsed == 1


def test_decoders_json_nested_buckets_carry_fields() -> None:
    body = {"data": [
        {"start_time": 1, "end_time": 2, "results": [{"input_tokens": 5}, {"input_tokens": 6}]},
        {"start_time": 2, "end_time": 3, "results": []},
        {"start_time": 3, "end_time": 4, "results": [{"input_tokens": 7, "start_time": 99}]},
    ]}
    dec = JsonDecoder("data", {"path": "results", "carry": ["start_time", "end_time"]})
    assert dec.decode(_j(body)).records == [
        {"start_time": 1, "end_time": 2, "input_tokens": 5},
        {"start_time": 1, "end_time": 2, "input_tokens": 6},
        {"start_time": 99, "end_time": 4, "input_tokens": 7},
    ]
    renamed = JsonDecoder("data", {"path": "results", "carry": {"bucket_start": "start_time"}})
    assert renamed.decode(_j(body)).records[0] == {"bucket_start": 1, "input_tokens": 5}
    assert dec.decode(_j(body)).missing is None
    wrong = JsonDecoder("data", {"path": "result"}).decode(_j(body)).missing
    assert wrong is not None and "'result' matched nothing in any of the 3 buckets of GET" in wrong
    assert JsonDecoder("data", {"path": "result"}).decode(_j({"data": []})).missing is None  # no buckets


def test_decoders_jsonl_lines_and_bad_line() -> None:
    assert JsonlDecoder().decode(Resp(b'{"a":1}\n\n{"a":2}\r\n')).records == [{"a": 1}, {"a": 2}]
    with pytest.raises(StreamError, match="invalid JSON line 2 from GET https://h/x"):
        JsonlDecoder().decode(Resp(b'{"a":1}\n{"a":\n'))


def test_decoders_csv_header_quoted_newlines_bom() -> None:
    body = '\ufeff"Id","Name"\n"005R","Jane ""JD"" Dunn"\n"006R","multi\nline"\n'.encode()
    assert CsvDecoder().decode(Resp(body)).records == [
        {"Id": "005R", "Name": 'Jane "JD" Dunn'}, {"Id": "006R", "Name": "multi\nline"}]


def test_decoders_csv_no_header_delimiter_ragged_rows() -> None:
    assert CsvDecoder(delimiter=";", has_header=False).decode(Resp(b"a;b\nc;d\n")).records == [
        {"column_1": "a", "column_2": "b"}, {"column_1": "c", "column_2": "d"}]
    assert CsvDecoder().decode(Resp(b"a,b\n1\n1,2,3\n")).records == [
        {"a": "1", "b": None}, {"a": "1", "b": "2", "_extra": ["3"]}]
    assert CsvDecoder().decode(Resp(b"")).records == []


def test_decoders_csv_bad_encoding_is_stream_error() -> None:
    with pytest.raises(StreamError, match="invalid CSV"):
        CsvDecoder().decode(Resp(b"a\n\xff\xfe\n"))


def test_decoders_xml_maps_like_xmltodict() -> None:
    xml = b"""<?xml version="1.0"?>
    <response xmlns="urn:x"><items>
      <item id="1"><name>A</name><tag>x</tag><tag>y</tag></item>
      <item id="2"><name>B</name><note lang="en">hi</note></item>
    </items><next>abc</next></response>"""
    page = XmlDecoder("response.items.item").decode(Resp(xml))
    assert page.records == [
        {"@id": "1", "name": "A", "tag": ["x", "y"]},
        {"@id": "2", "name": "B", "note": {"@lang": "en", "#text": "hi"}},
    ]
    assert page.body["response"]["next"] == "abc"
    assert page.missing is None
    wrong = XmlDecoder("response.items.record").decode(Resp(xml)).missing
    assert wrong is not None and "no key 'record' in 'response.items' (keys: item; did you mean 'item'?)" in wrong
    empty = XmlDecoder("response.items.item").decode(Resp(b"<response><items/></response>"))
    assert empty.records == [] and empty.missing is None


def test_decoders_xml_single_child_is_one_record() -> None:
    page = XmlDecoder("r.item").decode(Resp(b"<r><item><a>1</a></item></r>"))
    assert page.records == [{"a": "1"}]


@pytest.mark.parametrize("doc", [
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><r>&b;</r>',
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:1/p"> %p;]><r/>',
    b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:1/x.dtd"><r><a>1</a></r>',
])
def test_decoders_xml_refuses_entities(doc: bytes) -> None:
    with pytest.raises(StreamError, match=r"XML from GET https://h/x: the document( declares entities|'s DOCTYPE "
                                          r"names an external DTD).*refused"):
        XmlDecoder("r").decode(Resp(doc))


def test_decoders_xml_internal_dtd_without_entities_is_fine() -> None:
    assert XmlDecoder("r").decode(Resp(b"<!DOCTYPE r [<!ELEMENT r ANY>]><r><a>1</a></r>")).records == [{"a": "1"}]


def test_decoders_xml_invalid_is_stream_error() -> None:
    with pytest.raises(StreamError, match="invalid XML"):
        XmlDecoder("r").decode(Resp(b"<r><unclosed></r>"))
