"""Plan files, shard assignment and the engines' index variables (scale/units.py, scale/planning.py)."""

from __future__ import annotations

import itertools

import pytest

from source_solidafy.errors import UsageError
from source_solidafy.scale.planning import Piece, _chunks
from source_solidafy.scale.units import Estimate, Plan, StreamPlan, Unit, loads_plan, parse_shard, shard_units


def _units(weights: list[int | None]) -> list[Unit]:
    return [Unit(f"u{i:05d}", "s", "partitions", {"partitions": [{"k": i}]}, Estimate(w, 1, "t"))
            for i, w in enumerate(weights)]


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 20])
def test_shards_are_disjoint_complete_and_stable(count: int) -> None:
    units = _units([5, None, 100, 3, 3, 40, None, 7, 7, 7, 1000, 2])
    shards = [shard_units(units, i, count) for i in range(count)]
    ids = [u.unit_id for shard in shards for u in shard]
    assert sorted(ids) == [u.unit_id for u in units]  # each unit in exactly one shard
    assert len(set(ids)) == len(ids)
    assert shards == [shard_units(list(units), i, count) for i in range(count)]
    for shard in shards:  # plan order within a shard
        assert [u.number for u in shard] == sorted(u.number for u in shard)


def test_shards_balance_on_estimates() -> None:
    units = _units([100, 100, 100, 100, 1, 1, 1, 1])
    loads = [sum(u.estimate.weight for u in shard_units(units, i, 4)) for i in range(4)]
    assert loads == [101, 101, 101, 101]


@pytest.mark.parametrize(("text", "env", "expected"), [
    ("2/5", {}, (2, 5)),
    ("auto/4", {"JOB_COMPLETION_INDEX": "3"}, (3, 4)),
    ("auto", {"CLOUD_RUN_TASK_INDEX": "1", "CLOUD_RUN_TASK_COUNT": "6"}, (1, 6)),
    ("auto", {"AWS_BATCH_JOB_ARRAY_INDEX": "9", "AWS_BATCH_JOB_ARRAY_SIZE": "10"}, (9, 10)),
])
def test_parse_shard(text: str, env: dict[str, str], expected: tuple[int, int]) -> None:
    assert parse_shard(text, env) == expected


@pytest.mark.parametrize(("text", "env", "message"), [
    ("5/5", {}, "0 <= index < count"),
    ("x/2", {}, "whole number"),
    ("3", {}, "expected I/N"),
    ("auto/2", {}, "JOB_COMPLETION_INDEX"),
    ("auto", {"JOB_COMPLETION_INDEX": "0"}, "use --shard auto/N"),
])
def test_parse_shard_errors(text: str, env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_shard(text, env)


def test_plan_round_trip_and_derived_run_id() -> None:
    units = _units([1, 2])
    made = Plan("demo", "2025-01-01T00:00:00Z", units, {"s": StreamPlan("list", None, {}, True)}, 2.5, 4)
    again = loads_plan(made.dumps(), "p.jsonl")
    assert again.dumps() == made.dumps()
    assert again.run_id == made.run_id == made.derived_run_id()
    other = Plan("demo", "2025-01-02T00:00:00Z", units, {"s": StreamPlan("list", None, {}, True)}, 2.5, 4)
    assert other.run_id != made.run_id


def test_a_truncated_plan_is_refused() -> None:
    data = Plan("demo", "2025-01-01T00:00:00Z", _units([1, 2, 3]), {}).dumps()
    with pytest.raises(UsageError, match="truncated"):
        loads_plan(data.rsplit(b"\n", 2)[0] + b"\n", "p.jsonl")
    with pytest.raises(UsageError, match="not a plan file"):
        loads_plan(b'{"type": "RECORD"}\n', "p.jsonl")


@pytest.mark.parametrize(("n", "count"), list(itertools.product([1, 2, 5, 17, 100], [1, 2, 3, 8, 16])))
def test_chunks_are_contiguous_non_empty_and_even(n: int, count: int) -> None:
    pieces = [Piece({"i": i}, Estimate(10, 1)) for i in range(n)]
    groups = _chunks(pieces, count)
    assert len(groups) == min(n, count)
    assert [p for g in groups for p in g] == pieces
    sizes = [len(g) for g in groups]
    assert max(sizes) - min(sizes) <= 1
