"""``filter``: the translated comprehension keeps exactly the records jinja's own render keeps."""

from __future__ import annotations

from typing import Any

import pytest

from source_solidafy.errors import StreamError
from source_solidafy.manifest.templates import TemplateString, build_context
from source_solidafy.rest.record_filter import RecordFilter, truthy

RECORDS: list[dict[str, Any]] = [
    {"id": 1, "status": "open", "n": 5, "tags": ["a", "vip"], "owner": {"email": "A@X.IO", "team": None}},
    {"id": 2, "status": "deleted", "n": 0, "tags": [], "owner": {"email": "b@x.io"}},
    {"id": 3, "status": "Open", "n": -2, "owner": None, "items": 3},
    {"id": 4, "status": None, "n": 12, "tags": ["b"], "owner": {"email": "c@y.io", "team": "core"}},
    {"id": 5, "n": 7, "keys": "k", "owner": {}},
]

# conditions on records that lack fields, have nulls, lists, nested objects; some fail on record 5 (no status)
CONDITIONS = [
    "{{ record.status != 'deleted' }}",
    "{{ record.status == 'open' or record.n > 6 }}",
    "{{ not record.status }}",
    "{{ record.status is none }}",
    "{{ record.status is defined and record.status is not none }}",
    "{{ record['status'] in ['open', 'Open'] }}",
    "{{ record.status | lower == 'open' }}",  # fails on record 5 both ways
    "{{ (record.status or '') | lower == 'open' }}",
    "{{ record.n > 6 and record.status > 'a' }}",
    "{{ (record.status | default('gone')) not in ('deleted', 'gone') }}",
    "{{ record.n >= 0 and record.n < 10 }}",
    "{{ 0 < record.n <= 7 }}",
    "{{ record.n - 1 > 4 }}",
    "{{ -record.n > 0 }}",
    "{{ 'vip' in (record.tags | default([])) }}",
    "{{ (record.owner.email is defined) if record.owner else false }}",
    "{{ record.owner and record.owner.team }}",
    "{{ record.items }}",  # a dict method's name: jinja reads the key only when no attribute has it
    "{{ record.keys }}",
    "{{ record.tags }}",  # fails on record 3 both ways (printing an undefined value)
    "{{ record.tags | default(false) }}",
    "{{ record.n }}",
    "{{ record.status | default(none) }}",
    "{{ record.id != config.skip_id }}",
    "{{ record.status == wanted }}",  # a bare config key
    "{{ record.id | string == partition.id }}",
    "  {{ record.n is number and record.n is odd }}\n",
]
CTX = build_context({"skip_id": 3, "wanted": "open"}, partition={"id": "4"})


def _kept(condition: str, translated: bool) -> list[int] | str:
    """The ids kept, or the error (both ways must fail alike: an undefined value in ``<``, ``| lower``)."""
    f = RecordFilter(TemplateString(condition), "s")
    if not translated:
        f._fast = None
    try:
        return [r["id"] for r in f.apply([dict(r) for r in RECORDS], CTX)]
    except StreamError as exc:
        return str(exc)


@pytest.mark.parametrize("condition", CONDITIONS)
def test_translated_condition_keeps_what_jinja_keeps(condition: str) -> None:
    assert RecordFilter(TemplateString(condition), "s").translated, condition
    assert _kept(condition, translated=True) == _kept(condition, translated=False)


def test_examples_keep_the_expected_records() -> None:
    assert _kept("{{ record.status != 'deleted' }}", True) == [1, 3, 4, 5]
    assert _kept("{{ record.id != config.skip_id }}", True) == [1, 2, 4, 5]
    assert _kept("{{ (record.owner.email is defined) if record.owner else false }}", True) == [1, 2, 4]


@pytest.mark.parametrize("condition", [
    "{% if record.n > 1 %}yes{% endif %}",
    "{{ record.n * 2 > 5 }}",  # * is bounded by the sandbox: left to jinja
    "{{ record.status.startswith('o') if record.status else false }}",
    "{{ (record.tags or []) | join(',') == 'a,vip' }}",
    "kept: {{ record.n }}",
])
def test_other_conditions_are_rendered_by_jinja(condition: str) -> None:
    f = RecordFilter(TemplateString(condition), "s")
    assert not f.translated
    assert f.apply([dict(r) for r in RECORDS], CTX) is not None


def test_static_condition() -> None:
    assert RecordFilter(TemplateString("true"), "s").apply([{"a": 1}], CTX) == [{"a": 1}]
    assert RecordFilter(TemplateString("false"), "s").apply([{"a": 1}], CTX) == []


def test_undefined_in_a_comparison_fails_the_stream_naming_the_template() -> None:
    f = RecordFilter(TemplateString("{{ record.n > 1 }}", where="c.yaml:9: streams[0].filter"), "items")
    with pytest.raises(StreamError) as err:
        f.apply([{"id": 1}], CTX)
    assert str(err.value) == ("stream 'items': filter: template at c.yaml:9: streams[0].filter: "
                              "undefined variable 'n' (no such key or attribute on dict)")


def test_a_type_error_names_no_value() -> None:
    f = RecordFilter(TemplateString("{{ record.n > 1 }}", where="c.yaml:9: streams[0].filter"), "items")
    with pytest.raises(StreamError) as err:
        f.apply([{"n": "secret-value"}], CTX)
    assert "secret-value" not in str(err.value)
    assert "TypeError" in str(err.value)


def test_the_sandbox_still_applies() -> None:
    f = RecordFilter(TemplateString("{{ record.__class__ }}"), "s")
    with pytest.raises(StreamError, match="not allowed|undefined"):
        f.apply([{"a": 1}], CTX)


@pytest.mark.parametrize(("value", "kept"), [
    (True, True), (False, False), (None, False), (0, False), (0.0, False), (2, True), ("", False),
    ("false", False), ("False", False), (" 0 ", False), ("none", False), ("null", False), ("[]", False),
    ("{}", False), ("x", True), ([], False), ({}, False), ([0], True),
])
def test_truthy(value: Any, kept: bool) -> None:
    assert truthy(value) is kept
