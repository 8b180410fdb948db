"""Airbyte declarative manifests run by our engine (docs/airbyte-manifests.md).

- The shared corpus (../shared/compat/airbyte-manifests, test data read in place, never copied): each
  manifest loads with the stream names airbyte-cdk 7.39.1 builds, or fails naming every unsupported
  component and its path; the table and the load rate are printed.
- A manifest of ours (airbyte_manifests/events_manifest.yaml) read through the CLI against a mock:
  the CDK's slices (step, cursor_granularity, inclusive end), DefaultPaginator with PageIncrement,
  an API key header, and the CDK's final state shape ``{cursor_field: value}``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from integration_tests.helpers import run_cli
from integration_tests.mocks.server import MockServer, Request, Response
from source_solidafy.errors import ManifestError
from source_solidafy.lowcode import load_airbyte_manifest

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "compat" / "airbyte-manifests"
if not CORPUS.is_dir():
    CORPUS = Path("/work/shared/compat/airbyte-manifests")
HERE = Path(__file__).resolve().parent / "airbyte_manifests"


def _corpus() -> list[str]:
    if not (CORPUS / "index.csv").is_file():
        pytest.skip(f"the Airbyte manifest corpus is not at {CORPUS} (shared/compat/airbyte-manifests)")
    with (CORPUS / "index.csv").open() as f:
        return [row["name"] for row in csv.DictReader(f)]


def test_corpus_loads_or_names_every_unsupported_component(capsys: pytest.CaptureFixture[str]) -> None:
    rows, loaded = [], 0
    for name in _corpus():
        expected = json.loads((CORPUS / name / "cdk_7.39.1_expected.json").read_text())["stream_names"]
        try:
            source = load_airbyte_manifest(CORPUS / name / "manifest.yaml")
        except ManifestError as exc:
            assert exc.problems, name
            for problem in exc.problems:  # file:line: path: Type ... (needs ...)
                assert problem.startswith("manifest.yaml:") and (" is not supported" in problem
                                                                  or "differs" in problem), problem
            kinds = sorted({p.split(": ")[2].split(" ")[0] for p in exc.problems})
            rows.append((name, "no", len(expected), ", ".join(kinds)))
            continue
        assert source.stream_names() == expected, name
        loaded += 1
        rows.append((name, "yes", len(expected), ""))
    with capsys.disabled():
        print("\nmanifest | loads | streams | unsupported")
        for row in rows:
            print(" | ".join(str(c) for c in row))
        print(f"load rate: {loaded}/{len(rows)} = {loaded / len(rows):.0%}")
    assert loaded >= 12  # per-partition cursors, hidden parents and error handlers made harvest and square load; docs/airbyte-manifests.md


def test_validate_passes_on_every_loading_corpus_manifest() -> None:
    for name in _corpus():
        result = run_cli("validate", str(CORPUS / name / "manifest.yaml"), "--format", "json")
        verdict = json.loads(result.stdout.strip().splitlines()[-1])
        assert verdict["valid"] == (result.rc == 0), (name, result.stdout, result.stderr)


CUSTOM = """
version: 6.0.0
type: DeclarativeSource
definitions:
  streams:
    users:
      type: DeclarativeStream
      name: users
      retriever:
        type: SimpleRetriever
        requester: {type: HttpRequester, url_base: "https://api.example.com", path: /users}
        record_selector: {type: RecordSelector, extractor: {type: DpathExtractor, field_path: []}}
        paginator:
          type: DefaultPaginator
          pagination_strategy:
            type: CustomPaginationStrategy
            class_name: source_x.components.MyPaging
streams:
  - $ref: "#/definitions/streams/users"
spec:
  type: Spec
  connection_specification: {type: object, properties: {}}
"""


def test_custom_component_fails_at_load_time_with_its_path(tmp_path: Path) -> None:
    file = tmp_path / "manifest.yaml"
    file.write_text(CUSTOM)
    result = run_cli("validate", str(file))
    assert result.rc == 2
    assert result.stderr.strip() == (
        "manifest.yaml:15: definitions.streams.users.retriever.paginator.pagination_strategy: "
        "CustomPaginationStrategy is not supported (needs Python)"
    )
    (tmp_path / "config.json").write_text("{}")
    result = run_cli("read", "--connector", str(file), "--config", str(tmp_path / "config.json"))
    assert result.rc == 2 and "CustomPaginationStrategy is not supported (needs Python)" in result.stderr


def _events_api(calls: list[Request]) -> Any:
    """``/v1/events?since&until&page&per_page``: three records a day, ``data`` holds them."""
    days = {"2024-01-01": 3, "2024-01-02": 3, "2024-01-03": 1}
    rows = [{"id": f"{day}-{i}", "updated_at": f"{day}T0{i}:00:00Z"} for day, n in days.items() for i in range(n)]

    def handler(req: Request) -> Response:
        calls.append(req)
        if req.header("X-Api-Key") != "k-1":
            return Response.json({"error": "unauthorized"}, 401)
        since, until = req.arg("since") or "", req.arg("until") or ""
        chosen = [r for r in rows if since <= r["updated_at"][:10] <= until]
        page, size = int(req.arg("page") or 1), int(req.arg("per_page") or 100)
        return Response.json({"data": chosen[(page - 1) * size: page * size]})

    return handler


def test_read_datetime_slices_pages_and_cdk_state(tmp_path: Path) -> None:
    calls: list[Request] = []
    with MockServer(_events_api(calls)) as api:
        config = {"api_key": "k-1", "api_url": api.url, "start_date": "2024-01-01", "end_date": "2024-01-03"}
        (tmp_path / "config.json").write_text(json.dumps(config))
        result = run_cli("read", "--connector", str(HERE / "events_manifest.yaml"), "--config",
                         str(tmp_path / "config.json"))
    assert result.rc == 0, result.stderr
    ids = sorted(r["id"] for r in result.records("events"))  # slices are read concurrently
    assert ids == ["2024-01-01-0", "2024-01-01-1", "2024-01-01-2", "2024-01-02-0", "2024-01-02-1",
                   "2024-01-02-2", "2024-01-03-0"]
    queries = sorted((r.path, r.arg("since"), r.arg("until"), r.arg("page") or "", r.arg("per_page")) for r in calls)
    assert queries == [  # the CDK's slices: [01-01, 01-01] then [01-02, 01-03]; page 1 is not sent
        ("/v1/events", "2024-01-01", "2024-01-01", "", "2"),
        ("/v1/events", "2024-01-01", "2024-01-01", "2", "2"),
        ("/v1/events", "2024-01-02", "2024-01-03", "", "2"),
        ("/v1/events", "2024-01-02", "2024-01-03", "2", "2"),
        ("/v1/events", "2024-01-02", "2024-01-03", "3", "2"),
    ]
    last_state = json.dumps(result.of_type("STATE")[-1], separators=(",", ":"))
    assert '{"updated_at":"2024-01-03"}' in last_state, last_state
    assert "k-1" not in result.stdout


def test_config_value_against_its_pattern_as_the_cdk_checks(tmp_path: Path) -> None:
    """Paystack's spec wants secret_key like sk_test_...: the CDK refuses "dummy" before any request."""
    if not (CORPUS / "paystack" / "manifest.yaml").is_file():
        pytest.skip(f"the Airbyte manifest corpus is not at {CORPUS}")
    (tmp_path / "config.json").write_text(json.dumps({"start_date": "2024-01-01T00:00:00Z", "secret_key": "wrong-9"}))
    result = run_cli("check", "--connector", str(CORPUS / "paystack" / "manifest.yaml"), "--config",
                     str(tmp_path / "config.json"))
    status = result.of_type("CONNECTION_STATUS")[0]["connectionStatus"]
    assert status["status"] == "FAILED"
    assert status["message"] == "manifest: config field 'secret_key' = *** does not match '^(s|r)k_(live|test)_[a-zA-Z0-9]+$'"
    assert "wrong-9" not in result.stdout + result.stderr


@pytest.mark.parametrize(("field_path", "where", "message"), [
    ('[data, "True", "*"]', "[1]", "field_path part True is not supported yet (values that are not text or "
                                   "integers, an empty text)"),
    ('["**", data, "**"]', "", "two '**' in one path (dpath refuses it)"),
])
def test_field_path_the_engine_cannot_select_fails_at_load_time(tmp_path: Path, field_path: str, where: str,
                                                                message: str) -> None:
    """Keys, patterns and list indexes are dpath's (lowcode/extractor.py); a step the CDK types as
    neither text nor an integer is refused, and so are two '**' (dpath refuses them on every body)."""
    text = CUSTOM.replace("field_path: []", f"field_path: {field_path}").replace(
        "type: CustomPaginationStrategy\n            class_name: source_x.components.MyPaging",
        "type: OffsetIncrement\n            page_size: 10")
    (tmp_path / "manifest.yaml").write_text(text)
    result = run_cli("validate", str(tmp_path / "manifest.yaml"))
    assert result.rc == 2
    assert result.stderr.strip() == (f"manifest.yaml:12: definitions.streams.users.retriever.record_selector.extractor"
                                     f".field_path{where}: {message}")


def test_hidden_parent_is_not_listed_and_a_partitioned_parent_fails_at_load(tmp_path: Path) -> None:
    """projects_manifest.yaml's teams is a hidden parent (cases/projects.yaml reads it against the CDK);
    a cursor per partition under a parent that is partitioned itself (parent_slice) is refused at load."""
    result = run_cli("streams", "--connector", str(HERE / "projects_manifest.yaml"))
    assert result.rc == 0, result.stderr
    assert json.loads(result.stdout)["streams"] == ["projects", "tasks", "comments", "notes", "members", "events"]
    text = (HERE / "projects_manifest.yaml").read_text().replace(
        "      paginator: {$ref: \"#/definitions/paginator\"}\n    incremental_sync: {$ref: \"#/definitions/cursor\"}\n  teams:",
        "      paginator: {$ref: \"#/definitions/paginator\"}\n      partition_router:\n        type: ListPartitionRouter\n"
        "        cursor_field: region\n        values: [eu]\n    incremental_sync: {$ref: \"#/definitions/cursor\"}\n  teams:")
    (tmp_path / "manifest.yaml").write_text(text)
    result = run_cli("validate", str(tmp_path / "manifest.yaml"))
    assert result.rc == 2
    assert "streams[1].retriever.partition_router.parent_stream_configs[0].stream: a cursor per partition under " \
        "a partitioned parent (parent_slice) is not supported yet" in result.stderr


@pytest.mark.parametrize("ref", [False, True])
def test_spec_is_the_manifests_spec_read_without_loading_it(tmp_path: Path, ref: bool) -> None:
    """``spec`` answers from the manifest's spec (or spec.yaml beside it) alone; a spec that needs
    resolving ($ref, $parameters) goes through the full load; both give the same answer."""
    text = (HERE / "projects_manifest.yaml").read_text()
    if ref:
        text = text.replace("      token: {type: string, airbyte_secret: true}", "      token: {$ref: \"#/definitions/secret\"}")
        text = text.replace("definitions:\n", "definitions:\n  secret: {type: string, airbyte_secret: true}\n", 1)
    (tmp_path / "manifest.yaml").write_text(text)
    result = run_cli("spec", "--connector", str(tmp_path / "manifest.yaml"))
    assert result.rc == 0, result.stderr
    spec = json.loads(result.stdout)["spec"]["connectionSpecification"]
    assert list(spec["properties"]) == ["connector", "api_url", "token", "start_date"]
    assert spec["properties"]["token"] == {"type": "string", "airbyte_secret": True}
    assert spec["properties"]["connector"]["default"] == "manifest"
    assert spec["required"] == ["api_url", "token", "start_date"]


@pytest.mark.parametrize(("filter_", "message"), [
    ("{type: HttpResponseFilter, action: RESET_PAGINATION, http_codes: [400]}",
     "action: HttpResponseFilter.action 'RESET_PAGINATION' is not supported (one of SUCCESS, IGNORE, FAIL, RETRY, "
     "RATE_LIMITED is)"),
    ("{type: HttpResponseFilter, action: IGNORE, predicate: \"{{ stream_slice.id in response }}\"}",
     "predicate: template reads ['stream_slice'], which is not available here"),
])
def test_response_filters_that_do_not_map_onto_error_rules_fail_at_load(tmp_path: Path, filter_: str,
                                                                         message: str) -> None:
    """Filters on statuses, bodies and headers become the stream's errors rules (cases/errors.yaml compares
    them with the CDK); an action we do not run, or a predicate reading what the CDK does not give it
    (it would fail on the first response), is refused at load, naming its place."""
    text = (HERE / "projects_manifest.yaml").read_text().replace(
        "{type: HttpResponseFilter, action: IGNORE, http_codes: [404, 410]}", filter_)
    (tmp_path / "manifest.yaml").write_text(text)
    result = run_cli("validate", str(tmp_path / "manifest.yaml"))
    assert result.rc == 2, result.stdout
    line = next(i for i, text_line in enumerate(text.splitlines(), 1) if filter_ in text_line)
    assert result.stderr.strip() == (f"manifest.yaml:{line}: streams[4].retriever.requester.error_handler."
                                     f"response_filters[0].{message}")


def test_error_handlers_become_rules_per_status_or_one_rule_that_reads_the_response(tmp_path: Path) -> None:
    """The CDK's answer per status (a composite's handlers in turn, the default mapping, the fallback
    retry) written as our rules where it differs from our defaults; a predicate makes the handler one
    rule of its own; a wait regex with a nested repeat is refused at load."""
    from source_solidafy.lowcode import load_airbyte_manifest
    from source_solidafy.lowcode.error_filters import AirbyteErrorHandler, Filter, Handler
    from source_solidafy.lowcode.error_handlers import rules_for
    from source_solidafy.lowcode.interpolation import Interpolated

    ignores = Handler(filters=(Filter("ignore", frozenset({404})),
                               Filter("ignore", frozenset({403}), message=Interpolated("no access", {}))))
    rules = rules_for(Handler(parts=(Handler(), ignores)), frozenset([429, *range(500, 600)]))
    by_action = {(r["action"], r.get("message")): r["status"] for r in rules}
    assert by_action[("ignore", None)] == [404] and by_action[("ignore", "no access")] == [403]
    assert by_action[("fail", None)] == [401]  # the CDK fails a 401 at once (our default refreshes first)
    assert 409 in by_action[("retry", None)] and 400 not in by_action[("retry", None)]  # the CDK's fallback retries
    handler = """        error_handler:
          type: DefaultErrorHandler
          response_filters:
            - {type: HttpResponseFilter, action: IGNORE, predicate: "{{ 'gone' in response }}"}
          backoff_strategies:
            - {type: WaitTimeFromHeader, header: X-Wait, regex: "(a+)+b"}
"""
    text = (HERE / "projects_manifest.yaml").read_text().replace(
        "      api_token: \"{{ config['token'] }}\"\n", "      api_token: \"{{ config['token'] }}\"\n" + handler.replace(
            "        ", "    ", 1), 1)
    (tmp_path / "manifest.yaml").write_text(text)
    result = run_cli("validate", str(tmp_path / "manifest.yaml"))
    assert result.rc == 2
    assert "error_handler.backoff_strategies[0].regex: " in result.stderr and "repeat" in result.stderr
    (tmp_path / "manifest.yaml").write_text(text.replace('"(a+)+b"', '"[0-9]+"'))
    streams = load_airbyte_manifest(tmp_path / "manifest.yaml").manifest.streams
    assert all(isinstance(s.errors[0], AirbyteErrorHandler) for s in streams if s.name != "members")


@pytest.mark.parametrize(("old", "new", "message"), [
    ('delimiter: "\\\\t"', 'delimiter: "ab"', "exports.retriever.decoder.decoder.delimiter: a CsvDecoder.delimiter of 2 "
     "characters ('ab') is not supported (Python's csv module, which the CDK uses, takes one)"),
    ('delimiter: "\\\\t"', "delimiter: '\\'", "exports.retriever.decoder.decoder.delimiter: CsvDecoder.delimiter "
     "'\\\\': \\ at end of string (the CDK cannot read it either)"),
    ('delimiter: "\\\\t"', "encoding: klingon", "exports.retriever.decoder.decoder.encoding: CsvDecoder.encoding 'klingon' "
     "is not a known text encoding (the CDK fails on it too, when it reads)"),
    ("decoder: {type: GzipDecoder, decoder: {type: JsonlDecoder}}",
     "decoder: {type: GzipDecoder, decoder: {type: ZipfileDecoder, decoder: {type: JsonlDecoder}}}",
     "events.retriever.decoder.decoder: a ZipfileDecoder inside a GzipDecoder is not supported (airbyte-cdk refuses "
     "it too: it has no parser for it)"),
    ("decoder: {type: GzipDecoder, decoder: {type: JsonlDecoder}}",
     "decoder: {type: GzipDecoder, decoder: {type: GzipDecoder, decoder: {type: XmlDecoder}}}",
     "events.retriever.decoder.decoder.decoder: a XmlDecoder inside a GzipDecoder is not supported (airbyte-cdk "
     "refuses it too: it has no parser for it)"),
    ("decoder: {type: GzipDecoder, decoder: {type: JsonDecoder}}", "decoder: {type: JsonlDecoder}",
     "people.retriever.paginator: a paginator over a JsonlDecoder is not supported (airbyte-cdk refuses it too: pages "
     "are read from JSON only)"),
    ("items_path: data.rows", "items_path: data.item.rows", "rows.retriever.decoder.decoder.items_path: "
     "JsonItemsDecoder.items_path 'data.item.rows' is not supported (dotted object keys are; ijson's 'item' steps "
     "into arrays)"),
    ("decoder: {type: ZipfileDecoder, decoder: {type: CsvDecoder}}",
     "decoder: {type: ZipfileDecoder, decoder: {type: XmlDecoder}}",
     "archive.retriever.decoder.decoder: a XmlDecoder inside a ZipfileDecoder is not supported (airbyte-cdk refuses it "
     "too: it has no parser for it)"),
    ("decoder: {type: GzipDecoder, decoder: {type: JsonDecoder}}", "decoder: {type: IterableDecoder}",
     "people.retriever.paginator: a paginator over a IterableDecoder is not supported (airbyte-cdk refuses it too: "
     "pages are read from JSON only)"),
])
def test_decoders_the_engine_cannot_honour_fail_at_load_time(tmp_path: Path, old: str, new: str, message: str) -> None:
    """files_manifest.yaml's decoders run against the CDK in cases/files.yaml; what we would read
    otherwise than airbyte-cdk 7.39.1 is refused at load time, naming the component's place."""
    text = (HERE / "files_manifest.yaml").read_text()
    assert old in text
    (tmp_path / "manifest.yaml").write_text(text.replace(old, new, 1))
    result = run_cli("validate", str(tmp_path / "manifest.yaml"))
    assert result.rc == 2, result.stdout
    at = "paginator:" if ".paginator:" in message else new
    line = next(i for i, text_line in enumerate(text.replace(old, new, 1).splitlines(), 1) if at in text_line)
    assert result.stderr.strip() == f"manifest.yaml:{line}: definitions.{message}"


def test_a_filter_that_may_act_on_a_streamed_success_fails_at_load(tmp_path: Path) -> None:
    """A JsonlDecoder reads a success's body as it arrives, so no rule sees it: a filter that could match
    a success (here a predicate) is refused at load, naming the handler's place; one on 404 is kept."""
    text = (HERE / "files_manifest.yaml").read_text()
    old = 'requester: {$ref: "#/definitions/requester", path: events.jsonl}'
    assert old in text
    handler = ('requester: {$ref: "#/definitions/requester", path: events.jsonl, error_handler: {type: '
               'DefaultErrorHandler, response_filters: [{type: HttpResponseFilter, action: IGNORE, %s}]}}')
    (tmp_path / "manifest.yaml").write_text(text.replace(old, handler % "predicate: \"{{ response.error }}\""))
    result = run_cli("validate", str(tmp_path / "manifest.yaml"))
    assert result.rc == 2, result.stdout
    line = next(i for i, text_line in enumerate(text.splitlines(), 1) if old in text_line)
    assert result.stderr.strip() == (
        f"manifest.yaml:{line}: definitions.events.retriever.requester.error_handler: a response filter "
        "that may act on a success (a predicate, error_message_contains, a status below 400) is not supported yet "
        "with a decoder that reads the body as it arrives (JsonlDecoder, CsvDecoder, JsonItemsDecoder)")
    (tmp_path / "manifest.yaml").write_text(text.replace(old, handler % "http_codes: [404]"))
    assert run_cli("validate", str(tmp_path / "manifest.yaml")).rc == 0
