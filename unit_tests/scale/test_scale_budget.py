"""The shared API budget: a plan divides the requests per second among the shards run at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from source_solidafy.errors import UsageError
from source_solidafy.scale.api import plan, prepare_plan_read

CONNECTOR = """
name: budgeted
base_url: "http://127.0.0.1:9"
http: {rate_limit_rps: 12}
streams:
  - name: things
    request: {path: /things}
    decoder: {type: json, records_path: data}
"""


@pytest.fixture
def connector(tmp_path: Path) -> str:
    path = tmp_path / "budgeted.yaml"
    path.write_text(CONNECTOR)
    return str(path)


def _rate(made, tmp_path: Path) -> float | None:
    run = prepare_plan_read(made, {}, output=str(tmp_path / "out"), shard=(0, 1))
    bucket = run.source.runtime(run.config).client._budgets._bucket  # the sync-wide rate_limit_rps bucket
    return bucket.rate if bucket is not None else None


def test_the_connector_budget_is_shared(connector: str, tmp_path: Path) -> None:
    made = plan(connector, {}, parallel_shards=4)
    assert made.rate_limit_rps == 3.0 and made.parallel_shards == 4
    assert b'"budget":{"parallel_shards":4,"rate_limit_rps":3.0}' in made.dumps()
    assert _rate(made, tmp_path) == 3.0  # read --plan applies it to the shard's HTTP client


def test_a_given_budget_overrides_the_connector(connector: str, tmp_path: Path) -> None:
    made = plan(connector, {}, parallel_shards=5, rate_limit_rps=50)
    assert _rate(made, tmp_path) == 10.0
    assert _rate(plan(connector, {}), tmp_path) == 12.0  # one shard: the connector's own


def test_bad_budgets_are_usage_errors(connector: str) -> None:
    with pytest.raises(UsageError, match="--parallel-shards"):
        plan(connector, {}, parallel_shards=0)
    with pytest.raises(UsageError, match="--rate-limit-rps"):
        plan(connector, {}, rate_limit_rps=-1)
    with pytest.raises(UsageError, match="--max-units"):
        plan(connector, {}, max_units=0)
