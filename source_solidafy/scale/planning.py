"""``plan()``: a sync cut into work units, by a planner per source kind, small pieces bundled.

A planner (``PLANNERS[source.planner]``) turns one stream into :class:`Pieces`: the smallest parts
it can be read in (one list value, one date window, one parent key, one key range) with an estimate
each. ``bundle`` pieces (partitions) are then grouped into units, contiguous in planner order, so
that no unit is much over ``target_rows_per_unit`` and the whole plan has at most ``max_units``
units; pieces that are not bundled (a database planner's ranges, already sized) become one unit
each. Register a planner with :func:`register_planner`; a source kind with none gets one unit per
stream.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from source_solidafy.errors import UsageError
from source_solidafy.scale.units import Estimate, Plan, StreamPlan, Unit, state_sha256, unit_id
from source_solidafy.source import LogFn, Source
from source_solidafy.state import StateMap

DEFAULT_TARGET_ROWS = 1_000_000


def _no_log(level: str, message: str) -> None:
    return None


@dataclass
class PlanContext:
    """What a planner gets besides the source and the stream."""

    config: dict[str, Any]
    state: StateMap
    now: datetime
    target_rows_per_unit: int | None = None  # None: DEFAULT_TARGET_ROWS, unless max_units alone decides
    concurrency: int = 4
    cursor_fields: dict[str, str] = field(default_factory=dict)
    log: LogFn = _no_log


@dataclass(frozen=True)
class Piece:
    """The smallest part of a stream a planner can name: ``bounds`` and the state slice it starts from."""

    bounds: dict[str, Any]
    estimate: Estimate
    state: dict[str, Any] | None = None


@dataclass
class Pieces:
    """A planner's answer for one stream."""

    kind: str  # the kind of the units made from them ("stream", "partitions", "range")
    pieces: list[Piece]
    stream: StreamPlan = field(default_factory=StreamPlan)
    bundle: bool = False  # pieces may be grouped into one unit (partitions); else one unit per piece
    slice_state: Callable[[list[Piece]], dict[str, Any] | None] | None = None  # a bundle's state slice


Planner = Callable[[Any, str, PlanContext], Pieces]  # (a Source of the planner's kind, stream, context)
PLANNERS: dict[str, Planner] = {}


def register_planner(kind: str) -> Callable[[Planner], Planner]:
    """Decorator: the planner of sources whose ``planner`` attribute is ``kind``."""

    def add(fn: Planner) -> Planner:
        PLANNERS[kind] = fn
        return fn

    return add


@register_planner("stream")
def whole_stream(source: Source, stream: str, pc: PlanContext) -> Pieces:
    """One unit reading the whole stream from its incoming state."""
    incoming = pc.state.get(stream)
    return Pieces("stream", [Piece({}, Estimate(basis="unknown"), incoming or None)],
                  StreamPlan(replace=not incoming, state_sha256=state_sha256(incoming),
                             cursor_field=pc.cursor_fields.get(stream)))


# Where each kind's planner is registered; imported when a plan needs it (nothing heavy at import time).
PLANNER_MODULES = {"rest": "source_solidafy.rest.plan", "database": "source_solidafy.databases.plan"}


def _planner(source: Source) -> Planner:
    module = PLANNER_MODULES.get(source.planner)
    if source.planner not in PLANNERS and module is not None:
        import importlib

        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    return PLANNERS.get(source.planner, whole_stream)


# ----------------------------------------------------------------------------------------- bundling


def _units_wanted(found: dict[str, Pieces], target: int) -> dict[str, int]:
    wanted = {}
    for name, ps in found.items():
        if not ps.bundle:
            wanted[name] = len(ps.pieces)
            continue
        rows = sum(p.estimate.weight for p in ps.pieces)
        wanted[name] = max(1, min(len(ps.pieces), math.ceil(rows / max(1, target))))
    return wanted


def _cap(wanted: dict[str, int], found: dict[str, Pieces], max_units: int) -> dict[str, int]:
    """At most ``max_units`` in all: each stream keeps one, the rest shared in proportion (largest remainder)."""
    fixed = {n: w for n, w in wanted.items() if not found[n].bundle}
    free = {n: w for n, w in wanted.items() if found[n].bundle}
    room = max_units - sum(fixed.values()) - len(free)
    if room < 0:
        raise UsageError(f"--max-units {max_units}: the plan needs at least {sum(fixed.values()) + len(free)} units "
                         f"(one per stream, {sum(fixed.values())} key ranges already sized)")
    extra_total = sum(w - 1 for w in free.values())
    if extra_total <= room:
        return wanted
    shares = {n: (w - 1) * room / extra_total for n, w in free.items()}
    out = {n: 1 + math.floor(s) for n, s in shares.items()}
    left = room - sum(o - 1 for o in out.values())
    for n in sorted(shares, key=lambda n: (-(shares[n] - math.floor(shares[n])), n))[:left]:
        out[n] += 1
    return {**fixed, **out}


def _chunks(pieces: list[Piece], count: int) -> list[list[Piece]]:
    """``count`` contiguous groups of about equal weight, none empty."""
    if count >= len(pieces):
        return [[p] for p in pieces]
    weights = [max(1, p.estimate.weight) for p in pieces]
    total = sum(weights)
    groups: list[list[Piece]] = []
    current: list[Piece] = []
    acc = 0
    for i, (piece, w) in enumerate(zip(pieces, weights, strict=True)):
        current.append(piece)
        acc += w
        groups_after = count - len(groups) - 1
        pieces_after = len(pieces) - i - 1
        if groups_after and (acc * count >= total * (len(groups) + 1) or pieces_after == groups_after):
            groups.append(current)
            current = []
    groups.append(current)
    return groups


def _merge_estimates(group: list[Piece]) -> Estimate:
    rows = [p.estimate.rows for p in group]
    total = None if any(r is None for r in rows) else sum(r for r in rows if r is not None)
    basis = group[0].estimate.basis if group else "unknown"
    return Estimate(total, sum(p.estimate.partitions for p in group), basis)


def _units_of(stream: str, ps: Pieces, count: int, first: int) -> list[Unit]:
    if not ps.bundle:
        return [Unit(unit_id(first + i), stream, ps.kind, p.bounds, p.estimate, p.state)
                for i, p in enumerate(ps.pieces)]
    out = []
    for i, group in enumerate(_chunks(ps.pieces, count)):
        state = ps.slice_state(group) if ps.slice_state is not None else None
        bounds = {"partitions": [p.bounds for p in group]}
        out.append(Unit(unit_id(first + i), stream, ps.kind, bounds, _merge_estimates(group), state))
    return out


# ------------------------------------------------------------------------------------------- plan()


def make_plan(
    source: Source,
    connector: str,
    streams: list[str],
    pc: PlanContext,
    *,
    max_units: int | None = None,
    rate_limit_rps: float | None = None,
    parallel_shards: int = 1,
    run_id: str | None = None,
) -> Plan:
    """The plan of ``streams`` (see the module docstring); ``rate_limit_rps`` is the budget of all shards."""
    found: dict[str, Pieces] = {}
    for name in streams:
        ps = _planner(source)(source, name, pc)
        if not ps.pieces:  # nothing to read (every window done): still one unit, so the stream completes
            ps = Pieces(ps.kind, [Piece({"partitions": []} if ps.bundle else {}, Estimate(0, 0, "empty"))],
                        ps.stream, bundle=False)
        found[name] = ps
    # --max-units alone: as many units as allowed; a row target (given, or the default) bounds them too
    target = pc.target_rows_per_unit if pc.target_rows_per_unit or max_units is None else 1
    wanted = _units_wanted(found, target or DEFAULT_TARGET_ROWS)
    if max_units is not None:
        wanted = _cap(wanted, found, max_units)
    units: list[Unit] = []
    for name in streams:
        units.extend(_units_of(name, found[name], wanted[name], len(units)))
    per_shard = rate_limit_rps / parallel_shards if rate_limit_rps else None
    return Plan(connector, iso(pc.now), units, {n: found[n].stream for n in streams}, per_shard,
                parallel_shards, run_id or "")


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
