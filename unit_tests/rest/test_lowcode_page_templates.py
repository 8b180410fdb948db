"""next_page_token in a requester's request_parameters and a page_size from the config, with airbyte-cdk
7.39.1's semantics (source_solidafy/lowcode/paging.py): the token is ``{"next_page_token": t}``, None
before a first page without one (a parameter rendering empty is left out). The whole syncs are compared
with the CDK's in integration_tests/airbyte_manifests/cases/pagetpl.yaml."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from source_solidafy.errors import ManifestError, TemplateError
from source_solidafy.lowcode import load_airbyte_text
from source_solidafy.rest import builders
from source_solidafy.rest.builders import PageInputs
from source_solidafy.rest.pages import PageRequest

MANIFEST = (Path(__file__).resolve().parents[2] / "integration_tests" / "airbyte_manifests"
            / "pagetpl_manifest.yaml").read_text()
RESPONSE = SimpleNamespace(url="http://127.0.0.1:9/x", headers={})


def _paginator(name: str, config: dict[str, Any], text: str = MANIFEST) -> Any:
    streams = {s.name: s for s in load_airbyte_text(text).manifest.streams}
    return builders.paginator(streams[name].pagination, PageInputs(config=config))


def _pages(name: str, config: dict[str, Any], bodies: list[tuple[Any, int]]) -> list[dict[str, Any]]:
    paginator = _paginator(name, config)
    page: PageRequest | None = paginator.first()
    sent = []
    for n, (body, count) in enumerate(bodies):
        assert page is not None
        sent.append(dict(page.params))
        page = paginator.next(RESPONSE, body, [{"id": f"{n}-{i}"} for i in range(count)], page)
    assert page is None
    return sent


def test_a_page_number_from_request_parameters_is_left_out_on_the_first_page() -> None:
    sent = _pages("tickets", {"page_size": 4}, [({}, 4), ({}, 4), ({}, 2)])
    assert sent == [{"per_page": 4}, {"per_page": 4, "page": "2"}, {"per_page": 4, "page": "3"}]


def test_a_config_default_fills_the_first_page_and_the_size_comes_from_the_config() -> None:
    sent = _pages("contacts", {"page_size": "3", "first_offset": 10}, [({}, 3), ({}, 1)])
    assert sent == [{"limit": 3, "offset": "10"}, {"limit": 3, "offset": "3"}]


def test_a_cursor_goes_into_the_requesters_parameter() -> None:
    sent = _pages("events", {"page_size": 2}, [({"next": "c2", "events": [1, 2]}, 2), ({"next": None, "events": [1, 2]}, 2)])
    assert sent == [{}, {"cursor": "c2"}]


def test_a_stop_condition_reads_the_config() -> None:
    """``response.events | length < config['page_size']`` stops before a next token is used."""
    sent = _pages("events", {"page_size": 3}, [({"next": "c2", "events": [1, 2, 3]}, 3), ({"next": "c3", "events": [1]}, 1)])
    assert sent == [{}, {"cursor": "c2"}]  # c3 is never asked for


@pytest.mark.parametrize("size", ["x", 2.5, None])
def test_a_page_size_that_is_no_integer_fails_like_the_cdk(size: Any) -> None:
    with pytest.raises(TemplateError, match="page_size"):
        _paginator("tickets", {"page_size": size}).first()


@pytest.mark.parametrize(("old", "new"), [
    ("url_base: \"{{ config['api_url'] }}/v1\"", "url_base: \"{{ config['api_url'] }}/v1{{ next_page_token }}\""),
    ("extractor: {type: DpathExtractor, field_path: [data]}", "extractor: {type: DpathExtractor, field_path: [data]}\n"
     "        record_filter: {type: RecordFilter, condition: \"{{ next_page_token }}\"}"),
])
def test_next_page_token_where_the_cdk_has_none_fails_at_load_time(old: str, new: str) -> None:
    """The requester's url_base is not rendered per page here; a record filter has no next_page_token."""
    assert MANIFEST.count(old) == 1
    with pytest.raises(ManifestError, match="next_page_token here is not supported"):
        load_airbyte_text(MANIFEST.replace(old, new))
