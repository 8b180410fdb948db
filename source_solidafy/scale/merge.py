"""``state merge``: the stream states of a run, from its plan and the manifests of its units.

Per stream: the plan's ``base`` (the incoming state less what the units carry), then each unit's own
entries from its manifest (a unit owns its partitions: its entry replaces the incoming one); a unit
with no manifest keeps the entries it started from (its slice of the incoming state). The stream
cursor, and keys the plan sets once the stream is done (a child's ``parent`` state), advance only
when every unit of the stream has a manifest, none of them held (a warning), and the plan-time read
did not warn either. A stream read whole (one ``stream`` unit) takes its unit's state as it is.

The result depends only on the plan and the set of manifests: any order, any repetition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from source_solidafy import jsoncodec
from source_solidafy.errors import UsageError
from source_solidafy.scale.manifests import UnitManifest
from source_solidafy.scale.units import Plan, StreamPlan, Unit
from source_solidafy.state import StateMap


@dataclass
class StreamMerge:
    stream: str
    units: int
    done: int
    held: list[str] = field(default_factory=list)  # units whose manifest says they warned
    missing: list[str] = field(default_factory=list)  # units with no manifest (first 20)

    @property
    def complete(self) -> bool:
        return self.done == self.units and not self.held

    def as_dict(self) -> dict[str, Any]:
        return {"stream": self.stream, "units": self.units, "done": self.done, "complete": self.complete,
                "held": self.held, "missing": self.missing}


def _canonical(m: UnitManifest) -> bytes:
    return jsoncodec.dumps(m.as_dict(), option=orjson.OPT_SORT_KEYS)


def pick_manifests(plan: Plan, manifests: Iterable[UnitManifest]) -> dict[str, UnitManifest]:
    """One manifest per unit; of two for the same unit, the later (then the greater), whatever the order."""
    ids = {u.unit_id for u in plan.units}
    out: dict[str, UnitManifest] = {}
    for m in manifests:
        if m.run_id != plan.run_id or m.unit_id not in ids:
            raise UsageError(f"manifest of unit {m.unit_id} of run {m.run_id} is not part of plan run {plan.run_id}")
        have = out.get(m.unit_id)
        if have is None or (m.finished_at, _canonical(m)) > (have.finished_at, _canonical(have)):
            out[m.unit_id] = m
    return out


def _key_of(router: str | None) -> Callable[[dict[str, Any]], str]:
    from source_solidafy.rest.partition_state import partition_key
    from source_solidafy.rest.partitions import router_of_kind

    found = router_of_kind(router or "")
    return found.key if found is not None else partition_key


def _newer(a: Any, b: Any) -> Any:
    from source_solidafy.rest.partition_state import newer

    return newer(a, b)


def _merge_partitioned(sp: StreamPlan, units: list[Unit], done: dict[str, UnitManifest], complete: bool) -> dict[str, Any]:
    key = _key_of(sp.router)
    base = dict(sp.base or {})
    entries: dict[str, dict[str, Any]] = {}
    listed = "partitions" in base
    for e in base.pop("partitions", None) or []:
        entries[key(e["partition"])] = e
    cursor = base.pop("cursor", None)
    for u in units:
        m = done.get(u.unit_id)
        st = (m.state if m is not None else u.state) or {}
        listed = listed or "partitions" in st
        for e in st.get("partitions") or []:
            entries[key(e["partition"])] = e
        if complete:
            cursor = _newer(cursor, st.get("cursor"))
    out = dict(base)
    if complete:
        out.update(sp.after)
    if listed:
        out["partitions"] = [entries[k] for k in sorted(entries)]
    if cursor is not None:
        out["cursor"] = cursor
    return out


def merge_stream(plan: Plan, stream: str, done: dict[str, UnitManifest]) -> tuple[dict[str, Any] | None, StreamMerge]:
    units = plan.units_of(stream)
    sp = plan.streams.get(stream, StreamPlan())
    mine = {u.unit_id: done[u.unit_id] for u in units if u.unit_id in done}
    report = StreamMerge(stream, len(units), len(mine), sorted(i for i, m in mine.items() if m.held),
                         [u.unit_id for u in units if u.unit_id not in mine][:20])
    complete = report.complete and not sp.warnings
    if len(units) == 1 and units[0].kind == "stream":
        m = mine.get(units[0].unit_id)
        return (m.state if complete and m is not None else units[0].state) or None, report
    merged = _merge_partitioned(sp, units, mine, complete)
    return merged or None, report


def merge_states(plan: Plan, manifests: Iterable[UnitManifest], current: StateMap | None = None) -> tuple[StateMap, list[StreamMerge]]:
    """``current`` (the state file now) with the plan's streams replaced by their merged states."""
    done = pick_manifests(plan, manifests)
    out: StateMap = {k: v for k, v in (current or {}).items() if k not in plan.streams}
    reports = []
    for stream in plan.streams:
        merged, report = merge_stream(plan, stream, done)
        if merged is not None:
            out[stream] = merged
        reports.append(report)
    return dict(sorted(out.items())), reports
