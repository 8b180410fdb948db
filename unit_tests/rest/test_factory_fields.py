"""Every YAML key reaches the engine: each field of a model the factory builds is passed to the core
class's constructor, or its Part says what reads it instead (``elsewhere``).

How: the model is made with a distinct sentinel in every field (a string, a number, a template whose
text is the sentinel, a marker object standing for a nested part), its builder runs with the core
classes' constructors recording their arguments, and every sentinel must turn up in them. A key
accepted by a model and dropped by its builder (``oauth2_refresh_token.scopes`` was) fails here.
A core that is handed the model itself (a router gets its ``partition:`` model) must read each
field in its module.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import itertools
import json
import types
import typing
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from pydantic import BaseModel

from source_solidafy.errors import SolidafyError
from source_solidafy.lowcode import load_airbyte_text  # noqa: F401 - registers the Airbyte parts too
from source_solidafy.manifest import reference
from source_solidafy.manifest.fields import ParamMap, TemplateMap
from source_solidafy.manifest.templates import TemplateString
from source_solidafy.rest import builders
from source_solidafy.rest.factory import Part
from source_solidafy.rest.partition_state import PartitionStates
from source_solidafy.rest.request import RequestInputs
from source_solidafy.rest.routers import RouterInputs
from source_solidafy.source import ReadContext

DISCRIMINATORS = ("type", "op")  # the factory's key (or, for stop, the table's): never passed on
INPUTS: dict[str, Any] = {
    "AuthInputs": builders.AuthInputs(lambda t: t.render({})),
    "PageInputs": builders.PageInputs(),
    "HttpInputs": builders.HttpInputs([]),
    "RequestInputs": RequestInputs({}, {}),
    "TransformInputs": builders.TransformInputs(),
    "RuleInputs": builders.RuleInputs("errors[0]"),
    "RouterInputs": RouterInputs("s", ReadContext(config={}), PartitionStates("s", None, ReadContext(config={}))),
    "str": "decoder.records_path",
    "None": None,
}


class Marker:
    """Stands for what a nested part (``stop``, ``nested_records``) is built into."""


def _plain(annotation: Any) -> Any:
    """``Annotated[X, ...]`` -> X; ``X | None`` -> X."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kept = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _plain(kept[0]) if len(kept) == 1 else annotation
    return annotation


def _sentinel(model: type[BaseModel], name: str, count: Iterator[int]) -> Any:
    info = model.model_fields[name]
    n = next(count)
    text = f"S{n}-{name}"
    if info.annotation in (ParamMap, TemplateMap):
        return {f"K{n}": TemplateString(text)}
    tp = _plain(info.annotation)
    origin = typing.get_origin(tp)
    if tp is TemplateString:
        return TemplateString(text)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp.model_construct() if _is_part(tp) else _filled(tp, count)
    if origin in (typing.Union, types.UnionType):  # a choice of parts (a login's own auth block): the first
        parts = [p for p in typing.get_args(tp) if isinstance(p, type) and issubclass(p, BaseModel) and _is_part(p)]
        if parts:
            return parts[0].model_construct()
    if origin is typing.Literal:
        return next(v for v in reversed(typing.get_args(tp)) if v != info.default)
    if origin is list:
        item = typing.get_args(tp)[0] if typing.get_args(tp) else None
        if isinstance(item, type) and issubclass(item, BaseModel) and not _is_part(item):
            return [_filled(item, count)]
        return [7000 + n] if item is int else [text]
    if origin is dict:
        return {f"K{n}": text}
    if tp is bool:
        return not info.default
    if tp in (int, float):
        return tp(7000 + n)
    if tp is Any:
        return Marker()
    return text


def _is_part(model: type) -> bool:
    """A model the factory builds (its builder gets it through FACTORY.build), not plain options."""
    return any(issubclass(model, p.model) for p in builders.FACTORY.parts())


def _filled(model: type[BaseModel], count: Iterator[int]) -> BaseModel:
    """A nested options model (read by its parent's builder) with a sentinel in every field; its templates
    hold JSON text (options such as AddFields values and the CDK's OAuth values keep their typed value so)."""
    def typed(value: Any) -> Any:
        if isinstance(value, TemplateString):
            return TemplateString(json.dumps(value.source))
        return {k: typed(v) for k, v in value.items()} if isinstance(value, dict) else value
    return model.model_construct(**{n: typed(_sentinel(model, n, count)) for n in model.model_fields
                                    if n not in DISCRIMINATORS})


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, BaseModel):  # filled options: any of its sentinels reaching the core counts
        return [leaf for v in value.__dict__.values() for leaf in _leaves(v)]
    if isinstance(value, TemplateString):
        return [value.source.strip('"')]  # (a filled option's JSON text: the sentinel inside)
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def _found(leaf: Any, arg: Any) -> bool:
    if isinstance(arg, TemplateString):  # passed on unrendered (a transform renders per record)
        arg = arg.source
    if isinstance(arg, dict):
        return any(_found(leaf, v) for v in arg.values())
    if isinstance(arg, (list, tuple)):
        return any(_found(leaf, v) for v in arg)
    if isinstance(leaf, str) and isinstance(arg, str):
        return leaf in arg
    return arg is leaf or (type(arg) is type(leaf) and not isinstance(leaf, Marker) and arg == leaf)


def _variants(model: type[BaseModel]) -> list[Any]:
    """Each ``type`` value of a model whose type picks the core class (stop), else just one run."""
    info = model.model_fields.get("type")
    tp = _plain(info.annotation) if info is not None else None
    return list(typing.get_args(tp)) if typing.get_origin(tp) is typing.Literal else [None]


def _reached(part: Part, variant: Any) -> set[str]:
    """The model fields whose sentinel reaches a constructor of ``part.core`` in one build."""
    model = part.model
    count = itertools.count()
    values = {n: _sentinel(model, n, count) for n in model.model_fields if n not in DISCRIMINATORS}
    spec = model.model_construct(**values, **({"type": variant} if variant is not None else {}))
    inner = [w for v in values.values() if isinstance(v, BaseModel) and not _is_part(type(v)) for w in v.__dict__.values()]
    nested = {id(v): Marker() for v in (*values.values(), *inner) if isinstance(v, BaseModel) and _is_part(type(v))}
    calls: list[Any] = []

    def record(original: Any) -> Any:
        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            calls.append((args, kwargs))
            with contextlib.suppress(ValueError, TypeError, SolidafyError):  # sentinels break the core's own checks
                original(self, *args, **kwargs)
        return init

    real_build = builders.FACTORY.build

    def build(child: Any, inputs: Any, expected: type) -> Any:
        return nested[id(child)] if id(child) in nested else real_build(child, inputs, expected)

    kind = list(inspect.signature(part.build).parameters.values())[1].annotation  # the inputs' type
    with mock.patch.object(builders.FACTORY, "build", build):
        patches = [mock.patch.object(core, "__init__", record(core.__init__)) for core in part.classes()]
        for p in patches:
            p.start()
        try:
            part.build(spec, INPUTS[str(kind).rsplit(".", 1)[-1]])
        finally:
            for p in patches:
                p.stop()
    args = [a for call in calls for a in (*call[0], *call[1].values())]
    if any(a is spec for a in args):  # the model itself handed over (a router): what its module reads of it
        return set(values) & _attributes_read(part.classes())
    marks = {n: ([nested[id(v)]] if id(v) in nested else _leaves(v)) for n, v in values.items()}
    return {n for n, leaves in marks.items() if leaves and any(_found(leaf, arg) for leaf in leaves for arg in args)}


def _attributes_read(cores: tuple[type, ...]) -> set[str]:
    """Every ``x.name`` in the modules of ``cores`` and of their base classes."""
    modules = {inspect.getmodule(cls) for core in cores for cls in core.__mro__ if cls.__module__ != "builtins"}
    names: set[str] = set()
    for module in modules:
        tree = ast.parse(inspect.getsource(module))  # type: ignore[arg-type]
        names |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    return names


@pytest.mark.parametrize("part", builders.FACTORY.parts(), ids=lambda p: p.model.__name__)
def test_every_field_reaches_the_core_or_is_read_elsewhere(part: Part) -> None:
    reached: set[str] = set()
    for variant in _variants(part.model):
        reached |= _reached(part, variant)
    fields = set(part.model.model_fields) - set(DISCRIMINATORS)
    missing = sorted(fields - reached - set(part.elsewhere))
    assert not missing, f"{part.model.__name__}: {missing} never reach {part.where()} (pass them, or list them in elsewhere)"
    assert not set(part.elsewhere) - fields, f"{part.model.__name__}: elsewhere names fields it does not have"


def test_a_dropped_field_is_caught() -> None:
    """The check itself can fail: a builder that drops ``scopes`` (the old oauth2_refresh_token bug)."""
    from source_solidafy.manifest import models as m
    from source_solidafy.rest import auth as a
    from source_solidafy.rest import oauth2 as o

    def dropping(spec: m.OAuth2RefreshTokenAuth, inputs: builders.AuthInputs) -> a.Auth:
        return o.OAuth2RefreshToken(inputs.render(spec.token_url), inputs.render(spec.client_id),
                                    inputs.render(spec.client_secret), inputs.render(spec.refresh_token))

    part = builders.FACTORY.part(m.OAuth2RefreshTokenAuth)
    assert "scopes" in _reached(part, None)
    assert "scopes" not in _reached(Part(part.model, part.core, dropping), None)


def test_every_type_in_the_reference_says_where_it_lives() -> None:
    """docs/connector-yaml-reference.md names, per type, the class it is built into or the modules that read it."""

    for _, models in reference.SECTIONS:
        for model in models:
            how, where = reference.implemented_by(model)  # KeyError: a type nobody said where it lives
            assert how in ("built into", "read by") and where


@pytest.mark.parametrize("model", list(reference.READ_BY), ids=lambda m: m.__name__)
def test_keys_of_a_model_no_builder_makes_are_read_where_it_says(model: type[BaseModel]) -> None:
    names: set[str] = set()
    for module in reference.READ_BY[model]:
        tree = ast.parse(inspect.getsource(importlib.import_module(module)))
        names |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    missing = sorted(set(model.model_fields) - names)
    assert not missing, f"{model.__name__}: {missing} are read in none of {reference.READ_BY[model]}"
