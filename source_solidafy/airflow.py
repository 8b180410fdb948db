"""Airflow: one DAG per big sync, plan -> one mapped task per shard -> merge (``pip install 'source-solidafy[airflow]'``).

    # dags/stripe_events.py
    from source_solidafy.airflow import plan_dag

    dag = plan_dag("stripe_events", "stripe", {"api_key": "..."}, output="s3://lake/stripe",
                   state="s3://lake/stripe/state.json", shards=8, max_units=64, schedule="@daily")

``plan`` writes the plan to ``<output>/_solidafy/plans/<run_id>.jsonl`` and returns one bundle of
unit ids per shard; ``read_shard`` is mapped over the bundles (Airflow's dynamic task mapping: as
many task instances as bundles, each a few units of seconds to minutes of work, not one task per API
partition); ``merge`` runs ``state merge`` once every shard is done and fails when a unit has no
manifest (the cursors are then held). A retried ``read_shard`` skips its finished units and
rewrites the files of the one it was in (docs/scale-out.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import DAG, task

from source_solidafy.errors import SolidafyError


def plan_bundles(connector: str, config: dict[str, Any], output: str, state: str | None, shards: int,
                 **plan_options: Any) -> list[dict[str, Any]]:
    """Make and store the plan; one ``{"plan": uri, "units": [...]}`` per shard that has units."""
    from source_solidafy.scale.api import plan
    from source_solidafy.scale.units import shard_units
    from source_solidafy.small_files import write_file
    from source_solidafy.state import load_state_versioned

    incoming = load_state_versioned(state)[0] if state else None
    made = plan(connector, config, state=incoming, parallel_shards=shards, **plan_options)
    uri = f"{output.rstrip('/')}/_solidafy/plans/{made.run_id}.jsonl"
    write_file(uri, made.dumps())
    bundles = [[u.unit_id for u in shard_units(made.units, i, shards)] for i in range(shards)]
    return [{"plan": uri, "units": ids} for ids in bundles if ids]


def read_bundle(connector: str, config: dict[str, Any], output: str, bundle: dict[str, Any],
                **options: Any) -> dict[str, Any]:
    """Read one bundle of units (a shard); raise when a unit failed (Airflow retries the task)."""
    from source_solidafy.scale.api import load_plan, prepare_plan_read

    run = prepare_plan_read(load_plan(bundle["plan"]), config, output=output, units=bundle["units"],
                            connector=connector, **options)
    for _ in run:
        pass
    summary = run.summary or {}
    if run.failed:
        failed = [u for u in summary.get("units_detail", []) if u["status"] == "FAILED"]
        raise SolidafyError(f"{len(failed)} of {len(bundle['units'])} units failed: "
                            + "; ".join(f"{u['unit_id']}: {u.get('error')}" for u in failed[:5]))
    return {"plan": bundle["plan"], "units": len(bundle["units"]), "rows": summary.get("total_records", 0)}


def merge_bundles(output: str, state: str | None, results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    from source_solidafy.scale.api import load_plan, merge_state

    done = list(results)
    if not done:
        return {"complete": True, "streams": []}
    result = merge_state(load_plan(done[0]["plan"]), output, state)
    if not result.complete:
        raise SolidafyError("; ".join(result.messages()))
    return result.summary()


def plan_dag(dag_id: str, connector: str, config: dict[str, Any], *, output: str, state: str | None = None,
             shards: int = 4, streams: list[str] | None = None, max_units: int | None = None,
             target_rows_per_unit: int | None = None, format: str = "parquet",  # noqa: A002 - the CLI's name
             **dag_options: Any) -> DAG:
    """The DAG of one sync cut into ``shards`` bundles (see the module docstring); ``dag_options`` go to DAG()."""
    with DAG(dag_id, **dag_options) as dag:
        @task(task_id="plan")
        def plan_task() -> list[dict[str, Any]]:
            return plan_bundles(connector, config, output, state, shards, streams=streams, max_units=max_units,
                                target_rows_per_unit=target_rows_per_unit)

        @task(task_id="read_shard")
        def read_task(bundle: dict[str, Any]) -> dict[str, Any]:
            return read_bundle(connector, config, output, bundle, format=format)

        @task(task_id="merge")
        def merge_task(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
            return merge_bundles(output, state, results)

        merge_task(read_task.expand(bundle=plan_task()))  # type: ignore[arg-type]  # an XComArg of the mapped results
    return dag
