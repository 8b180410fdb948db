"""Plans of REST streams: one piece per partition (list value, date window, parent key), and the
router that reads exactly a unit's partitions (docs/scale-out.md).

A ``parent_stream`` child is planned by reading its parent at plan time, from the parent state the
child keeps, exactly as a sync would: the plan then lists the parent keys, sorted, and bundles them.
The parent state that read ends on goes into the plan (``after``) and into the merged state once
every unit of the child is done. A stream without a partition, or an ``async_job`` one, is one unit.

The size of a REST partition is not known before it is read: the estimate is one page (the page
size the request asks for, else 100 rows), ``basis: "one page per partition"``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from source_solidafy.errors import StreamError, TemplateError
from source_solidafy.manifest.templates import build_context
from source_solidafy.rest.pages import page_size_of
from source_solidafy.rest.partition_state import PartitionStates, partition_key
from source_solidafy.rest.partitions import build_router
from source_solidafy.rest.routers import DateRangeRouter, Router
from source_solidafy.rest.source import DeclarativeSource
from source_solidafy.scale.planning import Piece, Pieces, PlanContext, register_planner, whole_stream
from source_solidafy.scale.units import Estimate, StreamPlan, state_sha256
from source_solidafy.source import ReadContext, SyncServices

if TYPE_CHECKING:
    from source_solidafy.manifest.models import Stream
    from source_solidafy.scale.units import Unit

ASSUMED_PAGE = 100
BASIS = "one page per partition"


def _page_size(spec: Stream, config: dict[str, Any]) -> int:
    req = spec.request
    if req is None:
        return ASSUMED_PAGE
    ctx = build_context(config)
    params: dict[str, Any] = {}
    for key, tmpl in req.params.items():
        try:
            params[key] = tmpl[0].render(ctx) if isinstance(tmpl, list) else tmpl.render(ctx)
        except (TemplateError, IndexError):
            continue
    found = page_size_of(params)
    return found[1] if found else ASSUMED_PAGE


class _Collector:
    """Warnings of the plan-time read (a parent read that may have stopped early, or skipped a part: an
    ``errors:`` ignore), listed in the plan; the parent's state is not advanced past them."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def __call__(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)


@register_planner("rest")
def plan_rest(source: DeclarativeSource, stream: str, pc: PlanContext) -> Pieces:
    spec = source.manifest.stream(stream)
    part = spec.partition
    if part is None or part.type == "async_job":
        return whole_stream(source, stream, pc)
    incoming = pc.state.get(stream) or None
    warned = _Collector()
    ctx = ReadContext(config=pc.config, state=incoming, concurrency=pc.concurrency, log=pc.log,
                      services=SyncServices([stream]), on_warning=warned, on_skip=warned)  # a parent's skip too
    router, states = build_router(spec, ctx, incoming, source.read_plain, source.manifest.stream_names())
    if isinstance(router, DateRangeRouter):
        router.now = pc.now
    found = []
    for partition in router.partitions():
        key = router.key(partition)
        if not router.skip(key, partition):
            found.append((key, partition))
    if part.type == "parent_stream":  # the parent's order is the API's: the plan's is the keys'
        found.sort(key=lambda kp: partition_key(kp[1]))
    estimate = Estimate(_page_size(spec, pc.config), 1, BASIS)
    pieces = [Piece(p, estimate, states.incoming.get(k)) for k, p in found]
    after = {} if warned.warnings else router.extra(True)
    plan = StreamPlan(part.type, _base(incoming, states, {k for k, _ in found}), after, replace=not incoming,
                      warnings=warned.warnings, state_sha256=state_sha256(incoming))
    return Pieces("partitions", pieces, plan, bundle=True, slice_state=_slicer(incoming, states.per_partition))


def _base(incoming: dict[str, Any] | None, states: PartitionStates, planned: set[str]) -> dict[str, Any] | None:
    """The incoming state less the entries the units carry and those the router forgot (old windows)."""
    if not incoming:
        return None
    out = {k: v for k, v in incoming.items() if k != "partitions"}
    if states.per_partition:
        out["partitions"] = [e for k, e in states.entries.items() if k not in planned and k in states.incoming]
    return out


def _slicer(incoming: dict[str, Any] | None, per_partition: bool) -> Any:
    """A bundle's incoming state: its partitions' entries, or the stream cursor of a state without any."""

    def slice_state(group: list[Piece]) -> dict[str, Any] | None:
        if per_partition:
            return {"partitions": [p.state for p in group if p.state is not None]}
        cursor = (incoming or {}).get("cursor")
        return {"cursor": cursor} if cursor is not None else None

    return slice_state


class UnitRouter(Router):
    """Exactly the partitions of one plan unit, known the way the stream's own router knows them."""

    def __init__(self, router: Router, unit: Unit) -> None:
        super().__init__(router.part, router.inputs)
        self.key = router.key  # type: ignore[method-assign]
        self.read = router.read  # type: ignore[method-assign]
        self.cursor_order = router.cursor_order  # type: ignore[method-assign]
        self.track_done = router.track_done
        self.listed = list(unit.bounds.get("partitions") or [])

    def partitions(self) -> Iterator[dict[str, Any]]:
        for partition in self.listed:
            if not isinstance(partition, dict):
                raise StreamError(f"stream '{self.stream}': plan unit partition {partition!r} is not an object")
            yield partition


def unit_router(router: Router, unit: Unit) -> Router:
    """The router of ``unit``: the stream's own when the unit is the whole stream."""
    if unit.kind == "stream":
        return router
    if unit.kind != "partitions":
        kind = getattr(router.part, "type", "none")
        raise StreamError(f"stream '{router.stream}': plan unit {unit.unit_id} is of kind '{unit.kind}', which this "
                          f"stream cannot read (its partition is {kind}); make the plan again")
    return UnitRouter(router, unit)
