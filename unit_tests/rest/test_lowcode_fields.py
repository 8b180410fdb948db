"""AddFields and RemoveFields with airbyte-cdk 7.39.1's semantics (source_solidafy/lowcode/fields.py and
dpath.py). The expected records are what the CDK's own AddFields/RemoveFields made of the same input;
integration_tests/airbyte_manifests/cases/fields.yaml compares whole syncs with the CDK's."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from source_solidafy.errors import ManifestError, StreamError, TemplateError
from source_solidafy.lowcode import dpath, load_airbyte_text
from source_solidafy.lowcode.interpolation import literal
from source_solidafy.manifest.templates import build_context
from source_solidafy.rest import builders


def _manifest(steps: list[dict[str, Any]]) -> str:
    return yaml.safe_dump({
        "version": "6.0.0", "type": "DeclarativeSource", "check": {"type": "CheckStream", "stream_names": ["s"]},
        "streams": [{"type": "DeclarativeStream", "name": "s", "transformations": steps, "retriever": {
            "type": "SimpleRetriever", "requester": {"type": "HttpRequester", "url_base": "http://127.0.0.1:9", "path": "/x"},
            "record_selector": {"type": "RecordSelector", "extractor": {"type": "DpathExtractor", "field_path": []}}}}],
        "spec": {"type": "Spec", "connection_specification": {"type": "object", "properties": {}}}})


def _apply(steps: list[dict[str, Any]], record: dict[str, Any], config: dict[str, Any] | None = None) -> dict[str, Any]:
    stream = load_airbyte_text(_manifest(steps)).manifest.streams[0]
    records = [copy.deepcopy(record)]
    ctx = build_context(config or {"c": "cfg"}, partition={"p": "q"})
    builders.transformer(stream.transform, None, "s").apply(records, ctx)
    return records[0]


def _add(*fields: dict[str, Any], **extra: Any) -> list[dict[str, Any]]:
    return [{"type": "AddFields", "fields": list(fields), **extra}]


def test_add_fields_values_are_the_cdks_literals() -> None:
    got = _apply(_add(
        {"path": ["f"], "value": "1.5"}, {"path": ["g"], "value": "None"}, {"path": ["h"], "value": "[1, 'a', (2, 3)]"},
        {"path": ["i"], "value": "{'a': {'b': 1}, 1: 2, None: 3}"}, {"path": ["e"], "value": "{{ record.missing }}"},
        {"path": ["inf"], "value": "1e400"}, {"path": ["hex"], "value": "-0x10"}, {"path": ["big"], "value": "{{ 10 ** 25 }}"},
        {"path": ["w"], "value": "2024-01-01T00:00:00Z"}, {"path": ["cx"], "value": "1j"}, {"path": ["s"], "value": "{{ stream_slice.p }}"},
    ), {"a": 5})
    assert got == {"a": 5, "f": 1.5, "g": None, "h": [1, "a", [2, 3]], "i": {"a": {"b": 1}, "1": 2, "null": 3}, "e": "",
                   "inf": None, "hex": -16, "big": 10**25, "w": "2024-01-01T00:00:00Z", "cx": "1j", "s": "q"}


def test_value_type_keeps_the_literal_only_when_it_is_of_that_type() -> None:
    got = _apply(_add(
        {"path": ["s"], "value": "{{ record.a }}", "value_type": "string"},
        {"path": ["q"], "value": "'x'", "value_type": "string"},
        {"path": ["n"], "value": "{{ record.a }}", "value_type": "number"},
        {"path": ["i"], "value": "True", "value_type": "integer"},
        {"path": ["b"], "value": "1", "value_type": "boolean"},
    ), {"a": 5})
    assert got == {"a": 5, "s": "5", "q": "x", "n": "5", "i": True, "b": "1"}
    assert literal("5", (float,)) == "5" and literal("5.0", (float,)) == 5.0 and literal("x", (str,)) == "x"


def test_nested_paths_create_objects_and_lists_as_dpath_new() -> None:
    got = _apply(_add(
        {"path": ["j", "k", "0"], "value": "{{ record.a * 2 }}"}, {"path": ["l", "5"], "value": "x"},
        {"path": ["m", "0", "z"], "value": "z"}, {"path": ["n", "x", "w"], "value": "{{ config.c }}"},
    ), {"a": 5, "l": [1, 2, 3], "m": [{"k": 1}], "n": {"x": {"y": 1}}})
    assert got == {"a": 5, "l": [1, 2, 3, None, None, "x"], "m": [{"k": 1, "z": "z"}], "n": {"x": {"y": 1, "w": "cfg"}},
                   "j": {"k": [10]}}


@pytest.mark.parametrize(("record", "path"), [({"a": 5}, ["a", "b"]), ({"a": [1]}, ["a", "x"]), ({"a": None}, ["a", "0"])])
def test_a_path_through_a_value_or_a_word_into_a_list_fails_the_stream_as_in_the_cdk(record: Any, path: list[str]) -> None:
    with pytest.raises(StreamError, match="AddFields"):
        _apply(_add({"path": path, "value": "1"}), record)


@pytest.mark.parametrize("value", ["{1, 2}", "...", "b'x'", "{(1, 2): 3}"])
def test_a_value_json_cannot_hold_fails_the_stream(value: str) -> None:
    with pytest.raises(TemplateError, match="JSON"):
        _apply(_add({"path": ["v"], "value": value}), {"a": 1})


def test_add_fields_condition_reads_value_and_path() -> None:
    steps = _add({"path": ["n"], "value": "{{ record.a + 1 }}"}, {"path": ["skipped"], "value": "7"},
                 {"path": ["word"], "value": "{{ record.b }}"}, condition="{{ value is number and path[0] != 'skipped' }}")
    assert _apply(steps, {"a": 5, "b": "x"}) == {"a": 5, "b": "x", "n": 6}


def _remove(*pointers: list[str], **extra: Any) -> list[dict[str, Any]]:
    return [{"type": "RemoveFields", "field_pointers": list(pointers), **extra}]


def test_remove_fields_patterns_and_list_items_as_dpath_delete() -> None:
    record = {"l": [1, 2, 3], "m": [{"k": 1, "kk": 2}, {"k": 2}], "n": {"ab": 1, "ac": 2, "b": {"ab": 3}}, "o": [[1, 2], [3]]}
    got = _apply(_remove(["l", "*"], ["m", "*", "k"], ["m", "0"], ["n", "a?"], ["**", "ab"], ["o", "-1"], ["o", "0", "1"]), record)
    assert got == {"l": [None, None], "m": [None, {}], "n": {"b": {}}, "o": [[1]]}
    record = {"a": {"b": {"c": 1, "d": [1, 2, 3]}}, "x": [{"y": 1}], "q": 1}
    got = _apply(_remove(["a", "b", "c"], ["a", "b", "d", "1"], ["a", "b", "d", "2"], ["x", "0", "y"], ["nope", "x"], ["q", "x"]), record)
    assert got == {"a": {"b": {"d": [1, None]}}, "x": [{}], "q": 1}
    assert _apply(_remove(["*", "*"]), {"a": {"b": 1}, "c": [1, {"d": 2}]}) == {"a": {}, "c": [None]}
    assert _apply(_remove(["c", "**"]), {"a": {"b": 1}, "c": [1, {"d": 2}]}) == {"a": {"b": 1}}


def test_remove_fields_condition_deletes_every_leaf_it_holds_for_as_dpath_does() -> None:
    record = {"a": 1, "b": {"c": 2, "d": "x", "e": [2, 2, 3]}, "l": [1, 2, 3, {"e": 2}], "e": 2, "z": None}
    got = _apply(_remove(["a"], condition="{{ property == 2 }}"), record)
    assert got == {"a": 1, "b": {"d": "x", "e": [None, None, 3]}, "l": [1, None, 3, {}], "z": None}


def test_what_the_cdk_refuses_fails_at_load_time() -> None:
    for steps, message in [
        (_add({"path": [], "value": "1"}), "path must not be empty"),
        (_add({"path": ["a", 0], "value": "1"}), "path must be a list of text"),
        (_add({"path": ["a"], "value": 1.5}), "value must be text"),
        (_remove(["**", "a", "**"]), "two '**'"),
        (_remove(["a"], condition="{{ record.a }}"), "not available here"),
    ]:
        with pytest.raises(ManifestError, match=message.replace("*", r"\*")):
            load_airbyte_text(_manifest(steps))


def test_plain_pointers_match_what_the_walk_finds() -> None:
    """The pointer without patterns goes straight to its place; the walk must agree with it."""
    record = {"a": {"b": [0, {"c": 1}, 2]}, "0": {"1": "x"}}
    for pointer in (["a", "b", "1", "c"], ["a", "b", "-1"], ["a", "b", "0"], ["0", "1"], ["a", "b", " 1"], ["a", "x"]):
        straight, walked = copy.deepcopy(record), copy.deepcopy(record)
        dpath.delete(straight, pointer)
        matches = [path for path, _ in dpath.walk(walked) if dpath.match(path, pointer)]
        assert len(matches) <= 1
        for path in matches:
            dpath._remove(walked, path)
        assert straight == walked, pointer


def _flatten(path: list[str], **extra: Any) -> list[dict[str, Any]]:
    return [{"type": "DpathFlattenFields", "field_path": path, **extra}]


@pytest.mark.parametrize(("record", "steps", "expected"), [
    ({"a": {"x": 1}, "b": {"y": 2}, "l": [{"z": 3}]}, _flatten(["*"]), {"a": {"x": 1}, "b": {"y": 2}, "l": [{"z": 3}], "x": 1}),
    ({"a": {"x": 1}}, _flatten(["a*"], delete_origin_value=True), {"x": 1}),
    ({"l": [{"z": 3}, {"w": 4}], "d": {"0": {"q": 1}}}, _flatten(["l", "{{ config.i }}"], delete_origin_value=True),
     {"l": [None, {"w": 4}], "d": {"0": {"q": 1}}, "z": 3}),
    ({"d": {"0": {"q": 1}}}, _flatten(["d", "0"]), {"d": {"0": {"q": 1}}}),
    ({"d": {"k": {"q": 1}}}, _flatten(["d", "{{ config.c }}"], key_transformation={
        "type": "KeyTransformation", "prefix": "1e3", "suffix": "None"}), {"d": {"k": {"q": 1}}, "1000.0q": 1}),
    ({"l": [{"z": 3}, {"w": 4}]}, _flatten(["l", "-1"], delete_origin_value=True), {"l": [{"z": 3}], "w": 4}),
    ({"a": {"b": {"c": 1}}, "x": {"b": {"d": 2}}}, _flatten(["*", "b"], delete_origin_value=True), {"a": {}, "x": {}, "c": 1}),
])
def test_dpath_flatten_fields_paths_are_the_cdks(record: dict[str, Any], steps: list[dict[str, Any]],
                                                 expected: dict[str, Any]) -> None:
    """The steps are typed as the CDK types them ("0" from the config is a list index, never the key
    "0"); a ``*`` takes the first match, the deletion every match."""
    assert _apply(steps, record, {"c": "k", "i": "0"}) == expected


def test_a_dpath_flatten_path_matching_two_values_fails_the_stream_as_dpath_get() -> None:
    with pytest.raises(StreamError, match="matches more than one value"):
        _apply(_flatten(["?"]), {"a": {"x": 1}, "b": {"y": 2}})


@pytest.mark.parametrize(("affix", "key"), [
    ("{{ config.p }}", "pre_apre_"), ("{{ config.z }}", "a"), ("{{ config.f }}", "1000.0a1000.0"),
    ("{{ config.n }}", "a"), ("{{ config.l }}", "[1, 2]a[1, 2]"), ("{{ config.t }}", "(1, 2)a(1, 2)"),
    ("{{ parameters.q }}_x", "Q_xaQ_x"), ("x{{ config.missing }}", "xax"), ("{{ config.missing }}", "a"),
    ("{{ 2 > 1 }}", "TrueaTrue"),
])
def test_a_templated_key_transformation_is_the_cdks_typed_value(affix: str, key: str) -> None:
    """The expected keys are what the CDK 7.39.1's KeyTransformation + DpathFlattenFields made of the
    same prefix and suffix: the typed value of the text against the config and the step's parameters,
    none when it is false ("0", None, empty)."""
    config = {"p": "pre_", "z": "0", "f": "1e3", "n": None, "l": "[1, 2]", "t": "(1, 2)"}
    steps = _flatten(["d"], key_transformation={"type": "KeyTransformation", "prefix": affix, "suffix": affix},
                     **{"$parameters": {"q": "Q"}})
    assert _apply(steps, {"d": {"a": 1}}, config) == {"d": {"a": 1}, key: 1}


@pytest.mark.parametrize("affix", ["{{ record.id }}", "{{ stream_slice.p }}", "{{ stream_state.x }}"])
def test_a_key_transformation_reading_more_than_config_and_parameters_fails_at_load_time(affix: str) -> None:
    """The CDK evaluates it once, when the stream is made, with the config alone (it fails there too)."""
    with pytest.raises(ManifestError, match=r"key_transformation.*prefix.*not available here"):
        load_airbyte_text(_manifest(_flatten(["d"], key_transformation={"type": "KeyTransformation", "prefix": affix})))
