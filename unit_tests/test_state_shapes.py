"""State parsing accepts every shape orchestrators send and refuses the rest clearly."""

from __future__ import annotations

import json

import pytest

from source_solidafy.errors import StateError
from source_solidafy.state import load_state_file, parse_state, parse_state_text, write_state_file


def test_global_object_form() -> None:
    assert parse_state({"streams": {"customers": {"cursor": 5}}}) == {"customers": {"cursor": 5}}


def test_airbyte_array_of_stream_states_and_state_messages() -> None:
    value = [
        {"type": "STREAM", "stream": {"stream_descriptor": {"name": "a"}, "stream_state": {"cursor": 1}},
         "sourceStats": {"recordCount": 3.0}},
        {"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor": {"name": "b", "namespace": None},
                                                                  "stream_state": {"cursor": "x"}}}},
    ]
    assert parse_state(value) == {"a": {"cursor": 1}, "b": {"cursor": "x"}}


def test_plain_map_form_of_the_database_example() -> None:
    assert parse_state({"public.orders": {"cursor": "2024-12-15T10:30:00Z"}}) == {
        "public.orders": {"cursor": "2024-12-15T10:30:00Z"}}


@pytest.mark.parametrize("empty", [None, {}, [], ""])
def test_empty_means_first_sync(empty: object) -> None:
    assert parse_state(empty) == {} if empty != "" else parse_state_text("", "x") == {}


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (5, "expected a JSON object or array"),
        ({"streams": []}, "'streams' must be an object"),
        ({"customers": 3}, "state of stream 'customers' must be an object"),
        ([{"type": "STREAM", "stream": {}}], "stream_descriptor"),
        ([{"type": "WHAT"}], "unknown state type"),
        ({"c": {"cursor": {"$gt": 1}}}, "state of stream 'c': 'cursor' must be a string or a number, got an object"),
        ({"c": {"cursor": [1]}}, "'cursor' must be a string or a number, got a list"),
        ({"c": {"cursor": True}}, "got a boolean"),
        ({"c": {"partitions": {"p": 1}}}, "'partitions' must be a list"),
        ({"c": {"partitions": ["eu"]}}, r"partitions\[0\] must be an object"),
        ({"c": {"partitions": [{"partition": {"r": 1}, "cursor": {}}]}}, r"partitions\[0\]: 'cursor'"),
        ([{"type": "STREAM", "stream": {"stream_descriptor": {"name": "c"}, "stream_state": {"cursor": {}}}}],
         "stream_state of 'c': 'cursor'"),
    ],
)
def test_wrong_shapes_name_the_problem(value: object, fragment: str) -> None:
    with pytest.raises(StateError, match=fragment):
        parse_state(value)


def test_invalid_json_text_names_the_source() -> None:
    with pytest.raises(StateError, match="--state-json: not valid JSON"):
        parse_state_text("{nope", "--state-json")


def test_state_file_round_trip_is_atomic(tmp_path) -> None:  # noqa: ANN001
    target = tmp_path / "sub" / "state.json"
    assert load_state_file(str(target)) == {}
    write_state_file(str(target), {"c": {"cursor": 2}})
    assert json.loads(target.read_text()) == {"streams": {"c": {"cursor": 2}}}
    assert [p.name for p in target.parent.iterdir()] == ["state.json"]  # no temp file left


@pytest.mark.parametrize("concurrency", [0, -1])
def test_python_api_refuses_concurrency_below_one(concurrency: int) -> None:
    from source_solidafy import api
    from source_solidafy.errors import UsageError

    with pytest.raises(UsageError, match=f"--concurrency must be at least 1, got {concurrency}"):
        api.prepare_sync("demo", {"api_key": "k"}, concurrency=concurrency)
