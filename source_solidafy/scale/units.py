"""The plan file: a header line, then one line per work unit (docs/scale-out.md).

    {"type": "PLAN", "version": 1, "run_id": "3fa2c1d9e0b7", "connector": "demo", "now": "...", ...}
    {"type": "UNIT", "unit_id": "u00000", "stream": "customers", "kind": "stream", "bounds": {}, ...}
    {"type": "UNIT", "unit_id": "u00001", "stream": "customer_notes", "kind": "partitions",
     "bounds": {"partitions": [{"customer_id": "cus_00000"}, ...]}, "estimate": {...}, "state": {...}}

A :class:`Unit` is one task for an engine: one stream, the part of it to read (``kind`` and
``bounds``), how big it is thought to be (``estimate``) and the slice of the incoming stream state
it starts from. Kinds: ``stream`` (the whole stream), ``partitions`` (the listed partitions of a
partition router: list values, date windows, parent keys), ``range`` (a database key range).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from source_solidafy import jsoncodec
from source_solidafy.errors import UsageError

PLAN_VERSION = 1
KINDS = ("stream", "partitions", "range")


@dataclass(frozen=True)
class Estimate:
    """How big a unit is thought to be. ``rows`` is None when nothing tells; ``basis`` says where it comes from."""

    rows: int | None = None
    partitions: int = 1
    basis: str = "unknown"  # e.g. "page_size", "count", "quantiles", "pg_class.reltuples"

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "partitions": self.partitions, "basis": self.basis}

    @classmethod
    def from_dict(cls, value: dict[str, Any] | None) -> Estimate:
        value = value or {}
        return cls(value.get("rows"), int(value.get("partitions", 1)), str(value.get("basis", "unknown")))

    @property
    def weight(self) -> int:
        """What shards balance on: rows when estimated, else partitions."""
        return self.rows if self.rows is not None else self.partitions


@dataclass(frozen=True)
class Unit:
    """One work unit of a plan (see the module docstring)."""

    unit_id: str
    stream: str
    kind: str
    bounds: dict[str, Any] = field(default_factory=dict)
    estimate: Estimate = field(default_factory=Estimate)
    state: dict[str, Any] | None = None  # this unit's slice of the incoming stream state

    @property
    def number(self) -> int:
        """The unit's position in its plan (``u00012`` -> 12): file names use it."""
        return int(self.unit_id.lstrip("u"))

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "UNIT", "unit_id": self.unit_id, "stream": self.stream, "kind": self.kind,
                               "bounds": self.bounds, "estimate": self.estimate.as_dict()}
        if self.state:
            out["state"] = self.state
        return out

    @classmethod
    def from_dict(cls, value: dict[str, Any], where: str) -> Unit:
        try:
            unit = cls(str(value["unit_id"]), str(value["stream"]), str(value["kind"]), dict(value.get("bounds") or {}),
                       Estimate.from_dict(value.get("estimate")), value.get("state") or None)
            unit.number  # noqa: B018 - a malformed id fails here, not in the middle of a read
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"{where}: not a plan unit ({type(exc).__name__}: {exc})") from None
        if unit.kind not in KINDS:
            raise UsageError(f"{where}: unit {unit.unit_id}: unknown kind '{unit.kind}'; expected one of {', '.join(KINDS)}")
        return unit


def unit_id(number: int) -> str:
    return f"u{number:05d}"


@dataclass(frozen=True)
class StreamPlan:
    """What the plan says about one stream beyond its units (what ``state merge`` needs).

    The incoming stream state is split between the units (each carries the entries of its
    partitions) and ``base`` (the rest: the stream cursor, entries of windows no unit reads, ...).
    """

    router: str | None = None  # the partition router type ("list", "date_range", "parent_stream") or None
    base: dict[str, Any] | None = None  # the incoming state less what the units carry
    after: dict[str, Any] = field(default_factory=dict)  # state keys set once every unit is done (e.g. parent)
    replace: bool = False  # read from scratch: the run's files replace the day's earlier ones
    warnings: list[str] = field(default_factory=list)  # the plan-time read may have missed something
    state_sha256: str = ""  # of the incoming stream state (``state merge`` checks the state file against it)
    cursor_field: str | None = None  # a database stream's --cursor-field, for every unit's read

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"router": self.router, "replace": self.replace, "state_sha256": self.state_sha256}
        for key in ("base", "after", "warnings", "cursor_field"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> StreamPlan:
        return cls(value.get("router"), value.get("base") or None, dict(value.get("after") or {}),
                   bool(value.get("replace")), list(value.get("warnings") or []), str(value.get("state_sha256") or ""),
                   value.get("cursor_field"))


@dataclass
class Plan:
    """A plan: which connector and streams, the run, the shared API budget and the units."""

    connector: str
    now: str  # ISO 8601 UTC: "now" of every date window, and the day (dt=) of every file of the run
    units: list[Unit]
    streams: dict[str, StreamPlan]
    rate_limit_rps: float | None = None  # per shard: the connector's budget divided by parallel_shards
    parallel_shards: int = 1
    run_id: str = ""

    def __post_init__(self) -> None:
        if not self.run_id:
            self.run_id = self.derived_run_id()

    def derived_run_id(self) -> str:
        """12 hex digits of a hash of everything but the run id: the same plan, the same run."""
        body = jsoncodec.dumps([self._header(run_id=""), [u.as_dict() for u in self.units]], option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(body).hexdigest()[:12]

    def _header(self, run_id: str) -> dict[str, Any]:
        return {"type": "PLAN", "version": PLAN_VERSION, "run_id": run_id, "connector": self.connector,
                "now": self.now,
                "budget": {"rate_limit_rps": self.rate_limit_rps, "parallel_shards": self.parallel_shards},
                "streams": {name: sp.as_dict() for name, sp in self.streams.items()}, "units": len(self.units)}

    def dumps(self) -> bytes:
        lines = [self._header(self.run_id), *(u.as_dict() for u in self.units)]
        return b"".join(jsoncodec.dumps(line, option=orjson.OPT_SORT_KEYS) + b"\n" for line in lines)

    def units_of(self, stream: str) -> list[Unit]:
        return [u for u in self.units if u.stream == stream]

    def unit(self, wanted: str) -> Unit:
        for u in self.units:
            if u.unit_id == wanted:
                return u
        raise UsageError(f"--units {wanted}: no such unit in the plan (it has {self.units[0].unit_id if self.units else 'none'}"
                         f"..{self.units[-1].unit_id if self.units else ''})")


def state_sha256(state: dict[str, Any] | None) -> str:
    """Of a stream state (None and {} alike: no state)."""
    return hashlib.sha256(jsoncodec.dumps(state or {}, option=orjson.OPT_SORT_KEYS)).hexdigest()


def loads_plan(data: bytes, where: str) -> Plan:
    lines = [line for line in data.splitlines() if line.strip()]
    if not lines:
        raise UsageError(f"{where}: empty plan file")
    try:
        rows = [jsoncodec.loads(line) for line in lines]
    except jsoncodec.JSONDecodeError as exc:
        raise UsageError(f"{where}: not a plan file (JSON lines expected: {exc})") from None
    head = rows[0]
    if not isinstance(head, dict) or head.get("type") != "PLAN":
        raise UsageError(f"{where}: not a plan file (the first line is not a PLAN header); make one with solidafy-cdk plan")
    if head.get("version") != PLAN_VERSION:
        raise UsageError(f"{where}: plan version {head.get('version')!r}; this solidafy-cdk reads version {PLAN_VERSION}")
    units = [Unit.from_dict(r, f"{where}:{i + 2}") for i, r in enumerate(rows[1:]) if isinstance(r, dict)]
    if len(units) != head.get("units"):
        raise UsageError(f"{where}: the header says {head.get('units')} units, the file has {len(units)} (truncated?)")
    budget = head.get("budget") or {}
    plan = Plan(str(head["connector"]), str(head["now"]), units,
                {k: StreamPlan.from_dict(v) for k, v in (head.get("streams") or {}).items()},
                budget.get("rate_limit_rps"), int(budget.get("parallel_shards") or 1),
                str(head.get("run_id") or ""))
    if len({u.unit_id for u in units}) != len(units):
        raise UsageError(f"{where}: two units share a unit_id")
    return plan


# ------------------------------------------------------------------------------------------- shards

# Engines that start N copies of one container tell each its index (and some the count) in the environment.
INDEX_VARIABLES = ("JOB_COMPLETION_INDEX", "CLOUD_RUN_TASK_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX")
COUNT_VARIABLES = {"CLOUD_RUN_TASK_INDEX": "CLOUD_RUN_TASK_COUNT", "AWS_BATCH_JOB_ARRAY_INDEX": "AWS_BATCH_JOB_ARRAY_SIZE"}


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"--shard: {what} must be a whole number, got {text!r}") from None


def parse_shard(text: str, environ: dict[str, str] | None = None) -> tuple[int, int]:
    """``I/N``, ``auto/N`` (index from the engine's environment) or ``auto`` (index and count from it)."""
    env = os.environ if environ is None else environ
    index_text, sep, count_text = text.partition("/")
    if index_text == "auto":
        name = next((n for n in INDEX_VARIABLES if env.get(n, "") != ""), None)
        if name is None:
            raise UsageError(f"--shard {text}: none of {', '.join(INDEX_VARIABLES)} is set")
        index_text = env[name]
        if not sep:
            count_name = COUNT_VARIABLES.get(name)
            if count_name is None or not env.get(count_name):
                raise UsageError(f"--shard auto: {name} gives the index but nothing gives the shard count; "
                                 "use --shard auto/N (N = the Job's completions)")
            count_text = env[count_name]
    elif not sep:
        raise UsageError(f"--shard {text}: expected I/N (e.g. 0/4), auto/N or auto")
    index, count = _int(index_text, "the shard index"), _int(count_text, "the shard count")
    if count < 1 or not 0 <= index < count:
        raise UsageError(f"--shard {text}: expected 0 <= index < count, got index {index} of {count}")
    return index, count


def shard_units(units: list[Unit], index: int, count: int) -> list[Unit]:
    """The units of shard ``index`` of ``count``: disjoint, together every unit, balanced on estimates.

    Largest first, each to the shard with the least weight so far (ties: the lower shard); the same
    plan and count always give the same assignment. A shard's units keep plan order.
    """
    loads = [0] * count
    owner: dict[str, int] = {}
    for u in sorted(units, key=lambda u: (-u.estimate.weight, u.number)):
        target = min(range(count), key=lambda s: (loads[s], s))
        owner[u.unit_id] = target
        loads[target] += max(1, u.estimate.weight)
    return [u for u in units if owner[u.unit_id] == index]


def pick_units(plan: Plan, wanted: Iterable[str]) -> list[Unit]:
    ids = {w.strip() for w in wanted if w.strip()}
    for w in sorted(ids):
        plan.unit(w)
    return [u for u in plan.units if u.unit_id in ids]
