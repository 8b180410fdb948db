"""Dagster assets, one per stream, each materialisation a sync (``pip install 'source-solidafy[dagster]'``).

    from dagster import Definitions, StaticPartitionsDefinition
    from source_solidafy.dagster import build_assets

    tenants = StaticPartitionsDefinition(["acme", "globex"])
    assets = build_assets("stripe", lambda tenant: {"api_key": KEYS[tenant]}, output="s3://lake/stripe",
                          partitions=tenants, state_dir="s3://lake/stripe/_state")
    defs = Definitions(assets=assets)

- **Partitions**: any Dagster ``PartitionsDefinition``: static (tenants: ``config`` is then a function
  of the partition key), daily (``window=("start_date", "end_date")`` puts the partition's
  ``[start, end)`` in those config keys, ISO 8601 UTC), or dynamic (keys added at run time).
- **Output**: a partition's files go under ``<output>/partition=<key>/<stream>/dt=.../``; a partition
  read from no state (a daily window, or a first sync) replaces its own earlier files of the day, so a
  rerun of one partition never duplicates it (docs/outputs.md).
- **State**: with ``state_dir``, each stream and partition keeps ``<state_dir>/<stream>/<key>.json``
  (paths or object-store URIs, written conditionally): incremental syncs per tenant. Daily windows
  need none.
- **Metadata** of each materialisation: ``rows``, ``files``, ``cursor``, ``status`` and ``warnings``
  (a warning: the cursor did not advance). A failed stream fails the materialisation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import dagster as dg

from source_solidafy.api import load_connector, prepare_sync
from source_solidafy.state import load_state_versioned

ConfigFor = dict[str, Any] | Callable[[str | None], dict[str, Any]]


def _iso(moment: Any) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _config(config: ConfigFor, context: dg.AssetExecutionContext, window: tuple[str, str] | None) -> dict[str, Any]:
    key = context.partition_key if context.has_partition_key else None
    out = dict(config(key) if callable(config) else config)
    if window is not None:
        span = context.partition_time_window
        out[window[0]], out[window[1]] = _iso(span.start), _iso(span.end)
    return out


def sync_stream(connector: str, stream: str, config: dict[str, Any], *, output: str, key: str | None,
                state_file: str | None, format: str = "parquet", **options: Any) -> dg.MaterializeResult:  # noqa: A002
    """One sync of one stream; what the asset reports."""
    where = output if key is None else f"{output.rstrip('/')}/partition={key}"
    state, version = load_state_versioned(state_file) if state_file else ({}, None)
    run = prepare_sync(connector, config, streams=[stream], output=where, format=format, state=state,
                       state_file=state_file, state_version=version, **options)
    for _ in run:
        pass
    result = run.runs[stream]
    if result.status == "FAILED":
        raise dg.Failure(description=f"{stream}: {result.error}", metadata={"rows": result.records})
    sink = run.plan.sink
    files = list(getattr(sink, "files", {}).get(stream, []))
    state = run.final_state.get(stream) or {}
    metadata: dict[str, Any] = {
        "rows": result.records,
        "files": dg.MetadataValue.json(files),
        "cursor": dg.MetadataValue.text(str(state.get("cursor"))) if state.get("cursor") is not None else None,
        "status": "SUCCEEDED_WITH_WARNINGS" if result.held else "SUCCEEDED",
        "warnings": dg.MetadataValue.json(result.warning_list()),
    }
    return dg.MaterializeResult(metadata={k: v for k, v in metadata.items() if v is not None})


def build_assets(
    connector: str,
    config: ConfigFor,
    *,
    output: str,
    streams: Sequence[str] | None = None,
    partitions: dg.PartitionsDefinition | None = None,
    window: tuple[str, str] | None = None,
    state_dir: str | None = None,
    format: str = "parquet",  # noqa: A002 - the CLI's name
    key_prefix: Sequence[str] | None = None,
    group_name: str | None = None,
    **options: Any,
) -> list[dg.AssetsDefinition]:
    """One asset per stream (all of the connector's by default; see the module docstring)."""
    if window is not None and not isinstance(partitions, dg.TimeWindowPartitionsDefinition):
        raise ValueError("window= needs time-window partitions (e.g. dagster.DailyPartitionsDefinition)")
    names = list(streams) if streams else load_connector(connector).stream_names(None if callable(config) else config)
    return [_asset(connector, config, stream, output, partitions, window, state_dir, format, key_prefix,
                   group_name, options) for stream in names]


def _asset(connector: str, config: ConfigFor, stream: str, output: str, partitions: dg.PartitionsDefinition | None,
           window: tuple[str, str] | None, state_dir: str | None, fmt: str, key_prefix: Sequence[str] | None,
           group_name: str | None, options: dict[str, Any]) -> dg.AssetsDefinition:
    @dg.asset(name=_asset_name(stream), key_prefix=list(key_prefix) if key_prefix else None, group_name=group_name,
              partitions_def=partitions, description=f"{connector}: stream {stream}",
              metadata={"connector": connector, "stream": stream})
    def materialise(context) -> dg.MaterializeResult:  # no annotation: dagster reads it (a string here)
        key = context.partition_key if context.has_partition_key else None
        state_file = f"{state_dir.rstrip('/')}/{stream}/{key or 'all'}.json" if state_dir and window is None else None
        return sync_stream(connector, stream, _config(config, context, window), output=output, key=key,
                           state_file=state_file, format=fmt, **options)

    return materialise


def _asset_name(stream: str) -> str:
    """Dagster names are ``[A-Za-z0-9_]+``: ``public.orders`` -> ``public__orders``."""
    return "".join(c if c.isalnum() or c == "_" else "__" if c == "." else "_" for c in stream)
