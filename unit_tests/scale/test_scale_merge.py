"""state merge: order-free, repetition-free, and a cursor that waits for every unit (scale/merge.py)."""

from __future__ import annotations

import itertools
import random

import pytest

from source_solidafy.errors import UsageError
from source_solidafy.scale.manifests import UnitManifest
from source_solidafy.scale.merge import merge_states
from source_solidafy.scale.units import Estimate, Plan, StreamPlan, Unit

BASE = {"partitions": [{"partition": {"day": "2024-01-01"}, "cursor": "2024-01-01T10:00:00Z", "done": True},
                       {"partition": {"day": "2024-01-05"}, "cursor": "2024-01-05T01:00:00Z", "done": False}],
        "cursor": "2024-01-05T01:00:00Z", "parent": {"cursor": "old"}}


def _plan() -> Plan:
    units = [
        Unit("u00000", "whole", "stream", {}, Estimate(), {"cursor": 5}),
        Unit("u00001", "days", "partitions", {"partitions": [{"day": "2024-01-05"}, {"day": "2024-01-06"}]},
             Estimate(), {"partitions": [BASE["partitions"][1]]}),
        Unit("u00002", "days", "partitions", {"partitions": [{"day": "2024-01-07"}]}, Estimate(), {"partitions": []}),
        Unit("u00003", "days", "partitions", {"partitions": [{"day": "2024-01-08"}]}, Estimate(), {"partitions": []}),
    ]
    base = {"partitions": [BASE["partitions"][0]], "cursor": BASE["cursor"], "parent": BASE["parent"]}
    streams = {"whole": StreamPlan(None), "days": StreamPlan("list", base, {"parent": {"cursor": "new"}})}
    return Plan("x", "2024-02-01T00:00:00Z", units, streams, run_id="abc")


def _m(unit: str, stream: str, state: dict, held: bool = False, finished: str = "t1") -> UnitManifest:
    return UnitManifest("abc", unit, stream, 1, [], state, held, [], 0, finished, "jsonl")


def _entry(day: str, cursor: str) -> dict:
    return {"partition": {"day": day}, "cursor": cursor, "done": True}


MANIFESTS = [
    _m("u00000", "whole", {"cursor": 9}),
    _m("u00001", "days", {"partitions": [_entry("2024-01-05", "2024-01-05T23:00:00Z"),
                                         _entry("2024-01-06", "2024-01-06T23:00:00Z")],
                          "cursor": "2024-01-06T23:00:00Z"}),
    _m("u00002", "days", {"partitions": [_entry("2024-01-07", "2024-01-07T23:00:00Z")], "cursor": "2024-01-07T23:00:00Z"}),
    _m("u00003", "days", {"partitions": [_entry("2024-01-08", "2024-01-08T22:00:00Z")], "cursor": "2024-01-08T22:00:00Z"}),
]


def test_complete_merge() -> None:
    merged, reports = merge_states(_plan(), MANIFESTS, {"other": {"cursor": 1}})
    assert all(r.complete for r in reports)
    assert merged["other"] == {"cursor": 1}  # streams outside the plan are kept
    assert merged["whole"] == {"cursor": 9}
    days = merged["days"]
    assert days["cursor"] == "2024-01-08T22:00:00Z" and days["parent"] == {"cursor": "new"}
    assert [e["partition"]["day"] for e in days["partitions"]] == ["2024-01-01", "2024-01-05", "2024-01-06",
                                                                   "2024-01-07", "2024-01-08"]


def test_any_order_and_repetition_give_the_same_state() -> None:
    expected = merge_states(_plan(), MANIFESTS)[0]
    rng = random.Random(3)
    for perm in itertools.permutations(MANIFESTS):
        twice = list(perm) + rng.sample(MANIFESTS, 2)
        assert merge_states(_plan(), twice)[0] == expected
    for subset in itertools.combinations(MANIFESTS, 2):  # partial sets too
        a = merge_states(_plan(), subset)[0]
        assert merge_states(_plan(), [*reversed(subset), subset[0]])[0] == a


def test_the_cursor_waits_for_every_unit() -> None:
    merged, reports = merge_states(_plan(), MANIFESTS[:3])
    days = merged["days"]
    assert days["cursor"] == BASE["cursor"] and days["parent"] == {"cursor": "old"}  # not advanced
    assert {e["partition"]["day"]: e["cursor"] for e in days["partitions"]}["2024-01-07"] == "2024-01-07T23:00:00Z"
    report = next(r for r in reports if r.stream == "days")
    assert not report.complete and report.missing == ["u00003"]
    merged, _ = merge_states(_plan(), MANIFESTS[1:])
    assert merged["whole"] == {"cursor": 5}  # the unit's incoming state


def test_a_held_unit_holds_the_stream() -> None:
    held = [*MANIFESTS[:3], _m("u00003", "days", {"partitions": []}, held=True)]
    merged, reports = merge_states(_plan(), held)
    assert merged["days"]["cursor"] == BASE["cursor"]
    assert next(r for r in reports if r.stream == "days").held == ["u00003"]


def test_two_manifests_of_one_unit_pick_the_later_in_any_order() -> None:
    early = _m("u00000", "whole", {"cursor": 7}, finished="t1")
    late = _m("u00000", "whole", {"cursor": 8}, finished="t2")
    assert merge_states(_plan(), [early, late, *MANIFESTS[1:]])[0]["whole"] == {"cursor": 8}
    assert merge_states(_plan(), [late, early, *MANIFESTS[1:]])[0]["whole"] == {"cursor": 8}


def test_a_manifest_of_another_run_is_refused() -> None:
    stranger = UnitManifest("other", "u00000", "whole", 1, [], {}, False)
    with pytest.raises(UsageError, match="not part of plan run abc"):
        merge_states(_plan(), [stranger])
