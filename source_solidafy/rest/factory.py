"""The factory: a manifest model in, the core object that implements it out, keyed by the model's class.

Airbyte's model-to-component factory is the idea; httpx's one-method ``Auth.auth_flow`` the size of
each part. Every YAML ``type:`` is one model class (``source_solidafy/manifest/``) and one small
builder registered here for that class, which hands the model's fields to the core class's
constructor (``source_solidafy/rest/``). So the behaviour of a YAML key is one step away: the
reference (docs/connector-yaml-reference.md) names, per model, the core class its builder makes.

    FACTORY.register(m.BearerAuth, a.BearerAuth)(lambda spec, inputs: a.BearerAuth(inputs.render(spec.token)))
    FACTORY.build(spec, AuthInputs(...), a.Auth)       # -> a.BearerAuth

A model field that no builder passes on fails ``unit_tests/rest/test_factory_fields.py``, unless
its :class:`Part` lists it in ``elsewhere`` with what reads it. Other packages register their own
models and parts here (the Airbyte manifests of :mod:`source_solidafy.lowcode` do, with ``slot=``
so a Stream holds them); the registrations of the REST engine's own parts are
:mod:`source_solidafy.rest.builders`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple, TypeVar

from source_solidafy.manifest.extensions import accept

C = TypeVar("C")
Builder = Callable[[Any, Any], Any]
B = TypeVar("B", bound=Builder)
EMPTY: Mapping[str, Any] = MappingProxyType({})  # the default of a read-only mapping field


class Part(NamedTuple):
    """One registration: ``build(model, inputs)`` makes one of ``core`` from a ``model`` instance.

    ``elsewhere`` names the model fields the builder does not pass on, each with what reads them
    (``"when": "manifest.auth_choice.choose_auth"``); ``type`` is the factory's key and never listed.
    A core class may be named by its dotted path instead (``"source_solidafy.rest.oauth2.TokenRequest"``):
    its module is then imported by the builder when one is built, not by a read that never builds one.
    """

    model: type
    core: tuple[type | str, ...]
    build: Builder
    elsewhere: Mapping[str, str] = EMPTY

    def where(self) -> str:
        """``source_solidafy.rest.auth.BearerAuth`` (the core classes, ``|``-joined)."""
        return " | ".join(c if isinstance(c, str) else f"{c.__module__}.{c.__qualname__}" for c in self.core)

    def classes(self) -> tuple[type, ...]:
        """The core classes, those named by their path imported now."""
        return tuple(_imported(c) if isinstance(c, str) else c for c in self.core)


def _imported(path: str) -> type:
    from importlib import import_module

    module, _, name = path.rpartition(".")
    found = getattr(import_module(module), name)
    assert isinstance(found, type), path
    return found


class Factory:
    """Builders keyed by model class; a subclass of a registered model (an auth alternative) uses its base's."""

    def __init__(self) -> None:
        self._parts: dict[type, Part] = {}

    def register(self, model: type, *core: type | str, elsewhere: Mapping[str, str] | None = None,
                 slot: str | None = None) -> Callable[[B], B]:
        """Decorator: ``builder(model_instance, inputs)`` makes a ``core`` object for ``model``.

        ``slot`` (``pagination``, ``partition``): a model of another package, which a Stream then
        holds in that slot (see :mod:`source_solidafy.manifest.extensions`); our own YAML types are in
        the slots' unions already.
        """

        def add(builder: B) -> B:
            if model in self._parts:
                raise ValueError(f"{model.__qualname__} is registered already (by {self._parts[model].where()})")
            self._parts[model] = Part(model, core, builder, dict(elsewhere or {}))
            if slot is not None:
                accept(slot, model)
            return builder

        return add

    def part(self, model: type) -> Part:
        """The registration for ``model`` or its nearest registered base class; KeyError if none."""
        for cls in model.__mro__:
            found = self._parts.get(cls)
            if found is not None:
                return found
        raise KeyError(f"no builder for {model.__qualname__}")

    def parts(self) -> list[Part]:
        return list(self._parts.values())

    def build(self, spec: Any, inputs: Any, expected: type[C]) -> C:
        """The core object for ``spec``; a TypeError if the builder made something else than ``expected``."""
        made = self.part(type(spec)).build(spec, inputs)
        if not isinstance(made, expected):
            raise TypeError(f"the builder of {type(spec).__qualname__} made a {type(made).__qualname__}, "
                            f"not a {expected.__qualname__}")
        return made


# The one factory: the REST engine's parts (rest/builders.py, rest/auth_builders.py) and other packages
# (lowcode) register into it.
FACTORY = Factory()
