"""What keeps loading a connector cheap: the manifest models avoid what makes pydantic slow to build them."""

from __future__ import annotations

import inspect
import subprocess
import sys

from pydantic import BaseModel

import source_solidafy.manifest.models  # noqa: F401 - every model module, through the package
from source_solidafy.manifest import fields


def _models() -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []
    todo: list[type[BaseModel]] = [fields.Strict]
    while todo:
        cls = todo.pop()
        if cls not in seen:
            seen.append(cls)
            todo.extend(cls.__subclasses__())
    return seen


def test_no_field_default_is_made_by_a_builtin_type() -> None:
    """pydantic inspects each default factory's signature when it builds a model and when it makes a
    default; for ``dict`` or ``list`` that parses a text signature (30 ms of every start-up over ~35
    fields): ``fields.new_dict`` / ``fields.new_list`` instead."""
    models = _models()
    assert len(models) > 40
    builtin = [f"{cls.__module__}.{cls.__name__}.{name}" for cls in models for name, info in cls.model_fields.items()
               if inspect.isbuiltin(info.default_factory) or isinstance(info.default_factory, type)]
    assert builtin == []


def test_no_validator_is_built_at_import_and_a_load_builds_only_the_manifests() -> None:
    """Each part model builds its own validator only when used on its own (``defer_build``);
    ``Manifest``'s, which every load uses, holds them all and is built by the first load, not at
    import (a load from the validated-manifest cache needs none: manifest/cache.py)."""
    code = ("import pydantic, source_solidafy.manifest.models as m\n"
            "def built():\n"
            "    todo, seen = [pydantic.BaseModel], set()\n"
            "    while todo:\n"
            "        cls = todo.pop(); seen.add(cls); todo.extend(c for c in cls.__subclasses__() if c not in seen)\n"
            "    return sorted(c.__name__ for c in seen if c.__module__.startswith('source_solidafy.manifest')\n"
            "                  and c.__dict__.get('__pydantic_complete__'))\n"
            "print(built())\n"
            "from source_solidafy.manifest.loader import load_manifest_text\n"
            "load_manifest_text('name: t\\nbase_url: https://x\\nstreams: [{name: s, request: {path: /s}}]\\n')\n"
            "print(built())\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split("\n")[:2] == ["[]", "['Manifest']"]


def test_model_annotations_are_objects_not_strings() -> None:
    """Without ``from __future__ import annotations`` in the model modules pydantic does not evaluate
    ~300 annotation strings while it creates the classes (~7 ms, 9% of importing the models)."""
    import __future__

    stringy = sorted({cls.__module__ for cls in _models() if cls.__module__.startswith("source_solidafy.manifest.")
                      and getattr(sys.modules[cls.__module__], "annotations", None) is __future__.annotations})
    assert stringy == []
