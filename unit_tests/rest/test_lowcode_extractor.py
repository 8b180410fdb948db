"""DpathExtractor.field_path with patterns or list indexes (source_solidafy/lowcode/extractor.py): the
records airbyte-cdk 7.39.1's DpathExtractor reads (the expected lists are what it made of the same
bodies), our report when the path leads nowhere, and which forms the translation gives it.
integration_tests/test_dpath_oracle.py runs the CDK's extractor on hundreds of bodies and paths;
integration_tests/airbyte_manifests/cases/dpath.yaml compares whole syncs with the CDK's."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from source_solidafy import jsoncodec
from source_solidafy.errors import ManifestError, StreamError
from source_solidafy.lowcode import load_airbyte_text
from source_solidafy.lowcode.extractor import AirbyteDpathExtractor, DpathRecords, records
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
    (["d?ta", "b", "*"], [{"id": 1}, {"id": 2}]),  # a glob inside a key
    (["data", "[ab]", "*"], [{"id": 1}, {"id": 2}, {"id": 3}]),  # fnmatch's class; the object's key order
    (["**", "x", "*"], [3]),
    (["**", "x"], [{"id": 3}]),  # without a '*': dpath.get, the one value
    (["data", "**", "*"], [[{"id": 1}, {"id": 2}], {"x": {"id": 3}}, [], "text", None, {"id": 1}, {"id": 2}, 1, 2,
                          {"id": 3}, 3]),  # a node's children, then each child's subtree
    (["*", "a", "**"], [{"x": {"id": 3}}, {"id": 3}, 3]),  # '**' at depth zero: 'a' itself first
    (["data", "b", "**", "*"], [{"id": 1}, {"id": 2}, 1, 2]),
])
def test_records_are_the_cdks(glob: list[Any], expected: list[Any]) -> None:
    assert _decode(glob, BODY) == (expected, None)


@pytest.mark.parametrize("glob", [["data", "[ab]"], ["data", "**", "id"], ["data", "a", "**"], ["data", "[!b]"]])
def test_two_values_without_a_star_fail_the_stream_as_dpath_get(glob: list[Any]) -> None:
    with pytest.raises(StreamError, match=r"matches more than one value in GET http://127.0.0.1:9/x \(dpath.get"):
        _decode(glob, BODY)


def test_a_top_level_list_is_bodies_of_their_own_as_the_cdks_json_decoder_makes_it() -> None:
    body = [{"data": [{"id": 1}]}, "text", {"data": [{"id": 2}], "more": {"id": 3}}]
    assert _decode(["*"], body) == ([[{"id": 1}], [{"id": 2}], {"id": 3}], None)  # not the list's items
    assert _decode(["d?ta", 0], body) == ([{"id": 1}, {"id": 2}], None)
    assert _decode(["data", "*"], []) == ([], None)
    records, missing = _decode(["items", "*"], body)
    assert records == [] and missing is not None and "no key 'items' in the response's first item" in missing


def test_a_falsy_value_without_a_star_is_no_record_as_in_the_cdk() -> None:
    assert _decode(["data", "z"], {"data": {"z": {}}}) == ([], None)
    assert _decode(["data", 0], {"data": [0, 1]}) == ([], None)


@pytest.mark.parametrize(("glob", "why"), [
    (["items", "*"], "no key 'items' in the response (keys: data)"),
    (["data", "b", 5], "['data', 'b'] is a list of 2, with no item [5]"),
    (["data", "b", "id"], "['data', 'b'] is a list of 2, with no item [id]"),
    (["data", "t", "*"], "['data', 't'] is a string, not an object or a list"),
    (["data", "t", "x", "*"], "['data', 't'] is a string, not an object or a list"),
    (["d?t", "*"], "no key matching 'd?t' in the response (keys: data)"),
    (["data", "b", "[a-z]", "*"], "['data', 'b'] is a list of 2, with no item matching [[a-z]]"),
    (["data", "t", "**", "id"], "['data', 't'] is a string, not an object or a list"),
])
def test_a_path_leading_nowhere_is_reported_where_the_cdk_reads_nothing(glob: list[Any], why: str) -> None:
    records, missing = _decode(glob, BODY)
    assert records == [] and missing is not None
    assert missing.startswith(f"DpathExtractor.field_path {glob} matched nothing in GET http://127.0.0.1:9/x: {why}")


def test_an_empty_body_is_an_empty_page() -> None:
    assert DpathRecords(["data", "*"]).decode(_Response(b"  ")).records == []


@pytest.mark.parametrize("glob", [["data", "[ab]", "*", "none"], ["data", "**", "none"], ["**", "none"]])
def test_patterns_that_find_nothing_after_a_match_are_an_empty_page(glob: list[Any]) -> None:
    assert _decode(glob, BODY) == ([], None)


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
    (["d?ta", "it*ms"], ["d?ta", "it*ms"]),  # patterns without a '*' step: still dpath's (get)
    (["**", "[a]"], ["**", "[a]"]),
    (["data", "a.b"], ["data", "a.b"]),  # a key our records_path cannot name
    (["data", " x"], ["data", " x"]),
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
    with pytest.raises(ManifestError, match=r"a field_path with a pattern, a list index or a special character with a CsvDecoder is "):
        _stream(["data", "*"], {"type": "CsvDecoder"})


@pytest.mark.parametrize(("part", "why"), [("True", "values that are not text or integers"),
                                         ("1.5", "values that are not text or integers"), ("", "an empty text")])
def test_values_that_are_not_text_or_integers_fail_at_load_time(part: str, why: str) -> None:
    with pytest.raises(ManifestError, match=rf"field_path\[1\]: field_path part .* is not supported yet \(.*{why}"):
        _stream(["data", part, "*"])


def test_two_double_stars_fail_at_load_time_as_dpath_refuses_them_on_every_body() -> None:
    with pytest.raises(ManifestError, match=r"field_path: two '\*\*' in one path \(dpath refuses it\)"):
        _stream(["**", "data", "**"])


@pytest.mark.parametrize(("config", "expected"), [
    ({"root": "data", "key": "b"}, [{"id": 1}, {"id": 2}]),
    ({"root": "d?ta", "key": "0"}, [{"id": 1}]),  # typed as the CDK types it: "0" is an index, in a list
    ({"root": "data", "key": "[ab]"}, [{"id": 1}, {"id": 2}, {"id": 3}]),
])
def test_a_field_path_from_the_config_is_rendered_once_with_it(config: dict[str, Any], expected: list[Any]) -> None:
    spec = _stream(["{{ config['root'] }}", "{{ config.key }}", "*"] if config["key"] != "0" else
                   ["{{ config['root'] }}", "b", "{{ config.key }}"]).decoder
    assert isinstance(spec, AirbyteDpathExtractor) and len(spec.templates) == 3
    decoder = builders.decoder(spec)
    decoder.bind(config)
    assert decoder.decode(_Response(json.dumps(BODY).encode())).records == expected
    decoder.bind({"root": "elsewhere", "key": "b"})  # the first page's rendering stays (one config per sync)
    assert decoder.decode(_Response(json.dumps(BODY).encode())).records == expected


@pytest.mark.parametrize(("config", "why"), [
    ({"root": "**", "key": "**"}, r"\['\*\*', '\*\*', '\*'\] \(from the config\): two '\*\*' in one path"),
    ({"root": "data", "key": "1.5"}, r"field_path part 1.5 is not supported yet"),
])
def test_a_field_path_from_the_config_we_cannot_follow_fails_the_stream(config: dict[str, Any], why: str) -> None:
    decoder = builders.decoder(_stream(["{{ config['root'] }}", "{{ config.key }}", "*"]).decoder)
    decoder.bind(config)
    with pytest.raises(StreamError, match=rf"DpathExtractor.field_path .*{why}"):
        decoder.decode(_Response(json.dumps(BODY).encode()))


def test_a_body_as_deep_as_orjson_reads_is_walked_without_recursion() -> None:
    text = '{"n": [' * 500 + '{"id": "bottom"}' + "]}" * 500  # orjson reads 1024 levels; dpath's walk recurses
    body = jsoncodec.loads(text)
    assert records(body, ["**", "n", "*", "id"]) == (["bottom"], True)
    assert records(body, ["**", "id", "*"]) == ([], False)
