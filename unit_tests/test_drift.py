"""Schema drift by sample (drift.py): new fields, widened types, bounded, and what sampling still sees."""

from __future__ import annotations

from typing import Any

from source_solidafy.drift import FULL_FIRST, MAX_FIELDS, DriftWatch, declared_types

SCHEMA = {"type": "object", "properties": {
    "id": {"type": "integer"}, "name": {"type": ["string", "null"]}, "score": {"type": "number"},
    "email": {"type": "string"}, "meta": {}, "tags": {"anyOf": [{"type": "array"}, {"type": "null"}]},
}}


def fits(i: int) -> dict[str, Any]:
    return {"id": i, "name": None if i % 2 else f"n{i}", "score": i, "email": f"e{i}@x", "meta": [i], "tags": None}


def test_records_that_fit_report_nothing() -> None:
    watch = DriftWatch(SCHEMA)
    watch.observe([fits(i) for i in range(500)])
    assert watch.report() is None


def test_new_fields_and_widened_types_are_reported_with_what_was_declared() -> None:
    watch = DriftWatch(SCHEMA)
    watch.observe([{**fits(0), "id": "7", "email": None, "score": 1.5, "tags": "x", "nickname": "bob"}])
    report = watch.report()
    assert report == {
        "new_fields": {"nickname": ["string"]},
        "widened": {"id": {"declared": ["integer"], "seen": ["string"]},
                    "email": {"declared": ["string"], "seen": ["null"]},
                    "tags": {"declared": ["array", "null"], "seen": ["string"]}},
        "records_checked": 1,
    }
    assert "nickname (string)" in watch.describe("users") and "id (integer seen as string)" in watch.describe("users")


def test_an_integer_in_a_number_field_and_anything_in_an_untyped_one_fit() -> None:
    assert declared_types({"type": "number"}) == frozenset({"number"})
    assert declared_types({}) is None and declared_types({"anyOf": [{"type": "string"}, {}]}) is None
    watch = DriftWatch(SCHEMA)
    watch.observe([{**fits(0), "score": 3, "meta": {"a": 1}}])
    assert watch.report() is None


def test_after_the_first_records_a_page_is_sampled_but_a_rare_new_field_is_still_seen() -> None:
    watch = DriftWatch(SCHEMA)
    watch.observe([fits(i) for i in range(FULL_FIRST)])
    page = [fits(i) for i in range(1000)]
    page[637] = {**page[637], "rare": True}  # one record in a thousand: a key count not seen before
    watch.observe(page)
    report = watch.report()
    assert report is not None and report["new_fields"] == {"rare": ["boolean"]}
    assert report["records_checked"] < FULL_FIRST + 10  # sampled, not every record


def test_the_report_is_bounded() -> None:
    watch = DriftWatch(SCHEMA)
    watch.observe([{f"f{i}": i for i in range(5000)}])
    report = watch.report()
    assert report is not None and len(report["new_fields"]) == MAX_FIELDS
    assert report["more_fields"] == 5000 - MAX_FIELDS


def test_hostile_pages_of_ever_new_key_counts_stay_linear() -> None:
    watch = DriftWatch(SCHEMA)
    for page in range(50):
        watch.observe([{f"k{j}": j for j in range(page * 10 + i % 10)} for i in range(200)])
    assert watch.checked < 50 * 20


def test_a_known_field_in_a_new_type_is_still_seen_and_the_known_pairs_are_bounded() -> None:
    """A sampled record whose (field, type) pairs were all checked before is passed over; one field in a
    type not seen yet (the same key count) is checked and reported; the pairs remembered are bounded."""
    from source_solidafy.drift import MAX_KNOWN, PER_PAGE

    watch = DriftWatch(SCHEMA)
    for _ in range(3):
        watch.observe([fits(i) for i in range(200)])
    assert watch.report() is None
    page = [fits(i) for i in range(200)]
    page[200 // PER_PAGE] = {**page[200 // PER_PAGE], "score": "high", "email": 7}  # a sampled one
    watch.observe(page)
    report = watch.report()
    assert report is not None and report["widened"] == {"score": {"declared": ["number"], "seen": ["string"]},
                                                         "email": {"declared": ["string"], "seen": ["integer"]}}
    many = DriftWatch(SCHEMA)
    many.observe([{f"f{i}": i for i in range(MAX_KNOWN * 2)}, {"g": 1}])
    assert len(many._known) == MAX_KNOWN * 2 and many.report() is not None  # one record's pairs, then no more
    many.observe([{"h": "x"}])
    assert len(many._known) == MAX_KNOWN * 2 and many.report()["more_fields"] == MAX_KNOWN * 2 + 2 - MAX_FIELDS
