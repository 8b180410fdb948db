"""next_page_token in a requester's headers, JSON body, path, in parameters that read the partition too,
and without a paginator, with airbyte-cdk 7.39.1's semantics (source_solidafy/lowcode/page_templates.py).
The whole syncs are compared with the CDK's in integration_tests/airbyte_manifests/cases/pagereq.yaml."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from source_solidafy.errors import ManifestError, TemplateError
from source_solidafy.lowcode import load_airbyte_text
from source_solidafy.lowcode.interpolation import Interpolated
from source_solidafy.rest import builders
from source_solidafy.rest.builders import PageInputs
from source_solidafy.rest.pages import PageRequest

MANIFEST = (Path(__file__).resolve().parents[2] / "integration_tests" / "airbyte_manifests"
            / "pagereq_manifest.yaml").read_text()
RESPONSE = SimpleNamespace(url="http://127.0.0.1:9/x", headers={})
CONFIG = {"api_url": "http://127.0.0.1:9", "token": "t", "page_size": 2, "owner": "ann", "first_offset": 5}


def _streams(text: str = MANIFEST) -> dict[str, Any]:
    return {s.name: s for s in load_airbyte_text(text).manifest.streams}


def _pages(name: str, bodies: list[dict[str, Any]], partition: Any = None, config: Any = None,
           text: str = MANIFEST, count: int = 2) -> list[PageRequest]:
    """The requests the stream's paginator makes for these response bodies (``count`` records each)."""
    paginator = builders.paginator(_streams(text)[name].pagination, PageInputs(config=config or CONFIG,
                                                                                partition=partition))
    page: PageRequest | None = paginator.first()
    sent = []
    for n, body in enumerate(bodies):
        assert page is not None
        sent.append(page)
        size = count if n < len(bodies) - 1 else 1  # the last page is short
        page = paginator.next(RESPONSE, body, [{"id": f"{n}-{i}"} for i in range(size)], page)
    assert page is None
    return sent


def test_a_header_carries_the_cursor_after_the_first_page() -> None:
    """Empty on the first request (next_page_token is None): the CDK leaves the header out."""
    sent = _pages("notes", [{"next": "c2"}, {"next": "c4"}, {"next": None}])
    assert [p.headers for p in sent] == [{}, {"X-Page-Cursor": "c2"}, {"X-Page-Cursor": "c4"}]
    assert [p.params for p in sent] == [{"limit": 2}] * 3  # CursorPagination.page_size from the config


def test_the_static_header_stays_the_streams() -> None:
    assert set(_streams()["notes"].headers) == {"X-Client"}


def test_a_json_body_is_rendered_per_page_and_a_key_rendering_empty_is_left_out() -> None:
    sent = _pages("search", [{"next": "c2"}, {"next": None}])
    assert sent[0].body == {"query": {"status": "open", "owner": "ann"}, "page": {"size": 2}, "tags": ["first", None]}
    assert sent[1].body == {"query": {"status": "open", "owner": "ann"}, "page": {"cursor": "c2", "size": 2},
                            "tags": ["first", "c2"]}
    assert _streams()["search"].request.body is None  # the paginator sends all of it


def test_a_partition_value_of_a_request_option_goes_into_the_body_rendered_per_page() -> None:
    router = ("      partition_router:\n        type: ListPartitionRouter\n        cursor_field: board\n"
              "        values: [red]\n        request_option: {type: RequestOption, inject_into: body_json, "
              "field_path: [query, board]}\n")
    text = MANIFEST.replace("        extractor: {type: DpathExtractor, field_path: [results]}\n",
                            "        extractor: {type: DpathExtractor, field_path: [results]}\n" + router)
    assert text != MANIFEST
    sent = _pages("search", [{"next": "c2"}, {"next": None}], partition={"board": "red"}, text=text)
    assert [p.body["query"] for p in sent] == [{"status": "open", "owner": "ann", "board": "red"}] * 2


def test_parameters_and_headers_read_the_partition_and_the_token() -> None:
    sent = _pages("comments", [{}, {}, {}], partition={"board": "red"}, config={**CONFIG, "first_offset": 0}, count=3)
    assert [p.params for p in sent] == [{"offset": "0", "ref": "red:", "limit": 3},
                                        {"offset": "3", "ref": "red:3", "limit": 3},
                                        {"offset": "6", "ref": "red:6", "limit": 3}]
    assert [p.headers["X-Board"] for p in sent] == ["red-first", "red-3", "red-6"]


def test_the_path_is_rendered_per_page_and_joined_to_the_url_base() -> None:
    sent = _pages("feed", [{"next": "c3"}, {"next": None}])
    assert [p.url for p in sent] == ["http://127.0.0.1:9/v1/feed/c0", "http://127.0.0.1:9/v1/feed/c3"]


def test_without_a_paginator_next_page_token_is_always_none() -> None:
    sent = _pages("status", [{"next": "c2"}])
    assert sent[0].params == {"page": "1"} and sent[0].headers == {"X-Page": "none"}


def test_no_pagination_written_out_is_the_same() -> None:
    text = MANIFEST.replace("        extractor: {type: DpathExtractor, field_path: [items]}\nspec:",
                            "        extractor: {type: DpathExtractor, field_path: [items]}\n"
                            "      paginator: {type: NoPagination}\nspec:")
    assert text.count("NoPagination") == 1
    sent = _pages("status", [{}], text=text)
    assert sent[0].params == {"page": "1"} and sent[0].headers == {"X-Page": "none"}


def test_an_attribute_of_none_renders_empty_like_the_cdk() -> None:
    """The CDK's jinja eval catches UndefinedError (``None.a.b``) and takes the default: None, left out."""
    text = MANIFEST.replace("X-Page: \"{{ next_page_token or 'none' }}\"", "X-Page: \"{{ next_page_token.a.b }}\"")
    assert text != MANIFEST
    assert _pages("status", [{}], text=text)[0].headers == {}


def test_an_attribute_of_none_in_the_path_fails_like_the_cdks_interpolated_string() -> None:
    """The path's default is its own text, which fails again (the CDK's sync fails too)."""
    text = MANIFEST.replace("path: \"/feed/{{ next_page_token.next_page_token or 'c0' }}\"",
                            "path: \"/feed/{{ next_page_token.a.b }}\"")
    assert text != MANIFEST
    with pytest.raises(TemplateError, match="path: 'None' has no attribute 'a'"):
        _pages("feed", [{}], text=text)


def test_undefined_attributes_take_the_default_of_the_cdks_kind_of_value() -> None:
    value = Interpolated("{{ next_page_token.a.b }}", {}, "m.yaml:3")
    assert value.eval({}, None, None, True, next_page_token=None) is None  # a mapping's value
    assert value.eval({}, "False", next_page_token=None) is False  # a condition
    with pytest.raises(ValueError, match="no attribute"):  # an InterpolatedString
        value.eval({}, None, next_page_token=None)


def test_a_template_error_names_where_it_is() -> None:
    text = MANIFEST.replace("X-Page: \"{{ next_page_token or 'none' }}\"", "X-Page: \"{{ (next_page_token or 1) // 0 }}\"")
    with pytest.raises(TemplateError, match="request_headers"):
        _pages("status", [{}], text=text)


@pytest.mark.parametrize("size", ["x", None])
def test_a_cursor_page_size_that_is_no_integer_fails_like_the_cdk(size: Any) -> None:
    with pytest.raises(TemplateError, match="page_size"):
        _pages("notes", [{}], config={**CONFIG, "page_size": size})


def test_a_form_body_is_encoded_per_request_as_requests_encodes_a_dict() -> None:
    """A value rendering empty is left out, a list repeats its key, a YAML string stays text."""
    sent = _pages("forms", [{"next": "c2"}, {"next": None}])
    assert sent[0].data == "limit=2&owner=ann+%26+co&kinds=a&kinds=b&version=2"
    assert sent[1].data == "cursor=c2&limit=2&owner=ann+%26+co&kinds=a&kinds=b&version=2"
    assert sent[0].headers == {"Content-Type": "application/x-www-form-urlencoded"}
    assert _streams()["forms"].request.body is None


def test_a_form_that_renders_empty_sends_no_body() -> None:
    text = MANIFEST.replace("""          limit: "{{ config['page_size'] }}"
          owner: "{{ config['owner'] }} & co"
          kinds: "{{ ['a', 'b'] }}"
          version: "2"
""", "")
    assert text != MANIFEST
    sent = _pages("forms", [{"next": "c2"}, {"next": None}], text=text)
    assert (sent[0].data, sent[0].headers) == (None, {})
    assert sent[1].data == "cursor=c2"


def test_a_form_string_reading_an_attribute_of_none_fails_like_the_cdk() -> None:
    old = "request_body_data: \"limit={{ config['page_size'] }}&cursor={{ next_page_token.next_page_token }}\""
    with pytest.raises(TemplateError, match="request_body_data: 'None' has no attribute 'a'"):
        _pages("texts", [{}], text=MANIFEST.replace(old, "request_body_data: \"{{ next_page_token.a.b }}\""))


def test_a_form_beside_a_json_body_fails_at_load_time_as_in_the_cdk() -> None:
    old = "        request_body_data:\n          cursor:"
    assert MANIFEST.count(old) == 1
    with pytest.raises(ManifestError, match="request_body_data with request_body_json"):
        load_airbyte_text(MANIFEST.replace(old, "        request_body_json: {a: b}\n" + old))


def test_a_form_string_is_sent_as_it_is_without_content_type() -> None:
    sent = _pages("texts", [{"next": "c2"}, {"next": None}])
    assert [(p.data, p.headers) for p in sent] == [("limit=2&cursor=", {}), ("limit=2&cursor=c2", {})]


@pytest.mark.parametrize(("template", "data", "headers"), [
    ("{{ {'a': 'x y', 'b': [1, None], 'c': None} }}", "a=x+y&b=1", {"Content-Type": "application/x-www-form-urlencoded"}),
    ("{{ 5 }}", None, {}),  # the CDK's combine_mappings drops what is neither text nor a mapping
    ("{{ '' }}", None, {}),
    ("{{ [1, 2] }}", None, {}),
])
def test_a_form_string_rendering_other_than_text(template: str, data: str | None, headers: dict[str, str]) -> None:
    old = "request_body_data: \"limit={{ config['page_size'] }}&cursor={{ next_page_token.next_page_token }}\""
    assert MANIFEST.count(old) == 1
    text = MANIFEST.replace(old, f"request_body_data: \"{template}\"")
    sent = _pages("texts", [{"next": None}], text=text)
    assert (sent[0].data, sent[0].headers) == (data, headers)
