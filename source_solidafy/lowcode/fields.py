"""AddFields and RemoveFields with airbyte-cdk 7's semantics, as transform steps of ours.

- ``AddFields``: each field's value is the CDK's InterpolatedString result (jinja, then
  ``ast.literal_eval`` of the text: ``"1.5"`` is a float, ``"None"`` null, ``"[1, 'a']"`` a list,
  ``"{'a': 1}"`` a mapping, ``"(1, 2)"`` a list; an empty result is ``""``), or with ``value_type`` the
  literal only when it is of that type (``integer``: ``"5"`` -> 5, ``"x"`` and ``"1.5"`` stay text).
  The TemplateTable (values.py) evaluates it and hands it over as JSON text, the record's value as the
  CDK's serializer writes it (tuples as lists, infinities as null, non-text keys named as ``json.dumps``
  names them); a set, bytes or ``...``, which the CDK cannot serialize (its sync fails), fails the stream.
  With ``condition``, a field is set only when the condition (which reads ``value`` and ``path``) holds.
  The value is put at ``path`` by dpath's ``new`` (dpath.py: nested objects and list indexes created).
- ``RemoveFields``: each pointer deleted by dpath's ``delete`` (patterns, ``**``, list items nulled);
  with ``condition``, every leaf of the record for which it holds (reading ``property``), as dpath does.
- ``DpathFlattenFields``: ``field_path``'s steps are the CDK's interpolation of each (config and
  parameters; ``literal_eval`` too, so ``"0"`` is an integer, which matches a list index only); with a
  ``*`` among them the first value the pattern matches (dpath's walk order), else the one value it
  matches (two fail the stream, as dpath.get does). An object found is merged into the record, its keys
  given ``key_transformation``'s prefix/suffix (each the typed value of its interpolation against the
  config and the step's parameters, rendered once; none when false), unless one is already there; with
  ``delete_origin_value`` what the path matches is deleted (dpath's delete); with ``replace_record``
  it replaces the record.
- None of these changes the declared schema: the CDK's catalog is the manifest's schema as written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from source_solidafy import jsoncodec
from source_solidafy.errors import StreamError
from source_solidafy.lowcode import dpath
from source_solidafy.lowcode.resolve import PARAMETERS
from source_solidafy.lowcode.values import AddedValue
from source_solidafy.manifest.fields import Strict, Template
from source_solidafy.manifest.pyd import Field
from source_solidafy.rest.builders import FACTORY, TransformInputs
from source_solidafy.rest.transforms import TransformStep

if TYPE_CHECKING:
    from source_solidafy.lowcode.translate_core import TranslatorCore
    from source_solidafy.manifest.templates import TemplateString

VALUE_TYPES: dict[str, type] = {"string": str, "number": float, "integer": int, "boolean": bool}
ADD_VARS = {"config", "parameters", "record", "stream_slice", "stream_partition", "stream_interval"}


class AddedField(Strict):
    """One AddedFieldDefinition: a static ``value`` is the JSON text of the value, a template renders it
    (empty text: its condition said no)."""

    path: list[str] = Field(min_length=1)
    value: Template


class AirbyteAddFields(Strict):
    fields: list[AddedField] = Field(min_length=1)
    type: Literal["airbyte_add_fields"] = "airbyte_add_fields"


class AirbyteRemoveFields(Strict):
    """RemoveFields; ``condition`` renders ``True`` or ``False`` for a ``property``."""

    pointers: list[list[str]]
    condition: Template | None = None
    type: Literal["airbyte_remove_fields"] = "airbyte_remove_fields"


class AddFieldsStep(TransformStep):
    def __init__(self, spec: AirbyteAddFields, stream: str) -> None:
        self.stream = stream
        self.fields = [(f.path, f.value, jsoncodec.loads(f.value.source) if f.value.is_static else None)
                       for f in spec.fields]

    def apply(self, records: list[dict[str, Any]], ctx: dict[str, Any]) -> None:
        for record in records:
            for path, template, static in self.fields:
                if template.is_static:
                    value = static if not isinstance(static, (dict, list)) else jsoncodec.loads(template.source)
                else:
                    text = template.render(ctx, record=record)
                    if not text:
                        continue
                    value = jsoncodec.loads(text)
                try:
                    dpath.new(record, path, value)
                except dpath.PathError as exc:
                    raise StreamError(f"stream '{self.stream}': AddFields {path}: {exc} (the CDK fails the stream too)") from None


class RemoveFieldsStep(TransformStep):
    def __init__(self, spec: AirbyteRemoveFields, stream: str) -> None:
        self.pointers, self.condition, self.stream = spec.pointers, spec.condition, stream

    def apply(self, records: list[dict[str, Any]], ctx: dict[str, Any]) -> None:
        condition = self.condition

        def keep(value: Any) -> bool:
            assert condition is not None
            return condition.render(ctx, property=value) == "True"

        try:
            for record in records:
                for pointer in self.pointers:
                    dpath.delete(record, pointer, keep if condition is not None else None)
        except RecursionError:
            raise StreamError(f"stream '{self.stream}': RemoveFields: a record nested too deeply to walk") from None


def _texts(t: TranslatorCore, node: dict[str, Any], key: str, items: Any) -> list[str]:
    """A list of text, as the CDK's schema wants it (anything else: it refuses the manifest)."""
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise t.fail(t.path(node, key), f"{key} must be a list of text (the CDK's schema refuses {items!r})")
    return items


def add_fields(t: TranslatorCore, step: dict[str, Any]) -> AirbyteAddFields:
    condition = t.interp(step, "condition", {*ADD_VARS, "value", "path"}, "") if step.get("condition") else None
    fields = []
    for field in step.get("fields") or []:
        t.check(field, t.path(step, "fields"))
        path = _texts(t, field, "path", field.get("path"))
        if not path:
            raise t.fail(t.path(field, "path"), "an AddFields path must not be empty (the CDK refuses it)")
        if not isinstance(field.get("value"), str):
            raise t.fail(t.path(field, "value"), "an AddFields value must be text (the CDK's schema refuses it)")
        kind = field.get("value_type")
        if kind is not None and kind not in VALUE_TYPES:
            raise t.fail(t.path(field, "value_type"), f"value_type {kind!r} is not one of {sorted(VALUE_TYPES)}")
        added = AddedValue(t.interp(field, "value", ADD_VARS), (VALUE_TYPES[kind],) if kind else None,
                           condition, tuple(path))
        fields.append(AddedField(path=path, value=t.table.field_template(added)))
    if not fields:
        raise t.fail(t.path(step, "fields"), "AddFields without fields")
    return AirbyteAddFields(fields=fields)


def remove_fields(t: TranslatorCore, step: dict[str, Any]) -> AirbyteRemoveFields:
    pointers = [_texts(t, step, "field_pointers", p) for p in _texts_list(t, step)]
    for pointer in pointers:
        if (problem := dpath.check_glob(pointer)) is not None:
            raise t.fail(t.path(step, "field_pointers"), f"{problem}; the CDK fails on every record")
    condition = None
    if step.get("condition"):
        holder = {"condition": step["condition"], PARAMETERS: {}}  # the CDK gives RemoveFields no parameters
        t.resolved.origin[id(holder)] = t.path(step)
        condition = t.table.holds_template(t.interp(holder, "condition", {"config", "parameters", "property"}))
    return AirbyteRemoveFields(pointers=pointers, condition=condition)


def _texts_list(t: TranslatorCore, step: dict[str, Any]) -> list[Any]:
    pointers = step.get("field_pointers")
    if not isinstance(pointers, list):
        raise t.fail(t.path(step, "field_pointers"), "field_pointers must be a list of lists of text")
    return pointers


class AirbyteDpathFlatten(Strict):
    """DpathFlattenFields; each step the JSON text of its typed value."""

    field_path: list[Template] = Field(min_length=1)
    delete_origin_value: bool = False
    replace_record: bool = False
    prefix: Template | None = None  # KeyTransformation's, rendered once (values.TemplateTable.affix)
    suffix: Template | None = None
    type: Literal["airbyte_dpath_flatten"] = "airbyte_dpath_flatten"


class DpathFlattenStep(TransformStep):
    def __init__(self, spec: AirbyteDpathFlatten, stream: str) -> None:
        self.spec, self.stream = spec, stream
        self._path: list[Any] | None = None  # the steps, evaluated against the sync's config once
        self._affixes = ("", "")  # ... and so are the prefix and suffix

    def _glob(self, ctx: dict[str, Any]) -> list[Any]:
        if self._path is None:
            path = [jsoncodec.loads(t.render(ctx)) for t in self.spec.field_path]
            if (problem := dpath.check_glob(path)) is not None:
                raise StreamError(f"stream '{self.stream}': DpathFlattenFields.field_path {path}: {problem}")
            s = self.spec
            prefix, suffix = (t.render(ctx) if t is not None else "" for t in (s.prefix, s.suffix))
            self._affixes = (prefix, suffix)
            self._path = path
        return self._path

    def _extracted(self, record: dict[str, Any], path: list[Any]) -> Any:
        values = dpath.found(record, path)
        if "*" in path or len(values) < 2:
            return values[0] if values else None
        raise StreamError(f"stream '{self.stream}': DpathFlattenFields.field_path {path} matches more than one "
                          "value (dpath.get refuses it: the CDK fails the stream too)")

    def apply(self, records: list[dict[str, Any]], ctx: dict[str, Any]) -> None:
        s = self.spec
        path = self._glob(ctx)
        prefix, suffix = self._affixes
        for record in records:
            found = self._extracted(record, path)
            if not isinstance(found, dict):
                continue
            extracted = {f"{prefix}{k}{suffix}": v for k, v in found.items()}
            if s.replace_record and extracted:
                record.clear()
                record.update(extracted)
            elif not extracted.keys() & record.keys():
                if s.delete_origin_value:
                    dpath.delete(record, path)
                record.update(extracted)


def _affix(t: TranslatorCore, step: dict[str, Any], keys: dict[str, Any], key: str) -> TemplateString | None:
    """KeyTransformation.prefix/suffix, which the CDK evaluates once against the config and the
    DpathFlattenFields' own parameters (see values.TemplateTable.affix)."""
    if keys.get(key) is None:
        return None
    holder = {key: str(keys[key]), PARAMETERS: step.get(PARAMETERS)}
    t.resolved.origin[id(holder)] = t.path(step, "key_transformation")
    return t.table.affix_template(t.interp(holder, key, {"config", "parameters"}))


def dpath_flatten(t: TranslatorCore, step: dict[str, Any]) -> AirbyteDpathFlatten:
    items = _texts(t, step, "field_path", step.get("field_path"))
    if not items:
        raise t.fail(t.path(step, "field_path"), "DpathFlattenFields.field_path must not be empty")
    if (problem := dpath.check_glob(items)) is not None:
        raise t.fail(t.path(step, "field_path"), problem)
    path = []
    for item in items:
        holder = {"step": item, PARAMETERS: step.get(PARAMETERS)}
        t.resolved.origin[id(holder)] = t.path(step, "field_path")
        path.append(t.table.typed_template(t.interp(holder, "step", {"config", "parameters"})))
    keys = step.get("key_transformation") or {}
    if keys:
        t.check(keys, t.path(step, "key_transformation"))
    return AirbyteDpathFlatten(field_path=path, delete_origin_value=bool(step.get("delete_origin_value")),
                               replace_record=bool(step.get("replace_record")),
                               prefix=_affix(t, step, keys, "prefix"), suffix=_affix(t, step, keys, "suffix"))


@FACTORY.register(AirbyteDpathFlatten, DpathFlattenStep, slot="transform")
def _dpath_flatten(spec: AirbyteDpathFlatten, inputs: TransformInputs) -> TransformStep:
    return DpathFlattenStep(spec, inputs.stream)


@FACTORY.register(AirbyteAddFields, AddFieldsStep, slot="transform")
def _add_fields(spec: AirbyteAddFields, inputs: TransformInputs) -> TransformStep:
    return AddFieldsStep(spec, inputs.stream)


@FACTORY.register(AirbyteRemoveFields, RemoveFieldsStep, slot="transform")
def _remove_fields(spec: AirbyteRemoveFields, inputs: TransformInputs) -> TransformStep:
    return RemoveFieldsStep(spec, inputs.stream)
