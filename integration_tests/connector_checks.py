"""Checks every built-in connector's integration test makes, run the same way for each connector.

Each ``test_connector_<name>.py`` keeps what is particular to its API (how it pages, what it sends,
which records a second sync gets); the reads, the summary checks, the schema and primary-key
checks, the wrong-credential case and the offline commands live here:

    STRIPE = Connector("stripe")
    srv, result = STRIPE.read_against(StripeMock(), ["customers"], overrides={"api_key": "sk_test_bad"})
    assert_stream_failed(result, "sk_test_bad")
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.server import MockServer, Request

CONNECTORS_DIR = Path(__file__).resolve().parent.parent / "connectors"
# what a ``full_read`` fixture holds: the mock, its server (with the requests it got) and the read
FullRead = tuple[Any, MockServer, Result]


@dataclass(frozen=True)
class Connector:
    """A built-in connector by name; ``ref`` is what ``read`` passes to ``--connector`` (a YAML path works)."""

    name: str
    ref: str = field(default="")

    @property
    def yaml_path(self) -> Path:
        return CONNECTORS_DIR / f"{self.name}.yaml"

    def streams_yaml(self) -> dict[str, dict[str, Any]]:
        """The shipped YAML's stream definitions by name."""
        return {s["name"]: s for s in yaml.safe_load(self.yaml_path.read_text())["streams"]}

    def read(self, config: dict[str, Any], streams: list[str], *extra: str, state: Any = None) -> Result:
        """``solidafy-cdk read`` of ``streams``; ``state`` (a dict) goes in as ``--state-json``."""
        args = ["read", "--connector", self.ref or self.name, "--config-json", json.dumps(config),
                "--streams", ",".join(streams), *extra]
        if state is not None:
            args += ["--state-json", json.dumps(state)]
        return run_cli(*args)

    def read_against(self, mock: Any, streams: list[str], *extra: str, overrides: dict[str, Any] | None = None,
                     state: Any = None, config: Callable[[str], dict[str, Any]] | None = None,
                     ) -> tuple[MockServer, Result]:
        """One read against ``mock`` served on a fresh port, with ``overrides`` on top of its config.

        ``config`` builds that config from the server's URL instead of ``mock.config`` (e.g. a mock's
        ``oauth_config`` for the other way to authenticate).
        """
        with MockServer(mock.handler) as srv:
            base = (config or mock.config)(srv.url)
            result = self.read({**base, **(overrides or {})}, streams, *extra, state=state)
        return srv, result

    def read_exactly(self, mock: Any, streams: list[str], *extra: str, ids: str | None = None,
                     **kwargs: Any) -> tuple[MockServer, Result]:
        """read_against() (same ``kwargs``) that must succeed with exactly the mock's records (assert_exact_records)."""
        srv, result = self.read_against(mock, streams, *extra, **kwargs)
        assert result.rc == 0, result.stderr[-2000:]
        assert_exact_records(result, mock, streams, ids=ids)
        return srv, result

    def discovered_schemas(self, mock: Any) -> dict[str, dict[str, Any]]:
        """``discover`` against ``mock`` (it must succeed): each stream's JSON Schema by name."""
        with MockServer(mock.handler) as srv:
            result = run_cli("discover", "--connector", self.ref or self.name, "--config-json",
                             json.dumps(mock.config(srv.url)))
        assert result.rc == 0, result.stderr[-2000:]
        (catalog,) = result.of_type("CATALOG")
        return {s["name"]: s["json_schema"] for s in catalog["catalog"]["streams"]}

    def full_read(self, mock: Any, streams: list[str]) -> FullRead:
        """Every stream in ``streams`` read once against ``mock``: what a module's ``full_read`` fixture holds."""
        srv, result = self.read_against(mock, streams)
        return mock, srv, result

    def read_wrong_credential(self, mock: Any, stream: str, field_name: str, wrong: str, *secrets: str,
                              error: str | None = None) -> MockServer:
        """A read of ``stream`` with config ``field_name`` set to ``wrong``: it must fail as in
        assert_stream_failed, printing neither ``wrong`` nor ``secrets``. The server is returned so
        the test can check how the credential was sent.

            srv = STRIPE.read_wrong_credential(StripeMock(), "customers", "api_key", "sk_test_bad")
            assert srv.requests[0].header("Authorization") == "Bearer sk_test_bad"
        """
        srv, result = self.read_against(mock, [stream], overrides={field_name: wrong})
        assert_stream_failed(result, wrong, *secrets, error=error)
        return srv

    def spec(self) -> dict[str, Any]:
        """The connection specification ``spec`` prints without any config or network."""
        result = run_cli("spec", "--connector", self.name)
        assert result.rc == 0, result.stderr
        return result.of_type("SPEC")[0]["spec"]["connectionSpecification"]

    def streams(self) -> list[Any]:
        """The stream list ``streams`` prints without any config or network, as printed."""
        result = run_cli("streams", "--connector", self.name)
        assert result.rc == 0, result.stderr
        return result.of_type("STREAMS")[0]["streams"]

    def assert_spec(self, required: list[str], secrets: dict[str, str], properties: Iterable[str] = ()) -> None:
        """``spec`` offline: exactly ``required`` are required, each of ``secrets`` is masked and its
        description contains the hint given for it (where to find the value), ``properties`` are offered.

            STRIPE.assert_spec(["api_key"], {"api_key": "sk_live_"}, {"start_date_ts", "base_url"})
        """
        spec = self.spec()
        assert sorted(spec["required"]) == sorted(required)
        for name, hint in secrets.items():
            assert spec["properties"][name]["airbyte_secret"] is True, name
            assert hint in spec["properties"][name].get("description", ""), name
        assert set(properties) <= set(spec["properties"])

    def stream_names(self) -> list[str]:
        return [n if isinstance(n, str) else n["name"] for n in self.streams()]

    def assert_yaml_validates(self) -> None:
        result = run_cli("validate", str(self.yaml_path))
        assert result.rc == 0, result.stdout + result.stderr

    def assert_offline_commands(self, streams: list[Any], required: list[str], secrets: dict[str, str],
                                properties: Iterable[str] = ()) -> None:
        """``validate``, ``spec`` (as in assert_spec) and ``streams`` (exactly ``streams``), all without a network."""
        self.assert_yaml_validates()
        self.assert_spec(required, secrets, properties)
        assert self.streams() == streams


def record_key(rec: dict[str, Any]) -> str:
    """A whole record as one sortable string, for streams whose records have no id."""
    return json.dumps(rec, sort_keys=True)


def requests_to(srv: MockServer, path: str) -> list[Request]:
    return [r for r in srv.requests if r.path == path]


def header_values(srv: MockServer, name: str) -> set[str | None]:
    """Every value ``name`` had across the requests the mock got (None where it was missing)."""
    return {r.header(name) for r in srv.requests}


def final_state(result: Result) -> dict[str, Any]:
    """The last global state (``{"streams": {...}}``) the read printed."""
    states = [m["state"] for m in result.of_type("STATE") if "streams" in m["state"]]
    assert states, result.stdout[-2000:]
    return states[-1]


def assert_secrets_hidden(result: Result, *secrets: str) -> None:
    out = result.stdout + result.stderr
    for secret in secrets:
        assert secret not in out, "a secret was printed"


def assert_all_streams_succeeded(result: Result, streams: list[str]) -> None:
    assert result.rc == 0, result.stderr[-3000:]
    assert result.summary["status"] == "SUCCEEDED"
    assert {s["stream"]: s["status"] for s in result.summary["streams"]} == dict.fromkeys(streams, "SUCCESS")
    warned = {s["stream"]: s["warnings"] for s in result.summary["streams"] if s["warnings"]}
    assert not warned, warned  # a built-in connector against its faithful mock has nothing to suspect


def assert_exact_records(result: Result, mock: Any, streams: Iterable[str], *,
                         sort_by: Callable[[dict[str, Any]], Any] | None = None, ids: str | None = None) -> None:
    """Each stream read exactly ``mock.expected_records(stream)``: in the API's order, or both sorted by ``sort_by``.

    ``ids`` names the id field to compare first, so that a wrong order or a missing record shows up
    as a short list of ids rather than a diff of whole records.
    """
    for stream in streams:
        got, want = result.records(stream), mock.expected_records(stream)
        if sort_by is not None:
            got, want = sorted(got, key=sort_by), sorted(want, key=sort_by)
        assert len(got) == len(want), stream
        if ids is not None:
            assert [r[ids] for r in got] == [r[ids] for r in want], stream
        assert got == want, stream


def assert_records_match_declared_schema(result: Result, connector: Connector) -> None:
    """Every record printed validates against the schema its stream declares in the shipped YAML."""
    validators = {name: jsonschema.Draft7Validator(s["schema"]) for name, s in connector.streams_yaml().items()}
    records = result.of_type("RECORD")
    assert records, result.stderr[-2000:]
    for msg in records:
        validators[msg["record"]["stream"]].validate(msg["record"]["data"])


def assert_primary_keys_unique(result: Result, connector: Connector) -> None:
    for stream, spec in connector.streams_yaml().items():
        pk = [spec["primary_key"]] if isinstance(spec["primary_key"], str) else spec["primary_key"]
        values = [tuple(r[k] for k in pk) for r in result.records(stream)]
        assert len(values) == len(set(values)), stream


def assert_final_cursors(result: Result, mock: Any, streams: Iterable[str], *,
                         parse: Callable[[Any], Any] = lambda v: v,
                         cursor: Callable[[dict[str, Any]], Any] = lambda s: s["cursor"]) -> None:
    """Each stream with a cursor field ends on the newest value among the mock's records.

    ``parse`` turns both sides into comparable values (e.g. datetimes written in other offsets);
    ``cursor`` reads the cursor out of one stream's state.
    """
    state = final_state(result)["streams"]
    for stream in streams:
        field_name = mock.cursor_field(stream)
        if field_name is None:
            continue
        newest = max(parse(r[field_name]) for r in mock.expected_records(stream))
        assert parse(cursor(state[stream])) == newest, stream


def assert_stream_failed(result: Result, *secrets: str, error: str | None = None) -> None:
    """A read of one stream with a wrong credential: that stream and the sync fail, nothing leaks.

    ``error`` is a fragment the failed stream's error must contain (e.g. "401").
    """
    assert result.rc == 1, result.stderr[-2000:]
    assert result.summary["status"] == "FAILED"
    assert result.summary["streams"][0]["status"] == "FAILED"
    if error is not None:
        assert error in result.summary["streams"][0].get("error", ""), result.summary["streams"][0]
    assert_secrets_hidden(result, *secrets)


def assert_full_read(result: Result, mock: Any, streams: list[str], *secrets: str, ids: str | None = None,
                     sort_by: Callable[[dict[str, Any]], Any] | None = None) -> None:
    """The fixture's read of every stream: all succeeded, each read exactly what the mock holds, no secret printed.

    ``sort_by`` as in assert_exact_records, for APIs whose order across requests is not defined.
    """
    assert_all_streams_succeeded(result, streams)
    assert_exact_records(result, mock, streams, ids=ids, sort_by=sort_by)
    assert_secrets_hidden(result, *secrets)


def assert_usage_error(result: Result, *fragments: str) -> None:
    """A config mistake: exit code 2 and one message naming what is wrong, never a traceback."""
    assert result.rc == 2, result.stdout[-2000:] + result.stderr[-2000:]
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr[-2000:])
    assert "Traceback" not in result.stderr + result.stdout
