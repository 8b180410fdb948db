from __future__ import annotations

import pytest

from source_solidafy.rest.paths import compile_path

DOC = {"data": [{"id": "a", "r": [{"x": 1}, {"x": 2}]}, {"id": "b"}], "meta": {"next": None, "n": 0}}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("data[-1].id", "b"),
        ("data[0].id", "a"),
        ("data[0].r[1].x", 2),
        ("meta.n", 0),
        ("$.data[1].id", "b"),
        ("data[*].id", ["a", "b"]),
        ("data[*].r", [[{"x": 1}, {"x": 2}]]),
    ],
)
def test_paths_select_keys_indexes_and_wildcards(path: str, expected: object) -> None:
    assert compile_path(path).get(DOC) == expected


def test_paths_empty_selects_whole_object() -> None:
    assert compile_path("").get(DOC) is DOC


@pytest.mark.parametrize("path", ["data[5].id", "data[-9].id", "nope", "meta.n.deeper", "data.id", "meta[0]"])
def test_paths_missing_yields_default_never_raises(path: str) -> None:
    assert compile_path(path).get(DOC, "dflt") == "dflt"
    assert compile_path(path).get(None) is None
    assert compile_path(path).get("a string") is None


def test_paths_present_null_is_returned_not_default() -> None:
    assert compile_path("meta.next").get(DOC, "dflt") is None


def test_paths_wildcard_skips_items_missing_the_rest() -> None:
    assert compile_path("data[*].r").get(DOC) == [[{"x": 1}, {"x": 2}]]
    assert compile_path("meta[*]").get(DOC, "d") == "d"


@pytest.mark.parametrize("bad", ["data[x]", "a..b", "data[0", ".a", "a.", "a]b", "data[0]x", "]"])
def test_paths_bad_syntax_is_a_clear_value_error(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid path"):
        compile_path(bad)
