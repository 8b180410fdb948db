"""DpathExtractor.field_path with a ``*`` or a list index (source_solidafy/lowcode/extractor.py): the
records airbyte-cdk 7.39.1's DpathExtractor reads (the expected lists are what it made of the same
bodies), our report when the path leads nowhere, and which forms the translation gives it.
integration_tests/airbyte_manifests/cases/dpath.yaml compares whole syncs with the CDK's."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from source_solidafy.errors import ManifestError
from source_solidafy.lowcode import load_airbyte_text
from source_solidafy.lowcode.extractor import AirbyteDpathExtractor, DpathRecords
from source_solidafy.rest import builders

BODY = {"data": {"b": [{"id": 1}, {"id": 2}], "a": {"x": {"id": 3}}, "e": [], "t": "text", "n": None}}


@dataclass
class _Response:
    content: bytes
    url: str = "http://127.0.0.1:9/x"
    method: str = "GET"

    def json(self) -> Any:
        return json.loads(self.content)


def _decode(glob: list[Any], body: Any) -> tuple[list[Any], str | None]:
    page = DpathRecords(glob).decode(_Response(json.dumps(body).encode()))
    return page.records, page.missing


@pytest.mark.parametrize(("glob", "expected"), [
    (["data", "*"], [[{"id": 1}, {"id": 2}], {"x": {"id": 3}}, [], "text", None]),  # each value one record
    (["data", "*", "*"], [{"id": 1}, {"id": 2}, {"id": 3}]),  # key order, then list order
    (["data", "b", "*"], [{"id": 1}, {"id": 2}]),
    (["data", "*", "x"], [{"id": 3}]),  # values without 'x' skipped
    (["data", "b", 1], [{"id": 2}]),
    (["data", "b", -1], [{"id": 2}]),
    (["data", "b"], [{"id": 1}, {"id": 2}]),  # a list without '*': its items
    (["data", "a", "x"], [{"id": 3}]),  # an object: one record
    (["data", "e", "*"], []),  # an empty list: an empty page, no report
    (["data", "n"], []),  # null: nothing
    (["data", "n", "*"], []),
])
def test_records_are_the_cdks(glob: list[Any], expected: list[Any]) -> None:
    assert _decode(glob, BODY) == (expected, None)


def test_a_falsy_value_without_a_star_is_no_record_as_in_the_cdk() -> None:
    assert _decode(["data", "z"], {"data": {"z": {}}}) == ([], None)
    assert _decode(["data", 0], {"data": [0, 1]}) == ([], None)


@pytest.mark.parametrize(("glob", "why"), [
    (["items", "*"], "no key 'items' in the response (keys: data)"),
    (["data", "b", 5], "['data', 'b'] is a list of 2, with no item [5]"),
    (["data", "b", "id"], "['data', 'b'] is a list of 2, with no item [id]"),
    (["data", "t", "*"], "['data', 't'] is a string, not an object or a list"),
    (["data", "t", "x", "*"], "['data', 't'] is a string, not an object or a list"),
])
def test_a_path_leading_nowhere_is_reported_where_the_cdk_reads_nothing(glob: list[Any], why: str) -> None:
    records, missing = _decode(glob, BODY)
    assert records == [] and missing is not None
    assert missing.startswith(f"DpathExtractor.field_path {glob} matched nothing in GET http://127.0.0.1:9/x: {why}")


def test_an_empty_body_is_an_empty_page() -> None:
    assert DpathRecords(["data", "*"]).decode(_Response(b"  ")).records == []


def _stream(field_path: Any, decoder: dict[str, Any] | None = None) -> Any:
    retriever: dict[str, Any] = {
        "type": "SimpleRetriever", "requester": {"type": "HttpRequester", "url_base": "http://127.0.0.1:9", "path": "/x"},
        "record_selector": {"type": "RecordSelector", "extractor": {"type": "DpathExtractor", "field_path": field_path}}}
    if decoder is not None:
        retriever["decoder"] = decoder
    text = yaml.safe_dump({
        "version": "6.0.0", "type": "DeclarativeSource", "check": {"type": "CheckStream", "stream_names": ["s"]},
        "streams": [{"type": "DeclarativeStream", "name": "s", "retriever": retriever}],
        "spec": {"type": "Spec", "connection_specification": {"type": "object", "properties": {}}}})
    return load_airbyte_text(text).manifest.streams[0]


@pytest.mark.parametrize(("field_path", "glob"), [
    (["data", "*"], ["data", "*"]),
    (["data", "*", "items", "*"], ["data", "*", "items", "*"]),
    (["data", "0", "id"], ["data", 0, "id"]),  # the CDK's literal_eval: an index, never the key "0"
    (["data", "-1"], ["data", -1]),
    (["data", "{{ parameters.k }}", "*"], ["data", "k", "*"]),
])
def test_stars_and_indexes_translate_to_dpath_matching(field_path: list[str], glob: list[Any]) -> None:
    decoder = _stream([*field_path[:1], *(p.replace("{{ parameters.k }}", "k") for p in field_path[1:])]).decoder
    assert isinstance(decoder, AirbyteDpathExtractor) and decoder.field_path == glob
    assert decoder.compression.type == "auto"


def test_plain_keys_keep_the_records_path() -> None:
    decoder = _stream(["data", "items"]).decoder
    assert decoder.type == "json" and decoder.records_path == "data.items"


def test_gzip_wraps_the_dpath_decoder_and_a_csv_refuses_it() -> None:
    gz = _stream(["data", "*"], {"type": "GzipDecoder", "decoder": {"type": "JsonDecoder"}}).decoder
    assert isinstance(gz, AirbyteDpathExtractor) and gz.compression.type == "auto"
    built = builders.decoder(gz)
    body = json.dumps({"data": {"a": {"id": 1}}}).encode()
    assert built.decode(_Response(body)).records == [{"id": 1}]
    with pytest.raises(ManifestError, match=r"a field_path with '\*' or a list index with a CsvDecoder is not "):
        _stream(["data", "*"], {"type": "CsvDecoder"})


@pytest.mark.parametrize("part", ["it*ms", "d?ta", "[a]", "True"])
def test_globs_inside_a_key_and_other_values_fail_at_load_time(part: str) -> None:
    with pytest.raises(ManifestError, match=r"field_path\[1\]: field_path part .* is not supported yet"):
        _stream(["data", part, "*"])
