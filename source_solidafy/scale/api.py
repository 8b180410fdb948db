"""The Python API of plans: ``plan``, ``read_plan``, ``merge_state`` (also ``source_solidafy.plan`` ...).

    import source_solidafy as ss
    plan = ss.plan("demo", config, streams=["customer_notes"], max_units=8, parallel_shards=4)
    for i in range(4):                                    # each of these in its own process or task
        for chunk in ss.read_plan(plan, config, shard=(i, 4), output="s3://lake/demo"):
            ...
    result = ss.merge_state(plan, "s3://lake/demo", "s3://lake/demo/state.json")  # once every shard is done
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from source_solidafy.api import _select, _validated, config_listener, load_connector
from source_solidafy.config_updates import ConfigListener
from source_solidafy.errors import UsageError
from source_solidafy.scale.merge_io import MergeResult, merge_run
from source_solidafy.scale.planning import PlanContext, make_plan
from source_solidafy.scale.shard import ShardOptions, ShardRun
from source_solidafy.scale.units import Plan, pick_units, shard_units
from source_solidafy.sinks.layout import RUN_ID_RULE, valid_run_id
from source_solidafy.source import LogFn, Source
from source_solidafy.state import StateMap, parse_state


def _positive(value: int | None, flag: str) -> None:
    if value is not None and value < 1:
        raise UsageError(f"{flag} must be a positive integer, got {value}")


def plan(
    connector: str | Source,
    config: dict[str, Any],
    *,
    streams: list[str] | None = None,
    state: dict[str, Any] | list[Any] | StateMap | None = None,
    max_units: int | None = None,
    target_rows_per_unit: int | None = None,
    parallel_shards: int = 1,
    rate_limit_rps: float | None = None,
    now: datetime | None = None,
    run_id: str | None = None,
    cursor_fields: dict[str, str] | None = None,
    concurrency: int = 4,
    log: LogFn | None = None,
    on_config: ConfigListener | None = None,
) -> Plan:
    """The work units of a sync (docs/scale-out.md). Deterministic: the same connector, config,
    streams, state and ``now`` give the same plan, byte for byte.

    ``on_config`` hears of a config the planning changed (it may read parents: a rotated refresh token).

    ``rate_limit_rps`` (default: the connector's ``http.rate_limit_rps``) is the API budget of all
    shards together; each shard gets ``rate_limit_rps / parallel_shards``.
    """
    _positive(max_units, "--max-units")
    _positive(target_rows_per_unit, "--target-rows-per-unit")
    _positive(parallel_shards, "--parallel-shards")
    _positive(concurrency, "--concurrency")
    if rate_limit_rps is not None and not rate_limit_rps > 0:
        raise UsageError(f"--rate-limit-rps must be a positive number, got {rate_limit_rps}")
    if run_id is not None and not valid_run_id(run_id):
        raise UsageError(f"--run-id {run_id!r}: {RUN_ID_RULE}")
    source = load_connector(connector)
    try:
        config = _validated(source, config)
        incoming = parse_state(state)
        selected = _select(source, config, streams)
        moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
        pc = PlanContext(config, incoming, moment, target_rows_per_unit, concurrency,
                         dict(cursor_fields or {}), log or (lambda level, message: None))
        label = connector if isinstance(connector, str) else source.name
        with config_listener(source, config, on_config):
            return make_plan(source, label, selected, pc, max_units=max_units,
                             rate_limit_rps=rate_limit_rps or source.declared_rate_limit(),
                             parallel_shards=parallel_shards, run_id=run_id)
    finally:
        source.close()


def prepare_plan_read(
    the_plan: Plan,
    config: dict[str, Any],
    *,
    output: str,
    shard: tuple[int, int] | None = None,
    units: Iterable[str] | None = None,
    connector: str | Source | None = None,
    **options: Any,
) -> ShardRun:
    """The units of one shard (``shard=(index, count)``) or the named ``units``, ready to iterate."""
    if shard is not None and units is not None:
        raise UsageError("read --plan: give --shard or --units, not both")
    if not output:
        raise UsageError("read --plan needs --output (a directory or s3:// r2:// gs:// az:// URI): each unit "
                         "writes files and a manifest there")
    chosen = pick_units(the_plan, units) if units is not None else \
        shard_units(the_plan.units, *shard) if shard is not None else list(the_plan.units)
    source = load_connector(connector or the_plan.connector)
    config = _validated(source, config)
    return ShardRun(the_plan, chosen, source, config, ShardOptions(output=output, **options))


def read_plan(the_plan: Plan, config: dict[str, Any], **options: Any) -> Any:
    """Chunks of messages of one shard's read (see :func:`prepare_plan_read`)."""
    return iter(prepare_plan_read(the_plan, config, **options))


def load_plan(location: str) -> Plan:
    """A plan file by path or object-store URI."""
    from source_solidafy.scale.cli import load_plan as load

    return load(location)


def merge_state(the_plan: Plan, output: str, state: str | None = None, state_out: str | None = None) -> MergeResult:
    """Merge the manifests of ``the_plan``'s units in ``output`` (see :mod:`source_solidafy.scale.merge_io`)."""
    return merge_run(the_plan, output, state, state_out)
