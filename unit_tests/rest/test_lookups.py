"""``lookups`` and ``schema_fields``: what the loader checks, and the fields a lookup adds to a schema."""

from __future__ import annotations

import pytest

from source_solidafy.errors import ManifestError
from source_solidafy.manifest import load_manifest_text
from source_solidafy.manifest.models import SchemaFields
from source_solidafy.rest.lookups import add_schema_fields

HEAD = """name: demo
base_url: https://api.example.com
lookups:
  fields:
    request: {path: /describe}
    decoder: {type: json, records_path: fields}
    filter: "{{ record.type != 'base64' }}"
    value: name
streams:
  - name: accounts
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ManifestError) as info:
        load_manifest_text(HEAD + text, source_name="demo.yaml")
    return info.value.problems


def test_a_stream_reads_a_lookup() -> None:
    manifest = load_manifest_text(HEAD + """    request: {path: /q, params: {q: "SELECT {{ lookup.fields | join(',') }} FROM A"}}
    schema_fields: {lookup: fields, name: name, type: type, types: {int: {type: integer}}}
""")
    assert list(manifest.lookups) == ["fields"]
    assert manifest.streams[0].schema_fields.lookup == "fields"  # type: ignore[union-attr]


def test_an_unknown_lookup_is_a_load_error_with_a_hint() -> None:
    assert problems("""    request: {path: "/q/{{ lookup.feilds | first }}"}
    schema_fields: {lookup: feilds, name: name}
""") == [
        "demo.yaml:11: streams[0].request.path: 'lookup.feilds' is not defined; did you mean 'lookup.fields'? "
        "(lookups: fields)",
        "demo.yaml:12: streams[0].schema_fields.lookup: no lookup named 'feilds'; did you mean 'fields'? "
        "(lookups: fields)",
    ]


def test_a_lookup_reads_no_lookup() -> None:
    text = HEAD.replace("request: {path: /describe}", 'request: {path: "/d/{{ lookup.fields }}"}')
    with pytest.raises(ManifestError) as info:
        load_manifest_text(text + "    request: {path: /q}\n", source_name="demo.yaml")
    assert info.value.problems == ["demo.yaml:5: lookups.fields.request.path: a lookup cannot read 'lookup' "
                                   "(lookups are read before any stream, each on its own)"]


def test_schema_fields_add_one_field_per_record_and_keep_the_declared_ones() -> None:
    schema = {"type": "object", "properties": {"Id": {"type": "string"}, "Name": {"type": "string"}}}
    records = [{"name": "Id", "type": "id"}, {"name": "Score__c", "type": "double"}, {"name": "Tier__c"},
               {"name": None}, {"type": "int"}]
    spec = SchemaFields(lookup="fields", name="name", type="type", types={"double": {"type": ["null", "number"]}})
    assert add_schema_fields(schema, spec, records)["properties"] == {
        "Id": {"type": "string"}, "Name": {"type": "string"}, "Score__c": {"type": ["null", "number"]},
        "Tier__c": {"type": ["null", "string"]}}
    nested = add_schema_fields({"properties": {}}, SchemaFields(lookup="f", name="name", under="a.b"), records[:2])
    assert nested == {"properties": {"a": {"type": ["null", "object"], "properties": {"b": {
        "type": ["null", "object"], "properties": {"Id": {"type": ["null", "string"]},
                                                   "Score__c": {"type": ["null", "string"]}}}}}}}


def test_lookup_is_only_in_a_streams_templates() -> None:
    text = HEAD.replace("streams:\n", 'check: {path: "/c/{{ lookup.fields | first }}"}\nstreams:\n')
    with pytest.raises(ManifestError) as info:
        load_manifest_text(text + """    request: {path: /q}
  - name: items
    request: {path: "/i/{{ partition.start }}"}
    partition: {type: date_range, start: "{{ lookup.fields | first }}"}
""", source_name="demo.yaml")
    assert info.value.problems == [
        "demo.yaml:9: check.path: 'lookup' is only defined in a stream's templates, not in connector-level values",
        "demo.yaml:15: streams[1].partition.start: 'lookup' is not defined in a partition's own values",
    ]
