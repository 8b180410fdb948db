"""Directory and file naming: one safe segment per stream, never a name that is already taken."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from source_solidafy.sinks.layout import PartNames, partition_date, safe_dir_name


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        ("users", "users"),
        ("public.users", "public.users"),
        ("orders/items", "orders_items"),
        ("../etc", "_etc"),
        ("a..b", "a_b"),
        ("k=v", "k_v"),
        ("with space", "with_space"),
        ("", "stream"),
        ("...", "stream"),
        ("C:\\x", "C_x"),
    ],
)
def test_safe_dir_name(stream, expected):
    assert safe_dir_name(stream) == expected


def test_partition_date_is_utc():
    moment = datetime(2025, 12, 14, 23, 30, tzinfo=timezone.utc)
    assert partition_date(moment) == "2025-12-14"
    from datetime import timedelta

    assert partition_date(moment.astimezone(timezone(timedelta(hours=5)))) == "2025-12-14"


def test_first_sync_of_the_day_gets_data_then_numbered_parts():
    names = PartNames("parquet", lambda name: False)
    assert [names.next() for _ in range(3)] == ["data.parquet", "data-0001.parquet", "data-0002.parquet"]


def test_existing_names_are_never_reused():
    taken = {"data.parquet"}
    names = PartNames("parquet", taken.__contains__, datetime(2025, 1, 1, 9, 30, 15, tzinfo=timezone.utc))
    first = names.next()
    assert re.fullmatch(r"data-093015-[0-9a-f]{6}\.parquet", first)
    assert names.next() == first.replace(".parquet", "-0001.parquet")


def test_collision_on_a_part_name_starts_a_fresh_base():
    calls = {"n": 0}

    def exists(name: str) -> bool:
        calls["n"] += 1
        return name == "data-0001.jsonl"

    names = PartNames("jsonl", exists)
    assert names.next() == "data.jsonl"
    second = names.next()
    assert second != "data-0001.jsonl" and second.startswith("data-") and second.endswith(".jsonl")
