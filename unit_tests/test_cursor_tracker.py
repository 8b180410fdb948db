"""Cursor tracking: inclusive filter, forward-only state, and no mid-stream state for unsorted pages."""

from __future__ import annotations

from source_solidafy.manifest import models as m
from source_solidafy.manifest.templates import TemplateString, build_context
from source_solidafy.rest.builders import transformer
from source_solidafy.rest.records import CursorTracker, format_since, to_datetime


def test_inclusive_filter_and_max() -> None:
    t = CursorTracker("updated", incoming=5)
    kept = t.process([{"updated": 4}, {"updated": 5}, {"updated": 7}, {"x": 1}])
    assert kept == [{"updated": 5}, {"updated": 7}, {"x": 1}]
    assert t.state() == {"cursor": 7} and t.ascending


def test_state_never_moves_backwards() -> None:
    t = CursorTracker("u", incoming="2024-02-01")
    t.process([{"u": "2024-03-01"}])
    t.process([{"u": "2024-02-15"}])
    assert t.state() == {"cursor": "2024-03-01"}
    assert not t.ascending  # newest-first: only the end of the stream may carry the state


def test_descending_pages_are_detected_inside_one_page() -> None:
    t = CursorTracker("created")
    t.process([{"created": 30}, {"created": 20}])
    assert not t.ascending and t.seen_enough


def test_limit_counts_only_delivered_records() -> None:
    t = CursorTracker("u")
    assert t.process([{"u": 1}, {"u": 2}, {"u": 3}], limit=2) == [{"u": 1}, {"u": 2}]
    assert t.state() == {"cursor": 2}


def test_mixed_numeric_types_compare_as_numbers() -> None:
    t = CursorTracker("u", incoming="10")
    assert t.process([{"u": 9}, {"u": 11}]) == [{"u": 11}]


def test_dotted_cursor_path() -> None:
    t = CursorTracker("meta.ts")
    t.process([{"meta": {"ts": 1}}, {"meta": {"ts": 2}}])
    assert t.state() == {"cursor": 2}


def test_format_since_variants() -> None:
    assert format_since(1700000000, "unix", 60) == "1699999940"
    assert format_since("2024-01-02T00:00:00Z", "unix_ms") == "1704153600000"
    assert format_since("2024-01-02T03:04:05.000+0000", "%Y-%m-%d") == "2024-01-02"
    assert format_since("abc", None) == "abc"
    assert to_datetime("2024-01-02") is not None


def test_transform_set_remove_rename() -> None:
    steps = [
        m.SetStep(op="set", field="region", value=TemplateString("{{ partition.region }}")),
        m.RemoveStep(op="remove", fields=["secret"]),
        m.RenameStep(op="rename", **{"from": "old", "to": "new"}),
    ]
    records = [{"secret": 1, "old": 2}]
    ctx = build_context({}, partition={"region": "eu"})
    assert transformer(steps).apply(records, ctx) == [{"new": 2, "region": "eu"}]
