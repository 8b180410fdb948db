"""The acceptance suite's own rules catch what they claim to (a check that cannot fail proves nothing).

No processes here: the rule functions, the line validator and the fault gate's matching, fed
deliberately broken specs, catalogs, lines and requests.
"""

from __future__ import annotations

import json

from integration_tests.acceptance import checks
from integration_tests.acceptance.gate import Gate, rules_for
from integration_tests.acceptance.runner import AirbyteRun
from integration_tests.mocks.server import Request, Response

GOOD_SPEC = {
    "protocol_version": "0.2.0",
    "connectionSpecification": {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "required": ["api_key"],
        "properties": {"api_key": {"type": "string", "airbyte_secret": True}, "base_url": {"type": "string"}},
        "additionalProperties": True,
    },
}


def spec_with(**changes: object) -> dict:
    spec = json.loads(json.dumps(GOOD_SPEC))
    spec["connectionSpecification"].update(changes)
    return spec


def test_spec_rules() -> None:
    assert checks.spec_problems(GOOD_SPEC) == []
    assert checks.spec_problems(spec_with(anyOf=[{"required": ["api_key"]}]))
    assert checks.spec_problems(spec_with(additionalProperties=False))
    assert checks.spec_problems(spec_with(type="no-such-type"))  # not draft 7
    unmarked = spec_with(properties={"access_token": {"type": "string"}})
    assert any("access_token" in p for p in checks.spec_problems(unmarked))
    assert checks.spec_problems({**GOOD_SPEC, "protocol_version": None})
    # A property may be *named* like a keyword; only schema keywords are forbidden.
    assert checks.spec_problems(spec_with(properties={"not": {"type": "string"}})) == []


def stream(name: str = "s", **extra: object) -> dict:
    schema = {"type": "object", "properties": {"id": {"type": "string"}, "updated": {"type": "string"}}}
    return {"name": name, "json_schema": schema, "supported_sync_modes": ["full_refresh"], **extra}


def test_catalog_rules() -> None:
    incremental = {"supported_sync_modes": ["full_refresh", "incremental"], "source_defined_cursor": True}
    assert checks.catalog_problems({"streams": [stream(), stream("t", **incremental, default_cursor_field=["updated"])]}) == []
    assert checks.catalog_problems({"streams": [stream(), stream()]})  # duplicate names
    assert checks.catalog_problems({"streams": []})
    assert checks.catalog_problems({"streams": [stream(supported_sync_modes=[])]})
    assert checks.catalog_problems({"streams": [stream(**incremental, default_cursor_field=["missing"])]})
    assert checks.catalog_problems({"streams": [stream(source_defined_primary_key=[["nope"]])]})
    ref = stream(json_schema={"type": "object", "properties": {"a": {"$ref": "#/definitions/x"}}})
    assert checks.catalog_problems({"streams": [ref]})


def test_records_are_checked_against_the_schema() -> None:
    streams = {"s": stream()}
    assert checks.record_problems(streams, [{"stream": "s", "data": {"id": "a"}}]) == []
    assert checks.record_problems(streams, [{"stream": "s", "data": {"id": 5}}])
    assert checks.record_problems(streams, [{"stream": "other", "data": {}}])


def test_line_validation_rejects_what_airbyte_rejects() -> None:
    lines = [
        '{"type":"STREAMS","streams":["a"]}',  # solidafy flavour only
        '{"type":"SYNC_SUMMARY","summary":{}}',
        '{"type":"RECORD","record":{"stream":"s","data":{},"emitted_at":1.5}}',  # not integer ms
        "progress: 50%",
        '["not", "an", "object"]',
    ]
    run = AirbyteRun(["read"], 0, "\n".join(lines) + "\n", "")
    assert len(run.problems) == len(lines), run.problems
    ok = '{"type":"RECORD","record":{"stream":"s","data":{"a":1},"emitted_at":1700000000000}}\n'
    assert AirbyteRun(["read"], 0, ok, "").problems == []


def test_cursor_values_compare_across_shapes() -> None:
    assert checks.as_comparable("2024-01-02T00:00:00Z") > checks.as_comparable("2024-01-01T23:59:59+00:00")
    assert checks.as_comparable(1700000001) > checks.as_comparable(1700000000.5)
    state = {"partitions": [{"partition": {"id": 1}, "cursor": 5}, {"partition": {"id": 2}, "cursor": 3}]}
    assert sorted(checks.state_cursors(state, ["updated"])) == [3, 5]
    future = checks.futurize({"cursor": "2024-01-01T00:00:00Z", "partitions": [{"cursor": 17}]}, ["updated"])
    assert future == {"cursor": "2100-01-01T00:00:00Z", "partitions": [{"cursor": 4_102_444_800}]}


def req(path: str, body: bytes = b"", **query: str) -> Request:
    return Request("GET", path, {k: [v] for k, v in query.items()}, {}, body)


def test_gate_fails_only_the_chosen_stream() -> None:
    seen = [req("/v1/usage", group_by="model"), req("/v1/usage", group_by="model", page="p2")]
    gate = Gate(lambda r: Response.json({"ok": True}))
    gate.fail(rules_for(seen), allow=1)
    assert gate(req("/v1/usage", group_by="model")).status == 200  # page 1 let through
    assert gate(req("/v1/usage", group_by="model", page="p2")).status == 503
    assert gate(req("/v1/usage", group_by="project")).status == 200  # another stream, same path
    assert gate(req("/v1/usage")).status == 200
    assert gate.failed == 1
    gate.clear()
    assert gate(req("/v1/usage", group_by="model", page="p2")).status == 200


def test_gate_rules_leave_out_token_endpoints_and_server_ids() -> None:
    seen = [req("/oauth2/token"), req("/jobs/query", body=b'{"q":"Account"}'), req("/jobs/query/750R0000000zlh0007")]
    rules = rules_for(seen)
    assert [r.path for r in rules] == ["/jobs/query"]
    assert not rules[0].matches(req("/jobs/query", body=b'{"q":"Contact"}'))
    assert rules_for([req("/accounts/8a63ca6ad692678ffdd8aff0b1aaaa4a")], {"8a63ca6ad692678ffdd8aff0b1aaaa4a"})
