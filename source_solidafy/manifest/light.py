"""pydantic's run-time face without pydantic: the models of a manifest the cache already validated.

A ``read`` whose connector file is a hit of the validated-manifest cache (:mod:`.cache`) runs models
that were validated when the entry was written; it needs their attributes, methods and copies, never
their validators. Importing pydantic and creating the ~75 model classes is then ~40% of the start-up
of a whole 100-page read (bench/README.md), so such a process sets :data:`ACTIVE` before the model
modules are first imported, and :mod:`.pyd` hands them these stand-ins instead of pydantic's names.
The model modules are the same source either way: one definition of each model.

What a light model does: attributes (fields and private attributes in ``__dict__``), ``model_fields``
(with ``annotation``, ``alias``, defaults, ``is_required()``), ``model_construct``, ``model_copy``,
``model_fields_set``, equality and hashing as pydantic defines them, pickling in pydantic's state
shape (so a light process reads the entries a full one wrote). Validation (``model_validate``, a
model's ``__init__``) is not here: a light process never validates; :mod:`.cache` enables light
models only for the read of a cache hit (docs/connector-yaml.md, "The validated-manifest cache").
"""

from __future__ import annotations

import copy
import typing
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

ACTIVE = False
"""Set by :mod:`.cache` (only before any model module is imported): :mod:`.pyd` exports this module's names."""
ALLOWED = False
"""Set by a one-shot ``read`` (cli.py): a cache hit may then run light models."""

_MISSING: Any = object()


class PydanticCustomError(ValueError):
    """Raised only by validators, which a light process never runs."""

    def __init__(self, kind: str, message: str, context: dict[str, Any] | None = None) -> None:
        super().__init__(message.format(**(context or {})))


class ValidationError(ValueError):
    """Never raised here (nothing is validated); a name the model modules catch."""


class FieldInfo:
    """A field's default (value or factory), alias and annotation (``Annotated`` stripped, as pydantic's)."""

    __slots__ = ("alias", "annotation", "default", "default_factory")

    def __init__(self, default: Any = _MISSING, *, default_factory: Callable[[], Any] | None = None,
                 alias: str | None = None, **_: Any) -> None:
        self.default = _MISSING if default is Ellipsis else default
        self.default_factory, self.alias, self.annotation = default_factory, alias, None

    def is_required(self) -> bool:
        return self.default is _MISSING and self.default_factory is None

    def get_default(self) -> Any:
        return self.default_factory() if self.default_factory is not None else copy.copy(self.default)


def Field(default: Any = _MISSING, **kwargs: Any) -> Any:  # noqa: N802 - pydantic's name
    return FieldInfo(default, **kwargs)


def PrivateAttr(default: Any = _MISSING, *, default_factory: Callable[[], Any] | None = None) -> Any:  # noqa: N802
    return FieldInfo(default, default_factory=default_factory)


class _Marker:
    """``Annotated`` metadata (validators, discriminators, tags): kept, never applied."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs


BeforeValidator = AfterValidator = WrapValidator = Discriminator = Tag = _Marker
GetCoreSchemaHandler = ValidationInfo = ValidatorFunctionWrapHandler = Any
PositiveInt = int


class _Schemas:
    """``pydantic_core.core_schema``: only validators' schema hooks use it (and their annotations)."""

    def __getattr__(self, name: str) -> Any:
        return Any


core_schema: Any = _Schemas()
PydanticUndefined: Any = _MISSING


def ConfigDict(**kwargs: Any) -> dict[str, Any]:  # noqa: N802 - pydantic's name
    return dict(kwargs)


def field_validator(*_: Any, **__: Any) -> Callable[[Any], Any]:
    return _unchanged


def model_validator(*_: Any, **__: Any) -> Callable[[Any], Any]:
    return _unchanged


def _unchanged(fn: Any) -> Any:
    return fn


def _field(annotation: Any, value: Any) -> FieldInfo:
    info = value if isinstance(value, FieldInfo) else FieldInfo(value)
    while typing.get_origin(annotation) is typing.Annotated:
        found = [m for m in annotation.__metadata__ if isinstance(m, FieldInfo)]
        if found and info.default is _MISSING and info.default_factory is None:
            info.default, info.default_factory = found[-1].default, found[-1].default_factory
        info.alias = info.alias or next((m.alias for m in found if m.alias), None)
        annotation = annotation.__origin__
    info.annotation = annotation
    return info


def _evaluated(annotation: Any, cls: type) -> Any:
    """A string annotation (``from __future__ import annotations``) evaluated in its module, as pydantic
    does; one naming a class defined later stays a string."""
    if not isinstance(annotation, str):
        return annotation
    import sys

    try:
        return eval(annotation, vars(sys.modules[cls.__module__]), dict(vars(cls)))  # noqa: S307 - our own source
    except Exception:  # noqa: BLE001 - a forward reference
        return annotation


class BaseModel:
    """A light model: see the module's docstring."""

    __slots__ = ("__dict__", "__pydantic_fields_set__")
    model_config: ClassVar[dict[str, Any]] = {}
    model_fields: ClassVar[dict[str, FieldInfo]] = {}
    __private_attributes__: ClassVar[dict[str, FieldInfo]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__()
        fields: dict[str, FieldInfo] = {}
        private: dict[str, FieldInfo] = {}
        for base in reversed(cls.__mro__[1:]):  # inherited from every base, the nearest last (as pydantic)
            fields.update(base.__dict__.get("model_fields", {}))
            private.update(base.__dict__.get("__private_attributes__", {}))
        for name, text_or_annotation in cls.__dict__.get("__annotations__", {}).items():
            annotation = _evaluated(text_or_annotation, cls)
            if typing.get_origin(annotation) is ClassVar or annotation is ClassVar or (
                    isinstance(annotation, str) and annotation.startswith(("ClassVar", "typing.ClassVar"))):
                continue
            value = cls.__dict__.get(name, _MISSING)
            if name.startswith("_"):
                private[name] = value if isinstance(value, FieldInfo) else FieldInfo(value)
            else:
                fields[name] = _field(annotation, value)
            if value is not _MISSING:
                delattr(cls, name)  # as pydantic: a field is an instance attribute, not a class one
        cls.model_fields, cls.__private_attributes__ = fields, private
        if cls.model_config.get("frozen"):
            cls.__hash__ = _frozen_hash  # type: ignore[method-assign,assignment]

    @classmethod
    def model_construct(cls, _fields_set: set[str] | None = None, **values: Any) -> Any:
        obj = cls.__new__(cls)
        data: dict[str, Any] = {}
        given: set[str] = set()
        for name, info in cls.model_fields.items():
            key = info.alias if info.alias is not None and info.alias in values else name
            if key in values:
                data[name] = values[key]
                given.add(name)
            elif not info.is_required():
                data[name] = info.get_default()
        for name, info in cls.__private_attributes__.items():
            if not info.is_required():
                data[name] = info.get_default()
        obj.__dict__.update(data)
        obj.__pydantic_fields_set__ = given if _fields_set is None else set(_fields_set)
        return obj

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Any:
        new = copy.deepcopy(self) if deep else copy.copy(self)
        if update:
            new.__dict__.update(update)
            new.__pydantic_fields_set__ = self.__pydantic_fields_set__ | set(update)
        return new

    @property
    def model_fields_set(self) -> set[str]:
        return self.__pydantic_fields_set__

    def __getstate__(self) -> dict[str, Any]:
        private = {k: v for k, v in self.__dict__.items() if k in self.__private_attributes__}
        fields = {k: v for k, v in self.__dict__.items() if k not in private}
        return {"__dict__": fields, "__pydantic_extra__": None, "__pydantic_fields_set__": set(self.__pydantic_fields_set__),
                "__pydantic_private__": private or None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state["__dict__"])
        self.__dict__.update(state.get("__pydantic_extra__") or {})
        self.__dict__.update(state.get("__pydantic_private__") or {})
        self.__pydantic_fields_set__ = set(state.get("__pydantic_fields_set__") or ())

    def __copy__(self) -> Any:
        new = type(self).__new__(type(self))
        new.__setstate__(self.__getstate__())
        return new

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]  # as pydantic: a model is hashable when frozen

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return ((k, v) for k, v in self.__dict__.items() if k in self.model_fields)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self)
        return f"{type(self).__name__}({shown})"


def _frozen_hash(self: BaseModel) -> int:
    return hash(type(self)) + hash(tuple(self.__dict__.get(k) for k in self.model_fields))
