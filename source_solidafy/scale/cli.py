"""The command line of plans: ``plan``, ``read --plan``, ``state merge`` (docs/scale-out.md).

    solidafy-cdk plan -c demo -C config.json --streams customer_notes --max-units 8 -o plan.jsonl
    solidafy-cdk read -c demo -C config.json --plan plan.jsonl --shard auto/4 -o s3://lake/demo
    solidafy-cdk state merge --plan plan.jsonl -o s3://lake/demo --state s3://lake/demo/state.json
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from source_solidafy import protocol as p
from source_solidafy.errors import UsageError


def add_parsers(sub: Any, add_config: Any) -> None:
    sp = sub.add_parser("plan", help="cut a sync into work units for N processes (docs/scale-out.md)")
    add_config(sp)
    sp.add_argument("--streams", default="", help="streams to plan (comma-separated, empty = all)")
    sp.add_argument("-s", "--state", metavar="FILE|URI", help="the state the units start from")
    sp.add_argument("--state-json", metavar="JSON", help="inline state JSON")
    sp.add_argument("-o", "--output", metavar="FILE|URI", help="where the plan goes (default stdout)")
    sp.add_argument("--max-units", type=int, metavar="N", help="at most N units in all (small partitions bundled)")
    sp.add_argument("--target-rows-per-unit", type=int, metavar="N",
                    help="about N rows per unit (estimated; default 1,000,000)")
    sp.add_argument("--parallel-shards", type=int, default=1, metavar="K",
                    help="shards run at once: each gets the API budget divided by K")
    sp.add_argument("--rate-limit-rps", type=float, metavar="R",
                    help="requests per second for all shards together (default: the connector's http.rate_limit_rps)")
    sp.add_argument("--now", metavar="ISO", help="'now' of date windows and the run's day (default: the clock)")
    sp.add_argument("--run-id", metavar="HEX", help="the run id (default: derived from the plan)")
    sp.add_argument("--cursor-field", action="append", default=[], metavar="STREAM=COLUMN",
                    help="incremental column of a database stream (repeatable)")
    sp.add_argument("--concurrency", type=int, default=4, metavar="N", help="requests in flight for plan-time reads")
    sp = sub.add_parser("state", help="state operations: merge the unit states of a plan")
    ssub = sp.add_subparsers(dest="state_command", metavar="COMMAND", parser_class=type(sp))
    mp = ssub.add_parser("merge", help="merge the manifests of a plan's units into the stream states")
    mp.add_argument("--plan", required=True, metavar="FILE|URI", help="the plan the units ran")
    mp.add_argument("-o", "--output", required=True, metavar="DIR|URI", help="the output the units wrote to")
    mp.add_argument("-s", "--state", metavar="FILE|URI",
                    help="the state file: other streams kept, written back (only if no one else changed it)")
    mp.add_argument("--state-out", metavar="FILE|URI", help="write the merged state here instead")


def add_read_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--plan", metavar="FILE|URI", help="read units of this plan (solidafy-cdk plan)")
    sp.add_argument("--shard", metavar="I/N", help="with --plan: shard I of N; auto/N or auto: the index "
                    "(and count) from JOB_COMPLETION_INDEX, CLOUD_RUN_TASK_INDEX/_COUNT, AWS_BATCH_JOB_ARRAY_INDEX/_SIZE")
    sp.add_argument("--units", metavar="ID,...", help="with --plan: exactly these units")


def _write(chunk: list[dict[str, Any]]) -> None:
    p.NdjsonWriter(sys.stdout.buffer).write(chunk)


def _log_to_stderr(level: str, message: str) -> None:
    if level != "DEBUG":
        sys.stderr.write(f"{level} {message}\n")


def _now(text: str | None) -> datetime | None:
    if not text:
        return None
    from source_solidafy.rest.records import to_datetime

    moment = to_datetime(text)
    if moment is None:
        raise UsageError(f"--now {text!r}: expected an ISO 8601 date-time, e.g. 2025-12-14T00:00:00Z")
    return moment.astimezone(timezone.utc)


def load_plan(location: str) -> Any:
    from source_solidafy.scale.units import loads_plan
    from source_solidafy.small_files import read_file

    data, _ = read_file(location)
    if data is None:
        raise UsageError(f"--plan {location}: not found")
    return loads_plan(data, location)


def cmd_plan(args: argparse.Namespace, config: dict[str, Any], connector: str | None, state: Any) -> int:
    from source_solidafy.cli import _cursor_fields
    from source_solidafy.scale.api import plan
    from source_solidafy.small_files import write_file

    made = plan(connector or "", config, streams=[s.strip() for s in args.streams.split(",") if s.strip()] or None,
                state=state, max_units=args.max_units, target_rows_per_unit=args.target_rows_per_unit,
                parallel_shards=args.parallel_shards, rate_limit_rps=args.rate_limit_rps, now=_now(args.now),
                run_id=args.run_id, cursor_fields=_cursor_fields(args.cursor_field), concurrency=args.concurrency,
                log=_log_to_stderr, on_config=_saved(args))
    data = made.dumps()
    if args.output:
        write_file(args.output, data)
        sys.stderr.write(f"plan {made.run_id}: {len(made.units)} units of {len(made.streams)} streams -> {args.output}\n")
    else:
        sys.stdout.buffer.write(data)
    return 0


def _saved(args: argparse.Namespace) -> Callable[[dict[str, Any], list[Any]], None]:
    """A rotated refresh token during planning (it may read parents) goes into --config FILE at once."""
    from source_solidafy.cli import config_saver

    save = config_saver(args, airbyte=False)

    def listener(config: dict[str, Any], paths: list[Any]) -> None:
        save(config, paths)

    return listener


def cmd_read_plan(args: argparse.Namespace, config: dict[str, Any], connector: str | None) -> int:
    from source_solidafy.scale.api import prepare_plan_read
    from source_solidafy.scale.units import parse_shard

    for flag, given in (("--streams", args.streams), ("--state", args.state), ("--state-json", args.state_json),
                        ("--max-records", args.max_records), ("--catalog", args.catalog)):
        if given:
            raise UsageError(f"read --plan: {flag} cannot be used with a plan (the plan says what each unit reads, "
                             "from which state)")
    the_plan = load_plan(args.plan)
    shard = parse_shard(args.shard) if args.shard else None
    units = args.units.split(",") if args.units else None
    if shard is None and units is None:
        raise UsageError("read --plan: give --shard I/N (or auto/N) or --units ID,...")
    run = prepare_plan_read(the_plan, config, output=args.output, shard=shard, units=units, connector=connector,
                            format=args.format, compression=args.compression, concurrency=args.concurrency,
                            strict=args.strict, verbose=args.verbose)
    from source_solidafy.cli import config_saver

    run.on_config = config_saver(args, airbyte=False)  # a rotated refresh token: into --config FILE, never stdout
    for chunk in run:
        _write(chunk)
    return 1 if run.failed else 0


def cmd_state(args: argparse.Namespace) -> int:
    if args.state_command != "merge":
        raise UsageError("state: expected a command: merge")
    from source_solidafy.scale.merge_io import merge_run

    result = merge_run(load_plan(args.plan), args.output, args.state, args.state_out)
    _write([p.global_state(result.state), {"type": "MERGE_SUMMARY", "summary": result.summary()}])
    for line in result.messages():
        sys.stderr.write(line + "\n")
    return 0 if result.complete else 1
