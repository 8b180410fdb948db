"""source_solidafy.dagster with Dagster in-process (materialize): tenants, daily windows with a backfill and
a rerun of one day, dynamic partitions; against the shards mock API over a real socket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

dg = pytest.importorskip("dagster", reason="the dagster extra is not installed (pip install '.[dagster]')")

from integration_tests.mocks.shards import CONNECTOR, ShardsApi, config  # noqa: E402
from source_solidafy.dagster import build_assets  # noqa: E402


@pytest.fixture
def connector(tmp_path: Path) -> str:
    path = tmp_path / "shards.yaml"
    path.write_text(CONNECTOR)
    return str(path)


@pytest.fixture
def apis() -> Iterator[dict[str, ShardsApi]]:
    with ShardsApi(accounts=10) as acme, ShardsApi(accounts=4) as globex:
        yield {"acme": acme, "globex": globex}


def _materialise(assets: list[Any], key: str, instance: Any) -> dict[str, dict[str, Any]]:
    result = dg.materialize(assets, partition_key=key, instance=instance)
    assert result.success
    out = {}
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        out[mat.asset_key.path[-1]] = {k: v.value for k, v in mat.metadata.items()}
    return out


def _ids(files: list[str]) -> list[str]:
    import pyarrow.parquet as pq

    return [r["id"] for f in files for r in pq.ParquetFile(f).read().to_pylist()]


def test_tenants_incremental(connector: str, apis: dict[str, ShardsApi], tmp_path: Path) -> None:
    tenants = dg.StaticPartitionsDefinition(["acme", "globex"])
    assets = build_assets(connector, lambda tenant: config(apis[tenant].url), output=str(tmp_path / "lake"),
                          streams=["accounts"], partitions=tenants, state_dir=str(tmp_path / "state"))
    instance = dg.DagsterInstance.ephemeral()
    acme = _materialise(assets, "acme", instance)["accounts"]
    globex = _materialise(assets, "globex", instance)["accounts"]
    assert (acme["rows"], globex["rows"]) == (10, 4)
    assert sorted(_ids(acme["files"])) == [f"acc_{i:04d}" for i in range(10)]
    assert all("/partition=acme/accounts/" in f for f in acme["files"])
    assert acme["cursor"] == "2024-01-01T00:09:00Z" and acme["status"] == "SUCCEEDED"
    state = json.loads((tmp_path / "state" / "accounts" / "acme.json").read_text())
    assert state["streams"]["accounts"]["cursor"] == acme["cursor"]
    again = _materialise(assets, "acme", instance)["accounts"]  # incremental: only the record at the cursor
    assert again["rows"] == 1


def test_daily_backfill_and_a_rerun(connector: str, apis: dict[str, ShardsApi], tmp_path: Path) -> None:
    days = dg.DailyPartitionsDefinition(start_date="2024-03-01", end_date="2024-03-05")
    assets = build_assets(connector, config(apis["acme"].url), output=str(tmp_path / "lake"),
                          streams=["daily_events"], partitions=days, window=("start_date", "end_date"))
    instance = dg.DagsterInstance.ephemeral()
    keys = days.get_partition_keys()
    assert keys == ["2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04"]
    first = {k: _materialise(assets, k, instance)["daily_events"] for k in keys}  # the backfill, one run per day
    for k, meta in first.items():
        assert meta["rows"] == 24
        assert {i[3:13] for i in _ids(meta["files"])} == {k}  # each day's window, and only it
    rerun = _materialise(assets, "2024-03-02", instance)["daily_events"]
    assert rerun["rows"] == 24
    lake = tmp_path / "lake"
    every = _ids([str(p) for p in lake.glob("partition=*/daily_events/dt=*/*.parquet")])
    assert len(every) == len(set(every)) == 24 * 4  # the rerun replaced its day's files: nothing twice
    records = instance.get_latest_materialization_event(dg.AssetKey("daily_events"))
    assert records is not None and records.dagster_event.partition == "2024-03-02"


def test_dynamic_partitions(connector: str, apis: dict[str, ShardsApi], tmp_path: Path) -> None:
    regions = dg.DynamicPartitionsDefinition(name="tenants")
    assets = build_assets(connector, lambda tenant: config(apis[tenant].url), output=str(tmp_path / "lake"),
                          streams=["region_events"], partitions=regions)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("tenants", ["globex"])
    meta = _materialise(assets, "globex", instance)["region_events"]
    assert meta["rows"] == 6 * 7
    with pytest.raises(Exception, match="acme"):  # not added yet: Dagster refuses the key
        dg.materialize(assets, partition_key="acme", instance=instance)


def test_a_failed_sync_fails_the_materialisation(connector: str, tmp_path: Path) -> None:
    assets = build_assets(connector, {**config("http://127.0.0.1:9"), "api_key": "x"}, output=str(tmp_path / "lake"),
                          streams=["accounts"])
    result = dg.materialize(assets, raise_on_error=False)
    assert not result.success
