"""The ``transform`` steps, one at a time: records and the declared schema they change."""

from __future__ import annotations

import copy
import hashlib
import hmac
from typing import Any

import pytest
from pydantic import TypeAdapter

from source_solidafy.manifest import models as m
from source_solidafy.manifest.templates import TemplateString, build_context
from source_solidafy.rest import builders
from source_solidafy.rest.cast import CastFields
from source_solidafy.rest.field_paths import FieldPattern
from source_solidafy.rest.transforms import (
    Flatten,
    HashFields,
    MaskFields,
    NormalizeKeys,
    RemoveFields,
    snake_case,
)

STEPS = TypeAdapter(list[m.TransformStep])
CTX = build_context({"salt": "pepper"})


def record() -> dict[str, Any]:
    return {"id": 1, "owner": {"email": "a@x.io", "address": {"city": "Berlin", "geo": {"lat": 1}}},
            "tags": [{"k": "a", "secret": 1}, {"k": "b", "secret": 2}], "empty": {}, "n": None}


SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "owner": {"type": ["null", "object"], "properties": {
            "email": {"type": "string"},
            "address": {"type": "object", "properties": {"city": {"type": "string"},
                                                          "geo": {"type": "object", "properties": {"lat": {}}}}}}},
        "tags": {"type": "array", "items": {"type": "object", "properties": {"k": {}, "secret": {}}}},
    },
}


def run(step: Any, *records: dict[str, Any]) -> list[dict[str, Any]]:
    page = list(records) or [record()]
    step.apply(page, CTX)
    return page


def schema_after(step: Any) -> dict[str, Any]:
    return step.schema(copy.deepcopy(SCHEMA))


# ----------------------------------------------------------------------------------- the YAML forms

def test_short_forms() -> None:
    steps = STEPS.validate_python([
        "flatten", {"flatten": True}, {"flatten": {"separator": ".", "max_depth": 2}},
        {"normalize_keys": "lower_case"}, {"normalise_keys": {}}, {"hash": "email"},
        {"hash": {"fields": ["a", "b"], "salt": "{{ config.salt }}"}}, {"mask": {"field": "phone", "keep_last": 4}},
        {"cast": {}}, "cast", {"remove": "x.y"},
    ])
    assert [s.op for s in steps] == ["flatten", "flatten", "flatten", "normalize_keys", "normalize_keys", "hash",
                                     "hash", "mask", "cast", "cast", "remove"]
    assert steps[2].separator == "." and steps[2].max_depth == 2
    assert steps[3].case == "lower_case" and steps[4].case == "snake_case"
    assert steps[5].fields == ["email"] and steps[5].salt is None
    assert steps[7].fields == ["phone"] and steps[7].keep_last == 4


@pytest.mark.parametrize("bad", ["a..b", "a[0].b", "a[*", ""])
def test_a_bad_field_pattern_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid field pattern"):
        FieldPattern(bad)


# ------------------------------------------------------------------------------------------ flatten

def test_flatten_joins_nested_objects_and_leaves_lists() -> None:
    (out,) = run(Flatten("_", None, [], True))
    assert out == {"id": 1, "owner_email": "a@x.io", "owner_address_city": "Berlin", "owner_address_geo_lat": 1,
                   "tags": [{"k": "a", "secret": 1}, {"k": "b", "secret": 2}], "empty": {}, "n": None}


def test_flatten_depth_fields_and_prefix() -> None:
    (out,) = run(Flatten(".", 1, [], True))
    assert out["owner.address"] == {"city": "Berlin", "geo": {"lat": 1}}
    (out,) = run(Flatten("_", None, ["owner"], False))
    assert list(out) == ["id", "email", "address_city", "address_geo_lat", "tags", "empty", "n"]


def test_flatten_schema() -> None:
    props = schema_after(Flatten("_", 2, [], True))["properties"]
    assert list(props) == ["id", "owner_email", "owner_address_city", "owner_address_geo", "tags"]
    assert props["owner_address_geo"]["properties"] == {"lat": {}}


# ----------------------------------------------------------------------------------- normalize_keys

@pytest.mark.parametrize(("name", "snake"), [
    ("firstName", "first_name"), ("First Name", "first_name"), ("HTTPCode", "http_code"), ("id", "id"),
    ("Custom_Field__c", "custom_field__c"), ("hs_lead_status", "hs_lead_status"), ("a-b.c", "a_b_c"),
    ("userID2", "user_id2"), ("Straße", "straße"),
])
def test_snake_case(name: str, snake: str) -> None:
    assert snake_case(name) == snake


def test_normalize_keys_goes_into_nested_objects_and_lists() -> None:
    (out,) = run(NormalizeKeys("snake_case"), {"OwnerId": 1, "Address": {"ZipCode": "1"}, "Items": [{"SKU": 2}]})
    assert out == {"owner_id": 1, "address": {"zip_code": "1"}, "items": [{"sku": 2}]}
    (out,) = run(NormalizeKeys("lower_case"), {"OwnerId": 1})
    assert out == {"ownerid": 1}
    schema = NormalizeKeys("snake_case").schema({"properties": {"OwnerId": {"type": "object", "properties": {
        "ZipCode": {}}}, "Items": {"type": "array", "items": {"properties": {"SKU": {}}}}}})
    assert schema == {"properties": {"owner_id": {"type": "object", "properties": {"zip_code": {}}},
                                     "items": {"type": "array", "items": {"properties": {"sku": {}}}}}}


# ------------------------------------------------------------------------------------------- remove

def test_remove_by_path_and_wildcard() -> None:
    (out,) = run(RemoveFields(["owner.address.g*", "tags[*].secret", "empty", "missing.path", "n?"]))
    assert out == {"id": 1, "owner": {"email": "a@x.io", "address": {"city": "Berlin"}},
                   "tags": [{"k": "a"}, {"k": "b"}], "n": None}  # "n?" needs two characters
    props = schema_after(RemoveFields(["owner.address.g*", "tags[*].secret"]))["properties"]
    assert props["owner"]["properties"]["address"]["properties"] == {"city": {"type": "string"}}
    assert props["tags"]["items"]["properties"] == {"k": {}}


# ------------------------------------------------------------------------------------- hash and mask

def test_hash_is_hmac_sha256_with_the_salt_and_sha256_without() -> None:
    (out,) = run(HashFields(["owner.email", "tags[*].k", "n"], TemplateString("{{ config.salt }}")))
    assert out["owner"]["email"] == hmac.new(b"pepper", b"a@x.io", hashlib.sha256).hexdigest()
    assert [t["k"] for t in out["tags"]] == [hmac.new(b"pepper", v, hashlib.sha256).hexdigest() for v in (b"a", b"b")]
    assert out["n"] is None  # null stays null
    assert "pepper" not in str(out)
    (out,) = run(HashFields(["id"], None))
    assert out["id"] == hashlib.sha256(b"1").hexdigest()
    props = schema_after(HashFields(["id", "owner.email"], None))["properties"]
    assert props["id"] == {"type": ["null", "string"]}
    assert props["owner"]["properties"]["email"] == {"type": ["null", "string"]}


def test_mask() -> None:
    (out,) = run(MaskFields(["owner.email"], 0, "****"), )
    assert out["owner"]["email"] == "****"
    (out,) = run(MaskFields(["phone"], 4, "#"), {"phone": "+49 30 1234567", "other": 1})
    assert out == {"phone": "#4567", "other": 1}


# --------------------------------------------------------------------------------------------- cast

CAST_SCHEMA = {"properties": {
    "i": {"type": ["null", "integer"]}, "f": {"type": "number"}, "b": {"type": "boolean"}, "s": {"type": "string"},
    "o": {"type": "object", "properties": {"deep": {"type": "integer"}}}, "any": {}, "two": {"type": ["string", "integer"]},
}}


def cast(records: list[dict[str, Any]], fields: list[str] | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    logged: list[str] = []
    step = CastFields(CAST_SCHEMA, fields or [], "items", lambda level, msg: logged.append(f"{level} {msg}"))
    step.apply(records, CTX)
    return records, logged


def test_cast_converts_to_the_declared_types() -> None:
    out, logged = cast([
        {"i": "12", "f": "1.5", "b": "true", "s": 12, "o": {"deep": "7"}, "any": "1", "two": "3"},
        {"i": 3.0, "f": "10", "b": 0, "s": True, "o": None, "any": 1},
        {"i": " 1e3 ", "f": 2, "b": "No", "s": {"a": 1}},
        {"i": None, "f": None},
    ])
    assert out == [
        {"i": 12, "f": 1.5, "b": True, "s": "12", "o": {"deep": 7}, "any": "1", "two": "3"},
        {"i": 3, "f": 10, "b": False, "s": "true", "o": None, "any": 1},
        {"i": 1000, "f": 2, "b": False, "s": '{"a":1}'},
        {"i": None, "f": None},
    ]
    assert logged == []


def test_a_value_that_cannot_be_cast_is_kept_and_warned_once() -> None:
    out, logged = cast([{"i": "abc", "f": "NaN"}, {"i": 1.5, "b": "maybe"}])
    assert out == [{"i": "abc", "f": "NaN"}, {"i": 1.5, "b": "maybe"}]
    assert logged == ["WARN stream 'items': transform cast: a value of 'i' cannot be cast to integer; kept as it "
                      "is (this warning is shown once per stream)"]
    assert "abc" not in logged[0]


def test_cast_only_the_fields_named() -> None:
    out, _ = cast([{"i": "1", "f": "2", "o": {"deep": "3"}}], ["f", "o.*"])
    assert out == [{"i": "1", "f": 2, "o": {"deep": 3}}]


def test_cast_sees_the_schema_as_the_steps_before_made_it() -> None:
    spec = [m.FlattenStep(op="flatten"), m.NormalizeKeysStep(op="normalize_keys"), m.CastStep(op="cast")]
    schema = {"properties": {"Owner": {"type": "object", "properties": {"AgeYears": {"type": "integer"}}}}}
    transformer = builders.transformer(spec, schema, "s")
    page = [{"Owner": {"AgeYears": "41"}}]
    assert transformer.apply(page, CTX) == [{"owner_age_years": 41}]
    assert transformer.schema(copy.deepcopy(schema)) == {"properties": {"owner_age_years": {"type": "integer"}}}


def test_output_schema_of_a_stream() -> None:
    stream = m.Stream.model_validate({
        "name": "s", "request": {"path": "/x"}, "schema": copy.deepcopy(SCHEMA),
        "transform": [{"remove": "tags"}, {"flatten": {"max_depth": 1}}, {"rename": {"from": "id", "to": "key"}}],
    })
    props = builders.output_schema(stream)["properties"]  # type: ignore[index]
    assert list(props) == ["owner_email", "owner_address", "key"]  # a renamed key goes last, as in the records
    assert stream.json_schema == SCHEMA  # the declared one is left as it is
