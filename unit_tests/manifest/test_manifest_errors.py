"""Every kind of manifest mistake: one line each, with file, line and the key path as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from source_solidafy.errors import ManifestError
from source_solidafy.manifest import load_manifest, load_manifest_text

GOOD = """\
name: demo
base_url: https://api.example.com
auth:
  type: bearer
  token: "{{ config.api_key }}"
http:
  max_retries: 3
streams:
  - name: users
    request:
      path: /users
    pagination:
      type: cursor
      cursor_param: cursor
      cursor_path: meta.next
"""


def problems(text: str, name: str = "demo.yaml") -> list[str]:
    with pytest.raises(ManifestError) as info:
        load_manifest_text(text, source_name=name)
    assert info.value.exit_code == 2
    assert str(info.value).startswith(info.value.problems[0])
    return info.value.problems


def test_good_text_loads() -> None:
    assert load_manifest_text(GOOD).stream_names() == ["users"]


def test_unknown_key_with_hint() -> None:
    text = GOOD.replace("cursor_param: cursor", "cursor_parm: cursor")
    assert problems(text) == [
        "demo.yaml:12: streams[0].pagination: missing required key 'cursor_param'",
        "demo.yaml:14: streams[0].pagination.cursor_parm: unknown key; did you mean 'cursor_param'?",
    ]


def test_unknown_key_without_close_match_lists_the_keys() -> None:
    (problem,) = problems(GOOD.replace("  max_retries: 3", "  zzz: 3"))
    assert problem.startswith("demo.yaml:7: http.zzz: unknown key; expected one of allowed_hosts, backoff, ")
    assert "max_retries" in problem


def test_unknown_top_level_key() -> None:
    assert problems(GOOD + "colour: red\n") == ["demo.yaml:16: colour: unknown key; expected one of " + ", ".join(
        sorted(["name", "version", "base_url", "auth", "http", "check", "headers", "streams", "description",
                "category", "aliases", "documentation_url", "spec", "lookups", "errors"]))]


def test_missing_required_key() -> None:
    text = GOOD.replace("      path: /users\n", "      method: GET\n")
    assert problems(text) == ["demo.yaml:10: streams[0].request: missing required key 'path'"]


def test_missing_top_level_keys() -> None:
    assert problems("name: x\nstreams: []\n") == [
        "demo.yaml:1: missing required key 'base_url'",
        "demo.yaml:2: streams: expected at least one item",
    ]


def test_expected_an_integer() -> None:
    assert problems(GOOD.replace("max_retries: 3", "max_retries: abc")) == [
        "demo.yaml:7: http.max_retries: expected an integer, got 'abc'"
    ]


def test_expected_true_or_false_and_bounds() -> None:
    text = GOOD + "  - name: c\n    request: {path: /c}\n    decoder: {type: csv, has_header: maybe}\n"
    text = text.replace("max_retries: 3", "max_retries: -1")
    assert problems(text) == [
        "demo.yaml:7: http.max_retries: expected a value >= 0, got -1",
        "demo.yaml:18: streams[1].decoder.has_header: expected true or false, got 'maybe'",
    ]


def test_unknown_pagination_type() -> None:
    assert problems(GOOD.replace("type: cursor", "type: cursors")) == [
        "demo.yaml:13: streams[0].pagination.type: unknown pagination type 'cursors'; expected one of "
        "cursor, offset, page_number, link_header, next_url; did you mean 'cursor'?"
    ]


def test_unknown_auth_type_and_missing_type() -> None:
    text = GOOD.replace("type: bearer", "type: magic").replace("    pagination:\n      type: cursor\n", "    pagination:\n")
    found = problems(text)
    assert found[0].startswith("demo.yaml:4: auth.type: unknown auth type 'magic'; expected one of bearer, api_key")
    assert found[1] == "demo.yaml:12: streams[0].pagination: missing required key 'type'"


def test_bad_literal() -> None:
    text = GOOD.replace("      cursor_path: meta.next\n", "      cursor_path: meta.next\n      location: cookie\n")
    assert problems(text) == [
        "demo.yaml:16: streams[0].pagination.location: expected one of query, header, body; got 'cookie'"
    ]


def test_malformed_yaml_points_at_the_line() -> None:
    (problem,) = problems(GOOD.replace("    request:\n", "    request:\n   bad: [\n", 1))
    assert problem.startswith("demo.yaml:") and "invalid YAML" in problem
    (problem,) = problems("name: a\nbase_url: 'x\n")
    assert problem.startswith("demo.yaml:") and "invalid YAML" in problem
    (problem,) = problems("name: a\n  nested: b\n")
    assert problem.startswith("demo.yaml:2: invalid YAML")


def test_not_a_mapping() -> None:
    assert problems("- a\n- b\n") == ["demo.yaml:1: expected a mapping with name, base_url and streams"]


def test_duplicate_stream_names() -> None:
    text = GOOD + "  - name: users\n    request: {path: /other}\n"
    assert problems(text) == ["demo.yaml:16: streams[1].name: duplicate stream name 'users' (first at line 9)"]


def test_duplicate_key_outside_params() -> None:
    assert problems(GOOD.replace("  max_retries: 3\n", "  max_retries: 3\n  max_retries: 4\n")) == [
        "demo.yaml:8: http.max_retries: duplicate key (first given at line 7)"
    ]


def test_template_syntax_error_names_file_line_and_key() -> None:
    (problem,) = problems(GOOD.replace("path: /users", "path: /users/{{ config.org"))
    assert problem.startswith("demo.yaml:11: streams[0].request.path: template syntax error: ")
    (problem,) = problems(GOOD.replace('"{{ config.api_key }}"', '"{% if x %}"'))
    assert problem.startswith("demo.yaml:5: auth.token: template syntax error: ")


def test_bad_path_syntax_when_the_path_compiler_exists() -> None:
    pytest.importorskip("source_solidafy.rest.paths")
    (problem,) = problems(GOOD.replace("meta.next", "data[x].id"))
    assert problem.startswith("demo.yaml:15: streams[0].pagination.cursor_path: invalid path 'data[x].id'")


def test_unknown_transform_step_and_bad_spelling_inside() -> None:
    text = GOOD + "    transform:\n      - sett: {field: a, value: b}\n      - rename: {from: a, too: b}\n"
    assert problems(text) == [
        "demo.yaml:17: streams[0].transform[0]: unknown transform step 'sett'; expected one of set, remove, "
        "rename, flatten, normalize_keys, hash, mask, cast; did you mean 'set'?",
        "demo.yaml:18: streams[0].transform[1].rename: missing required key 'to'",
        "demo.yaml:18: streams[0].transform[1].rename.too: unknown key; did you mean 'to'?",
    ]


def test_every_problem_is_collected_and_sorted_by_line() -> None:
    text = GOOD.replace("max_retries: 3", "max_retries: x").replace("type: cursor", "type: nope")
    found = problems(text)
    assert [p.split(":")[1] for p in found] == ["7", "13"]


def test_stream_without_request() -> None:
    text = GOOD + "  - name: b\n    primary_key: id\n"
    assert problems(text) == ["demo.yaml:16: streams[1]: missing required key 'request'"]


def test_date_range_step_and_stop_need_path() -> None:
    text = GOOD + (
        "  - name: d\n    request: {path: /d}\n"
        "    partition: {type: date_range, start: '2024-01-01', step: fortnight}\n"
        "    pagination: {type: offset, stop: {type: total_count}}\n"
    )
    found = problems(text)
    assert found[0] == ("demo.yaml:18: streams[1].partition.step: expected an ISO 8601 duration (P1D, PT1H)"
                        " or 1d/1h/1w, got 'fortnight'")
    assert found[1] == "demo.yaml:19: streams[1].pagination.stop: missing required key 'path' (stop type total_count)"


def test_schema_file_is_loaded_relative_to_the_yaml(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "users.json").write_text('{"type": "object", "properties": {"id": {"type": "integer"}}}')
    (tmp_path / "c.yaml").write_text(GOOD + "    schema_file: schemas/users.json\n")
    m = load_manifest(tmp_path / "c.yaml")
    assert m.stream("users").json_schema == {"type": "object", "properties": {"id": {"type": "integer"}}}


def test_schema_file_refused_without_file_access(tmp_path: Path) -> None:
    (tmp_path / "users.json").write_text('{"type": "object", "properties": {"private_field": {}}}')
    text = GOOD + f"    schema_file:\t{tmp_path / 'users.json'}\n"
    with pytest.raises(ManifestError) as info:
        load_manifest_text(text, "req.yaml", allow_files=False)
    assert info.value.problems == [
        "req.yaml:16: streams[0].schema_file: this connector may not read files on this machine; inline the schema as 'schema'"
    ]
    assert load_manifest_text(text, "req.yaml").stream("users").json_schema == {"type": "object", "properties": {"private_field": {}}}


def test_schema_file_problems(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(GOOD + "    schema_file: missing.json\n")
    with pytest.raises(ManifestError) as info:
        load_manifest(tmp_path / "c.yaml")
    assert info.value.problems == ["c.yaml:16: streams[0].schema_file: cannot read 'missing.json': No such file or directory"]
    (tmp_path / "bad.json").write_text("{nope")
    (tmp_path / "c.yaml").write_text(GOOD + "    schema_file: bad.json\n")
    with pytest.raises(ManifestError) as info:
        load_manifest(tmp_path / "c.yaml")
    assert info.value.problems[0].startswith("c.yaml:16: streams[0].schema_file: 'bad.json' is not valid JSON")


def test_missing_file() -> None:
    with pytest.raises(ManifestError, match="nope.yaml: no such connector file"):
        load_manifest("/nonexistent/nope.yaml")


def test_wrong_shapes() -> None:
    base = "name: a\nbase_url: x\nstreams:\n  - name: s\n    request: {path: /s}\n"
    assert problems(base + "    pagination: cursor\n") == [
        "demo.yaml:6: streams[0].pagination: expected a mapping, got 'cursor'"
    ]
    assert problems(base + "    decoder: {type: csv, delimiter: ab}\n") == [
        "demo.yaml:6: streams[0].decoder.delimiter: expected a single character, got 'ab'"
    ]
    assert problems(base + "    pagination: {type: cursor, cursor_param: a}\n") == [
        "demo.yaml:6: streams[0].pagination: give exactly one of 'cursor_path' (body) or 'cursor_header' (header)"
    ]
    assert problems(base + "    primary_key: {a: 1}\n") == [
        "demo.yaml:6: streams[0].primary_key: expected a string, got a mapping"
    ]
    assert problems(base + "  - just text\n") == ["demo.yaml:6: streams[1]: expected a mapping, got 'just text'"]
