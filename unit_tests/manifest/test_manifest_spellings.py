"""README form and seed-file form of the same thing load into one canonical model."""

from __future__ import annotations

from datetime import timedelta

import pytest

from source_solidafy.errors import ManifestError
from source_solidafy.manifest import load_manifest_text
from source_solidafy.manifest.models import (
    CursorPagination,
    DateRangePartition,
    JsonDecoder,
    NoAuth,
    ParentStreamPartition,
    RemoveStep,
    RenameStep,
    Stop,
    Stream,
)

HEAD = "name: t\nbase_url: https://x\nstreams:\n  - name: s\n    request: {path: /s}\n"
PARENT = "  - name: orgs\n    request: {path: /orgs}\n"  # the parent some partitions name


def stream(extra: str) -> Stream:
    return load_manifest_text(HEAD + extra + PARENT).streams[0]


def test_parent_stream_both_forms() -> None:
    readme = stream("    partition: {type: parent_stream, stream: orgs, field: org_id, parent_field: id}\n")
    seed = stream("    partition: {type: parent, stream: orgs, parent_field: id, partition_field: org_id}\n")
    assert readme == seed
    assert isinstance(seed.partition, ParentStreamPartition)
    assert (seed.partition.type, seed.partition.field, seed.partition.parent_field) == ("parent_stream", "org_id", "id")
    default = stream("    partition: {type: parent, stream: orgs, parent_field: id}\n")
    assert default.partition.field == "id"  # type: ignore[union-attr]
    assert seed.partition.parent_fields == {"org_id": "id"} and default.partition.parent_fields == {"id": "id"}  # type: ignore[union-attr]


def test_parent_fields_a_mapping_or_a_list() -> None:
    named = stream("    partition: {type: parent_stream, stream: orgs, parent_fields: {org: id, owner: owner.login}}\n")
    listed = stream("    partition: {type: parent_stream, stream: orgs, parent_fields: [id, owner_id]}\n")
    assert named.partition.parent_fields == {"org": "id", "owner": "owner.login"}  # type: ignore[union-attr]
    assert listed.partition.parent_fields == {"id": "id", "owner_id": "owner_id"}  # type: ignore[union-attr]


@pytest.mark.parametrize(("partition", "message"), [
    ("{type: parent_stream, stream: orgs, parent_field: id, parent_fields: [id]}",
     "give parent_field (with field) or parent_fields, not both"),
    ("{type: parent_stream, stream: orgs, field: org, parent_fields: [id]}",
     "give parent_field (with field) or parent_fields, not both"),
    ("{type: parent_stream, stream: orgs}", "missing required key 'parent_field' (or 'parent_fields')"),
])
def test_parent_fields_one_form_only(partition: str, message: str) -> None:
    with pytest.raises(ManifestError) as exc:
        stream(f"    partition: {partition}\n")
    assert str(exc.value) == f"<string>:6: streams[0].partition: {message}"


def test_date_range_steps() -> None:
    iso = stream("    partition: {type: date_range, start: '2024-01-01', step: P1D, format: '%Y-%m-%d', field: day}\n")
    short = stream("    partition: {type: date_range, start: '2024-01-01', step: 1d, format: '%Y-%m-%d', field: day}\n")
    assert iso == short
    assert isinstance(iso.partition, DateRangePartition)
    assert iso.partition.step_parts() == (0, timedelta(days=1))
    seed = stream("    partition: {type: date_range, start: '2024-01-01', end: '2024-02-01', step: 1w,"
                  " start_field: since, end_field: until}\n")
    assert seed.partition.step == "P1W" and seed.partition.step_parts() == (0, timedelta(weeks=1))  # type: ignore[union-attr]
    assert seed.partition.format == "%Y-%m-%dT%H:%M:%SZ"  # type: ignore[union-attr]
    hourly = stream("    partition: {type: date_range, start: x, step: PT1H}\n").partition
    assert hourly.step_parts() == (0, timedelta(hours=1))  # type: ignore[union-attr]
    monthly = stream("    partition: {type: date_range, start: x, step: P1M}\n").partition
    assert monthly.step_parts() == (1, timedelta())  # type: ignore[union-attr]


def test_stop_forms() -> None:
    base = "    pagination: {type: offset, limit: 50, stop: %s}\n"
    readme = stream(base % "{type: total_count, path: meta.total}")
    ours = stream(base % "{total_count: {path: meta.total}}")
    assert readme == ours
    assert readme.pagination.stop == Stop(type="total_count", path="meta.total")  # type: ignore[union-attr]
    assert stream(base % "empty_page").pagination.stop == Stop(type="empty_page")  # type: ignore[union-attr]
    field = stream(base % "{field: {path: has_more, value: false}}").pagination.stop  # type: ignore[union-attr]
    assert field == Stop(type="field", path="has_more", value=False)
    assert stream(base % "{type: field, path: has_more, value: false}").pagination.stop == field  # type: ignore[union-attr]


def test_remove_forms_and_rename() -> None:
    one = stream("    transform:\n      - remove: {field: a}\n")
    assert one == stream("    transform:\n      - remove: [a]\n") == stream("    transform:\n      - remove: a\n")
    assert one.transform == [RemoveStep(op="remove", fields=["a"])]
    renamed = stream("    transform:\n      - rename: {from: a, to: b}\n").transform[0]
    assert isinstance(renamed, RenameStep) and (renamed.from_field, renamed.to) == ("a", "b")


def test_primary_key_string_or_list() -> None:
    assert stream("    primary_key: id\n") == stream("    primary_key: [id]\n")
    assert stream("    primary_key: [a, b.c]\n").primary_key == ["a", "b.c"]
    assert stream("").primary_key == []


def test_nested_records_carry_list_or_map() -> None:
    as_list = stream("    decoder: {type: json, records_path: data,"
                     " nested_records: {path: results, carry: [start_time, end_time]}}\n")
    as_map = stream("    decoder: {type: json, records_path: data,"
                    " nested_records: {path: results, carry: {start_time: start_time, end_time: end_time}}}\n")
    assert as_list == as_map
    assert isinstance(as_list.decoder, JsonDecoder)
    assert as_list.decoder.nested_records.carry == {"start_time": "start_time", "end_time": "end_time"}  # type: ignore[union-attr]


def test_download_locator_shorthand_is_a_cursor_paginator() -> None:
    job = (
        "    partition:\n      type: async_job\n      create: {path: /jobs, body: {query: q}}\n"
        "      poll: {path: '/jobs/{{ job_id }}', status_path: state, completed_value: JobComplete}\n"
        "      download: {path: '/jobs/{{ job_id }}/results', %s}\n"
    )
    short = stream(job % "locator_header: Sforce-Locator, locator_param: locator")
    full = stream(job % "pagination: {type: cursor, cursor_param: locator, cursor_header: Sforce-Locator}")
    assert short == full
    pag = short.partition.download.pagination  # type: ignore[union-attr]
    assert isinstance(pag, CursorPagination) and pag.cursor_header == "Sforce-Locator"
    create = short.partition.create  # type: ignore[union-attr]
    assert create.method == "POST" and create.body.source == '{"query": "q"}'
    assert create.job_id_path == "id"


def test_defaults_and_scalar_coercion() -> None:
    m = load_manifest_text(
        "name: t\nversion: 1.5\nbase_url: https://x\nauth: null\nheaders: {X-V: 2}\n"
        "streams:\n  - name: s\n    request: {path: /s, method: post, params: {limit: 100, active: true}}\n"
    )
    assert m.version == "1.5" and isinstance(m.auth, NoAuth)
    assert m.headers["X-V"].source == "2"
    s = m.streams[0]
    assert s.request.method == "POST"  # type: ignore[union-attr]
    assert {k: v.source for k, v in s.request.params.items()} == {"limit": "100", "active": "true"}  # type: ignore[union-attr]
    assert isinstance(s.decoder, JsonDecoder) and s.decoder.records_path is None
    assert m.http.timeout_secs == 30 and m.http.backoff == "exponential" and m.http.backoff_max_secs == 60
    assert s.cursor_field is None and s.transform == []


def test_every_model_with_spellings_normalises_them() -> None:
    """The before-validator is declared per model (start-up cost), so none may forget it."""
    from source_solidafy.manifest import models  # noqa: F401 - defines every Strict subclass
    from source_solidafy.manifest.fields import Strict

    stack, with_spellings = list(Strict.__subclasses__()), []
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.spellings:
            with_spellings.append(cls)
            modes = [d.info.mode for d in cls.__pydantic_decorators__.model_validators.values()]
            assert "before" in modes, f"{cls.__name__} lists spellings but never normalises them"
    assert with_spellings
