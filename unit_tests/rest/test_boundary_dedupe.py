"""BoundaryDedupe, the piece behind ``dedupe: cursor_boundary`` (end to end: integration_tests/test_cli_dedupe.py)."""

from __future__ import annotations

from source_solidafy.rest.records import BoundaryDedupe


def _dedupe(**kwargs) -> tuple[BoundaryDedupe, list[tuple[str, str]]]:
    logged: list[tuple[str, str]] = []
    return BoundaryDedupe(["id"], "t", lambda level, msg: logged.append((level, msg)), **kwargs), logged


def test_repeats_of_the_newest_value_are_dropped_and_a_newer_value_forgets_them():
    dedupe, _ = _dedupe()
    page1 = [{"id": 1, "t": 1}, {"id": 2, "t": 2}, {"id": 3, "t": 2}]
    page2 = [{"id": 2, "t": 2}, {"id": 3, "t": 2}, {"id": 4, "t": 2}, {"id": 5, "t": 3}]
    page3 = [{"id": 5, "t": 3}, {"id": 2, "t": 4}]  # id 2 changed again: a new version, kept
    assert dedupe.filter(page1) == page1
    assert dedupe.filter(page2) == page2[2:]
    assert dedupe.filter(page3) == page3[1:]
    assert dedupe.dropped == 3 and dedupe.seen == {(2,)}


def test_records_without_a_cursor_or_out_of_order_are_kept():
    dedupe, _ = _dedupe()
    records = [{"id": 1, "t": 5}, {"id": 1}, {"id": 1, "t": None}, {"id": 1, "t": 4}, {"id": 1, "t": 5}]
    assert dedupe.filter(records) == records[:4]


def test_composite_and_unhashable_keys():
    logged: list[tuple[str, str]] = []
    dedupe = BoundaryDedupe(["a.b", "c"], "t", lambda *m: logged.append(m))
    records = [{"a": {"b": 1}, "c": [1, 2], "t": "x"}, {"a": {"b": 1}, "c": [1, 2], "t": "x"},
               {"a": {"b": 2}, "c": [1, 2], "t": "x"}]
    assert dedupe.filter(records) == [records[0], records[2]]


def test_memory_is_capped_with_one_warning_per_value():
    dedupe, logged = _dedupe(max_keys=3)
    same = [{"id": i, "t": 7} for i in range(6)]
    assert dedupe.filter(same) == same
    assert len(dedupe.seen) == 4  # three keys and the marker that the warning was given
    assert dedupe.filter(same[:3]) == []  # the remembered ones are still dropped
    assert [level for level, _ in logged] == ["WARN"] and "more than 3 records share t = 7" in logged[0][1]
