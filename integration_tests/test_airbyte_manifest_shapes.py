"""Manifest shapes met in Airbyte's published connectors that once failed badly: every one is now a
one-line load error with its place (``validate`` exits 2, no traceback), or loads.

The manifests are small hand-written ones with the shape in question (docs/airbyte-manifests.md,
"A wider sample", says where the shapes were found).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from integration_tests.helpers import run_cli
from source_solidafy.errors import ManifestError
from source_solidafy.lowcode import load_airbyte_text
from source_solidafy.lowcode.shape import looks_like_airbyte_text

BASE: dict[str, Any] = {
    "version": "6.0.0", "type": "DeclarativeSource", "check": {"type": "CheckStream", "stream_names": ["s"]},
    "streams": [{"type": "DeclarativeStream", "name": "s", "primary_key": "id",
                 "retriever": {"type": "SimpleRetriever",
                               "requester": {"type": "HttpRequester", "url_base": "http://127.0.0.1:9", "path": "/x",
                                             "request_parameters": {"a": "1"}},
                               "record_selector": {"type": "RecordSelector",
                                                   "extractor": {"type": "DpathExtractor", "field_path": ["data"]}}},
                 "transformations": [{"type": "AddFields", "fields": [{"path": ["x"], "value": "1"}]}]}],
    "spec": {"type": "Spec", "connection_specification": {"type": "object", "properties": {}}}}


def _with(at: tuple[Any, ...], value: Any) -> dict[str, Any]:
    manifest = copy.deepcopy(BASE)
    node: Any = manifest
    for key in at[:-1]:
        node = node[key]
    node[at[-1]] = value
    return manifest


REQUESTER = ("streams", 0, "retriever", "requester")
CASES = {  # where, value, the message's path and words
    "template-request-parameters": ((*REQUESTER, "request_parameters"), "{{ config.get('p', {}) }}",
                                    "streams[0].retriever.requester.request_parameters: HttpRequester."
                                    "request_parameters as a template (text) reading more than $parameters is "
                                    "not supported yet"),
    "template-request-headers": ((*REQUESTER, "request_headers"), "{{ ['h', 'v'] }}",
                                 "request_headers: HttpRequester.request_headers renders list, not a mapping"),
    "template-value-template": ((*REQUESTER, "request_headers"), "{{ {'h': '{{ x }}'} }}",
                                "request_headers.h: a value '{{ x }}' rendered by HttpRequester.request_headers"),
    "number-request-parameters": ((*REQUESTER, "request_parameters"), 7,
                                  "HttpRequester.request_parameters: expected a mapping or text, got int"),
    "number-streams": (("streams",), 7, "streams: DeclarativeSource.streams: expected a list, got int"),
    "number-stream-names": (("check", "stream_names"), 7,
                            "check.stream_names: CheckStream.stream_names: expected a list, got int"),
    "number-primary-key": (("streams", 0, "primary_key"), 7,
                           "streams[0].primary_key: DeclarativeStream.primary_key: expected text or a list, got int"),
    "text-field-path": (("streams", 0, "retriever", "record_selector", "extractor", "field_path"), True,
                        "DpathExtractor.field_path: expected a list, got bool"),
    "number-transformations": (("streams", 0, "transformations"), 1.5,
                               "DeclarativeStream.transformations: expected a list, got float"),
    "text-fields": (("streams", 0, "transformations", 0, "fields"), "x", "AddFields.fields: expected a list, got str"),
    "text-properties": (("spec", "connection_specification", "properties"), "x",
                        "spec.connection_specification.properties: expected a mapping, got str"),
    "text-ignore-slicer": (("streams", 0, "retriever", "ignore_stream_slicer_parameters_on_paginated_requests"), "yes",
                           "SimpleRetriever.ignore_stream_slicer_parameters_on_paginated_requests: expected true or "
                           "false, got str"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_value_of_the_wrong_kind_fails_the_load_with_its_place(case: str) -> None:
    at, value, words = CASES[case]
    with pytest.raises(ManifestError, match=r"manifest\.yaml:\d+: .*" + re.escape(words)):
        load_airbyte_text(yaml.safe_dump(_with(at, value), sort_keys=False))


def test_validate_refuses_a_templated_request_parameters_in_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump(_with((*REQUESTER, "request_parameters"), "{{ config.get('p', {}) }}"),
                                   sort_keys=False))
    res = run_cli("validate", str(path))
    assert res.rc == 2, (res.rc, res.stdout, res.stderr)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr, res.stderr
    assert len(lines) == 1 and lines[0].startswith("manifest.yaml:") and "request_parameters" in lines[0], lines


def _untyped_manifest() -> str:
    """Without ``type: DeclarativeSource`` (older manifests), a template reading a config key base_url."""
    manifest = _with((*REQUESTER, "url_base"), "{{ config['base_url'] or 'http://127.0.0.1:9' }}/api/")
    del manifest["type"]
    return yaml.safe_dump(manifest, sort_keys=False)


def test_a_manifest_without_its_type_reading_config_base_url_is_an_airbyte_manifest(tmp_path: Path) -> None:
    text = _untyped_manifest()
    assert looks_like_airbyte_text(text)
    assert [s.name for s in load_airbyte_text(text).manifest.streams] == ["s"]
    path = tmp_path / "manifest.yaml"
    path.write_text(text)
    res = run_cli("validate", str(path))
    assert res.rc == 0, (res.rc, res.stdout, res.stderr)
    assert "valid" in res.stdout and "missing required key" not in res.stderr


def test_our_connector_file_with_a_top_level_base_url_is_not_one() -> None:
    ours = "name: x\nversion: 1\nbase_url: http://127.0.0.1:9\nstreams:\n  - name: s\n    path: /s\n"
    assert not looks_like_airbyte_text(ours)
    assert not looks_like_airbyte_text(ours.replace("base_url:", '"base_url":'))


def test_a_problem_at_the_top_is_listed_with_the_streams_problems() -> None:
    manifest = _with(("streams", 0, "retriever", "record_selector", "extractor"), {"type": "CustomRecordExtractor"})
    manifest["api_budget"] = {"type": "HTTPAPIBudget", "policies": []}
    with pytest.raises(ManifestError) as caught:
        load_airbyte_text(yaml.safe_dump(manifest, sort_keys=False))
    lines = caught.value.problems
    assert any("api_budget: DeclarativeSource.api_budget (HTTPAPIBudget) is not supported (not supported yet)" in line
               for line in lines), lines
    assert any("extractor: CustomRecordExtractor is not supported (needs Python)" in line for line in lines), lines


def test_request_parameters_and_headers_rendered_from_parameters_are_sent_as_the_cdk_sends_them(tmp_path: Path) -> None:
    from integration_tests.mocks.server import MockServer, Response

    with MockServer(lambda req: Response.json({"data": [{"id": 1}]})) as api:
        manifest = _with(REQUESTER, {"type": "HttpRequester", "url_base": api.url, "path": "/x",
                                     "request_parameters": "{{ parameters.get('request_parameters', {}) }}",
                                     "request_headers": "{{ parameters.headers }}"})
        manifest["streams"][0]["$parameters"] = {"request_parameters": {"statistics": 1, "state": "all", "gone": None},
                                                 "headers": {"X-Kind": "b"}}
        path = tmp_path / "manifest.yaml"
        path.write_text(yaml.safe_dump(manifest, sort_keys=False))
        res = run_cli("read", "-c", str(path), "--config-json", "{}", "--output", str(tmp_path / "out"))
        assert res.rc == 0, (res.rc, res.stdout[-2000:], res.stderr)
        [request] = api.requests
    assert request.query == {"statistics": ["1"], "state": ["all"]}
    assert request.header("X-Kind") == "b"


@pytest.mark.parametrize(("migrations", "said"), [
    ([{"type": "CustomStateMigration", "class_name": "x.Y"}], "(CustomStateMigration) is not supported (needs Python)"),
    ([{"type": "LegacyToPerPartitionStateMigration"}],
     "(LegacyToPerPartitionStateMigration) is not supported (not supported yet)"),
])
def test_a_refused_option_names_the_components_it_holds(migrations: list[dict[str, str]], said: str) -> None:
    manifest = _with(("streams", 0, "state_migrations"), migrations)
    with pytest.raises(ManifestError) as caught:
        load_airbyte_text(yaml.safe_dump(manifest, sort_keys=False))
    assert any(f"state_migrations: DeclarativeStream.state_migrations {said}" in line
               for line in caught.value.problems), caught.value.problems


def test_a_body_json_option_left_off_paginated_requests_is_refused_at_its_place() -> None:
    """ignore_stream_slicer_parameters_on_paginated_requests runs with query and header options
    (integration_tests/airbyte_manifests/cases/ignoreslicer.yaml); a body_json one fails the load."""
    manifest = _with(("streams", 0, "retriever", "ignore_stream_slicer_parameters_on_paginated_requests"), True)
    manifest["streams"][0]["retriever"]["partition_router"] = {
        "type": "ListPartitionRouter", "cursor_field": "k", "values": ["a", "b"],
        "request_option": {"type": "RequestOption", "inject_into": "body_json", "field_name": "k"}}
    with pytest.raises(ManifestError) as caught:
        load_airbyte_text(yaml.safe_dump(manifest, sort_keys=False))
    assert any("streams[0].retriever.ignore_stream_slicer_parameters_on_paginated_requests: SimpleRetriever."
               "ignore_stream_slicer_parameters_on_paginated_requests with a body_json request option of the "
               "partition router or cursor is not supported yet" in line for line in caught.value.problems), \
        caught.value.problems


@pytest.mark.parametrize(("paths", "said"), [
    ("x", "ParentStreamConfig.extra_fields: expected a list, got str"),
    ([[]], "an extra_fields path must be a non-empty list of non-empty text"),
    ([["a", 1]], "an extra_fields path must be a non-empty list of non-empty text"),
    ([["a", "1"]], "extra_fields step '1' is no text to the CDK's interpolation (its stream fails joining the path)"),
    ([["{{ config['k'] }}"]], "a templated extra_fields step is not supported yet"),
    ([["a.b"]], "an extra_fields path starting with 'a.b' (a pattern or special character) is not supported yet"),
    ([["a", "**", "b", "**"]], "extra_fields: two '**' in one path (dpath refuses it)"),
])
def test_extra_fields_paths_we_do_not_follow_as_the_cdk_fail_the_load_with_their_place(paths: Any, said: str) -> None:
    manifest = copy.deepcopy(BASE)
    child = copy.deepcopy(manifest["streams"][0])
    child["name"] = "c"
    child["retriever"]["partition_router"] = {
        "type": "SubstreamPartitionRouter",
        "parent_stream_configs": [{"type": "ParentStreamConfig", "stream": copy.deepcopy(BASE["streams"][0]),
                                   "parent_key": "id", "partition_field": "p", "extra_fields": paths}]}
    manifest["streams"].append(child)
    with pytest.raises(ManifestError) as caught:
        load_airbyte_text(yaml.safe_dump(manifest, sort_keys=False))
    assert any("streams[1].retriever.partition_router.parent_stream_configs[0].extra_fields" in line and said in line
               for line in caught.value.problems), caught.value.problems
