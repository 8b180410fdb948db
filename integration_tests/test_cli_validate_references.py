"""``validate`` (and every load) catches what a manifest refers to that cannot exist, without the API.

A parent stream that is not in the file, a template variable that can never be defined where the
template is rendered (``partition.X`` the partition does not provide, ``job_id`` outside an async
job, ``record`` outside transforms), and ``config.X`` missing from a declared ``spec``: each is one
line ``file:line: key.path: message`` with a "did you mean" where one fits, exit 2, for ``validate``
and ``read`` alike. What the original tool's connector files use stays accepted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from integration_tests.helpers import run_cli

SEEDS = Path("/work/shared/compat/seed-connectors")
BUILTINS = Path(__file__).resolve().parent.parent / "connectors"

HEAD = """name: refs
base_url: "{{ config.base_url }}"
spec:
  - {name: base_url, type: string}
  - {name: api_key, type: string, secret: true}
  - {name: start_date, type: string}
auth: {type: bearer, token: "{{ config.api_key }}"}
streams:
  - name: customers
    request: {path: /customers}
"""

# the stream(s) appended to HEAD (from line 11), and the one problem line validate must print
CASES: dict[str, tuple[str, str]] = {
    "parent-missing": (
        """  - name: notes
    request: {path: "/customers/{{ partition.customer_id }}/notes"}
    partition: {type: parent_stream, stream: customer, parent_field: id, field: customer_id}
""",
        "refs.yaml:13: streams[1].partition.stream: no stream named 'customer'; did you mean 'customers'? "
        "(streams: customers)",
    ),
    "parent-itself": (
        """  - name: notes
    request: {path: "/customers/{{ partition.id }}/notes"}
    partition: {type: parent, stream: notes, parent_field: id}
""",
        "refs.yaml:13: streams[1].partition.stream: stream 'notes' cannot be its own parent",
    ),
    "partition-key-of-parent": (
        """  - name: notes
    request: {path: "/customers/{{ partition.customer }}/notes"}
    partition: {type: parent_stream, stream: customers, parent_field: id, field: customer_id}
""",
        "refs.yaml:12: streams[1].request.path: 'partition.customer' is never defined here; did you mean "
        "'partition.customer_id'? (the parent_stream partition provides partition.customer_id)",
    ),
    "partition-key-of-parent-fields": (
        """  - name: notes
    request: {path: "/customers/{{ partition.customer_id }}/notes"}
    headers: {X-Name: "{{ partition.nmae }}"}
    partition: {type: parent_stream, stream: customers, parent_fields: {customer_id: id, name: name}}
""",
        "refs.yaml:13: streams[1].headers[\"X-Name\"]: 'partition.nmae' is never defined here; did you mean "
        "'partition.name'? (the parent_stream partition provides partition.customer_id, partition.name)",
    ),
    "partition-key-of-list": (
        """  - name: events
    request: {path: "/events", params: {region: "{{ partition.region }}"}}
    headers: {X-Region: "{{ partition.regoin }}"}
    partition: {type: list, field: region, values: [us, eu]}
""",
        "refs.yaml:13: streams[1].headers[\"X-Region\"]: 'partition.regoin' is never defined here; did you mean "
        "'partition.region'? (the list partition provides partition.region)",
    ),
    "partition-key-of-date-range": (
        """  - name: daily
    request: {path: "/daily/{{ partition.start }}/{{ partition.day }}"}
    partition: {type: date_range, start: "2024-01-01", step: 1d}
""",
        "refs.yaml:12: streams[1].request.path: 'partition.day' is never defined here "
        "(the date_range partition provides partition.end, partition.start)",
    ),
    "partition-without-partition": (
        """  - name: events
    request: {path: "/events/{{ partition.region }}"}
""",
        "refs.yaml:12: streams[1].request.path: 'partition.region' is never defined here: "
        "stream 'events' has no partition",
    ),
    "partition-in-date-range-bounds": (
        """  - name: daily
    request: {path: "/daily/{{ partition.start }}"}
    partition: {type: date_range, start: "{{ partition.start }}", step: 1d}
""",
        "refs.yaml:13: streams[1].partition.start: 'partition.start' is never defined here: the date_range "
        "partition's own values are rendered before any partition exists",
    ),
    "job-id-outside-async-job": (
        """  - name: jobs
    request: {path: "/jobs/{{ job_id }}"}
""",
        "refs.yaml:12: streams[1].request.path: 'job_id' is only defined in an async_job stream after its "
        "job is created (poll, download, transform)",
    ),
    "job-id-in-job-create": (
        """  - name: export
    partition:
      type: async_job
      create: {path: "/jobs/{{ job_id }}"}
      poll: {path: "/jobs/{{ job_id }}", status_path: state, completed_value: done}
      download: {path: "/jobs/{{ job_id }}/results"}
""",
        "refs.yaml:14: streams[1].partition.create.path: 'job_id' is only defined in an async_job stream "
        "after its job is created (poll, download, transform)",
    ),
    "record-outside-transform": (
        """  - name: items
    request: {path: /items}
    headers: {X-Id: "{{ record.id }}"}
""",
        "refs.yaml:13: streams[1].headers[\"X-Id\"]: 'record' is only defined in transform steps "
        "(set: {field, value}) and filter",
    ),
    "config-not-in-spec": (
        """  - name: items
    request: {path: "/items/{{ config.start_dte }}"}
""",
        "refs.yaml:12: streams[1].request.path: config.start_dte is not declared in spec; did you mean "
        "'start_date'? (spec fields: base_url, api_key, start_date)",
    ),
    "bare-name-not-in-spec": (
        """  - name: items
    request: {path: "/items/{{ api_kye }}"}
""",
        "refs.yaml:12: streams[1].request.path: 'api_kye' (config.api_kye) is not declared in spec; did you "
        "mean 'api_key'? (spec fields: base_url, api_key, start_date)",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_validate_and_read_report_what_cannot_exist(tmp_path: Path, case: str) -> None:
    streams, expected = CASES[case]
    path = tmp_path / "refs.yaml"
    path.write_text(HEAD + streams)
    res = run_cli("validate", str(path))
    assert res.rc == 2 and res.stderr.splitlines() == [expected], res.stderr
    read = run_cli("read", "-c", str(path), "--config-json", json.dumps({"api_key": "k", "base_url": "http://127.0.0.1:9"}))
    assert read.rc == 2 and read.stderr.splitlines() == [f"error: {expected}"], read.stderr
    assert "Traceback" not in read.stderr


def test_every_problem_at_once_in_json(tmp_path: Path) -> None:
    path = tmp_path / "refs.yaml"
    path.write_text(HEAD + CASES["parent-missing"][0] + CASES["record-outside-transform"][0])
    res = run_cli("validate", str(path), "--format", "json")
    assert res.rc == 2
    (msg,) = res.messages
    assert msg["valid"] is False and [e.split(": ", 2)[1] for e in msg["errors"]] == [
        "streams[1].partition.stream", "streams[2].headers[\"X-Id\"]"]


def test_what_can_be_defined_is_accepted(tmp_path: Path) -> None:
    """Transforms see record and job_id, guarded reads pass, base_url/token_url overrides are declared."""
    path = tmp_path / "ok.yaml"
    path.write_text(HEAD + """  - name: export
    partition:
      type: async_job
      create: {path: /jobs, body: '{"since": "{{ config.start_date }}"}'}
      poll: {path: "/jobs/{{ job_id }}", status_path: state, completed_value: done}
      download: {path: "/jobs/{{ job_id }}/results"}
    transform:
      - set: {field: job, value: "{{ job_id }}"}
      - set: {field: name, value: "{{ record.first }} {{ record.last }}"}
  - name: notes
    request:
      path: "/customers/{{ partition.customer_id }}/notes"
      params: {tag: "{{ partition.tag | default('') }}"}
    headers: {X-Debug: "{% if partition.debug is defined %}{{ partition.debug }}{% endif %}"}
    partition: {type: parent_stream, stream: customers, parent_field: id, field: customer_id}
  - name: daily
    request: {path: "/daily", params: {from: "{{ partition.since }}", to: "{{ partition.until }}"}}
    partition: {type: date_range, start: "{{ config.start_date }}", step: 1d, start_field: since, end_field: until}
""")
    res = run_cli("validate", str(path))
    assert res.rc == 0, res.stderr
    assert "warning" not in res.stdout, res.stdout


def test_lenient_param_that_can_never_be_defined_is_a_warning(tmp_path: Path) -> None:
    """A request param renders empty and is left out: a variable never defined there is a warning."""
    path = tmp_path / "lenient.yaml"
    path.write_text(HEAD + """  - name: inventory
    request: {path: /inventory, params: {ids: "{{ partition.ids }}"}}
""")
    res = run_cli("validate", str(path))
    assert res.rc == 0, res.stderr
    assert ("  warning: lenient.yaml:12: streams[1].request.params.ids: 'partition.ids' is never defined here: "
            "stream 'inventory' has no partition; this parameter is never sent") in res.stdout.splitlines()


@pytest.mark.parametrize("path", sorted(SEEDS.glob("*.yaml")) + sorted(BUILTINS.glob("*.yaml")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_seed_and_builtin_connectors_still_validate(path: Path) -> None:
    res = run_cli("validate", str(path))
    assert res.rc == 0, res.stderr
