"""The original project's ten connectors (the compatibility corpus) must load unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from source_solidafy.manifest import load_manifest, summarize
from source_solidafy.manifest.models import AsyncJobPartition, CsvDecoder, CursorPagination, SetStep

SEEDS = Path("/work/shared/compat/seed-connectors")
SEED_FILES = sorted(SEEDS.glob("*.yaml"))


def test_the_corpus_is_there() -> None:
    assert len(SEED_FILES) == 10


@pytest.mark.parametrize("path", SEED_FILES, ids=[p.stem for p in SEED_FILES])
def test_seed_loads_and_summarizes(path: Path) -> None:
    manifest = load_manifest(path)
    assert manifest.streams
    text = summarize(manifest)
    assert text.startswith(f"{manifest.name} {manifest.version}: valid")
    for stream in manifest.streams:
        assert stream.name in text


def test_stripe_canonical_values() -> None:
    m = load_manifest(SEEDS / "stripe.yaml")
    customers = m.stream("customers")
    assert m.auth.type == "bearer"
    assert m.http.rate_limit_rps == 25 and m.http.retry_statuses == [429, 500, 502, 503, 504]
    assert isinstance(customers.pagination, CursorPagination)
    assert customers.pagination.cursor_path == "data[-1].id"
    assert customers.primary_key == ["id"]
    assert customers.request is not None
    assert customers.request.params["created[gte]"].lenient
    assert customers.request.params["limit"].is_static
    assert m.auth.token.where == "stripe.yaml:7: auth.token"


def test_repeated_query_parameter_becomes_a_list() -> None:
    m = load_manifest(SEEDS / "anthropic-billing.yaml")
    req = m.stream("usage_messages_detailed").request
    assert req is not None
    assert [t.source for t in req.params["group_by[]"]] == ["model", "workspace_id", "service_tier"]


def test_salesforce_bulk_async_job_with_ignored_request() -> None:
    m = load_manifest(SEEDS / "salesforce-bulk.yaml")
    s = m.stream("accounts_bulk")
    assert isinstance(s.partition, AsyncJobPartition)
    assert s.partition.download.records_path is None
    assert s.partition.poll.failed_values == ["Failed", "Aborted"]
    assert isinstance(s.decoder, CsvDecoder)
    assert any("streams[0].request: ignored" in w for w in m.warnings)


def test_github_transforms_and_null_cursor() -> None:
    m = load_manifest(SEEDS / "github-billing.yaml")
    s = m.stream("actions_billing")
    assert s.cursor_field is None
    assert isinstance(s.transform[0], SetStep) and s.transform[0].field == "org"
    assert m.stream("copilot_seats").primary_key == ["assignee.login"]
